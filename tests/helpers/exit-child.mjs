// Child process for the exit tests and bench/exit.mjs: creates an engine, generates, then exits with or without
// close(). EXIT_CHILD_OPTIONS (JSON) replaces the CPU options (bench/exit.mjs passes the GPU configuration).
import { cpuProfile, Engine } from '../../dist/index.js';

const [model, mode] = process.argv.slice(2);
if (mode === 'signal') {
  // Node's own handler must run: Python installed none.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      console.log(`HANDLER ${sig}`);
      engine.close().then(() => process.exit(0));
    });
  }
}
// eslint-disable-next-line prefer-const
var engine = await Engine.create(
  process.env.EXIT_CHILD_OPTIONS
    ? { model, ...JSON.parse(process.env.EXIT_CHILD_OPTIONS) }
    : cpuProfile({ model, enforceEager: true, maxModelLen: 512, engineArgs: { kv_cache_memory_bytes: 256 * 1024 * 1024 } }),
  { configFile: false },
);
console.log(`INFO ${JSON.stringify(engine.info)}`);
const text = await engine.generate('hello', { maxTokens: 4 });
console.log(`GENERATED ${JSON.stringify(text)}`);
if (mode === 'close') await engine.close();
console.log('DONE');
if (mode === 'signal' || mode === 'no-handler') setInterval(() => {}, 1000); // stay alive until signalled
