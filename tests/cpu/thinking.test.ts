// Thinking models on the CPU engine: the tiny model's real Qwen3 tokenizer and chat template (enable_thinking), and
// vLLM's qwen3 reasoning parser. The weights are random, so where the output matters a regex fixes it. Its own engine
// (the parser changes chat results): in the 'cpu' project, not on the shared engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { cpuOptions } from '../helpers/models.js';

let engine: Engine;
const hi = [{ role: 'user', content: 'Hi' }];
/** Makes the regex's `<think>` / `</think>` the tokenizer's single tokens, as a real model emits them. */
let markers: Record<string, number>;

beforeAll(async () => {
  // enable_in_reasoning: the regex applies to the reasoning too (vLLM otherwise constrains what follows it).
  engine = await Engine.create(
    cpuOptions({ reasoningParser: 'qwen3', engineArgs: { structured_outputs_config: { backend: 'xgrammar', disable_any_whitespace: true, enable_in_reasoning: true } } }),
    { configFile: false },
  );
  const ids = [...(await engine.tokenize('<think>', { addSpecialTokens: false })), ...(await engine.tokenize('</think>', { addSpecialTokens: false }))];
  expect(ids).toHaveLength(2);
  markers = Object.fromEntries(ids.map((id) => [String(id), 100]));
});

afterAll(async () => {
  await engine?.close();
});

describe('thinking', () => {
  it('an unknown reasoningParser fails the start, listing the installed parsers', async () => {
    const err = await rejection(Engine.create(cpuOptions({ reasoningParser: 'no_such_parser' }), { configFile: false }));
    expect(err.code).toBe('UNSUPPORTED_SETTING');
    expect(err.option).toBe('reasoningParser');
    expect(err.message).toMatch(/no reasoning parser of that name; it has .*\bqwen3\b/);
  });

  it('thinking: false renders the template with thinking off (its empty think block in the prompt)', async () => {
    const [on, off, unset] = await Promise.all([engine.countTokens(hi, { thinking: true }), engine.countTokens(hi, { thinking: false }), engine.countTokens(hi)]);
    expect(unset).toBe(on);
    expect(off).toBeGreaterThan(on);
    expect(await engine.countTokens(hi, { chatTemplateKwargs: { enable_thinking: false } })).toBe(off);
    const r = await engine.chatDetailed(hi, { thinking: false, maxTokens: 4, temperature: 0 });
    expect(r.promptTokens).toBe(off);
  });

  it('thinking off gives no <think> block: none generated, no reasoning', async () => {
    const r = await engine.chatDetailed(hi, { thinking: false, maxTokens: 16, temperature: 0 });
    expect(r.rawText).not.toContain('<think>');
    expect(r.reasoning).toBeUndefined();
    expect(r.outputTokens).toBeGreaterThan(0);
  });

  it("the parser takes the reasoning out of the text: result.reasoning apart from text", async () => {
    const r = await engine.chatDetailed(hi, { thinking: true, regex: '<think>abc</think>answer', logitBias: markers, maxTokens: 30, temperature: 0 });
    expect(r.text).toBe('answer');
    expect(r.reasoning).toBe('abc');
  });

  it('a stream yields the answer; the reasoning comes through onReasoning, before it', async () => {
    const seen: string[] = [];
    let finished: { text: string; reasoning?: string } | undefined;
    const stream = engine.chatStream(hi, {
      regex: '<think>abc def</think>answer',
      logitBias: markers,
      maxTokens: 30,
      temperature: 0,
      onReasoning: (d) => seen.push(`R:${d}`),
      onFinish: (r) => (finished = r),
    });
    for await (const d of stream) seen.push(`T:${d}`);
    const firstText = seen.findIndex((s) => s.startsWith('T:'));
    expect(seen.slice(0, firstText).every((s) => s.startsWith('R:'))).toBe(true);
    expect(seen.filter((s) => s.startsWith('R:')).map((s) => s.slice(2)).join('')).toBe('abc def');
    expect(seen.filter((s) => s.startsWith('T:')).map((s) => s.slice(2)).join('')).toBe('answer');
    expect(finished?.reasoning).toBe('abc def');
    expect(finished?.text).toBe('answer');
  });

  it('each of n completions is split', async () => {
    const r = await engine.chatDetailed(hi, { regex: '<think>abc</think>answer', logitBias: markers, n: 2, maxTokens: 30, temperature: 1, seed: 1 });
    expect(r.choices?.map((c) => [c.text, c.reasoning])).toEqual([
      ['answer', 'abc'],
      ['answer', 'abc'],
    ]);
  });

  // This engine applies its grammar inside the reasoning (enable_in_reasoning), where vLLM's thinking budget forces
  // `</think>` past the grammar's mask: the grammar rejects it and vLLM ends the request with finish_reason "error".
  it('budgetTokens with a constraint, the grammar inside the reasoning: INVALID_OPTIONS before vLLM; the next request answers', async () => {
    const budget = { thinking: { budgetTokens: 2 }, logitBias: markers, maxTokens: 30, temperature: 0 };
    const json = { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] };
    for (const constraint of [{ regex: '<think>abc def ghi</think>answer' }, { jsonSchema: json }]) {
      const err = await rejection(engine.chatDetailed(hi, { ...budget, ...constraint }));
      expect([err.code, err.option]).toEqual(['INVALID_OPTIONS', 'thinking']);
      expect(err.message).toMatch(/budgetTokens cannot be combined with (regex|jsonSchema) on this engine: .*enable_in_reasoning.*vllm-project\/vllm#44676/);
    }
    const streamed = await rejection(engine.chatStream(hi, { ...budget, regex: 'a+' })[Symbol.asyncIterator]().next());
    expect(streamed.option).toBe('thinking');
    // Either alone is fine.
    expect((await engine.chatDetailed(hi, { thinking: { budgetTokens: 2 }, maxTokens: 4, temperature: 0 })).outputTokens).toBeGreaterThan(0);
    expect((await engine.chatDetailed(hi, { regex: 'a+', maxTokens: 4, temperature: 0 })).outputTokens).toBeGreaterThan(0);
  });

  it('a request vLLM fails (the pair let through) rejects with REQUEST_FAILED, stream or not; the others answer', async () => {
    const pair = { thinking: { budgetTokens: 2 }, regex: '<think>abc def ghi</think>answer', logitBias: markers, maxTokens: 30, temperature: 0 };
    expect(await engine.call('refuse_budget_with_grammar', { on: false })).toBe(true);
    try {
      const alongside = engine.chatDetailed(hi, { maxTokens: 8, temperature: 0 });
      const err = await rejection(engine.chatDetailed(hi, pair));
      expect(err.code).toBe('REQUEST_FAILED');
      expect(err.message).toMatch(/finish_reason "error" after \d+ tokens/);
      const seen: string[] = [];
      const streamed = await rejection(
        (async () => {
          for await (const d of engine.chatStream(hi, { ...pair, onReasoning: (r) => seen.push(r) })) seen.push(d);
        })(),
      );
      expect(streamed.code).toBe('REQUEST_FAILED');
      expect((await alongside).outputTokens).toBeGreaterThan(0);
    } finally {
      await engine.call('refuse_budget_with_grammar', { on: true });
    }
    const after = await engine.chatDetailed(hi, { maxTokens: 4, temperature: 0 });
    expect(after.outputTokens).toBeGreaterThan(0);
  });

  it('a text prompt has no chat template: thinking and chatTemplateKwargs are INVALID_OPTIONS there', async () => {
    expect((await rejection(engine.generateDetailed('Hi', { thinking: false }))).option).toBe('thinking');
    const err = await rejection(engine.stream('Hi', { chatTemplateKwargs: { enable_thinking: false } })[Symbol.asyncIterator]().next());
    expect([err.code, err.option]).toEqual(['INVALID_OPTIONS', 'chatTemplateKwargs']);
  });
});
