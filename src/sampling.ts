import { formatIssues } from './config.js';
import { VllmError } from './errors.js';
import { safeParseOptions, SAMPLING_KWARGS, SamplingOptionsSchema, type SamplingDefaults, type SamplingOptions } from './options.js';
import type { SamplingPayload } from './protocol.js';

/** Validates per-call options and merges them over the engine defaults into vLLM SamplingParams keys. */
export function samplingPayload(defaults: SamplingDefaults, options: unknown): { payload: SamplingPayload; signal?: AbortSignal } {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new VllmError('INVALID_OPTIONS', `Expected an options object, received ${options === null ? 'null' : typeof options}`);
  }
  const parsed = safeParseOptions(SamplingOptionsSchema, options ?? {}, 'options');
  if (!parsed.success) {
    const { message, option } = formatIssues(parsed.error, options, '', undefined, Object.keys(SamplingOptionsSchema.shape));
    throw new VllmError('INVALID_OPTIONS', message, { option });
  }
  const o: SamplingOptions = parsed.data;
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
  return o.signal ? { payload, signal: o.signal } : { payload };
}
