// ModelManager and escalation (issue 25, item 5): the first pass holds its model only while it runs, so escalating to
// another model of the same manager switches after it instead of waiting on itself. Fake engines on a simulated card.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { ModelManager, type ChatMessage, type GenerationResult, type TokenLogprob } from '../../src/index.js';
import { FakeCard, type FakeEngine, type FakeModel } from './fake-card.js';

const none = { configFile: false as const, env: {} };
const SHAPES: Record<string, FakeModel> = { a: { needMiB: 5_000, asleepMiB: 1_500 }, b: { needMiB: 5_000, asleepMiB: 1_500 } };
const City = z.object({ city: z.string() });
const lp = (token: string, logprob = 0): TokenLogprob => ({ token, tokenId: 0, logprob, top: [] });

/** The answer a model gives for an input: the input itself as the city, sure of it unless the input is "unsure". */
async function answer(messages: ChatMessage[]): Promise<GenerationResult> {
  const city = messages.at(-1)!.content;
  const rawText = `{"city":"${city}"}`;
  return { text: rawText, rawText, finishReason: 'stop', promptTokens: 1, outputTokens: 3, timings: null, logprobs: [lp('{"city":"'), lp(city, city === 'unsure' ? -1 : -0.01), lp('"}')] };
}

describe('ModelManager: extractMany with escalate to another of its models', () => {
  it('the uncertain items go to the other model after the first pass; no call waits on the first pass', async () => {
    const card = new FakeCard(24_576, SHAPES);
    const models = { a: { model: 'a', gpuMemoryGiB: 8 }, b: { model: 'b', gpuMemoryGiB: 8 } };
    const mgr = await ModelManager.create({ models, default: 'a', sleepBudgetGiB: 1000 }, { ...none, engineFactory: card.factory });
    await mgr.use('b');
    await mgr.use('a');
    const a = mgr.engineOf('a') as unknown as FakeEngine;
    const b = mgr.engineOf('b') as unknown as FakeEngine;
    (a as unknown as { chatDetailed: typeof answer }).chatDetailed = answer;
    const sentToB: string[][] = [];
    (b as unknown as { extractMany: (inputs: string[]) => Promise<unknown[]> }).extractMany = async (inputs) => {
      sentToB.push([...inputs]);
      return inputs.map(() => ({ ok: true, value: { city: 'Big' } }));
    };

    const out = await mgr.extractMany(['Paris', 'unsure'], City, { model: 'a', escalate: { below: 0.8, to: mgr, options: { model: 'b' } } });
    expect(sentToB).toEqual([['unsure']]);
    expect(out.map((o) => o.escalated)).toEqual([false, true]);
    expect(out[0]).toMatchObject({ ok: true, value: { city: 'Paris' }, fields: { '$.city': { span: { start: 0, end: 5 } } } });
    expect(out[1]).toMatchObject({ ok: true, value: { city: 'Big' } });
    expect(mgr.current).toBe('b');

    const detailed = await mgr.extractDetailed('Rome', City, { model: 'a' });
    expect(detailed).toMatchObject({ value: { city: 'Rome' }, fields: { '$.city': { span: { start: 0, end: 4 } } } });
    await mgr.close();
  });
});
