// The published package, as a new user gets it: `npm pack` from a clean clone (prepack compiles dist/), the
// release steps (`npm run prebuildify`, `npm pack`) in a staging copy, `npm install --offline <tarball>` into an empty project (from the npm cache scripts/test.sh fills), then the CLI's
// doctor and a small script that imports 'vllm-node' and generates on the CPU. The package's Python side is
// the project's .venv, found through VLLM_NODE_PYTHON as a user would point it at theirs.
// Every child process is asynchronous: a synchronous one would block this worker's event loop (vitest's RPC).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cpuOptions, ROOT } from '../helpers/models.js';

const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const TAG = `${process.platform}-${process.arch}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; input?: string }): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
    // A command that exits without reading its input closes the pipe first (EPIPE, seen on a loaded machine): its
    // exit code and output say how it went.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

async function ok(cmd: string, args: string[], opts: Parameters<typeof run>[2]): Promise<Run> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

const npm = (args: string[], cwd: string) =>
  // npm's own update check and audit are noise here.
  ok('npm', [...args, '--no-audit', '--no-fund', '--no-update-notifier'], { cwd, env: { npm_config_loglevel: 'error' } });

let tmp: string;
let minor: string; // the venv's Python, e.g. 3.11
let pyTag: string; // py311
let tarball: string;
let files: string[];
let app: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vllm-node-pack-'));
  minor = (await ok(PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { cwd: tmp })).stdout.trim();
  pyTag = `py${minor.replace('.', '')}`;
  // 1. A clean clone (the files git would give: tracked and untracked-but-not-ignored, so no dist/ and no
  // build/), with the checkout's node_modules as `npm ci` would make them: `npm pack` builds dist/ (prepack).
  const clone = join(tmp, 'clone');
  const listed = (await ok('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT })).stdout.split('\0');
  for (const f of listed) {
    if (!f || /^(node_modules|\.venv|\.models|build|dist)(\/|$)/.test(f) || !existsSync(join(ROOT, f))) continue;
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    cpSync(join(ROOT, f), join(clone, f), { verbatimSymlinks: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  expect(existsSync(join(clone, 'dist'))).toBe(false);
  await npm(['pack', '--pack-destination', tmp], clone).then((r) => (timings.packSource = r.seconds));
  const first = readdirSync(tmp).find((f) => f.endsWith('.tgz'))!;
  const release = join(tmp, 'release');
  mkdirSync(release);
  await ok('tar', ['-xzf', join(tmp, first), '-C', release], { cwd: tmp });
  rmSync(join(tmp, first));
  const staged = join(release, 'package');
  // 2. The release step: prebuildify (cmake-js backend) for the venv's Python minor, into the staged package.
  const pre = await ok(process.execPath, [join(ROOT, 'scripts', 'prebuild.mjs'), '--out', staged], { cwd: ROOT, env: { VLLM_NODE_PYTHON: PYTHON } });
  timings.prebuildify = pre.seconds;
  // 3. The published tarball.
  const packed = await npm(['pack', '--pack-destination', tmp, '--json'], staged);
  const meta = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[]; unpackedSize: number; size: number }[];
  tarball = join(tmp, meta[0]!.filename);
  files = meta[0]!.files.map((f) => f.path);
  timings.tarballKiB = Math.round(meta[0]!.size / 1024);
  timings.unpackedKiB = Math.round(meta[0]!.unpackedSize / 1024);
  // 4. A new user's empty project.
  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The suite runs without network (scripts/offline.sh): scripts/test.sh filled the npm cache with the package's
  // dependencies as a new user resolves them. `--offline` fails at once (ENOTCACHED) where a registry fetch would
  // hang on the missing network.
  const install = await npm(['install', '--offline', tarball], app);
  timings.install = install.seconds;
}, 600_000);

afterAll(() => {
  console.log(`pack test timings (s, KiB): ${JSON.stringify(timings)}`);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm package', () => {
  it('ships the prebuild, the compiled API, the Python side and the sources for a source build, nothing else', () => {
    for (const f of [
      `prebuilds/${TAG}/${pyTag}/vllm_node.node`,
      `prebuilds/${TAG}/${pyTag}/vllm_node.json`,
      'dist/index.js',
      'dist/index.d.ts',
      'dist/ai-sdk/index.js',
      'dist/langchain/index.js',
      'dist/cli/main.js',
      'python/vllm_node/bridge.py',
      'python/vllm_node/child_main.py',
      'native/addon.cc',
      'CMakeLists.txt',
      'binding.gyp',
      'scripts/install.mjs',
      'scripts/python_build_info.py',
      'scripts/build-native.mjs',
      'scripts/setup-python.sh',
      'requirements-cpu.txt',
      'README.md',
    ]) {
      expect(files, f).toContain(f);
    }
    const unexpected = files.filter((f) => /^(src|tests|bench|examples|docs|build|\.venv|\.models|node_modules|scripts\/gpu-host|scripts\/offline-kit)\/|\.map$/.test(f));
    expect(unexpected).toEqual([]);
    expect(timings.unpackedKiB).toBeLessThan(5 * 1024);
  });

  it('installs into an empty project, with a bin', () => {
    expect(readdirSync(join(app, 'node_modules', 'vllm-node', 'prebuilds', TAG))).toEqual([pyTag]);
    expect(readdirSync(join(app, 'node_modules', '.bin'))).toContain('vllm-node');
  });

  it('`vllm-node doctor` from node_modules/.bin: the prebuild is chosen for the venv Python, vLLM imports', async () => {
    const r = await run(join(app, 'node_modules', '.bin', 'vllm-node'), ['doctor', '--json'], { cwd: app, env: { VLLM_NODE_PYTHON: PYTHON } });
    timings.doctor = r.seconds;
    const findings = JSON.parse(r.stdout) as { ok: boolean; check: string; detail: string }[];
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(r.code).toBe(0);
    expect(findings.find((f) => f.check === 'python chosen')!.detail).toContain('from VLLM_NODE_PYTHON');
    expect(findings.find((f) => f.check === 'addon')!.detail).toBe(
      `prebuild for Python ${minor}, matches: ${join(app, 'node_modules', 'vllm-node', 'prebuilds', TAG, pyTag, 'vllm_node.node')}`,
    );
    expect(findings.find((f) => f.check === 'vllm imports')!.detail).toMatch(/^vLLM \d+\.\d+\.\d+ on cpu/);
  });

  it("a script importing 'vllm-node' creates a CPU engine on the tiny model and generates", async () => {
    writeFileSync(
      join(app, 'demo.mjs'),
      `import { Engine } from 'vllm-node';
const engine = await Engine.create(JSON.parse(process.env.ENGINE_OPTIONS), { configFile: false });
const r = await engine.generateDetailed('Job title of: Senior Go Engineer, Remote', { maxTokens: 5, temperature: 0, ignoreEos: true });
await engine.close();
console.log(JSON.stringify({ resolved: import.meta.resolve('vllm-node'), platform: engine.info.device.platform, outputTokens: r.outputTokens, finishReason: r.finishReason }));
`,
    );
    const r = await run(process.execPath, ['demo.mjs'], { cwd: app, env: { VLLM_NODE_PYTHON: PYTHON, ENGINE_OPTIONS: JSON.stringify(cpuOptions()) } });
    timings.demo = r.seconds;
    if (r.code !== 0) throw new Error(`demo exited ${r.code}: ${r.stderr.slice(-4000)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { resolved: string; platform: string; outputTokens: number; finishReason: string };
    expect(out.resolved).toBe(`file://${join(app, 'node_modules', 'vllm-node', 'dist', 'index.js')}`);
    expect(out).toMatchObject({ platform: 'cpu', outputTokens: 5, finishReason: 'length' });
  }, 600_000); // a whole engine start in a fresh process: minutes on a busy 2-core machine

  it('with the optional peers installed, the AI SDK provider and ChatVllm each answer one call; CommonJS require works', async () => {
    // The peers as this repository installed them (its devDependencies), linked into the project as npm links a
    // folder dependency: offline, and each peer finds its own dependencies from its real path.
    mkdirSync(join(app, 'node_modules', '@ai-sdk'), { recursive: true });
    mkdirSync(join(app, 'node_modules', '@langchain'), { recursive: true });
    for (const peer of ['ai', '@ai-sdk/provider', '@ai-sdk/provider-utils', '@langchain/core']) {
      symlinkSync(join(ROOT, 'node_modules', peer), join(app, 'node_modules', peer));
    }
    writeFileSync(
      join(app, 'peers.mjs'),
      `import { generateText } from 'ai';
import { Engine } from 'vllm-node';
import { createVllm } from 'vllm-node/ai-sdk';
import { ChatVllm } from 'vllm-node/langchain';
const engine = await Engine.create(JSON.parse(process.env.ENGINE_OPTIONS), { configFile: false });
const ai = await generateText({ model: createVllm(engine)('tiny'), prompt: 'Title of: Go Engineer', maxOutputTokens: 3, temperature: 0, providerOptions: { vllm: { ignoreEos: true } } });
const lc = await new ChatVllm({ engine, maxTokens: 3, temperature: 0, ignoreEos: true }).invoke('Title of: Go Engineer');
await engine.close();
console.log(JSON.stringify({ ai: ai.usage.outputTokens, langchain: lc.usage_metadata.output_tokens }));
`,
    );
    writeFileSync(join(app, 'require.cjs'), `console.log(JSON.stringify([typeof require('vllm-node').Engine, typeof require('vllm-node/ai-sdk').createVllm, typeof require('vllm-node/langchain').ChatVllm]));\n`);
    const cjs = await ok(process.execPath, ['require.cjs'], { cwd: app });
    expect(JSON.parse(cjs.stdout)).toEqual(['function', 'function', 'function']);
    const r = await run(process.execPath, ['peers.mjs'], { cwd: app, env: { VLLM_NODE_PYTHON: PYTHON, ENGINE_OPTIONS: JSON.stringify(cpuOptions()) } });
    timings.peers = r.seconds;
    if (r.code !== 0) throw new Error(`peers.mjs exited ${r.code}: ${r.stderr.slice(-4000)}`);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ ai: 3, langchain: 3 });
  }, 600_000);

  it('no prebuild for the Python minor: a clear error naming the cmake-js source build, which then works', async () => {
    const pkg = join(app, 'node_modules', 'vllm-node');
    const doctor = async () => {
      const r = await run(join(app, 'node_modules', '.bin', 'vllm-node'), ['doctor', '--json'], { cwd: app, env: { VLLM_NODE_PYTHON: PYTHON } });
      return { code: r.code, addon: (JSON.parse(r.stdout) as { ok: boolean; check: string; detail: string; fix?: string }[]).find((f) => f.check === 'addon')! };
    };
    // As for a Python minor the package has no prebuild for: remove it.
    rmSync(join(pkg, 'prebuilds'), { recursive: true });
    const before = await doctor();
    expect(before.code).toBe(1);
    expect(before.addon.ok).toBe(false);
    expect(before.addon.detail).toContain(`No vllm-node addon for Python ${minor}`);
    expect(before.addon.detail).toContain('cmake-js');
    const command = `cd ${pkg} && VLLM_NODE_PYTHON=${PYTHON} npm run build:native`;
    expect(before.addon.fix).toBe(`Build it from source: ${command}`);
    // The command it names, offline (cmake-js takes the Node-API headers from node-api-headers).
    const build = await ok('bash', ['-c', command], { cwd: app });
    timings.sourceBuild = build.seconds;
    expect(build.stdout).toContain('cmake-js');
    const after = await doctor();
    expect(after.addon).toMatchObject({ ok: true, detail: `local build for Python ${minor}, matches: ${join(pkg, 'build', 'Release', 'vllm_node.node')}` });
    expect(after.code).toBe(0);
  });
});
