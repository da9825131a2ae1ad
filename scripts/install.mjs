#!/usr/bin/env node
// npm's `install` step for the published package: when no prebuild (and no earlier local build) matches the
// Python minor of the venv vllm-node will use, build the addon from source (scripts/build-native.mjs: cmake-js
// where CMake is installed, else node-gyp, which comes with npm). It never fails `npm install`: without a Python
// with vLLM's build needs (headers, pybind11) it says what is missing and exits 0, and the loader's error at
// run time names the command to run once Python is set up. Set VLLM_NODE_SKIP_BUILD=1 to skip it.
// In a git checkout it does nothing: scripts/setup.sh and `npm run build` build there.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (text) => console.error(`vllm-node: ${text}`);

async function main() {
  if (process.env.VLLM_NODE_SKIP_BUILD) return;
  if (existsSync(join(root, 'src')) || !existsSync(join(root, 'dist', 'native', 'python.js'))) return; // a checkout
  // The package's own Python discovery and addon resolution, as the loader will run them.
  const { resolvePython } = await import(pathToFileURL(join(root, 'dist', 'native', 'python.js')).href);
  const { findAddon, sourceBuildCommand } = await import(pathToFileURL(join(root, 'dist', 'native', 'addon.js')).href);
  let python;
  try {
    python = resolvePython(undefined, process.env);
  } catch (err) {
    say(`no addon built: ${err.message}`);
    return;
  }
  if (findAddon(python.version, { root }).found) return;
  const command = sourceBuildCommand(root, python.executable);
  try {
    execFileSync(python.executable, [join(root, 'scripts', 'python_build_info.py')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    say(`no addon for Python ${python.version} (${python.executable}), and it cannot be built yet: ${String(err.stderr ?? err.message).trim()}. Then run: ${command}`);
    return;
  }
  say(`no prebuilt addon for Python ${python.version}: building it from source for ${python.executable}`);
  try {
    execFileSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, VLLM_NODE_PYTHON: python.executable },
    });
  } catch {
    say(`the source build failed (see above); fix it, then run: ${command}`);
  }
}

main().catch((err) => say(`install step skipped: ${err.message}`));
