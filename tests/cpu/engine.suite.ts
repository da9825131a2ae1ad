// The foundation, end to end against the real vLLM CPU engine and the tiny Qwen3-shaped model (the run's shared
// engine; closing an engine with requests in flight is tests/cpu/lifecycle.test.ts's).
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { cpuOptions, requireModel } from '../helpers/models.js';
import { cpuEngine } from '../helpers/shared-engine.js';

const noConfig = { configFile: false as const };
let engine: Engine;

describe('embedded engine on the CPU', () => {
  it('a model folder vLLM cannot load rejects with MODEL_LOAD_FAILED and the process survives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-bad-model-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'no-such-architecture' }));
    const err = await rejection(Engine.create(cpuOptions({ model: dir }), noConfig));
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.pyType).toBeTruthy();
    expect(err.pythonTraceback).toContain('Traceback');
  });

  it("a checkpoint the worker cannot read: MODEL_LOAD_FAILED with the worker's own exception, not vLLM's 'see above'", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-broken-checkpoint-'));
    for (const f of readdirSync(requireModel())) if (f !== 'model.safetensors') copyFileSync(join(requireModel(), f), join(dir, f));
    writeFileSync(join(dir, 'model.safetensors'), readFileSync(join(requireModel(), 'model.safetensors')).subarray(0, 4096));
    const err = await rejection(Engine.create(cpuOptions({ model: dir }), noConfig));
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toMatch(/vLLM's EngineCore failed to start: SafetensorError: Error while deserializing header/);
  });

  it('fp8 on the CPU is refused clearly instead of silently changed', async () => {
    const err = await rejection(Engine.create(cpuOptions({ quantization: 'fp8' }), noConfig));
    expect(err.code).toBe('UNSUPPORTED_SETTING');
    expect(err.option).toBe('quantization');
    expect(err.message).toContain('compute capability 8.9');
  });

  it('an engine starts (or is running) after the failures and reports the effective configuration', async () => {
    engine = await cpuEngine();
    const info = engine.info;
    expect(info.device.platform).toBe('cpu');
    // Every vLLM internal vllm-node relies on (python/vllm_node/internals.py) exists in the installed vLLM.
    expect(info.notes.filter((n) => n.option === 'vllmInternals')).toEqual([]);
    expect(info.quantization).toBeNull();
    expect(info.kvCacheDtype).toBe('auto');
    expect(info.dtype).toBe('float32');
    expect(info.maxModelLen).toBe(1024);
    // swap_space is reported, not silently dropped.
    expect(info.notes.find((n) => n.option === 'swapSpace')).toMatchObject({ value: 4 });
    console.log(`[cpu] engine start-up ${info.startupSeconds.toFixed(1)} s (vLLM ${info.vllmVersion})`);
  });

  it('generates trimmed text', async () => {
    const text = await engine.generate('Extract job title from: Software Engineer - Remote', { maxTokens: 12 });
    expect(typeof text).toBe('string');
    expect(text.length).toBeGreaterThan(0);
    expect(text).toBe(text.trim());
  });

  it('health() is true', async () => {
    expect(await engine.health()).toBe(true);
  });

  it('matches vLLM’s own LLM.generate with temperature 0 and a seed', async () => {
    const prompts = ['Extract job title from: Software Engineer - Remote', 'Company: Acme Corp. Role: Data Analyst.'];
    const params = { max_tokens: 24, temperature: 0, top_p: 0.9, frequency_penalty: 0.1, seed: 1234 };
    const reference = await engine.call<{ texts: string[] }>('reference_generate', { prompts, params });
    for (const [i, prompt] of prompts.entries()) {
      const ours = await engine.generateDetailed(prompt, { maxTokens: 24, temperature: 0, seed: 1234 });
      expect(ours.rawText).toBe(reference.texts[i]);
      expect(ours.text).toBe(reference.texts[i]?.trim());
    }
  });

  it("the rest of vLLM's SamplingParams, per call: each option gives what vLLM gives for the same request", async () => {
    const prompt = 'Company: Acme Corp. Role: Data Analyst.';
    const base = { maxTokens: 16, temperature: 0, seed: 1234 };
    const vllmBase = { max_tokens: 16, temperature: 0, top_p: 0.9, frequency_penalty: 0.1, seed: 1234 };
    const plain = await engine.generateDetailed(prompt, base);
    const ids = await engine.call<number[]>('tokenize', { text: plain.rawText });
    const firstWord = plain.rawText.trim().split(/\s+/)[0]!;
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ repetitionPenalty: 1.5 }, { repetition_penalty: 1.5 }],
      [{ temperature: 1, topK: 3, seed: 7 }, { temperature: 1, top_k: 3, seed: 7 }],
      [{ temperature: 1, minP: 0.3, seed: 7 }, { temperature: 1, min_p: 0.3, seed: 7 }],
      [{ presencePenalty: 1.5 }, { presence_penalty: 1.5 }],
      [{ minTokens: 16, maxTokens: 16 }, { min_tokens: 16, max_tokens: 16 }],
      [{ stopTokenIds: [ids[2]] }, { stop_token_ids: [ids[2]] }],
      [{ badWords: [firstWord] }, { bad_words: [firstWord] }],
      [{ logitBias: { [String(ids[0])]: -100, '11': 100 } }, { logit_bias: { [String(ids[0])]: -100, '11': 100 } }],
    ];
    for (const [ours, theirs] of cases) {
      const r = await engine.generateDetailed(prompt, { ...base, ...ours });
      const reference = await engine.call<{ texts: string[] }>('reference_generate', { prompts: [prompt], params: { ...vllmBase, ...theirs } });
      expect(r.rawText, JSON.stringify(ours)).toBe(reference.texts[0]);
      // Each option changes this output (minTokens only matters when end-of-sequence comes first, which it does not here).
      if (!('minTokens' in ours)) expect(r.rawText, JSON.stringify(ours)).not.toBe(plain.rawText);
    }
    const bad = await rejection(engine.generateDetailed(prompt, { logitBias: { x: 1 } }));
    expect(bad.code).toBe('INVALID_OPTIONS');
  });

  it('n and logprobs: every completion and each token\'s log-probabilities, as vLLM gives them for the same request', async () => {
    const prompt = 'Company: Acme Corp. Role: Data Analyst.';
    const ours = await engine.generateDetailed(prompt, { maxTokens: 8, temperature: 1, seed: 7, n: 3, logprobs: 2 });
    const reference = await engine.call<{ choices: string[][]; logprobs: { token: string; tokenId: number; logprob: number; top: unknown[] }[][] }>(
      'reference_generate',
      { prompts: [prompt], params: { max_tokens: 8, temperature: 1, top_p: 0.9, frequency_penalty: 0.1, seed: 7, n: 3, logprobs: 2 } },
    );
    expect(ours.choices!.map((c) => c.rawText)).toEqual(reference.choices[0]);
    expect(ours.rawText).toBe(reference.choices[0]![0]);
    expect(ours.choices).toHaveLength(3);
    expect(ours.logprobs).toHaveLength(ours.outputTokens);
    expect(ours.logprobs!.map((t) => t.tokenId)).toEqual(reference.logprobs[0]!.map((t) => t.tokenId));
    for (const [i, t] of ours.logprobs!.entries()) {
      expect(t.logprob).toBeCloseTo(reference.logprobs[0]![i]!.logprob, 4);
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top).toHaveLength(2);
      expect(t.top[0]!.logprob).toBeGreaterThanOrEqual(t.top[1]!.logprob);
    }
    for (const c of ours.choices!) expect(c.logprobs).toHaveLength(c.outputTokens);
    // logprobs 0: the chosen tokens' own log-probabilities only.
    const greedy = await engine.generateDetailed(prompt, { maxTokens: 8, temperature: 0, logprobs: 0 });
    expect(greedy.logprobs).toHaveLength(greedy.outputTokens);
    expect(greedy.logprobs!.every((t) => t.top.length === 0)).toBe(true);
    expect((await rejection((async () => { for await (const _ of engine.stream(prompt, { n: 2 })) void _; })())).code).toBe('INVALID_OPTIONS');
  });

  it('16 concurrent generate() calls all resolve, and vLLM ran them batched', async () => {
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => engine.generateDetailed(`Posting ${i}: Senior Engineer at Company ${i}`, { maxTokens: 16, ignoreEos: true })),
    );
    expect(results).toHaveLength(16);
    for (const r of results) {
      expect(r.outputTokens).toBe(16);
      expect(r.finishReason).toBe('length');
      expect(r.timings).not.toBeNull();
    }
    // From vLLM's own per-request engine timestamps: every request was scheduled before any of them
    // finished, so they ran in the same continuous batch (a serial run would have disjoint intervals).
    const raw = results.map((r) => r.timings!.raw);
    const firstFinish = Math.min(...raw.map((t) => t.lastTokenTs));
    const lastStart = Math.max(...raw.map((t) => t.scheduledTs));
    expect(lastStart).toBeLessThan(firstFinish);
  });

  it('invalid per-call options are INVALID_OPTIONS naming the key; the engine keeps serving', async () => {
    const e1 = await rejection(engine.generate('x', { maxTokens: -1 }));
    expect(e1.code).toBe('INVALID_OPTIONS');
    expect(e1.message).toMatch(/^Invalid option "maxTokens"/);
    const e2 = await rejection(engine.generate('x', { max_tokens: 5 } as never));
    expect(e2.message).toBe('Unknown option "max_tokens"; did you mean "maxTokens"?');
    expect(await engine.generate('still alive', { maxTokens: 2 })).toBeTypeOf('string');
  });
});
