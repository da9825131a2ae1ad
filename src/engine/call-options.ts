/**
 * The checks of an Engine call's arguments before anything reaches the engine thread: prompts and messages, the
 * chat-only options split off a call's sampling options, the sampling options (zod, through sampling.ts) and what
 * they may not combine with, and the arguments of tokenize / detokenize / countTokens.
 */
import { VllmError } from '../errors.js';
import type { ChatOptions } from '../generator.js';
import { CountTokensOptionsSchema, TokenizeOptionsSchema, type EngineOptions, type SamplingDefaults, type SamplingOptions } from '../options.js';
import type { Command, SamplingPayload } from '../protocol.js';
import { chatTemplateKwargs, checkOptionsObject, parseCallOptions, samplingPayload } from '../sampling.js';
import type { CountTokensOptions, TokenizeOptions } from '../tokens.js';
import type { ChatMessage, ChatTool, GenerationResult } from '../types.js';

/** What a request adds to vLLM besides its sampling: a prompt, or messages with their template and tools. */
export type RequestInput = Partial<Extract<Command, { op: 'add' }>>;
type ChatInput = Pick<Extract<Command, { op: 'add' }>, 'messages' | 'chat_template' | 'tools'>;

export function checkPrompt(prompt: unknown, name = 'prompt'): string {
  if (typeof prompt !== 'string') {
    throw new VllmError('INVALID_REQUEST', `Expected ${name} to be a string, received ${prompt === null ? 'null' : typeof prompt}`);
  }
  return prompt;
}

export function chatInput(messages: unknown, chatTemplate: string | undefined, tools: ChatTool[] | undefined): ChatInput {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new VllmError('INVALID_REQUEST', 'Expected messages to be a non-empty array of { role, content }');
  }
  for (const [i, m] of messages.entries()) {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new VllmError('INVALID_REQUEST', `Expected messages[${i}] to be { role: string, content: string }`);
    }
  }
  const input: ChatInput = {
    messages: (messages as ChatMessage[]).map((m) => ({ role: m.role, content: m.content })),
  };
  if (chatTemplate !== undefined) input.chat_template = chatTemplate;
  if (tools !== undefined && tools.length > 0) input.tools = tools;
  return input;
}

/** Takes the chat-only options (ChatOptions) out of a chat call's options; `rest` are its sampling options. */
export function splitChat(options: (SamplingOptions & ChatOptions) | undefined): {
  chatTemplate: string | undefined;
  tools: ChatTool[] | undefined;
  onFinish: ((result: GenerationResult) => void) | undefined;
  onReasoning: ((delta: string) => void) | undefined;
  rest: unknown;
} {
  if (!options || typeof options !== 'object') return { chatTemplate: undefined, tools: undefined, onFinish: undefined, onReasoning: undefined, rest: options };
  const { chatTemplate, tools, onFinish, onReasoning, ...rest } = options;
  if (chatTemplate !== undefined && typeof chatTemplate !== 'string') {
    throw new VllmError('INVALID_OPTIONS', 'Invalid option "chatTemplate": expected a string', { option: 'chatTemplate' });
  }
  if (tools !== undefined && (!Array.isArray(tools) || tools.some((t) => typeof t?.function?.name !== 'string'))) {
    throw new VllmError('INVALID_OPTIONS', 'Invalid option "tools": expected an array of { type: "function", function: { name, parameters } }', { option: 'tools' });
  }
  if (onFinish !== undefined && typeof onFinish !== 'function') {
    throw new VllmError('INVALID_OPTIONS', 'Invalid option "onFinish": expected a function', { option: 'onFinish' });
  }
  if (onReasoning !== undefined && typeof onReasoning !== 'function') {
    throw new VllmError('INVALID_OPTIONS', 'Invalid option "onReasoning": expected a function', { option: 'onReasoning' });
  }
  return { chatTemplate, tools, onFinish, onReasoning, rest };
}

/**
 * A request's sampling options over the engine's defaults, checked against the request (a text prompt has no
 * chat template; a stream carries one completion) and the engine (a thinking budget needs a reasoning parser).
 */
export function requestOptions(
  defaults: SamplingDefaults,
  reasoningParser: EngineOptions['reasoningParser'],
  input: RequestInput,
  options: unknown,
  stream: boolean,
): { payload: SamplingPayload; signal?: AbortSignal; chatTemplateKwargs?: Record<string, unknown> } {
  const sampling = samplingPayload(defaults, options);
  const { payload, chatTemplateKwargs: kwargs } = sampling;
  if (kwargs !== undefined) {
    const option = (options as Record<string, unknown>).thinking !== undefined ? 'thinking' : 'chatTemplateKwargs';
    if (input.messages === undefined) {
      throw new VllmError('INVALID_OPTIONS', `Invalid option "${option}": a text prompt has no chat template; use chat() / chatDetailed() / chatStream()`, { option });
    }
  }
  if (payload.thinking_token_budget !== undefined && reasoningParser === undefined) {
    throw new VllmError('INVALID_OPTIONS', 'Invalid option "thinking": budgetTokens needs the engine option reasoningParser (vLLM counts the reasoning with its parser)', { option: 'thinking' });
  }
  if (stream && (payload.n ?? 1) > 1) {
    throw new VllmError('INVALID_OPTIONS', 'Invalid option "n": a stream carries one completion; use generateDetailed / chatDetailed for n > 1', { option: 'n' });
  }
  return sampling;
}

/** The arguments of the engine thread's `tokenize`. */
export function tokenizeArgs(text: unknown, options: TokenizeOptions | undefined): Record<string, unknown> {
  const { addSpecialTokens = true } = parseCallOptions(TokenizeOptionsSchema, options);
  return { text: checkPrompt(text, 'text'), add_special_tokens: addSpecialTokens };
}

/** The arguments of the engine thread's `detokenize`. */
export function detokenizeArgs(ids: unknown): Record<string, unknown> {
  if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
    throw new VllmError('INVALID_REQUEST', 'Expected ids to be an array of token ids (non-negative integers)');
  }
  return { ids };
}

/** The arguments of the engine thread's `count_tokens`: a text prompt (no options), or messages as chat() renders them. */
export function countTokensArgs(input: string | ChatMessage[], options: CountTokensOptions | undefined): Record<string, unknown> {
  if (typeof input === 'string') {
    checkOptionsObject(options);
    const extra = Object.keys(options ?? {})[0];
    if (extra) throw new VllmError('INVALID_OPTIONS', `Invalid option "${extra}": countTokens of a text prompt takes no options (chatTemplate and tools are for messages)`, { option: extra });
    return { prompt: input };
  }
  const { chatTemplate, tools, ...template } = parseCallOptions(CountTokensOptionsSchema, options);
  const kwargs = chatTemplateKwargs(template);
  return { ...chatInput(input, chatTemplate, tools as ChatTool[] | undefined), ...(kwargs ? { chat_template_kwargs: kwargs } : {}) };
}
