// The local/cloud switch against a real `vllm serve` (CPU, the same tiny model) started by this test.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createVllm } from '../../src/ai-sdk/index.js';
import { Engine, RemoteGenerator, Router, VllmError } from '../../src/index.js';
import { cpuOptions, requireModel, ROOT } from '../helpers/models.js';

const PORT = 18000 + (process.pid % 1000);
let server: ChildProcess;
let remote: RemoteGenerator;

beforeAll(async () => {
  const python = join(ROOT, '.venv', 'bin', 'python');
  server = spawn(
    python,
    ['-m', 'vllm.entrypoints.cli.main', 'serve', requireModel(), '--port', String(PORT), '--served-model-name', 'tiny', '--dtype', 'float32',
      '--enforce-eager', '--max-model-len', '1024', '--kv-cache-memory-bytes', String(256 * 1024 * 1024), '--structured-outputs-config.backend', 'xgrammar',
      '--structured-outputs-config.disable_any_whitespace', 'true'],
    { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, VLLM_NO_USAGE_STATS: '1', DO_NOT_TRACK: '1' } },
  );
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) throw new Error(`vllm serve exited with ${server.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 1000));
  }
  remote = new RemoteGenerator({ baseURL: `http://127.0.0.1:${PORT}/v1`, model: 'tiny' });
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGINT');
    await new Promise((r) => server.once('exit', r));
  }
});

describe('RemoteGenerator against vllm serve', () => {
  it('generate, stream and chat', async () => {
    const d = await remote.generateDetailed('Extract job title from: Software Engineer', { maxTokens: 8, ignoreEos: true });
    expect(d.outputTokens).toBe(8);
    let s = '';
    for await (const x of remote.stream('hello', { maxTokens: 6, temperature: 0 })) s += x;
    expect(s).toBe((await remote.generateDetailed('hello', { maxTokens: 6, temperature: 0 })).rawText);
    expect(await remote.chat([{ role: 'user', content: 'hi' }], { maxTokens: 5 })).toBeTypeOf('string');
    expect(await remote.health()).toBe(true);
  });

  it('typed extraction through the endpoint', async () => {
    const Job = z.object({ title: z.string().min(1).max(20), remote: z.boolean() });
    const job = await remote.extract('Senior Go Engineer, Remote', Job, { maxTokens: 100, temperature: 0 });
    expect(Job.safeParse(job).success).toBe(true);
  });

  it("log-probabilities through OpenAI's logprobs, chat and completions, and extractDetailed over the endpoint", async () => {
    const chat = await remote.chatDetailed([{ role: 'user', content: 'hi' }], { maxTokens: 6, temperature: 0, ignoreEos: true, logprobs: 2 });
    expect(chat.logprobs).toHaveLength(chat.outputTokens);
    for (const t of chat.logprobs!) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top).toHaveLength(2);
    }
    const text = await remote.generateDetailed('hello', { maxTokens: 6, temperature: 0, ignoreEos: true, logprobs: 1 });
    expect(text.logprobs).toHaveLength(6);
    expect(text.logprobs!.map((t) => t.token).join('')).toBe(text.rawText);
    const Job = z.object({ title: z.string().min(1).max(20), remote: z.boolean() });
    const { value, fields } = await remote.extractDetailed('Senior Go Engineer, Remote', Job, { maxTokens: 100, temperature: 0 });
    expect(Object.keys(fields).sort()).toEqual(['$.remote', '$.title']);
    expect(fields['$.title']).toMatchObject({ value: value.title });
    for (const f of Object.values(fields)) expect(f.confidence > 0 && f.confidence <= 1).toBe(true);
  });

  it('errors are REMOTE_ERROR', async () => {
    const bad = new RemoteGenerator({ baseURL: `http://127.0.0.1:${PORT}/v1`, model: 'no-such-model' });
    const err = await bad.generate('x', { maxTokens: 2 }).catch((e: unknown) => e);
    expect((err as VllmError).code).toBe('REMOTE_ERROR');
  });
});

describe('the AI SDK provider over RemoteGenerator', () => {
  it('streamText reports the endpoint\'s usage and finish reason (chatStream onFinish)', async () => {
    const result = streamText({ model: createVllm(remote)('tiny'), prompt: 'Title of: Go Engineer', maxOutputTokens: 5, temperature: 0, providerOptions: { vllm: { ignoreEos: true } } });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(typeof text).toBe('string');
    expect((await result.usage).outputTokens).toBe(5);
    expect((await result.usage).inputTokens).toBeGreaterThan(0);
    expect(await result.finishReason).toBe('length');
  });
});

describe('Router: prefers local, falls back to the endpoint', () => {
  it('falls back when the local engine cannot load, and reports it', async () => {
    const fallbacks: string[] = [];
    const router = new Router({
      local: () => Engine.create(cpuOptions({ model: '/nonexistent/model' }), { configFile: false }),
      remote,
      onFallback: (e) => fallbacks.push(e.code),
    });
    const text = await router.generate('hello', { maxTokens: 4 });
    expect(text).toBeTypeOf('string');
    // The missing folder is caught before vLLM starts (MODEL_NOT_FOUND), a local failure the Router falls back on.
    expect(fallbacks).toEqual(['MODEL_NOT_FOUND']);
  });

  it('goes to the endpoint when told, and does not retry input errors remotely', async () => {
    const router = new Router({ local: remote, remote, prefer: 'remote' });
    expect(await router.generate('hi', { maxTokens: 2 })).toBeTypeOf('string');
    const local = new Router({ local: remote, remote });
    const err = await local.generate('x', { maxTokens: -5 }).catch((e: unknown) => e);
    expect((err as VllmError).code).toBe('INVALID_OPTIONS');
  });
});
