// Streaming, cancellation, chat and typed extraction against the real vLLM CPU engine.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { VllmError, type Engine } from '../../src/index.js';
import { cpuEngine } from '../helpers/shared-engine.js';

let engine: Engine;

beforeAll(async () => {
  engine = await cpuEngine();
});

async function collect(it: AsyncIterable<string>): Promise<string> {
  let s = '';
  for await (const d of it) s += d;
  return s;
}

describe('streaming', () => {
  it('the concatenated stream equals generate() for the same prompt, seed and parameters', async () => {
    const opts = { maxTokens: 24, temperature: 0.8, seed: 7 };
    const streamed = await collect(engine.stream('Write a job title:', opts));
    const whole = await engine.generateDetailed('Write a job title:', opts);
    expect(streamed).toBe(whole.rawText);
  });

  it('64 concurrent streams each equal their non-streamed twin', async () => {
    const prompts = Array.from({ length: 64 }, (_, i) => `Posting ${i}: engineer wanted`);
    // Seeded sampling without top-p: vLLM's CPU sampler sorts the whole vocabulary for top-p, which was two thirds of
    // this test's time; what is compared (a stream against its non-streamed twin) is the same.
    const opts = (i: number) => ({ maxTokens: 12, temperature: 0.7, topP: 1, seed: i });
    const [streams, wholes] = await Promise.all([
      Promise.all(prompts.map((p, i) => collect(engine.stream(p, opts(i))))),
      Promise.all(prompts.map((p, i) => engine.generateDetailed(p, opts(i)))),
    ]);
    streams.forEach((s, i) => expect(s).toBe(wholes[i]?.rawText));
  });

  it('breaking out of the loop aborts the request in the engine; the engine keeps serving', async () => {
    let chunks = 0;
    for await (const _ of engine.stream('Count forever:', { maxTokens: 400, ignoreEos: true })) {
      if (++chunks === 3) break;
    }
    expect(chunks).toBe(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(engine.pendingCount).toBe(0);
    expect(await engine.generate('next', { maxTokens: 3 })).toBeTypeOf('string');
  });
});

describe('cancellation', () => {
  it('an AbortSignal rejects that request with REQUEST_ABORTED and leaves the others running', async () => {
    const controller = new AbortController();
    const victim = engine.generate('abort me', { maxTokens: 400, ignoreEos: true, signal: controller.signal });
    const others = Array.from({ length: 4 }, (_, i) => engine.generateDetailed(`keep ${i}`, { maxTokens: 20, ignoreEos: true }));
    setTimeout(() => controller.abort(), 50);
    const err = await victim.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(VllmError);
    expect((err as VllmError).code).toBe('REQUEST_ABORTED');
    for (const r of await Promise.all(others)) expect(r.outputTokens).toBe(20);
  });

  it('an already-aborted signal rejects at once', async () => {
    const err = await engine.generate('x', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((err as VllmError).code).toBe('REQUEST_ABORTED');
  });

  it('aborting mid-stream ends the stream with REQUEST_ABORTED', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const d of engine.stream('stream then abort', { maxTokens: 400, ignoreEos: true, signal: controller.signal })) {
        seen.push(d);
        if (seen.length === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect((err as VllmError).code).toBe('REQUEST_ABORTED');
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });
});

describe('chat', () => {
  const messages = [
    { role: 'system', content: 'You extract job titles.' },
    { role: 'user', content: 'Senior Backend Engineer (Go) - Remote' },
  ];

  it("renders the model's own chat template exactly as the tokenizer's apply_chat_template does", async () => {
    const ours = await engine.call<{ prompt: string }>('render_chat', { messages });
    const hf = await engine.call<string>('hf_chat_template', { messages });
    expect(ours.prompt).toBe(hf);
    expect(hf).toContain('<|im_start|>user');
  });

  it('chat, chatDetailed and chatStream agree', async () => {
    const opts = { maxTokens: 10, temperature: 0 };
    const text = await engine.chat(messages, opts);
    const detailed = await engine.chatDetailed(messages, opts);
    const streamed = await collect(engine.chatStream(messages, opts));
    expect(detailed.text).toBe(text);
    expect(streamed).toBe(detailed.rawText);
  });

  it('bad messages are INVALID_REQUEST', async () => {
    const err = await engine.chat([{ role: 'user' }] as never).catch((e: unknown) => e);
    expect((err as VllmError).code).toBe('INVALID_REQUEST');
  });
});

describe('typed extraction', () => {
  // Bounded strings: a random-weights model would otherwise write one string until maxTokens.
  const Job = z.object({
    title: z.string().min(1).max(24),
    company: z.string().min(1).max(24),
    remote: z.boolean(),
    seniority: z.enum(['junior', 'mid', 'senior']),
  });
  const postings = [
    'Senior Backend Engineer (Go) - Remote. Acme Cloud. $150k.',
    'Data Analyst at Northwind Traders, London. £40,000.',
    'Registered Nurse, St. Mary’s Hospital, Boston. $45/hour.',
  ];

  it('even the random-weights model returns schema-valid JSON under constrained decoding', async () => {
    const job = await engine.extract(postings[0]!, Job, { maxTokens: 200, temperature: 0 });
    expect(Job.safeParse(job).success).toBe(true);
  });

  it('extractMany returns results in input order, reports progress, isolates failures', async () => {
    const progress: number[] = [];
    const inputs = [...postings, 42 as unknown as string, postings[1]!];
    const results = await engine.extractMany(inputs, Job, { maxTokens: 200, temperature: 0, onProgress: (d) => progress.push(d) });
    expect(results).toHaveLength(5);
    expect(results[3]).toMatchObject({ ok: false });
    expect((results[3] as { error: VllmError }).error.code).toBe('INVALID_REQUEST');
    for (const i of [0, 1, 2, 4]) {
      const r = results[i]!;
      expect(r.ok).toBe(true);
      if (r.ok) expect(Job.safeParse(r.value).success).toBe(true);
    }
    expect(progress.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  });

  it('output that fails validation is OUTPUT_INVALID carrying the raw text', async () => {
    // Constrain to one schema, validate with a stricter one: the output cannot pass.
    const Strict = Job.extend({ title: z.string().refine((t) => t === 'never produced') });
    const err = await engine.extract(postings[0]!, Strict, { maxTokens: 200, temperature: 0 }).catch((e: unknown) => e);
    expect((err as VllmError).code).toBe('OUTPUT_INVALID');
    expect((err as VllmError).rawText).toBeTruthy();
  });

  it('details: finish reason, token counts and vLLM timings', async () => {
    const r = await engine.generateDetailed('Hello', { maxTokens: 8, ignoreEos: true });
    expect(r.finishReason).toBe('length');
    expect(r.promptTokens).toBeGreaterThan(0);
    expect(r.outputTokens).toBe(8);
    expect(r.timings!.firstToken).toBeGreaterThan(0);
    expect(r.timings!.total).toBeGreaterThanOrEqual(r.timings!.decode);
  });
});
