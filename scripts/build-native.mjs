#!/usr/bin/env node
// Builds the addon into build/Release for the Python that vllm-node will use (VLLM_NODE_PYTHON, else .venv).
// The source build of CMakeLists.txt through cmake-js (a dependency; package.json's binary.napi_versions makes it
// take Node-API headers from the node-api-headers package, so it works offline), or, where cmake-js is not
// installed, plain CMake with the running Node's own headers. Run inside an installed package
// (node_modules/vllm-node) it builds that package's addon: the way for a Python minor without a prebuild.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.VLLM_NODE_PYTHON ?? join(root, '.venv', 'bin', 'python');
if (!existsSync(python)) {
  console.error(`build-native: no Python at ${python}; run scripts/setup-python.sh or set VLLM_NODE_PYTHON`);
  process.exit(1);
}
const nodeInclude = process.env.NODE_HEADERS_DIR ?? resolve(process.execPath, '..', '..', 'include', 'node');
const buildDir = join(root, 'build');
const out = join(buildDir, 'Release');
mkdirSync(out, { recursive: true });
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
// Copy, then rename over the old file: a running process that has the old addon mapped keeps its inode.
// Copying in place (O_TRUNC) rewrites the code under that process, which then crashes with SIGSEGV.
const install = (from, to) => {
  copyFileSync(from, `${to}.tmp-${process.pid}`);
  renameSync(`${to}.tmp-${process.pid}`, to);
};

let cmakeJs;
try {
  cmakeJs = createRequire(join(root, 'package.json')).resolve('cmake-js/bin/cmake-js');
} catch {}
if (cmakeJs) {
  run(process.execPath, [cmakeJs, 'compile', `--CDPython_EXECUTABLE=${python}`, '--out', join(buildDir, 'cmake-js')]);
  install(join(buildDir, 'cmake-js', 'Release', 'vllm_node.node'), join(out, 'vllm_node.node'));
  copyFileSync(join(buildDir, 'cmake-js', 'vllm_node.json'), join(out, 'vllm_node.json'));
} else if (existsSync(join(nodeInclude, 'node_api.h'))) {
  const cfg = join(buildDir, 'cmake');
  run('cmake', ['-S', root, '-B', cfg, '-DCMAKE_BUILD_TYPE=Release', `-DPython_EXECUTABLE=${python}`,
    `-DNODE_INCLUDE_DIR=${nodeInclude}`]);
  run('cmake', ['--build', cfg, '--parallel', '2']);
  install(join(cfg, 'vllm_node.node'), join(out, 'vllm_node.node'));
  copyFileSync(join(cfg, 'vllm_node.json'), join(out, 'vllm_node.json'));
} else {
  console.error(`build-native: neither cmake-js (npm install cmake-js) nor Node's headers (${nodeInclude}; NODE_HEADERS_DIR) found`);
  process.exit(1);
}
console.log(`build-native: ${join(out, 'vllm_node.node')}`);
// The build's Python minor is in the vllm_node.json that CMake wrote next to it.
const { python: minor } = JSON.parse(readFileSync(join(out, 'vllm_node.json'), 'utf8'));
const prebuild = join(root, 'prebuilds', `${process.platform}-${process.arch}`, `py${minor.replace('.', '')}`, 'vllm_node.node');
if (existsSync(prebuild)) console.warn(`build-native: note: ${prebuild} exists and is loaded before this build (remove it to use this one)`);
