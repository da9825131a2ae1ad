// The `speculative` engine option: its schema (defaults per method, strict keys, bounds) and its mapping to vLLM's
// speculative_config; no engine (the self-check itself: tests/cpu/speculative.test.ts, python/tests).
import { describe, expect, it } from 'vitest';

import { EngineOptionsSchema, resolveEngineOptions, VllmError } from '../../src/index.js';
import { speculativeConfig } from '../../src/speculative.js';
import { thrown } from '../helpers/errors.js';

const resolve = (options: Record<string, unknown>) => resolveEngineOptions({ model: 'org/name', ...options }, { configFile: false, env: {} });

describe('speculative option', () => {
  it('ngram takes its defaults and maps to vLLM speculative_config', () => {
    const options = resolve({ speculative: { method: 'ngram' } });
    expect(options.speculative).toEqual({ method: 'ngram', numSpeculativeTokens: 4, promptLookupMin: 2, promptLookupMax: 4 });
    expect(speculativeConfig(options)).toEqual({ method: 'ngram', num_speculative_tokens: 4, prompt_lookup_min: 2, prompt_lookup_max: 4 });
    const set = resolve({ speculative: { method: 'ngram', numSpeculativeTokens: 6, promptLookupMin: 3, promptLookupMax: 5 } });
    expect(speculativeConfig(set)).toEqual({ method: 'ngram', num_speculative_tokens: 6, prompt_lookup_min: 3, prompt_lookup_max: 5 });
  });

  it("suffix leaves num_speculative_tokens to vLLM unless set", () => {
    expect(speculativeConfig(resolve({ speculative: { method: 'suffix' } }))).toEqual({ method: 'suffix' });
    expect(speculativeConfig(resolve({ speculative: { method: 'suffix', numSpeculativeTokens: 8 } }))).toEqual({ method: 'suffix', num_speculative_tokens: 8 });
  });

  it('is absent by default', () => {
    const options = resolve({});
    expect(options.speculative).toBeUndefined();
    expect(speculativeConfig(options)).toBeUndefined();
  });

  it('refuses unknown methods, keys of the other method, and a lookup window upside down', () => {
    for (const speculative of [
      { method: 'eagle' },
      { method: 'suffix', promptLookupMax: 4 },
      { method: 'ngram', numSpeculativeTokens: 0 },
      { method: 'ngram', numSpeculativeTokens: 2.5 },
      { method: 'ngram', promptLookupMin: 5, promptLookupMax: 3 },
      { numSpeculativeTokens: 4 },
    ]) {
      expect(EngineOptionsSchema.safeParse({ model: 'm', speculative }).success, JSON.stringify(speculative)).toBe(false);
      const err = thrown(() => resolve({ speculative }));
      expect(err.code).toBe('INVALID_OPTIONS');
    }
  });

  it('refuses the option together with a raw engineArgs.speculative_config', () => {
    const options = resolve({ speculative: { method: 'ngram' }, engineArgs: { speculative_config: { method: 'ngram', num_speculative_tokens: 2 } } });
    const err = thrown(() => speculativeConfig(options));
    expect(err).toBeInstanceOf(VllmError);
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.option).toBe('speculative');
    expect(err.message).toBe(
      'Invalid option "speculative": engineArgs.speculative_config is set too; give one of them (both are checked the same way at start)',
    );
    // The raw one alone passes through untouched (Python checks it the same way at start).
    expect(speculativeConfig(resolve({ engineArgs: { speculative_config: { method: 'ngram' } } }))).toBeUndefined();
  });
});
