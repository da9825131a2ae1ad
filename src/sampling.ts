import type { z } from 'zod';

import { formatIssues } from './config.js';
import { VllmError } from './errors.js';
import { CONSTRAINT_OPTIONS, safeParseOptions, SAMPLING_KWARGS, SamplingOptionsSchema, type SamplingDefaults, type SamplingOptions } from './options.js';
import type { SamplingPayload } from './protocol.js';

/**
 * Validates a per-call options object against one of the strict option schemas: INVALID_OPTIONS naming the option
 * (and the closest known one for a misspelling) otherwise.
 */
export function parseCallOptions<S extends z.ZodObject>(schema: S, options: unknown, what = 'options'): z.output<S> {
  checkOptionsObject(options);
  const parsed = safeParseOptions(schema, options ?? {}, what);
  if (!parsed.success) {
    const { message, option } = formatIssues(parsed.error, options, '', undefined, Object.keys(schema.shape));
    throw new VllmError('INVALID_OPTIONS', message, { option });
  }
  return parsed.data;
}

/** INVALID_OPTIONS unless `options` is undefined or a plain object. */
export function checkOptionsObject(options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new VllmError('INVALID_OPTIONS', `Expected an options object, received ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
}

/** The per-call sampling options, validated: the schema, then at most one constraint on the output. */
export function parseSamplingOptions(options: unknown): SamplingOptions {
  const o = parseCallOptions(SamplingOptionsSchema, options);
  const constraints = CONSTRAINT_OPTIONS.filter((k) => o[k] !== undefined);
  if (constraints.length > 1) {
    throw new VllmError('INVALID_OPTIONS', `Invalid options ${constraints.map((k) => `"${k}"`).join(' and ')}: a call takes one constraint on the output (jsonSchema, regex, choice or grammar)`, {
      option: constraints[1]!,
    });
  }
  return o;
}

/**
 * Options objects whose `thinking: false` is extraction's own default, not the caller's: RemoteGenerator leaves it
 * out, as OpenAI-compatible services other than vLLM's server refuse vLLM's chat_template_kwargs extension.
 */
const implicitThinking = new WeakSet<object>();

/** `options` with thinking off unless they set it, marked as a default (see implicitThinking). */
export function thinkingOffByDefault<T extends { thinking?: unknown }>(options: T): T {
  if (options.thinking !== undefined) return options;
  const withDefault = { ...options, thinking: false };
  implicitThinking.add(withDefault);
  return withDefault;
}

/** Whether `options.thinking` is a default that thinkingOffByDefault set. */
export function isDefaultThinking(options: unknown): boolean {
  return typeof options === 'object' && options !== null && implicitThinking.has(options);
}

/**
 * The chat template variables of a call: `chatTemplateKwargs`, with `thinking` as the variables thinking templates
 * read (Qwen3 and GLM `enable_thinking`, DeepSeek and Granite `thinking`). Undefined when the call sets neither.
 */
export function chatTemplateKwargs(o: Pick<SamplingOptions, 'chatTemplateKwargs' | 'thinking'>): Record<string, unknown> | undefined {
  if (o.thinking === undefined) return o.chatTemplateKwargs;
  const on = o.thinking !== false;
  return { ...o.chatTemplateKwargs, enable_thinking: on, thinking: on };
}

/**
 * Validates per-call options and merges them over the engine defaults into vLLM SamplingParams keys; the chat
 * template variables apart (`chatTemplateKwargs`: they change the prompt, not the sampling).
 */
export function samplingPayload(
  defaults: SamplingDefaults,
  options: unknown,
): { payload: SamplingPayload; signal?: AbortSignal; chatTemplateKwargs?: Record<string, unknown> } {
  const o = parseSamplingOptions(options);
  const payload: SamplingPayload = {
    max_tokens: o.maxTokens ?? defaults.maxTokens,
    temperature: o.temperature ?? defaults.temperature,
    top_p: o.topP ?? defaults.topP,
    frequency_penalty: o.frequencyPenalty ?? defaults.frequencyPenalty,
  };
  for (const [key, vllm] of Object.entries(SAMPLING_KWARGS)) {
    const value = o[key as keyof SamplingOptions];
    if (value !== undefined) (payload as unknown as Record<string, unknown>)[vllm] = value;
  }
  if (o.stop !== undefined) payload.stop = typeof o.stop === 'string' ? [o.stop] : o.stop;
  if (o.jsonSchema !== undefined) payload.json_schema = o.jsonSchema;
  if (o.regex !== undefined) payload.regex = o.regex;
  if (o.choice !== undefined) payload.choice = o.choice;
  if (o.grammar !== undefined) payload.grammar = o.grammar;
  if (typeof o.thinking === 'object') payload.thinking_token_budget = o.thinking.budgetTokens;
  const kwargs = chatTemplateKwargs(o);
  return { payload, ...(o.signal ? { signal: o.signal } : {}), ...(kwargs ? { chatTemplateKwargs: kwargs } : {}) };
}
