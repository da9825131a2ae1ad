// Pure mapping logic of the AI SDK provider and LangChain model: tool-call format, call options, prompts.
import { describe, expect, it } from 'vitest';

import { mapCallOptions, mapFinishReason, mapUsage } from '../../src/ai-sdk/call-options.js';
import { createVllm } from '../../src/ai-sdk/index.js';
import { toChatMessages } from '../../src/ai-sdk/prompt.js';
import { forcedToolCallSchema, parseToolCallJson, renderToolCall, splitToolCalls, ToolCallSplitter } from '../../src/integrations/tool-calls.js';
import { samplingPayload } from '../../src/sampling.js';
import { SamplingDefaultsSchema } from '../../src/options.js';

const call = '<tool_call>\n{"name": "weather", "arguments": {"city": "Oslo"}}\n</tool_call>';

describe('Qwen3 tool-call format', () => {
  it('renders what it parses', () => {
    expect(splitToolCalls(renderToolCall('weather', { city: 'Oslo' }))).toEqual([{ type: 'tool-call', call: { name: 'weather', arguments: '{"city":"Oslo"}' } }]);
  });

  it('splits text and calls of a whole output', () => {
    expect(splitToolCalls(`Let me check.\n${call}\n${call}`)).toEqual([
      { type: 'text', text: 'Let me check.\n' },
      { type: 'tool-call', call: { name: 'weather', arguments: '{"city":"Oslo"}' } },
      { type: 'text', text: '\n' },
      { type: 'tool-call', call: { name: 'weather', arguments: '{"city":"Oslo"}' } },
    ]);
  });

  it('streams: holds back a possible tag start, whatever the chunking', () => {
    const text = `Hi <b> ${call} bye`;
    for (const size of [1, 2, 3, 7, 11, text.length]) {
      const splitter = new ToolCallSplitter();
      const parts = [];
      for (let i = 0; i < text.length; i += size) parts.push(...splitter.push(text.slice(i, i + size)));
      parts.push(...splitter.flush());
      const texts = parts.flatMap((p) => (p.type === 'text' ? [p.text] : []));
      expect(texts.join('')).toBe('Hi <b>  bye');
      expect(parts.filter((p) => p.type === 'tool-call')).toHaveLength(1);
      expect(parts.findIndex((p) => p.type === 'tool-call')).toBeGreaterThan(0);
    }
  });

  it('a block that is not a call, or never closes, stays text (never dropped)', () => {
    expect(splitToolCalls('<tool_call>oops</tool_call>')).toEqual([{ type: 'text', text: '<tool_call>oops</tool_call>' }]);
    expect(splitToolCalls('a <tool_call>{"name": "x"')).toEqual([{ type: 'text', text: 'a <tool_call>{"name": "x"' }]);
    expect(parseToolCallJson('{"arguments": {}}')).toBeUndefined();
    expect(parseToolCallJson('{"name": "x"}')).toEqual({ name: 'x', arguments: '{}' });
  });

  it('the forced schema allows exactly the given tools', () => {
    const tool = (name: string) => ({ type: 'function' as const, function: { name, parameters: { type: 'object' } } });
    expect(forcedToolCallSchema([tool('a')])).toMatchObject({ properties: { name: { const: 'a' } }, required: ['name', 'arguments'] });
    expect(forcedToolCallSchema([tool('a'), tool('b')])).toMatchObject({ anyOf: [{ properties: { name: { const: 'a' } } }, { properties: { name: { const: 'b' } } }] });
  });
});

describe('AI SDK call options', () => {
  const prompt = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }];

  it('maps every sampling option into the one vocabulary, and vLLM keys come out', () => {
    const signal = new AbortController().signal;
    const { options, warnings, toolMode } = mapCallOptions(
      { prompt, maxOutputTokens: 7, temperature: 0.5, topP: 0.8, topK: 20, frequencyPenalty: 0.1, presencePenalty: 0.2, seed: 3, stopSequences: ['\n'], abortSignal: signal, responseFormat: { type: 'json', schema: { type: 'object' } } },
      { ignoreEos: true, chatTemplate: '{{ x }}' },
    );
    expect(warnings).toEqual([]);
    expect(toolMode).toBe('none');
    expect(options).toEqual({ maxTokens: 7, temperature: 0.5, topP: 0.8, topK: 20, frequencyPenalty: 0.1, presencePenalty: 0.2, seed: 3, stop: ['\n'], signal, ignoreEos: true, chatTemplate: '{{ x }}', jsonSchema: { type: 'object' } });
    const { chatTemplate: _t, ...sampling } = options;
    const defaults = SamplingDefaultsSchema.parse({});
    expect(samplingPayload(defaults, sampling).payload).toEqual({
      max_tokens: 7, temperature: 0.5, top_p: 0.8, top_k: 20, frequency_penalty: 0.1, presence_penalty: 0.2, seed: 3, stop: ['\n'], ignore_eos: true, json_schema: { type: 'object' },
    });
  });

  it('reports what it does not honour', () => {
    const { warnings } = mapCallOptions(
      { prompt, headers: { 'user-agent': 'ai/7', 'x-trace': '1' }, includeRawChunks: true, tools: [{ type: 'provider', id: 'openai.web_search', name: 'web', args: {} }] },
      undefined,
    );
    expect(warnings.map((w) => (w.type === 'unsupported' ? w.feature : w.type))).toEqual(['headers', 'includeRawChunks', 'provider-defined tool openai.web_search']);
  });

  it('tool choice: auto lists tools, required and named tools force a call, none drops them', () => {
    const tools = [
      { type: 'function' as const, name: 'a', inputSchema: { type: 'object' as const } },
      { type: 'function' as const, name: 'b', description: 'B', inputSchema: { type: 'object' as const } },
    ];
    expect(mapCallOptions({ prompt, tools }, undefined)).toMatchObject({ toolMode: 'auto', options: { tools: [{ function: { name: 'a' } }, { function: { name: 'b', description: 'B' } }] } });
    expect(mapCallOptions({ prompt, tools, toolChoice: { type: 'none' } }, undefined).options.tools).toBeUndefined();
    const required = mapCallOptions({ prompt, tools, toolChoice: { type: 'required' } }, undefined);
    expect(required.toolMode).toBe('forced');
    expect(required.options.jsonSchema).toEqual(forcedToolCallSchema(required.options.tools ?? []));
    const named = mapCallOptions({ prompt, tools, toolChoice: { type: 'tool', toolName: 'b' } }, undefined);
    expect(named.options.jsonSchema).toMatchObject({ properties: { name: { const: 'b' } } });
  });

  it('finish reasons and usage come from vLLM', () => {
    expect(mapFinishReason('stop', 0, 'none')).toEqual({ unified: 'stop', raw: 'stop' });
    expect(mapFinishReason('length', 0, 'none')).toEqual({ unified: 'length', raw: 'length' });
    expect(mapFinishReason('stop', 1, 'auto')).toEqual({ unified: 'tool-calls', raw: 'stop' });
    expect(mapFinishReason('length', 1, 'auto')).toEqual({ unified: 'length', raw: 'length' });
    expect(mapFinishReason('length', 1, 'forced')).toEqual({ unified: 'tool-calls', raw: 'length' });
    expect(mapFinishReason('abort', 0, 'none')).toEqual({ unified: 'other', raw: 'abort' });
    expect(mapUsage({ promptTokens: 5, outputTokens: 3 })).toMatchObject({ inputTokens: { total: 5 }, outputTokens: { total: 3 } });
  });
});

describe('AI SDK prompts', () => {
  it('renders tool calls and results in the template’s terms and reports file parts', () => {
    const { messages, warnings } = toChatMessages([
      { role: 'system', content: 'S' },
      { role: 'user', content: [{ type: 'text', text: 'U' }, { type: 'file', data: 'aGk=', mediaType: 'image/png' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'A' }, { type: 'tool-call', toolCallId: '1', toolName: 'weather', input: { city: 'Oslo' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: '1', toolName: 'weather', output: { type: 'json', value: { celsius: 21 } } }] },
    ]);
    expect(messages).toEqual([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
      { role: 'assistant', content: `A\n${renderToolCall('weather', { city: 'Oslo' })}` },
      { role: 'tool', content: '{"celsius":21}' },
    ]);
    expect(warnings).toEqual([expect.objectContaining({ type: 'unsupported', feature: 'file parts (image/png)' })]);
  });
});

describe('AI SDK model over a stub generator', () => {
  const prompt = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }];
  const stub = (deltas: string[], seen: { signal?: AbortSignal; returned?: boolean } = {}) =>
    ({
      async *chatStream(_m: unknown, o: { signal?: AbortSignal; onFinish?: (r: unknown) => void }) {
        if (o.signal) seen.signal = o.signal;
        try {
          for (const d of deltas) yield d;
          o.onFinish?.({ text: '', rawText: deltas.join(''), finishReason: 'stop', promptTokens: 4, outputTokens: deltas.length, timings: null });
        } finally {
          seen.returned = true;
        }
      },
    }) as never;
  const read = async (stream: ReadableStream<{ type: string }>) => {
    const parts: { type: string }[] = [];
    for await (const p of stream as unknown as AsyncIterable<{ type: string }>) parts.push(p);
    return parts;
  };

  it('a forced tool call streamed in many deltas (pulls that enqueue nothing) still ends in a tool-call', async () => {
    const json = '{"name": "a", "arguments": {"x": 1}}';
    const { stream } = await createVllm(stub([...json]))('m').doStream({
      prompt,
      tools: [{ type: 'function', name: 'a', inputSchema: { type: 'object' } }],
      toolChoice: { type: 'required' },
    });
    const parts = await read(stream);
    expect(parts.map((p) => p.type)).toEqual(['stream-start', 'response-metadata', 'tool-call', 'finish']);
    expect(parts[2]).toMatchObject({ toolName: 'a', input: '{"x":1}' });
    expect(parts[3]).toMatchObject({ finishReason: { unified: 'tool-calls' }, usage: { inputTokens: { total: 4 }, outputTokens: { total: json.length } } });
  });

  it('auto tool mode: text around a call, in order', async () => {
    const { stream } = await createVllm(stub(['Sure. <tool', '_call>\n{"name": "a", "arguments": {}}\n</tool_call>']))('m').doStream({
      prompt,
      tools: [{ type: 'function', name: 'a', inputSchema: { type: 'object' } }],
    });
    expect((await read(stream)).map((p) => p.type)).toEqual(['stream-start', 'response-metadata', 'text-start', 'text-delta', 'text-end', 'tool-call', 'finish']);
  });

  it('cancelling the stream aborts the signal given to the generator and closes its iterator', async () => {
    const seen: { signal?: AbortSignal; returned?: boolean } = {};
    const { stream } = await createVllm(stub(['a', 'b', 'c'], seen))('m').doStream({ prompt });
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(seen.signal?.aborted).toBe(true);
    expect(seen.returned).toBe(true);
  });
});
