// The addon's two source builds of one description, as an installed package runs them: CMakeLists.txt through
// cmake-js (`npm run build:native` with CMake) and binding.gyp through node-gyp (no CMake: `npm install`'s
// scripts/install.mjs when no prebuild matches), each followed by an engine smoke test on the CPU. Both take the
// Python's facts from scripts/python_build_info.py. The install step never fails `npm install`.
// Builds happen in copies of the package (a checkout's build/ may be shared); child processes are asynchronous.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cpuOptions, ROOT } from '../helpers/models.js';

const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const copies: string[] = [];

/** The files an installed package has (package.json "files", no prebuilds), with the checkout's node_modules. */
function packageCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vllm-node-build-'));
  copies.push(dir);
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ missing: run npm run build:ts');
  for (const f of ['package.json', 'CMakeLists.txt', 'binding.gyp', 'native', 'python', 'scripts', 'dist']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A CPU engine on the tiny model, from the copy's dist/ and therefore its build/Release addon. */
async function smoke(pkg: string): Promise<void> {
  const script = `
    import { Engine } from ${JSON.stringify(join(pkg, 'dist', 'index.js'))};
    const engine = await Engine.create(${JSON.stringify(cpuOptions({ logLevel: 'error' }))}, { configFile: false });
    const r = await engine.generateDetailed('Job: Data Analyst', { maxTokens: 3, temperature: 0, ignoreEos: true });
    await engine.close();
    console.log(JSON.stringify({ outputTokens: r.outputTokens }));
  `;
  const r = await run(process.execPath, ['--input-type=module', '-e', script], pkg, { VLLM_NODE_PYTHON: PYTHON });
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
  expect(JSON.parse(r.stdout.trim())).toEqual({ outputTokens: 3 });
}

afterAll(() => {
  for (const d of copies) rmSync(d, { recursive: true, force: true });
});

describe('install step (scripts/install.mjs)', () => {
  it('never fails npm install: no Python, or a Python that cannot build (no pybind11), leaves a note', async () => {
    const pkg = packageCopy();
    const none = await run(process.execPath, ['scripts/install.mjs'], pkg, { VLLM_NODE_PYTHON: '/nonexistent/bin/python' });
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('vllm-node: no addon built: Cannot run Python /nonexistent/bin/python');
    const bare = await run(process.execPath, ['scripts/install.mjs'], pkg, { VLLM_NODE_PYTHON: '/usr/bin/python3' });
    expect(bare.code).toBe(0);
    expect(bare.stderr).toMatch(/cannot be built yet: .*(pybind11|Python\.h|shared libpython)|no addon built/);
    expect(existsSync(join(pkg, 'build', 'Release', 'vllm_node.node'))).toBe(false);
  });

  it('in a checkout it does nothing (setup.sh and npm run build build there)', async () => {
    const r = await run(process.execPath, ['scripts/install.mjs'], ROOT, { VLLM_NODE_PYTHON: PYTHON });
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });

  it('no addon for the venv Python: builds binding.gyp with node-gyp (no CMake), and an engine runs on it', async () => {
    const pkg = packageCopy();
    const r = await run(process.execPath, ['scripts/install.mjs'], pkg, { VLLM_NODE_PYTHON: PYTHON, VLLM_NODE_BUILDER: 'node-gyp' });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain(`build-native (node-gyp): ${join(pkg, 'build', 'Release', 'vllm_node.node')}`);
    const minor = (await run(PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], pkg, {})).stdout.trim();
    expect(JSON.parse(readFileSync(join(pkg, 'build', 'Release', 'vllm_node.json'), 'utf8'))).toEqual({ python: minor, pythonExecutable: PYTHON });
    await smoke(pkg);
    // Once an addon matches, the install step leaves it alone.
    const again = await run(process.execPath, ['scripts/install.mjs'], pkg, { VLLM_NODE_PYTHON: PYTHON, VLLM_NODE_BUILDER: 'node-gyp' });
    expect(again).toMatchObject({ code: 0, stdout: '', stderr: '' });
  }, 600_000);
});

describe('npm run build:native with CMake (cmake-js)', () => {
  it('builds CMakeLists.txt with the same Python facts, and an engine runs on it', async () => {
    const pkg = packageCopy();
    const r = await run(process.execPath, ['scripts/build-native.mjs'], pkg, { VLLM_NODE_PYTHON: PYTHON, VLLM_NODE_BUILDER: 'cmake-js' });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain('build-native (cmake-js)');
    expect(JSON.parse(readFileSync(join(pkg, 'build', 'Release', 'vllm_node.json'), 'utf8'))).toMatchObject({ pythonExecutable: PYTHON });
    await smoke(pkg);
  }, 600_000);
});
