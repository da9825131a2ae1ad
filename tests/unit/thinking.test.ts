// Thinking options without an engine: their parsing and payload, extraction's default, and the reasoning the AI SDK
// provider and ChatVllm hand on (over stub generators).
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { VllmChatLanguageModel } from '../../src/ai-sdk/model.js';
import { extract } from '../../src/extract.js';
import type { ChatCallOptions, ChatMessage, GenerationResult } from '../../src/index.js';
import { ChatVllm } from '../../src/langchain/index.js';
import { EngineOptionsSchema, SamplingDefaultsSchema } from '../../src/options.js';
import { samplingPayload } from '../../src/sampling.js';
import { thrown } from '../helpers/errors.js';

const defaults = SamplingDefaultsSchema.parse({});

describe('thinking options', () => {
  it('true / false set the template variables thinking templates read, over chatTemplateKwargs', () => {
    expect(samplingPayload(defaults, { thinking: false }).chatTemplateKwargs).toEqual({ enable_thinking: false, thinking: false });
    expect(samplingPayload(defaults, { thinking: true, chatTemplateKwargs: { enable_thinking: false, x: 1 } }).chatTemplateKwargs).toEqual({ enable_thinking: true, thinking: true, x: 1 });
    expect(samplingPayload(defaults, { chatTemplateKwargs: { x: 1 } }).chatTemplateKwargs).toEqual({ x: 1 });
    expect(samplingPayload(defaults, {}).chatTemplateKwargs).toBeUndefined();
  });

  it('{ budgetTokens } thinks, within vLLM thinking_token_budget', () => {
    const { payload, chatTemplateKwargs } = samplingPayload(defaults, { thinking: { budgetTokens: 64 } });
    expect(payload.thinking_token_budget).toBe(64);
    expect(chatTemplateKwargs).toEqual({ enable_thinking: true, thinking: true });
    expect(samplingPayload(defaults, { thinking: true }).payload.thinking_token_budget).toBeUndefined();
  });

  it('bad values are INVALID_OPTIONS naming the option', () => {
    for (const thinking of ['yes', { budgetTokens: -1 }, { budgetTokens: 1.5 }, { budget: 5 }]) {
      const err = thrown(() => samplingPayload(defaults, { thinking }));
      expect(err.code).toBe('INVALID_OPTIONS');
      expect(err.option).toMatch(/^thinking/);
    }
    const err = thrown(() => samplingPayload(defaults, { chatTemplateKwargs: 'enable_thinking' }));
    expect([err.code, err.option]).toEqual(['INVALID_OPTIONS', 'chatTemplateKwargs']);
  });

  it('reasoningParser is an engine option passed to vLLM as reasoning_parser', () => {
    expect(EngineOptionsSchema.parse({ model: 'm', reasoningParser: 'qwen3' }).reasoningParser).toBe('qwen3');
    expect(EngineOptionsSchema.safeParse({ model: 'm', reasoningParser: '' }).success).toBe(false);
  });
});

const result = (rawText: string, reasoning?: string): GenerationResult => ({
  text: rawText.trim(),
  rawText,
  finishReason: 'stop',
  promptTokens: 5,
  outputTokens: 4,
  timings: null,
  ...(reasoning ? { reasoning } : {}),
});

/** A generator whose chat streams `parts` (`R:` pieces are reasoning) and whose chatDetailed returns them whole. */
function stub(parts: string[]) {
  const calls: ChatCallOptions[] = [];
  const text = parts.filter((p) => !p.startsWith('R:')).join('');
  const reasoning = parts.filter((p) => p.startsWith('R:')).map((p) => p.slice(2)).join('');
  const generator = {
    async chatDetailed(_messages: ChatMessage[], options: ChatCallOptions) {
      calls.push(options);
      return result(text, reasoning);
    },
    async *chatStream(_messages: ChatMessage[], options: ChatCallOptions) {
      calls.push(options);
      for (const p of parts) {
        if (p.startsWith('R:')) options.onReasoning?.(p.slice(2));
        else yield p;
      }
      options.onFinish?.(result(text, reasoning));
    },
  };
  return { generator: generator as never, calls };
}

describe('extraction', () => {
  it('passes thinking: false unless the caller sets thinking', async () => {
    const { generator, calls } = stub(['"a"']);
    await extract(generator, 'x', z.string());
    expect(calls[0]?.thinking).toBe(false);
    await extract(generator, 'x', z.string(), { thinking: { budgetTokens: 8 } });
    expect(calls[1]?.thinking).toEqual({ budgetTokens: 8 });
  });
});

const prompt = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hi' }] }];

describe('AI SDK provider', () => {
  it('doGenerate gives the reasoning as a reasoning part before the text; providerOptions.vllm.thinking goes through', async () => {
    const { generator, calls } = stub(['R:abc', 'answer']);
    const model = new VllmChatLanguageModel(generator, 'm');
    const out = await model.doGenerate({ prompt, providerOptions: { vllm: { thinking: false } } });
    expect(out.content).toEqual([
      { type: 'reasoning', text: 'abc' },
      { type: 'text', text: 'answer' },
    ]);
    expect(calls[0]?.thinking).toBe(false);
  });

  it('doStream emits reasoning-start/-delta/-end before the text, in order', async () => {
    const { generator } = stub(['R:ab', 'R:c', 'ans', 'wer']);
    const { stream } = await new VllmChatLanguageModel(generator, 'm').doStream({ prompt });
    const parts: LanguageModelV3StreamPart[] = [];
    for await (const p of stream) parts.push(p);
    const kinds = parts.filter((p) => p.type !== 'stream-start' && p.type !== 'response-metadata').map((p) => ('delta' in p ? `${p.type}:${p.delta}` : p.type));
    expect(kinds).toEqual(['reasoning-start', 'reasoning-delta:ab', 'reasoning-delta:c', 'reasoning-end', 'text-start', 'text-delta:ans', 'text-delta:wer', 'text-end', 'finish']);
  });

  it('a stream of reasoning only still ends its reasoning block', async () => {
    const { generator } = stub(['R:abc']);
    const { stream } = await new VllmChatLanguageModel(generator, 'm').doStream({ prompt });
    const kinds: string[] = [];
    for await (const p of stream) kinds.push(p.type);
    expect(kinds).toEqual(['stream-start', 'response-metadata', 'reasoning-start', 'reasoning-delta', 'reasoning-end', 'finish']);
  });
});

describe('LangChain', () => {
  it('invoke puts the reasoning in additional_kwargs.reasoning_content; thinking is a call option', async () => {
    const { generator, calls } = stub(['R:abc', 'answer']);
    const reply = await new ChatVllm({ engine: generator, thinking: true }).invoke('Hi', { thinking: { budgetTokens: 3 } } as never);
    expect(reply.content).toBe('answer');
    expect(reply.additional_kwargs.reasoning_content).toBe('abc');
    expect(calls[0]?.thinking).toEqual({ budgetTokens: 3 });
  });

  it('stream gives reasoning chunks before the text; concatenated, reasoning_content is whole', async () => {
    const { generator } = stub(['R:ab', 'R:c', 'answer']);
    const chunks = [];
    for await (const c of await new ChatVllm({ engine: generator }).stream('Hi')) chunks.push(c);
    expect(chunks[0]?.additional_kwargs.reasoning_content).toBe('ab');
    const whole = chunks.reduce((a, b) => a.concat(b));
    expect(whole.content).toBe('answer');
    expect(whole.additional_kwargs.reasoning_content).toBe('abc');
  });
});
