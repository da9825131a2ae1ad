/**
 * `vllm-node/langchain`: a LangChain.js chat model over any vllm-node TextGenerator (an Engine, a Router...).
 *
 * ```ts
 * import { ChatVllm } from 'vllm-node/langchain';
 * const model = new ChatVllm({ engine: await Engine.create({ model }), temperature: 0 });
 * const reply = await model.invoke('Hello');
 * ```
 */
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { BaseChatModel, type BaseChatModelCallOptions, type BaseChatModelParams, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import { AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { JsonOutputParser, StructuredOutputParser } from '@langchain/core/output_parsers';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import { RunnableLambda, type Runnable } from '@langchain/core/runnables';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import { isInteropZodSchema } from '@langchain/core/utils/types';

import { VllmError } from '../errors.js';
import type { ChatCallOptions, TextGenerator } from '../generator.js';
import { forcedToolCallSchema, parseToolCallJson, splitToolCalls, ToolCallSplitter, type OutputPart, type ParsedToolCall } from '../integrations/tool-calls.js';
import type { ChatTool, GenerationResult } from '../types.js';
import { aiMessage, lastChunk, toChatMessages, toolCallChunks } from './messages.js';

/** The sampling options of vllm-node (one vocabulary with Engine calls), as constructor defaults or per call. */
export interface VllmSamplingFields {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  seed?: number;
  ignoreEos?: boolean;
  /** Constrain the output to this JSON Schema (vLLM structured outputs); withStructuredOutput sets it. */
  jsonSchema?: Record<string, unknown>;
  chatTemplate?: string;
  /** Thinking models: on, off or within a token budget (see the Engine's `thinking`); the reasoning (engine option reasoningParser) comes in `additional_kwargs.reasoning_content`. */
  thinking?: boolean | { budgetTokens: number };
  chatTemplateKwargs?: Record<string, unknown>;
}

export interface ChatVllmCallOptions extends BaseChatModelCallOptions, VllmSamplingFields {
  tools?: BindToolsInput[];
}

export interface ChatVllmInput extends BaseChatModelParams, VllmSamplingFields {
  /** The engine (or Router, or RemoteGenerator) that generates. */
  engine: TextGenerator;
  stop?: string[];
}

const SAMPLING_KEYS = ['maxTokens', 'temperature', 'topP', 'topK', 'frequencyPenalty', 'presencePenalty', 'seed', 'ignoreEos', 'jsonSchema', 'chatTemplate', 'thinking', 'chatTemplateKwargs'] as const;

type ToolMode = 'none' | 'auto' | 'forced';

export class ChatVllm extends BaseChatModel<ChatVllmCallOptions> {
  static override lc_name(): string {
    return 'ChatVllm';
  }

  readonly engine: TextGenerator;
  readonly defaults: VllmSamplingFields & { stop?: string[] };

  constructor(fields: ChatVllmInput) {
    const { engine, stop, callbacks, maxConcurrency, maxRetries, onFailedAttempt, verbose, cache, tags, metadata, disableStreaming, outputVersion, ...rest } = fields;
    const base: BaseChatModelParams = {};
    Object.assign(base, { callbacks, maxConcurrency, maxRetries, onFailedAttempt, verbose, cache, tags, metadata, disableStreaming, outputVersion });
    for (const k of Object.keys(base) as (keyof BaseChatModelParams)[]) if (base[k] === undefined) delete base[k];
    super(base);
    this.engine = engine;
    this.defaults = stop ? { ...rest, stop } : { ...rest };
  }

  override _llmType(): string {
    return 'vllm-node';
  }

  override get callKeys(): string[] {
    return [...super.callKeys, 'tools', 'tool_choice', ...SAMPLING_KEYS];
  }

  override bindTools(tools: BindToolsInput[], kwargs?: Partial<ChatVllmCallOptions>): Runnable<BaseLanguageModelInput, AIMessageChunk, ChatVllmCallOptions> {
    return this.withConfig({ ...kwargs, tools } as Partial<ChatVllmCallOptions>);
  }

  /** Structured output through vLLM's structured outputs (the JSON Schema of a zod schema, or a JSON Schema). */
  // biome-ignore lint/suspicious/noExplicitAny: the base class's overloads, implemented once
  override withStructuredOutput(outputSchema: any, config?: { name?: string; includeRaw?: boolean; method?: string }): Runnable<BaseLanguageModelInput, any> {
    const jsonSchema = toJsonSchema(outputSchema) as Record<string, unknown>;
    delete jsonSchema.$schema;
    const model = this.withConfig({ jsonSchema, ls_structured_output_format: { kwargs: { method: 'jsonSchema' }, schema: jsonSchema } } as Partial<ChatVllmCallOptions>);
    const parser = isInteropZodSchema(outputSchema) ? StructuredOutputParser.fromZodSchema(outputSchema) : new JsonOutputParser();
    if (!config?.includeRaw) return model.pipe(parser).withConfig({ runName: config?.name ?? 'ChatVllmStructuredOutput' });
    return model.pipe(RunnableLambda.from(async (raw: AIMessageChunk) => ({ raw, parsed: await parser.invoke(raw) })));
  }

  /**
   * Token count from the model's own tokenizer (the generator's countTokens: the Engine, ModelManager, Router, or
   * vLLM's server behind RemoteGenerator); a generator without one gets LangChain's estimate (about 4 characters a token).
   */
  override async getNumTokens(content: Parameters<BaseChatModel['getNumTokens']>[0]): Promise<number> {
    const text = typeof content === 'string' ? content : content.map((c) => ('text' in c && typeof c.text === 'string' ? c.text : '')).join('');
    if (typeof this.engine.countTokens === 'function') {
      try {
        return await this.engine.countTokens(text);
      } catch (err) {
        if (!(err instanceof VllmError && err.code === 'UNSUPPORTED_OPERATION')) throw err;
      }
    }
    return Math.ceil(text.length / 4);
  }

  #request(options: this['ParsedCallOptions']): { options: ChatCallOptions; mode: ToolMode } {
    const merged: Record<string, unknown> = { ...this.defaults };
    for (const k of SAMPLING_KEYS) if (options[k] !== undefined) merged[k] = options[k];
    const stop = options.stop ?? this.defaults.stop;
    const out: ChatCallOptions = {};
    for (const k of SAMPLING_KEYS) if (merged[k] !== undefined) Object.assign(out, { [k]: merged[k] });
    if (stop && stop.length > 0) out.stop = stop;
    if (options.signal) out.signal = options.signal;
    const tools: ChatTool[] = (options.tools ?? []).map((t) => {
      const openai = convertToOpenAITool(t) as unknown as ChatTool;
      return { type: 'function', function: openai.function };
    });
    const choice = options.tool_choice;
    if (tools.length === 0 || choice === 'none') return { options: out, mode: 'none' };
    out.tools = tools;
    const named = typeof choice === 'string' ? choice : (choice as { function?: { name?: string } } | undefined)?.function?.name;
    if (choice === undefined || choice === 'auto') return { options: out, mode: 'auto' };
    const forced = choice === 'any' || choice === 'required' ? tools : tools.filter((t) => t.function.name === named);
    if (forced.length === 0) return { options: out, mode: 'auto' };
    out.jsonSchema = forcedToolCallSchema(forced);
    return { options: out, mode: 'forced' };
  }

  override async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const { options: call, mode } = this.#request(options);
    const result = await this.engine.chatDetailed(toChatMessages(messages), call);
    const { text, calls } = readOutput(result.rawText, mode);
    const message = aiMessage(text, calls, result);
    if (result.reasoning) message.additional_kwargs.reasoning_content = result.reasoning;
    return {
      generations: [{ text, message, generationInfo: { finish_reason: result.finishReason } }],
      llmOutput: { tokenUsage: { promptTokens: result.promptTokens, completionTokens: result.outputTokens, totalTokens: result.promptTokens + result.outputTokens } },
    };
  }

  override async *_streamResponseChunks(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk> {
    const { options: call, mode } = this.#request(options);
    let finished: GenerationResult | undefined;
    const splitter = new ToolCallSplitter();
    let forced = '';
    let calls = 0;
    const emit = async function* (parts: OutputPart[]): AsyncGenerator<ChatGenerationChunk> {
      for (const p of parts) {
        if (p.type === 'text') {
          if (!p.text) continue;
          yield new ChatGenerationChunk({ text: p.text, message: new AIMessageChunk({ content: p.text }) });
          await runManager?.handleLLMNewToken(p.text);
        } else {
          yield new ChatGenerationChunk({ text: '', message: new AIMessageChunk({ content: '', tool_call_chunks: toolCallChunks([p.call], calls) }) });
          calls += 1;
        }
      }
    };
    // The engine calls onReasoning in order with the text it yields: each piece goes out before the text after it.
    const reasoning: string[] = [];
    const reasoningChunks = function* (): Generator<ChatGenerationChunk> {
      for (const r of reasoning.splice(0)) yield new ChatGenerationChunk({ text: '', message: new AIMessageChunk({ content: '', additional_kwargs: { reasoning_content: r } }) });
    };
    // Leaving this generator early (a break, an abort) ends the engine's stream, which aborts the vLLM request.
    for await (const delta of this.engine.chatStream(toChatMessages(messages), { ...call, onFinish: (r) => (finished = r), onReasoning: (r) => reasoning.push(r) })) {
      yield* reasoningChunks();
      if (mode === 'forced') forced += delta;
      else yield* emit(mode === 'auto' ? splitter.push(delta) : [{ type: 'text', text: delta }]);
    }
    yield* reasoningChunks();
    if (mode === 'forced') {
      const parsed = parseToolCallJson(forced);
      yield* emit(parsed ? [{ type: 'tool-call', call: parsed }] : [{ type: 'text', text: forced }]);
    } else if (mode === 'auto') {
      yield* emit(splitter.flush());
    }
    yield new ChatGenerationChunk({ text: '', message: lastChunk(finished, calls), generationInfo: { finish_reason: finished?.finishReason ?? null } });
  }
}

function readOutput(rawText: string, mode: ToolMode): { text: string; calls: ParsedToolCall[] } {
  if (mode === 'forced') {
    const call = parseToolCallJson(rawText);
    return call ? { text: '', calls: [call] } : { text: rawText, calls: [] };
  }
  if (mode === 'none') return { text: rawText, calls: [] };
  const parts = splitToolCalls(rawText);
  return {
    text: parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join(''),
    calls: parts.flatMap((p) => (p.type === 'tool-call' ? [p.call] : [])),
  };
}
