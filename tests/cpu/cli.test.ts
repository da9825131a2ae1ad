// The CLI on this machine's real environment and on broken ones.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { cpuOptions, requireModel, ROOT } from '../helpers/models.js';

const CLI = join(ROOT, 'dist', 'cli', 'main.js');
// The engine settings of the CPU suite (tests/helpers/models.ts) for the CLI's engines, through the environment as a
// user sets them: `--cpu` alone leaves torch.compile on, a minute of compiling per start on a 2-core machine.
const { enforceEager, maxModelLen } = cpuOptions();
const EAGER = { VLLM_ENFORCE_EAGER: String(enforceEager), VLLM_MAX_MODEL_LEN: String(maxModelLen) };
const doctorJson = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, 'doctor', '--json', ...args], { encoding: 'utf8' });
  return { code: r.status, findings: JSON.parse(r.stdout) as { ok: boolean; check: string; detail: string; fix?: string }[] };
};

describe('vllm-node doctor', () => {
  it('this machine: everything ok, vLLM CPU platform reported', () => {
    const { code, findings } = doctorJson([]);
    expect(code).toBe(0);
    expect(findings.find((f) => f.check === 'vllm imports')!.detail).toMatch(/^vLLM \d+\.\d+\.\d+ on cpu/);
    expect(findings.find((f) => f.check === 'addon')!.ok).toBe(true);
  });

  it('a Python without vLLM: names the problem and a fix', () => {
    const { code, findings } = doctorJson(['--python', '/usr/bin/python3']);
    expect(code).toBe(1);
    const f = findings.find((x) => x.check === 'vllm imports')!;
    expect(f.ok).toBe(false);
    expect(f.fix).toContain('setup-python.sh');
  });

  it('a missing Python: PYTHON_NOT_FOUND-style finding with a fix', () => {
    const { code, findings } = doctorJson(['--python', '/nonexistent/bin/python']);
    expect(code).toBe(1);
    expect(findings.find((x) => x.check === 'python runs')).toMatchObject({ ok: false });
  });
});

describe('vllm-node generate', () => {
  it('reads JSONL from stdin and writes JSONL (plain output when piped)', async () => {
    const input = ['{"prompt":"Job: Data Analyst"}', '"plain string prompt"', ''].join('\n');
    // Asynchronous: a synchronous child would block this worker's event loop (and vitest's RPC) for a minute.
    const child = spawn(process.execPath, [CLI, 'generate', '--cpu', '--model', requireModel(), '--max-tokens', '4'], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, ...EAGER },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    // stdout carries only JSONL (vLLM's logs go to stderr).
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ outputTokens: expect.any(Number) });
  });
});

describe('vllm-node extract', () => {
  it('goes through the one extraction: output cut off at --max-tokens is an OUTPUT_INVALID line, not a JSON.parse crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-cli-extract-'));
    const schemaFile = join(dir, 'job.schema.json');
    writeFileSync(schemaFile, JSON.stringify({ type: 'object', properties: { title: { type: 'string' } }, required: ['title'] }));
    // Three tokens cannot hold a complete {"title": "..."} object: each item is cut off at maxTokens.
    const child = spawn(process.execPath, [CLI, 'extract', '--cpu', '--model', requireModel(), '--schema', schemaFile, '--max-tokens', '3'], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, ...EAGER },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(['{"input":"Senior Go Engineer, Remote"}', '"Data Analyst in Berlin"', ''].join('\n'));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { error?: string; message?: string });
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.error).toBe('OUTPUT_INVALID');
      expect(l.message).toContain('cut off at maxTokens');
    }
  });

  it('a JSON Schema zod cannot validate with fails before the engine starts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-cli-extract-'));
    const schemaFile = join(dir, 'bad.schema.json');
    writeFileSync(schemaFile, JSON.stringify({ type: 'no-such-type' }));
    const r = spawnSync(process.execPath, [CLI, 'extract', '--model', requireModel(), '--schema', schemaFile], { encoding: 'utf8', input: '"x"\n' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('INVALID_OPTIONS: The JSON Schema cannot be used to validate output');
  });
});

describe('vllm-node warmup', () => {
  it("--models warms the config's catalog as ModelManager starts it, prints the record, and doctor --model reads it back", async () => {
    // A cache folder of its own: the record lands next to vLLM's caches (VLLM_CACHE_ROOT).
    const cache = mkdtempSync(join(tmpdir(), 'vllm-node-cli-warm-'));
    const env = { ...process.env, ...EAGER, VLLM_CACHE_ROOT: cache };
    const before = spawnSync(process.execPath, [CLI, 'doctor', '--json', '--model', requireModel()], { encoding: 'utf8', env });
    const cold = (JSON.parse(before.stdout) as { ok: boolean; check: string; fix?: string }[]).find((f) => f.check === 'caches')!;
    expect(cold.ok).toBe(false);
    expect(cold.fix).toContain('vllm-node warmup --model');

    const config = join(cache, 'inference.yaml');
    writeFileSync(config, `inference:\n  default_model: tiny\n  models:\n    tiny:\n      model: ${requireModel()}\n`);
    const child = spawn(process.execPath, [CLI, 'warmup', '--cpu', '--models', '-c', config], { stdio: ['ignore', 'pipe', 'ignore'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const record = JSON.parse(out.trim()) as { name: string; model: string; vllmVersion: string; startupSeconds: number; settings: string; at: string };
    expect(record).toMatchObject({ name: 'tiny', vllmVersion: expect.stringMatching(/^\d+\.\d+/), startupSeconds: expect.any(Number), settings: expect.any(String) });

    const after = spawnSync(process.execPath, [CLI, 'doctor', '--json', '--model', requireModel()], { encoding: 'utf8', env });
    const warm = (JSON.parse(after.stdout) as { ok: boolean; check: string; detail: string }[]).find((f) => f.check === 'caches')!;
    expect(warm.detail).toMatch(/warmed up/);
    expect(warm.detail).toContain(record.at);
  });
});
