/** A LanguageModelV3 (accepted by `ai` 6 and 7) over any vllm-node TextGenerator. */
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';
import { generateId, parseProviderOptions } from '@ai-sdk/provider-utils';

import type { TextGenerator } from '../generator.js';
import { parseToolCallJson, splitToolCalls, ToolCallSplitter, type OutputPart } from '../integrations/tool-calls.js';
import type { GenerationResult } from '../types.js';
import { mapCallOptions, mapFinishReason, mapUsage, VllmProviderOptionsSchema, type MappedCall, type ToolMode } from './call-options.js';
import { toChatMessages } from './prompt.js';

export class VllmChatLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider: string;
  readonly modelId: string;
  /** Nothing is fetched: URL parts are downloaded by the AI SDK (and then reported unsupported). */
  readonly supportedUrls: Record<string, RegExp[]> = {};
  readonly #generator: TextGenerator;

  constructor(generator: TextGenerator, modelId: string, provider = 'vllm') {
    this.#generator = generator;
    this.modelId = modelId;
    this.provider = provider;
  }

  async #prepare(call: LanguageModelV3CallOptions) {
    const vllm = await parseProviderOptions({ provider: 'vllm', providerOptions: call.providerOptions, schema: VllmProviderOptionsSchema });
    const { messages, warnings: promptWarnings } = toChatMessages(call.prompt);
    const mapped: MappedCall = mapCallOptions(call, vllm);
    return { messages, mapped, warnings: [...promptWarnings, ...mapped.warnings] };
  }

  async doGenerate(call: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { messages, mapped, warnings } = await this.#prepare(call);
    const result = await this.#generator.chatDetailed(messages, mapped.options);
    const content = outputContent(result.rawText, mapped.toolMode);
    if (result.reasoning) content.unshift({ type: 'reasoning', text: result.reasoning });
    return {
      content,
      finishReason: mapFinishReason(result.finishReason, content.filter((c) => c.type === 'tool-call').length, mapped.toolMode),
      usage: mapUsage(result),
      warnings,
      request: { body: { messages, options: { ...mapped.options, signal: undefined } } },
      response: { modelId: this.modelId, timestamp: new Date() },
    };
  }

  async doStream(call: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const { messages, mapped, warnings } = await this.#prepare(call);
    // Cancelling the returned stream aborts the vLLM request, as the caller's abortSignal does.
    const cancel = new AbortController();
    const signal = call.abortSignal ? AbortSignal.any([call.abortSignal, cancel.signal]) : cancel.signal;
    let finished: GenerationResult | undefined;
    const parts = new StreamParts(mapped.toolMode);
    // The engine calls onReasoning in order with the text it yields: the parts of both keep that order.
    const reasoning: LanguageModelV3StreamPart[] = [];
    const onReasoning = (delta: string) => reasoning.push(...parts.reasoning(delta));
    const deltas = this.#generator.chatStream(messages, { ...mapped.options, signal, onFinish: (r) => (finished = r), onReasoning })[Symbol.asyncIterator]();
    const modelId = this.modelId;
    let closed = false;
    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      start(controller) {
        controller.enqueue({ type: 'stream-start', warnings });
        controller.enqueue({ type: 'response-metadata', modelId, timestamp: new Date() });
      },
      async pull(controller) {
        try {
          // A pull that enqueues nothing is not called again: read on until there is a part to give.
          for (;;) {
            const next = await deltas.next();
            if (closed) return;
            const out = reasoning.splice(0);
            if (next.done) {
              for (const part of out) controller.enqueue(part);
              break;
            }
            out.push(...parts.push(next.value));
            for (const part of out) controller.enqueue(part);
            if (out.length > 0) return;
          }
          for (const part of parts.end(finished)) controller.enqueue(part);
          closed = true;
          controller.close();
        } catch (err) {
          if (closed) return;
          closed = true;
          controller.error(err);
        }
      },
      async cancel() {
        closed = true;
        cancel.abort();
        await deltas.return?.().catch(() => {});
      },
    });
    return { stream, request: { body: { messages, options: { ...mapped.options, signal: undefined } } } };
  }
}

function outputContent(rawText: string, mode: ToolMode): LanguageModelV3Content[] {
  if (mode === 'forced') {
    const call = parseToolCallJson(rawText);
    if (call) return [{ type: 'tool-call', toolCallId: generateId(), toolName: call.name, input: call.arguments }];
    return [{ type: 'text', text: rawText }];
  }
  const parts: OutputPart[] = mode === 'auto' ? splitToolCalls(rawText) : [{ type: 'text', text: rawText }];
  return parts.map((p) =>
    p.type === 'text' ? { type: 'text', text: p.text } : { type: 'tool-call', toolCallId: generateId(), toolName: p.call.name, input: p.call.arguments },
  );
}

/** Text deltas as AI SDK stream parts: text-start/-delta/-end around each run of text, a tool-call per call. */
class StreamParts {
  readonly #mode: ToolMode;
  readonly #splitter = new ToolCallSplitter();
  #forced = '';
  #textId: string | undefined;
  #reasoningId: string | undefined;
  #toolCalls = 0;

  constructor(mode: ToolMode) {
    this.#mode = mode;
  }

  /** A piece of the model's reasoning (engine option reasoningParser): reasoning-start/-delta, ended by what follows. */
  reasoning(delta: string): LanguageModelV3StreamPart[] {
    if (!delta) return [];
    const out: LanguageModelV3StreamPart[] = [];
    if (this.#reasoningId === undefined) {
      this.#reasoningId = generateId();
      out.push({ type: 'reasoning-start', id: this.#reasoningId });
    }
    out.push({ type: 'reasoning-delta', id: this.#reasoningId, delta });
    return out;
  }

  #endReasoning(): LanguageModelV3StreamPart[] {
    if (this.#reasoningId === undefined) return [];
    const id = this.#reasoningId;
    this.#reasoningId = undefined;
    return [{ type: 'reasoning-end', id }];
  }

  push(delta: string): LanguageModelV3StreamPart[] {
    if (delta) {
      const ended = this.#endReasoning();
      if (ended.length > 0) return [...ended, ...this.push(delta)];
    }
    if (this.#mode === 'forced') {
      this.#forced += delta;
      return [];
    }
    if (this.#mode === 'none') return this.#convert([{ type: 'text', text: delta }]);
    return this.#convert(this.#splitter.push(delta));
  }

  end(result: GenerationResult | undefined): LanguageModelV3StreamPart[] {
    const ended = this.#endReasoning();
    let out: LanguageModelV3StreamPart[];
    if (this.#mode === 'forced') {
      const call = parseToolCallJson(this.#forced);
      out = this.#convert(call ? [{ type: 'tool-call', call }] : this.#forced ? [{ type: 'text', text: this.#forced }] : []);
    } else {
      out = this.#convert(this.#mode === 'auto' ? this.#splitter.flush() : []);
    }
    if (this.#textId !== undefined) out.push({ type: 'text-end', id: this.#textId });
    this.#textId = undefined;
    out.unshift(...ended);
    out.push({ type: 'finish', finishReason: mapFinishReason(result?.finishReason ?? null, this.#toolCalls, this.#mode), usage: mapUsage(result) });
    return out;
  }

  #convert(parts: OutputPart[]): LanguageModelV3StreamPart[] {
    const out: LanguageModelV3StreamPart[] = [];
    for (const p of parts) {
      if (p.type === 'text') {
        if (!p.text) continue;
        if (this.#textId === undefined) {
          this.#textId = generateId();
          out.push({ type: 'text-start', id: this.#textId });
        }
        out.push({ type: 'text-delta', id: this.#textId, delta: p.text });
        continue;
      }
      if (this.#textId !== undefined) out.push({ type: 'text-end', id: this.#textId });
      this.#textId = undefined;
      this.#toolCalls += 1;
      out.push({ type: 'tool-call', toolCallId: generateId(), toolName: p.call.name, input: p.call.arguments });
    }
    return out;
  }
}
