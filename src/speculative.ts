/**
 * The `speculative` engine option as vLLM's speculative_config. Python checks it (and a raw
 * engineArgs.speculative_config, which takes the same path) with a probe extraction at start:
 * python/vllm_node/speculative.py.
 */
import { VllmError } from './errors.js';
import type { EngineOptions } from './options.js';

/** vLLM's speculative_config for the `speculative` option; undefined without it. */
export function speculativeConfig(options: Pick<EngineOptions, 'speculative' | 'engineArgs'>): Record<string, unknown> | undefined {
  const spec = options.speculative;
  if (spec === undefined) return undefined;
  if (Object.hasOwn(options.engineArgs, 'speculative_config')) {
    throw new VllmError(
      'INVALID_OPTIONS',
      'Invalid option "speculative": engineArgs.speculative_config is set too; give one of them (both are checked the same way at start)',
      { option: 'speculative' },
    );
  }
  if (spec.method === 'ngram') {
    return { method: 'ngram', num_speculative_tokens: spec.numSpeculativeTokens, prompt_lookup_min: spec.promptLookupMin, prompt_lookup_max: spec.promptLookupMax };
  }
  return { method: 'suffix', ...(spec.numSpeculativeTokens !== undefined ? { num_speculative_tokens: spec.numSpeculativeTokens } : {}) };
}
