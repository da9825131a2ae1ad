#!/usr/bin/env node
// Builds the addon into build/Release for the Python that vllm-node will use (VLLM_NODE_PYTHON, else .venv).
// Where CMake is installed: CMakeLists.txt through cmake-js (a dependency; package.json's binary.napi_versions
// makes it take Node-API headers from the node-api-headers package, so it works offline), or plain CMake with the
// running Node's own headers where cmake-js is missing. Without CMake: binding.gyp through node-gyp (it comes
// with npm), with the running Node's headers when they are on disk. VLLM_NODE_BUILDER=cmake-js|cmake|node-gyp
// picks one. Run inside an installed package (node_modules/vllm-node) it builds that package's addon: the way
// for a Python minor without a prebuild (scripts/install.mjs runs it at `npm install`).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
const hasCmake = (() => {
  try {
    execFileSync('cmake', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// npm tells its scripts where its node-gyp is; else the one next to this Node's npm.
const nodeGyp = [process.env.npm_config_node_gyp, resolve(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]
  .find((p) => p && p.endsWith('.js') && existsSync(p));
const builder =
  process.env.VLLM_NODE_BUILDER ??
  (hasCmake && cmakeJs ? 'cmake-js' : hasCmake && existsSync(join(nodeInclude, 'node_api.h')) ? 'cmake' : nodeGyp ? 'node-gyp' : undefined);

if (builder === 'node-gyp') {
  if (!nodeGyp) {
    console.error('build-native: node-gyp not found (it comes with npm; or set npm_config_node_gyp)');
    process.exit(1);
  }
  // Node's own headers when this Node has them (offline); else node-gyp downloads them.
  const nodeDir = resolve(process.execPath, '..', '..');
  const nodeDirArg = existsSync(join(nodeDir, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodeDir}`] : [];
  execFileSync(process.execPath, [nodeGyp, 'configure', 'build', '--jobs', '2', ...nodeDirArg], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, VLLM_NODE_PYTHON: python },
  });
  // node-gyp wrote build/Release/vllm_node.node (replacing the file, not rewriting it in place); record its Python
  // as CMake does, from the same script binding.gyp asked.
  const facts = JSON.parse(execFileSync(python, [join(root, 'scripts', 'python_build_info.py'), '--json'], { encoding: 'utf8' }));
  writeFileSync(join(out, 'vllm_node.json'), `${JSON.stringify({ python: facts.python, pythonExecutable: python })}\n`);
} else if (builder === 'cmake-js') {
  run(process.execPath, [cmakeJs, 'compile', `--CDPython_EXECUTABLE=${python}`, '--out', join(buildDir, 'cmake-js')]);
  install(join(buildDir, 'cmake-js', 'Release', 'vllm_node.node'), join(out, 'vllm_node.node'));
  copyFileSync(join(buildDir, 'cmake-js', 'vllm_node.json'), join(out, 'vllm_node.json'));
} else if (builder === 'cmake') {
  const cfg = join(buildDir, 'cmake');
  run('cmake', ['-S', root, '-B', cfg, '-DCMAKE_BUILD_TYPE=Release', `-DPython_EXECUTABLE=${python}`,
    `-DNODE_INCLUDE_DIR=${nodeInclude}`]);
  run('cmake', ['--build', cfg, '--parallel', '2']);
  install(join(cfg, 'vllm_node.node'), join(out, 'vllm_node.node'));
  copyFileSync(join(cfg, 'vllm_node.json'), join(out, 'vllm_node.json'));
} else {
  console.error(
    builder
      ? `build-native: unknown VLLM_NODE_BUILDER=${builder} (cmake-js, cmake or node-gyp)`
      : `build-native: no way to build: neither CMake (with cmake-js or Node's headers in ${nodeInclude}) nor node-gyp found`,
  );
  process.exit(1);
}
console.log(`build-native (${builder}): ${join(out, 'vllm_node.node')}`);
// The build's Python minor is in the vllm_node.json that CMake wrote next to it.
const { python: minor } = JSON.parse(readFileSync(join(out, 'vllm_node.json'), 'utf8'));
const prebuild = join(root, 'prebuilds', `${process.platform}-${process.arch}`, `py${minor.replace('.', '')}`, 'vllm_node.node');
if (existsSync(prebuild)) console.warn(`build-native: note: ${prebuild} exists and is loaded before this build (remove it to use this one)`);
