// What a new user meets first: a model path that is wrong, and vLLM's logs (quiet by default, never on stdout).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { cpuOptions, ROOT } from '../helpers/models.js';

const noConfig = { configFile: false as const };

describe('a model path that is wrong', () => {
  it('no such folder: MODEL_NOT_FOUND before vLLM starts, not a hub-id complaint', async () => {
    const err = await rejection(Engine.create(cpuOptions({ model: '/nonexistent/models/qwen' }), noConfig));
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toContain('no such folder: /nonexistent/models/qwen; vllm-node never downloads');
    expect(err.message).not.toContain('Repo id');
  });

  it('a folder without config.json: MODEL_NOT_FOUND', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-empty-model-'));
    const err = await rejection(Engine.create(cpuOptions({ model: dir }), noConfig));
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toContain('has no config.json');
  });
});

describe('vLLM logs', () => {
  it('by default: only warnings and errors, on stderr; stdout holds only what the program prints', async () => {
    // A child process with the library's defaults (no logLevel), as a user's program would run.
    const script = `
      import { Engine } from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
      const engine = await Engine.create(${JSON.stringify(cpuOptions())}, { configFile: false });
      const r = await engine.generateDetailed('Job: Data Analyst', { maxTokens: 4, temperature: 0, ignoreEos: true });
      await engine.close();
      process.stdout.write('RESULT ' + r.outputTokens + '\\n');
    `;
    const env = { ...process.env };
    delete env.VLLM_NODE_LOG_LEVEL;
    delete env.VLLM_LOGGING_LEVEL;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, err.slice(-3000)).toBe(0);
    expect(out).toBe('RESULT 4\n');
    // vLLM's INFO lines (start-up, weight loading, shutdown), from this process or its EngineCore and workers.
    expect(err).not.toMatch(/^(\(\w+ pid=\d+\) )?INFO /m);
    expect(err).not.toContain('Loading safetensors checkpoint shards');
    // vllm-node's own VLLM_NODE_* variables are not reported as unknown vLLM variables.
    expect(err).not.toContain('Unknown vLLM environment variable detected: VLLM_NODE_');
  });
});
