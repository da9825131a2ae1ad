#!/usr/bin/env node
/** The `vllm-node` command line: generate / chat / extract over JSONL, bench, doctor. */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { SingleBar } from 'cli-progress';
import { Command } from 'commander';

import { Engine } from '../engine.js';
import { VllmError } from '../errors.js';
import { extractWith, fromJsonSchema } from '../extract.js';
import { ModelManager } from '../model-manager.js';
import type { EngineOptionsInput } from '../options.js';
import { cpuProfile } from '../profiles.js';
import { warmEngine } from '../warmup.js';
import { doctor } from './doctor.js';

async function readJsonl(file: string | undefined): Promise<unknown[]> {
  const input = !file || file === '-' ? process.stdin : createReadStream(file);
  const items: unknown[] = [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    try {
      items.push(JSON.parse(line));
    } catch {
      items.push(line);
    }
  }
  return items;
}

function progress(total: number): { tick(): void; stop(): void } {
  if (!process.stderr.isTTY) return { tick() {}, stop() {} };
  const bar = new SingleBar({ stream: process.stderr, format: '{bar} {value}/{total} | {eta}s left' });
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

interface Common {
  model?: string;
  maxTokens?: string;
  temperature?: string;
  config?: string;
  cpu?: boolean;
}

/** The options every command adds to the config file's: --cpu's profile and `extra`. */
function overrides(o: Common, extra: Partial<EngineOptionsInput> = {}): Partial<EngineOptionsInput> {
  return { ...(o.cpu ? cpuProfile({ engineArgs: { kv_cache_memory_bytes: 1 << 30 } }) : {}), ...extra };
}
const createOptions = (o: Common) => (o.config ? { configFile: o.config } : {});

async function open(o: Common, extra: Partial<EngineOptionsInput> = {}): Promise<Engine> {
  return Engine.create({ ...(o.model ? { model: o.model } : {}), ...overrides(o, extra) }, createOptions(o));
}

function sampling(o: Common) {
  return { ...(o.maxTokens ? { maxTokens: Number(o.maxTokens) } : {}), ...(o.temperature ? { temperature: Number(o.temperature) } : {}) };
}

async function runBatch(o: Common & { input?: string }, each: (engine: Engine, item: unknown) => Promise<unknown>): Promise<void> {
  const items = await readJsonl(o.input);
  const engine = await open(o);
  const bar = progress(items.length);
  try {
    const results = await Promise.all(
      items.map((item) =>
        each(engine, item)
          .catch((e: unknown) => ({ error: e instanceof VllmError ? e.code : 'ERROR', message: (e as Error).message }))
          .finally(() => bar.tick()),
      ),
    );
    bar.stop();
    for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
  } finally {
    await engine.close();
  }
}

const program = new Command('vllm-node').description('vLLM inside Node: batch generation over JSONL, benchmarks, environment checks');
const common = (c: Command) =>
  c
    .option('-m, --model <path>', 'model folder (default: DEFAULT_MODEL_PATH / config file)')
    .option('-i, --input <file>', 'JSONL input (default: stdin)')
    .option('--max-tokens <n>', 'maximum tokens per output')
    .option('--temperature <t>', 'sampling temperature')
    .option('-c, --config <file>', 'YAML config file')
    .option('--cpu', 'CPU settings (no fp8, small KV cache)');

common(program.command('generate').description('each line: {"prompt": "..."} or a plain string → {"text": ...}')).action((o) =>
  runBatch(o, async (engine, item) => {
    const prompt = typeof item === 'string' ? item : (item as { prompt: string }).prompt;
    const r = await engine.generateDetailed(prompt, sampling(o));
    return { text: r.text, finishReason: r.finishReason, outputTokens: r.outputTokens };
  }),
);
common(program.command('chat').description('each line: {"messages": [...]} → {"text": ...}')).action((o) =>
  runBatch(o, async (engine, item) => ({ text: await engine.chat((item as { messages: never }).messages, sampling(o)) })),
);
common(program.command('extract').description('each line: {"input": "..."} or a string → the JSON value').requiredOption('-s, --schema <file>', 'JSON Schema file')).action((o) => {
  const jsonSchema = JSON.parse(readFileSync(o.schema, 'utf8')) as Record<string, unknown>;
  // Converted before the engine starts: a schema zod cannot validate with fails at once.
  const schema = fromJsonSchema(jsonSchema);
  return runBatch(o, (engine, item) => {
    const input = typeof item === 'string' ? item : (item as { input: string }).input;
    return extractWith(engine, input, schema, jsonSchema, sampling(o));
  });
});
common(program.command('bench').description('N concurrent requests; prints output tokens/s').option('-n, --requests <n>', 'requests', '64')).action(async (o) => {
  const engine = await open(o);
  try {
    const n = Number(o.requests);
    const t = performance.now();
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => engine.generateDetailed(`Request ${i}: write a job title.`, { maxTokens: Number(o.maxTokens ?? 64), ignoreEos: true })));
    const s = (performance.now() - t) / 1000;
    const tokens = rs.reduce((a, r) => a + r.outputTokens, 0);
    console.log(JSON.stringify({ requests: n, seconds: +s.toFixed(3), outputTokensPerSecond: +(tokens / s).toFixed(1) }));
  } finally {
    await engine.close();
  }
});
program
  .command('warmup')
  .description(
    "start the engine once for a model and settings, so later starts read warm caches (torch.compile, FlashInfer); prints the start's timings. " +
      'vLLM keys its compile cache on the settings, sleep mode included: warm a ModelManager\'s models with --models (or --sleep-mode auto)',
  )
  .option('-m, --model <path>', 'model folder (default: DEFAULT_MODEL_PATH / config file)')
  .option('-c, --config <file>', 'YAML config file')
  .option('--cpu', 'CPU settings (no fp8, small KV cache)')
  .option('--sleep-mode <mode>', 'sleepMode of the engine to warm: off | auto | on (a ModelManager uses auto)')
  .option('--models', "warm every model of the config's catalog (inference.models) as ModelManager starts them")
  .action(async (o: Common & { sleepMode?: string; models?: boolean }) => {
    const extra = o.sleepMode ? { sleepMode: o.sleepMode as 'auto' } : {};
    if (o.models) {
      const manager = await ModelManager.create(overrides(o, extra), createOptions(o));
      try {
        for (const r of await manager.warmup()) console.log(JSON.stringify(r));
      } finally {
        await manager.close();
      }
      return;
    }
    const engine = await open(o, extra);
    try {
      console.log(JSON.stringify(await warmEngine(engine)));
    } finally {
      await engine.close();
    }
  });
program
  .command('doctor')
  .description('check Python, the addon, vLLM, GPUs and fp8 support, with a fix for each problem')
  .option('--python <exe>', 'Python to check')
  .option('-m, --model <path>', "also say whether this model's caches are warm (see warmup)")
  .option('--json', 'JSON output')
  .action((o: { python?: string; json?: boolean; model?: string }) => {
    const findings = doctor(o.python, o.model);
    if (o.json) console.log(JSON.stringify(findings, null, 2));
    else for (const f of findings) console.log(`${f.ok ? 'ok  ' : 'FAIL'} ${f.check}: ${f.detail}${f.fix ? `\n     fix: ${f.fix}` : ''}`);
    process.exitCode = findings.every((f) => f.ok) ? 0 : 1;
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof VllmError ? `${err.code}: ${err.message}` : err);
  process.exit(1);
});
