#!/usr/bin/env node
// prebuildify's build step: it calls `node-gyp rebuild --target=V --devdir=D --arch=A --release|--debug` in
// its cwd and collects cwd/build/Release/*.node. This runs cmake-js on the package's CMakeLists.txt instead
// (the Node-API headers come from node-api-headers, so nothing is downloaded). Only used by scripts/prebuild.mjs.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const python = resolve(process.env.VLLM_NODE_PYTHON ?? join(root, '.venv', 'bin', 'python'));
const cmakeJs = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'rebuild', '--directory', root, '--out', join(process.cwd(), 'build'), `--CDPython_EXECUTABLE=${python}`];
if (arg('target')) args.push('--runtime-version', arg('target'));
if (arg('arch')) args.push('--arch', arg('arch'));
if (process.argv.includes('--debug')) args.push('--debug');
execFileSync(process.execPath, args, { stdio: 'inherit' });
