#!/usr/bin/env node
// Release step (`npm run prebuildify`): builds the addon with prebuildify, cmake-js as its build backend, for the
// Python that vllm-node will use (VLLM_NODE_PYTHON, else .venv) and stores it where the loader
// (src/native/addon.ts) looks first: prebuilds/<platform>-<arch>/py3XX/vllm_node.node + vllm_node.json.
// The addon is compiled against one Python minor, so run it once per Python minor to ship; `npm pack` then
// includes prebuilds/. Release builds use CMakeLists.txt (not binding.gyp): prebuildify's node-gyp step is
// scripts/prebuild-cmake-js.mjs, which runs cmake-js.
//   --out DIR   write DIR/prebuilds/... instead of the package's own prebuilds/ (a checkout's prebuilds/ is
//               loaded before build/Release, so a stale one would shadow your source builds)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIdx = process.argv.indexOf('--out');
const outRoot = outIdx > 0 ? resolve(process.argv[outIdx + 1]) : root;
const python = resolve(process.env.VLLM_NODE_PYTHON ?? join(root, '.venv', 'bin', 'python'));
if (!existsSync(python)) {
  console.error(`prebuild: no Python at ${python}; run scripts/setup-python.sh or set VLLM_NODE_PYTHON`);
  process.exit(1);
}
const version = execFileSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
const tag = `py${version.replace('.', '')}`;
const platformArch = `${process.platform}-${process.arch}`;
const stage = join(root, 'build', 'prebuildify');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

const prebuildify = createRequire(import.meta.url)('prebuildify');
await new Promise((ok, fail) =>
  prebuildify(
    {
      napi: true, // one build per Python minor serves every Node with Node-API 8
      targets: [process.versions.node],
      strip: true,
      name: 'vllm_node',
      cwd: stage, // prebuildify collects stage/build/Release/*.node; the sources stay in the package root
      out: stage,
      nodeGyp: join(root, 'scripts', 'prebuild-cmake-js.mjs'),
    },
    (err) => (err ? fail(err) : ok()),
  ),
).catch((err) => {
  console.error(`prebuild: ${err.message}`);
  process.exit(1);
});
// prebuildify names the file after the package and Node-API tags; the Python minor becomes the folder.
const dest = join(outRoot, 'prebuilds', platformArch, tag);
mkdirSync(dest, { recursive: true });
copyFileSync(join(stage, 'prebuilds', platformArch, 'vllm_node.node'), join(dest, 'vllm_node.node'));
writeFileSync(join(dest, 'vllm_node.json'), `${JSON.stringify({ python: version, napi: 8, builder: 'prebuildify + cmake-js' })}\n`);
console.log(`prebuild: ${join(dest, 'vllm_node.node')} (Python ${version}, ${platformArch}, Node-API 8)`);
