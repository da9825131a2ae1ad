// ChatVllm's mapping over a stub generator: messages for the chat template, tool calls in and out, options.
import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { renderToolCall } from '../../src/integrations/tool-calls.js';
import { ChatVllm } from '../../src/langchain/index.js';
import { toChatMessages } from '../../src/langchain/messages.js';
import type { ChatCallOptions, ChatMessage, GenerationResult } from '../../src/index.js';

const result = (rawText: string): GenerationResult => ({ text: rawText.trim(), rawText, finishReason: 'stop', promptTokens: 7, outputTokens: 3, timings: null });

function stub(output: string[]) {
  const calls: { messages: ChatMessage[]; options: ChatCallOptions }[] = [];
  const engine = {
    async chatDetailed(messages: ChatMessage[], options: ChatCallOptions) {
      calls.push({ messages, options });
      return result(output.join(''));
    },
    async *chatStream(messages: ChatMessage[], options: ChatCallOptions) {
      calls.push({ messages, options });
      for (const d of output) yield d;
      options.onFinish?.(result(output.join('')));
    },
  };
  return { engine: engine as never, calls };
}

const weather = { type: 'function', function: { name: 'weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

describe('ChatVllm mapping', () => {
  it('renders history with tool calls and tool results in the template’s terms', () => {
    expect(
      toChatMessages([
        new SystemMessage('S'),
        new HumanMessage('U'),
        new AIMessage({ content: '', tool_calls: [{ id: '1', name: 'weather', args: { city: 'Oslo' } }] }),
        new ToolMessage({ content: '21 C', tool_call_id: '1' }),
      ]),
    ).toEqual([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
      { role: 'assistant', content: renderToolCall('weather', { city: 'Oslo' }) },
      { role: 'tool', content: '21 C' },
    ]);
  });

  it('constructor defaults and call options use the engine’s sampling names; the signal goes through', async () => {
    const { engine, calls } = stub(['hi']);
    const signal = new AbortController().signal;
    await new ChatVllm({ engine, temperature: 0, maxTokens: 9, stop: ['\n'] }).invoke('x', { topK: 5, presencePenalty: 0.5, signal });
    expect(calls[0]?.options).toMatchObject({ temperature: 0, maxTokens: 9, topK: 5, presencePenalty: 0.5, stop: ['\n'] });
    expect(calls[0]?.options.signal).toBeInstanceOf(AbortSignal);
  });

  it('auto tool choice: text and a <tool_call> block become content and tool_calls, streamed or not', async () => {
    const output = ['Sure. <tool_', 'call>\n{"name": "weather", "arguments": {"city": "Oslo"}}\n</tool_call>'];
    const model = new ChatVllm({ engine: stub(output).engine }).bindTools([weather]);
    const reply = await model.invoke('Weather?');
    expect(reply.content).toBe('Sure. ');
    expect(reply.tool_calls).toEqual([expect.objectContaining({ name: 'weather', args: { city: 'Oslo' } })]);
    let sum: AIMessageChunk | undefined;
    for await (const chunk of await model.stream('Weather?')) sum = sum ? sum.concat(chunk) : chunk;
    expect(sum?.content).toBe('Sure. ');
    expect(sum?.tool_calls).toEqual([expect.objectContaining({ name: 'weather', args: { city: 'Oslo' } })]);
    expect((sum as unknown as { usage_metadata: unknown }).usage_metadata).toMatchObject({ input_tokens: 7, output_tokens: 3, total_tokens: 10 });
  });

  it('tool_choice "any" or a tool name constrains the output to a call (structured outputs)', async () => {
    const { engine, calls } = stub(['{"name": "weather", "arguments": {"city": "Oslo"}}']);
    const reply = await new ChatVllm({ engine }).bindTools([weather], { tool_choice: 'weather' }).invoke('Weather?');
    expect(calls[0]?.options.jsonSchema).toMatchObject({ properties: { name: { const: 'weather' } } });
    expect(reply.tool_calls).toEqual([expect.objectContaining({ name: 'weather', args: { city: 'Oslo' } })]);
  });

  it('withStructuredOutput sends the JSON Schema and parses with the zod schema, includeRaw too', async () => {
    const { engine, calls } = stub(['{"title": "Go"}']);
    const Job = z.object({ title: z.string() });
    expect(await new ChatVllm({ engine }).withStructuredOutput(Job).invoke('x')).toEqual({ title: 'Go' });
    expect(calls[0]?.options.jsonSchema).toMatchObject({ type: 'object', properties: { title: { type: 'string' } } });
    const both = await new ChatVllm({ engine }).withStructuredOutput(Job, { includeRaw: true }).invoke('x');
    expect(both.parsed).toEqual({ title: 'Go' });
    expect(both.raw).toBeInstanceOf(AIMessage);
  });
});
