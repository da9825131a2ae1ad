// Issue 25, item 5 without an engine: the arithmetic of field confidence (token offsets, JSON leaves, which tokens
// made which value), spans in the input, and extractManyDetailed's escalation over fake generators.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { extractMany, type ChatBackend } from '../../src/extract.js';
import { childPath, fieldsOf, findSpan, jsonLeaves, jsonStart, tokenOffsets } from '../../src/field-confidence.js';
import { extractDetailed, extractManyDetailed, VllmError, type EscalationTarget, type GenerationResult, type TokenLogprob } from '../../src/index.js';

const lp = (token: string, logprob = 0): TokenLogprob => ({ token, tokenId: 0, logprob, top: [] });

async function rejected(p: Promise<unknown>): Promise<VllmError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(VllmError);
  return err as VllmError;
}

describe('tokenOffsets', () => {
  it('tokens that spell the text get consecutive ranges', () => {
    expect(tokenOffsets('{"a":1}', ['{"', 'a', '":', '1', '}'])).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 3 },
      { start: 3, end: 5 },
      { start: 5, end: 6 },
      { start: 6, end: 7 },
    ]);
  });

  it('an end-of-sequence token that is not in the text gets an empty range at the end', () => {
    expect(tokenOffsets('ab', ['a', 'b', '<|im_end|>'])[2]).toEqual({ start: 2, end: 2 });
  });

  it('the bytes of one character (each U+FFFD alone) share its range, and the tokens after it realign', () => {
    const text = '"café au"';
    const spans = tokenOffsets(text, ['"', 'caf', '\uFFFD', '\uFFFD', ' au', '"']);
    expect(spans[2]).toEqual({ start: 4, end: 5 });
    expect(spans[3]).toEqual({ start: 4, end: 5 });
    expect(text.slice(spans[4]!.start, spans[4]!.end)).toBe(' au');
    expect(spans[5]).toEqual({ start: 8, end: 9 });
  });
});

describe('jsonLeaves', () => {
  it('paths and ranges: string contents without quotes, literals whole, nested objects and arrays', () => {
    const text = '{"title": "Go Dev", "pay": {"min": 150000}, "tags": ["a", "bc"], "remote": true, "note": null, "first name": ""}';
    const leaves = jsonLeaves(text);
    expect(leaves.map((l) => [l.path, text.slice(l.start, l.end), l.value])).toEqual([
      ['$.title', 'Go Dev', 'Go Dev'],
      ['$.pay.min', '150000', 150000],
      ['$.tags[0]', 'a', 'a'],
      ['$.tags[1]', 'bc', 'bc'],
      ['$.remote', 'true', true],
      ['$.note', 'null', null],
      ['$["first name"]', '""', ''],
    ]);
  });

  it('escapes stay in the range and are decoded in the value; empty containers are leaves', () => {
    const text = '{ "q" : "say \\"hi\\"", "e": [], "o": {} }';
    const leaves = jsonLeaves(text);
    expect(leaves[0]).toMatchObject({ path: '$.q', value: 'say "hi"' });
    expect(text.slice(leaves[0]!.start, leaves[0]!.end)).toBe('say \\"hi\\"');
    expect(leaves.slice(1).map((l) => [l.path, l.value])).toEqual([
      ['$.e', []],
      ['$.o', {}],
    ]);
  });

  it('OUTPUT_INVALID for a text that is not JSON', () => {
    expect(() => jsonLeaves('{"a": }')).toThrow(VllmError);
  });

  it('childPath and jsonStart', () => {
    expect(childPath('$', 'a_1')).toBe('$.a_1');
    expect(childPath('$', '1a')).toBe('$["1a"]');
    expect(childPath('$.x', 2)).toBe('$.x[2]');
    expect(jsonStart('  {"a":1}')).toBe(2);
    expect(jsonStart('<think>\nhm\n</think>\n\n{"a":1}')).toBe('<think>\nhm\n</think>'.length);
  });
});

describe('findSpan', () => {
  const input = 'Senior  Backend\nEngineer at ACME Cloud. Salary $150,000. Available now.';

  it('points at the value, without case and with runs of whitespace as one space', () => {
    const span = findSpan(input, 'senior backend engineer')!;
    expect(input.slice(span.start, span.end)).toBe('Senior  Backend\nEngineer');
    const acme = findSpan(input, 'Acme cloud')!;
    expect(input.slice(acme.start, acme.end)).toBe('ACME Cloud');
  });

  it('never inside a word; numbers as written and with thousands separators; null when absent or not text', () => {
    expect(findSpan(input, 'AI')).toBeNull();
    const n = findSpan(input, 150000)!;
    expect(input.slice(n.start, n.end)).toBe('150,000');
    expect(findSpan(input, 'Berlin')).toBeNull();
    expect(findSpan(input, true)).toBeNull();
    expect(findSpan(input, '')).toBeNull();
    expect(findSpan('x İstanbul y', 'i̇stanbul')).toEqual({ start: 2, end: 10 });
  });
});

describe('fieldsOf', () => {
  it("a field's confidence is its least likely token's probability; structure tokens around it do not count", () => {
    const raw = '{"title":"North wind","remote":false}';
    const tokens = [lp('{"', -0.5), lp('title'), lp('":'), lp('"', -0.3), lp('North', -2), lp(' wind', -0.1), lp('",', -1.5), lp('"'), lp('remote'), lp('":'), lp('false', -0.7), lp('}'), lp('<|im_end|>')];
    const fields = fieldsOf(raw, tokens, 'Northwind Traders, London');
    expect(fields['$.title']).toEqual({ value: 'North wind', confidence: Math.exp(-2), span: null });
    expect(fields['$.remote']).toEqual({ value: false, confidence: Math.exp(-0.7), span: null });
  });

  it('a token that spans a quote and the value counts for the value; a choice is one field, $', () => {
    const fields = fieldsOf('{"a":"London"}', [lp('{"'), lp('a'), lp('":"'), lp('Lon', -0.2), lp('don"}', -0.4)], 'in London, UK');
    expect(fields['$.a']).toEqual({ value: 'London', confidence: Math.exp(-0.4), span: { start: 3, end: 9 } });
    expect(fieldsOf('senior', [lp('sen', -1), lp('ior', -0.1)], 'A Senior role', true)).toEqual({ $: { value: 'senior', confidence: Math.exp(-1), span: { start: 2, end: 8 } } });
  });
});

/** A chat backend that answers each input from a table (rawText and per-token logprobs), and counts its calls. */
function fake(answers: Record<string, { raw: string; tokens?: [string, number][] }>, withLogprobs = true): ChatBackend & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async chatDetailed(messages): Promise<GenerationResult> {
      const input = messages.at(-1)!.content;
      calls.push(input);
      const a = answers[input]!;
      const result: GenerationResult = { text: a.raw.trim(), rawText: a.raw, finishReason: 'stop', promptTokens: 1, outputTokens: 1, timings: null };
      if (withLogprobs) result.logprobs = (a.tokens ?? [[a.raw, 0]]).map(([t, l]) => lp(t, l));
      return result;
    },
  };
}

/** A second generator that records the inputs it was sent. */
function target(): EscalationTarget & { sent: string[][]; options: unknown[] } {
  const sent: string[][] = [];
  const options: unknown[] = [];
  return {
    sent,
    options,
    async extractMany(inputs, _schema, o) {
      sent.push([...inputs]);
      options.push(o);
      inputs.forEach((_, k) => o?.onProgress?.(k + 1, inputs.length));
      return inputs.map(() => ({ ok: true as const, value: { city: 'Big' } as never }));
    },
  };
}

const City = z.object({ city: z.string() });
const sure = (city: string) => ({ raw: `{"city":"${city}"}`, tokens: [['{"city":"', 0], [city, -0.01], ['"}', 0]] as [string, number][] });
const unsure = (city: string) => ({ raw: `{"city":"${city}"}`, tokens: [['{"city":"', 0], [city, -1], ['"}', 0]] as [string, number][] });

describe('extractDetailed / extractManyDetailed over fake generators', () => {
  it('extractDetailed: the value, each field with its confidence and its span; logprobs are asked for', async () => {
    const seen: unknown[] = [];
    const b = fake({ 'Job in Paris': sure('Paris') });
    const wrapped: ChatBackend = { chatDetailed: (m, o) => (seen.push(o), b.chatDetailed(m, o)) };
    const out = await extractDetailed(wrapped, 'Job in Paris', City);
    expect(out).toEqual({ value: { city: 'Paris' }, fields: { '$.city': { value: 'Paris', confidence: Math.exp(-0.01), span: { start: 7, end: 12 } } } });
    expect(seen[0]).toMatchObject({ logprobs: 0 });
  });

  it('escalation calls the second generator only for the items below the threshold or not grounded, and says so', async () => {
    const first = fake({ a: sure('a'), b: unsure('b'), c: sure('Rome'), d: sure('d'), e: { raw: '{"city": 5}' } });
    const second = target();
    const progress: number[] = [];
    const out = await extractManyDetailed(first, ['a', 'b', 'c', 'd', 'e'], City, { escalate: { below: 0.8, to: second, options: { model: 'big' } }, onProgress: (d) => progress.push(d) });
    expect(second.sent).toEqual([['b', 'c', 'e']]);
    expect(second.options[0]).toMatchObject({ model: 'big' });
    expect(second.options[0]).not.toHaveProperty('logprobs');
    expect(out.map((o) => o.escalated)).toEqual([false, true, true, false, true]);
    expect(out.map((o) => o.generator)).toEqual([first, second, second, first, second]);
    expect(out[1]).toMatchObject({ ok: true, value: { city: 'Big' }, fields: null, first: { ok: true, value: { city: 'b' }, escalated: false } });
    expect(out[4]!.first).toMatchObject({ ok: false, error: { code: 'OUTPUT_INVALID' } });
    expect(out[0]).toMatchObject({ ok: true, value: { city: 'a' }, fields: { '$.city': { span: { start: 0, end: 1 } } } });
    expect(progress).toEqual([1, 2, 3, 4, 5]);
  });

  it('extractMany takes escalate as well (the same pass), and without it stays the plain extraction', async () => {
    const first = fake({ a: sure('a'), b: unsure('b') });
    const second = target();
    const out = await extractMany(first, ['a', 'b'], City, { escalate: { below: 0.8, to: second } });
    expect(second.sent).toEqual([['b']]);
    expect(out.map((o) => o.escalated)).toEqual([false, true]);
    expect(out[0]).toMatchObject({ ok: true, value: { city: 'a' }, fields: { '$.city': { span: { start: 0, end: 1 } } } });
    const plain = await extractMany(first, ['a'], City);
    expect(plain).toEqual([{ ok: true, value: { city: 'a' } }]);
    await expect(extractMany(first, ['a'], City, { escalate: { below: 2, to: second } })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', option: 'escalate.below' });
    // escalate: undefined is no escalation, as any option left undefined.
    expect(await extractMany(first, ['a'], City, { escalate: undefined } as never)).toEqual([{ ok: true, value: { city: 'a' } }]);
  });

  it('a second generator that fails or reports no progress: every item is still counted once, the first answer kept', async () => {
    const first = fake({ a: sure('a'), b: unsure('b'), c: unsure('c') });
    for (const to of [{ extractMany: () => Promise.reject(new Error('boom')) }, { extractMany: async (inputs: readonly string[]) => inputs.map(() => ({ ok: true as const, value: { city: 'Big' } as never })) }]) {
      const progress: number[] = [];
      const out = await extractMany(first, ['a', 'b', 'c'], City, { escalate: { below: 0.8, to }, onProgress: (d) => progress.push(d) });
      expect(progress).toEqual([1, 2, 3]);
      expect(out.map((o) => o.escalated)).toEqual([false, true, true]);
      expect(out[1]!.first).toMatchObject({ ok: true, value: { city: 'b' } });
    }
  });

  it('ungrounded: false sends on the uncertain items only; nothing to send calls nothing', async () => {
    const first = fake({ c: sure('Rome'), b: unsure('b') });
    const second = target();
    const out = await extractManyDetailed(first, ['c', 'b'], City, { escalate: { below: 0.5, to: second, ungrounded: false } });
    expect(second.sent).toEqual([['b']]);
    expect(out.map((o) => o.escalated)).toEqual([false, true]);
    const none = target();
    await extractManyDetailed(first, ['c'], City, { escalate: { below: 0.1, to: none, ungrounded: false } });
    expect(none.sent).toEqual([]);
  });

  it('a second generator that throws fails the items sent to it, each keeping the first answer', async () => {
    const first = fake({ a: sure('a'), b: unsure('b') });
    const broken: EscalationTarget = {
      extractMany: async () => {
        throw new VllmError('MODEL_LOAD_FAILED', 'no room');
      },
    };
    const out = await extractManyDetailed(first, ['a', 'b'], City, { escalate: { below: 0.8, to: broken } });
    expect(out[0]).toMatchObject({ ok: true, escalated: false });
    expect(out[1]).toMatchObject({ ok: false, error: { code: 'MODEL_LOAD_FAILED' }, escalated: true, generator: broken, first: { ok: true, value: { city: 'b' } } });
  });

  it('a generator without logprobs is UNSUPPORTED_OPERATION; a bad escalate is INVALID_OPTIONS before anything is sent', async () => {
    const plain = fake({ x: sure('x') }, false);
    const err = await rejected(extractDetailed(plain, 'x', City));
    expect(err.code).toBe('UNSUPPORTED_OPERATION');
    expect(err.message).toMatch(/returned no token log-probabilities/);
    const refusing: ChatBackend = {
      chatDetailed: async () => {
        throw new VllmError('INVALID_OPTIONS', 'Invalid option "logprobs": no', { option: 'logprobs' });
      },
    };
    expect((await rejected(extractDetailed(refusing, 'x', City))).code).toBe('UNSUPPORTED_OPERATION');
    const first = fake({ x: sure('x') });
    const cases: [unknown, string][] = [
      [{ below: 2, to: target() }, 'escalate.below'],
      [{ below: 0.5 }, 'escalate.to'],
      [{ below: 0.5, to: target(), above: 1 }, 'escalate.above'],
    ];
    for (const [escalate, option] of cases) {
      const e = await rejected(extractManyDetailed(first, ['x'], City, { escalate: escalate as never }));
      expect([e.code, e.option]).toEqual(['INVALID_OPTIONS', option]);
    }
    expect(first.calls).toEqual([]);
  });
});
