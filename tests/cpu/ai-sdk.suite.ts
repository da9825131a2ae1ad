// The AI SDK provider with the real `ai` 6 and 7 against the CPU engine (tiny model: random weights, so the
// assertions are about structure and equality, never content).
import * as ai6 from 'ai6';
import * as ai7 from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createVllm, type VllmProvider } from '../../src/ai-sdk/index.js';
import type { Engine } from '../../src/index.js';
import { cpuEngine } from '../helpers/shared-engine.js';

let engine: Engine;
let vllm: VllmProvider;

beforeAll(async () => {
  engine = await cpuEngine();
  vllm = createVllm(engine);
});

/** Requests alive in the bridge and in vLLM itself (applied after every abort sent before it). */
const inFlight = () => engine.call<{ bridge: number; vllm: number }>('in_flight');

const Job = z.object({ remote: z.boolean(), level: z.enum(['junior', 'senior']), title: z.string().max(12) });

const majors = [
  ['ai@6', ai6 as unknown as typeof ai7],
  ['ai@7', ai7],
] as const;

describe.each(majors)('%s', (_label, ai) => {
  it('generateText returns text, vLLM token counts and a finish reason', async () => {
    const r = await ai.generateText({ model: vllm('tiny'), prompt: 'Title of: Senior Go Engineer, Remote', maxOutputTokens: 8, temperature: 0 });
    expect(typeof r.text).toBe('string');
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeLessThanOrEqual(8);
    expect(['stop', 'length']).toContain(r.finishReason);
    expect(r.warnings ?? []).toEqual([]);
  });

  it('streamText: parts in order, the same text and usage as generateText at temperature 0', async () => {
    const call = { model: vllm('tiny'), system: 'You extract job titles.', prompt: 'Title of: Data Engineer, Oslo', maxOutputTokens: 10, temperature: 0 };
    const whole = await ai.generateText(call);
    const result = ai.streamText(call);
    const types: string[] = [];
    for await (const part of result.fullStream) types.push(part.type);
    expect(await result.text).toBe(whole.text);
    expect((await result.usage).outputTokens).toBe(whole.usage.outputTokens);
    expect((await result.usage).inputTokens).toBe(whole.usage.inputTokens);
    expect(await result.finishReason).toBe(whole.finishReason);
    const kinds = types.filter((t) => t.startsWith('text') || t === 'start' || t === 'finish');
    expect(kinds[0]).toBe('start');
    expect(kinds.at(-1)).toBe('finish');
    const text = kinds.slice(1, -1);
    expect(text[0]).toBe('text-start');
    expect(text.at(-1)).toBe('text-end');
    expect(text.slice(1, -1).every((t) => t === 'text-delta')).toBe(true);
  });

  it('Output.object gives a schema-valid object (vLLM structured outputs)', async () => {
    const r = await ai.generateText({
      model: vllm('tiny'),
      prompt: 'Extract the job: Junior Rust developer, remote',
      output: ai.Output.object({ schema: Job }),
      maxOutputTokens: 60,
      temperature: 0,
    });
    expect(Job.safeParse(r.output).success).toBe(true);
  });

  it('a forced tool call runs execute (generateText and streamText)', async () => {
    const tools = {
      weather: ai.tool({
        description: 'Weather of a city',
        inputSchema: z.object({ city: z.enum(['Paris', 'Oslo']) }),
        execute: async ({ city }: { city: string }) => ({ city, celsius: 21 }),
      }),
    };
    const call = { model: vllm('tiny'), tools, toolChoice: 'required' as const, prompt: 'Weather in Oslo?', maxOutputTokens: 80, temperature: 0 };
    const r = await ai.generateText(call);
    expect(r.toolCalls).toHaveLength(1);
    expect(r.toolCalls[0]?.toolName).toBe('weather');
    expect(r.toolResults[0]?.output).toMatchObject({ celsius: 21 });
    expect(r.finishReason).toBe('tool-calls');

    const s = ai.streamText(call);
    const types: string[] = [];
    for await (const part of s.fullStream) types.push(part.type);
    expect(types.indexOf('tool-call')).toBeGreaterThan(-1);
    expect(types.indexOf('tool-result')).toBeGreaterThan(types.indexOf('tool-call'));
    expect((await s.toolResults)[0]?.output).toMatchObject({ celsius: 21 });
    expect(await s.toolCalls).toEqual(r.toolCalls.map((c) => expect.objectContaining({ toolName: c.toolName, input: c.input })));
  });

  it('aborting mid-stream leaves no request in vLLM', async () => {
    const controller = new AbortController();
    const s = ai.streamText({ model: vllm('tiny'), prompt: 'Count forever', maxOutputTokens: 400, abortSignal: controller.signal, providerOptions: { vllm: { ignoreEos: true } } });
    let deltas = 0;
    await (async () => {
      for await (const _ of s.textStream) if (++deltas === 2) controller.abort();
    })().catch(() => {});
    expect(deltas).toBeGreaterThanOrEqual(2);
    expect(await inFlight()).toEqual({ bridge: 0, vllm: 0 });
  });

  it('an unsupported option comes back in warnings', async () => {
    const r = await ai.generateText({ model: vllm('tiny'), prompt: 'hi', maxOutputTokens: 2, headers: { 'x-trace': '1' } });
    expect(r.warnings).toEqual([expect.objectContaining({ type: 'unsupported', feature: 'headers' })]);
  });
});

describe('the model stream', () => {
  it('cancelling the stream returned by doStream aborts the vLLM request', async () => {
    const { stream } = await vllm('tiny').doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'Count forever' }] }],
      maxOutputTokens: 400,
      providerOptions: { vllm: { ignoreEos: true } },
    });
    const reader = stream.getReader();
    const seen: string[] = [];
    while (!seen.includes('text-delta')) seen.push(((await reader.read()).value as { type: string }).type);
    await reader.cancel();
    expect(seen.slice(0, 2)).toEqual(['stream-start', 'response-metadata']);
    expect(await inFlight()).toEqual({ bridge: 0, vllm: 0 });
  });

  it('unknown providerOptions.vllm keys are errors', async () => {
    await expect(
      ai7.generateText({ model: vllm('tiny'), prompt: 'hi', maxOutputTokens: 2, providerOptions: { vllm: { ignoreEOS: true } } }),
    ).rejects.toMatchObject({ name: 'AI_InvalidArgumentError', cause: expect.objectContaining({ message: expect.stringMatching(/ignoreEOS/) }) });
  });
});
