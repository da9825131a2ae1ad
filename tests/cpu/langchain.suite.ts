// ChatVllm with the real @langchain/core against the CPU engine (tiny model: random weights, so the assertions
// are about structure and equality, never content).
import { AIMessageChunk, HumanMessage, SystemMessage, type AIMessage } from '@langchain/core/messages';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { tool } from '@langchain/core/tools';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { VllmError, type Engine } from '../../src/index.js';
import { ChatVllm } from '../../src/langchain/index.js';
import { cpuEngine } from '../helpers/shared-engine.js';

let engine: Engine;
let model: ChatVllm;

beforeAll(async () => {
  engine = await cpuEngine();
  model = new ChatVllm({ engine, temperature: 0, maxTokens: 10 });
});

const inFlight = () => engine.call<{ bridge: number; vllm: number }>('in_flight');
const usage = (m: AIMessage | AIMessageChunk) => (m as unknown as { usage_metadata?: { input_tokens: number; output_tokens: number; total_tokens: number } }).usage_metadata;

describe('ChatVllm', () => {
  it('invoke returns an AI message with usage_metadata from vLLM', async () => {
    const reply = await model.invoke([new SystemMessage('You extract job titles.'), new HumanMessage('Title of: Data Engineer, Oslo')]);
    expect(typeof reply.content).toBe('string');
    const u = usage(reply);
    expect(u?.input_tokens).toBeGreaterThan(0);
    expect(u?.output_tokens).toBeGreaterThan(0);
    expect(u?.output_tokens).toBeLessThanOrEqual(10);
    expect(u?.total_tokens).toBe((u?.input_tokens ?? 0) + (u?.output_tokens ?? 0));
  });

  it('stream: the chunks add up to invoke at temperature 0, handleLLMNewToken sees each token, usage at the end', async () => {
    const tokens: string[] = [];
    const whole = await model.invoke('Title of: Senior Go Engineer, Remote');
    let sum: AIMessageChunk | undefined;
    for await (const chunk of await model.stream('Title of: Senior Go Engineer, Remote', { callbacks: [{ handleLLMNewToken: (t: string) => void tokens.push(t) }] })) {
      sum = sum ? sum.concat(chunk) : chunk;
    }
    expect(sum?.content).toBe(whole.content);
    expect(tokens.join('')).toBe(whole.content);
    expect(usage(sum as AIMessageChunk)).toMatchObject(usage(whole) ?? { missing: true });
  });

  it('a prompt-template chain', async () => {
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'You extract {field} from job postings.'],
      ['human', '{posting}'],
    ]);
    const chain = prompt.pipe(model).pipe(new StringOutputParser());
    const out = await chain.invoke({ field: 'the title', posting: 'Backend Engineer at Acme, Berlin' });
    expect(typeof out).toBe('string');
    const direct = await model.invoke([new SystemMessage('You extract the title from job postings.'), new HumanMessage('Backend Engineer at Acme, Berlin')]);
    expect(out).toBe(direct.content);
  });

  it('batch answers each input in order', async () => {
    const inputs = ['Title of: Go Engineer', 'Title of: Rust Engineer', 'Title of: Go Engineer'];
    const replies = await model.batch(inputs);
    expect(replies).toHaveLength(3);
    expect(replies[0]?.content).toBe(replies[2]?.content);
  });

  it('withStructuredOutput(zod) gives a schema-valid object', async () => {
    const Job = z.object({ remote: z.boolean(), level: z.enum(['junior', 'senior']), title: z.string().max(12) });
    const job = await new ChatVllm({ engine, temperature: 0, maxTokens: 60 }).withStructuredOutput(Job).invoke('Junior Rust developer, remote');
    expect(Job.safeParse(job).success).toBe(true);
  });

  it('bindTools with tool_choice "any" yields a tool call the tool can run', async () => {
    const weather = tool(async ({ city }: { city: string }) => `21 C in ${city}`, {
      name: 'weather',
      description: 'Weather of a city',
      schema: z.object({ city: z.enum(['Paris', 'Oslo']) }),
    });
    const reply = await new ChatVllm({ engine, temperature: 0, maxTokens: 80 }).bindTools([weather], { tool_choice: 'any' }).invoke('Weather in Oslo?');
    expect(reply.tool_calls).toHaveLength(1);
    const call = reply.tool_calls?.[0];
    expect(call?.name).toBe('weather');
    const result = await weather.invoke(call as NonNullable<typeof call>);
    expect(String(result.content)).toMatch(/^21 C in (Paris|Oslo)$/);
  });

  it('abort through signal rejects and leaves no request in vLLM', async () => {
    const controller = new AbortController();
    const long = new ChatVllm({ engine, maxTokens: 400, ignoreEos: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of await long.stream('Count forever', { signal: controller.signal })) {
        seen.push(String(chunk.content));
        if (seen.length === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(await inFlight()).toEqual({ bridge: 0, vllm: 0 });

    const pending = long.invoke('Count forever', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(await pending).toBeInstanceOf(Error);
    expect(await inFlight()).toEqual({ bridge: 0, vllm: 0 });
  });

  it('getNumTokens uses the model tokenizer', async () => {
    const ids = await engine.call<number[]>('tokenize', { text: 'Senior Go Engineer' });
    expect(await model.getNumTokens('Senior Go Engineer')).toBe(ids.length);
  });

  it('engine errors keep their VllmError code', async () => {
    const err = await new ChatVllm({ engine, temperature: -1 }).invoke('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VllmError);
    expect((err as VllmError).code).toBe('INVALID_OPTIONS');
  });
});
