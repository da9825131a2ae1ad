// Property-based: any value for any option ends in a typed VllmError or a valid result, never anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { resolveEngineOptions, VllmError } from '../../src/index.js';
import { samplingPayload } from '../../src/sampling.js';

const nasty = fc.oneof(
  fc.anything(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 2 ** 53, 1e308, '', '\u0000', '\ud800', null, undefined, [], {}),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ maxLength: 64 }).map((s) => s.repeat(1000)),
  fc.letrec((tie) => ({ deep: fc.oneof({ depthSize: 'small' }, fc.constant(1), fc.dictionary(fc.string(), tie('deep'))) })).deep,
);
const keys = ['model', 'quantization', 'kvCacheDtype', 'swapSpace', 'gpuMemoryUtilization', 'trustRemoteCode', 'maxModelLen', 'dtype', 'tensorParallelSize', 'enforceEager', 'seed', 'python', 'engineArgs', 'sampling', 'bogus'];
const sKeys = ['maxTokens', 'temperature', 'topP', 'frequencyPenalty', 'seed', 'stop', 'ignoreEos', 'jsonSchema', 'signal', 'max_tokens'];

function typedOrValid(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VllmError);
    expect(['INVALID_OPTIONS', 'CONFIG_FILE_INVALID']).toContain((err as VllmError).code);
  }
}

export const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

describe('fuzz: options', () => {
  it(`engine options (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(fc.oneof(nasty, fc.dictionary(fc.constantFrom(...keys), nasty)), (input) => {
        typedOrValid(() => resolveEngineOptions(input as never, { configFile: false, env: {} }));
      }),
      { numRuns: RUNS },
    );
  });

  it('a value zod throws on instead of reporting (found by the fuzz: a model whose length is a bare object) is INVALID_OPTIONS', () => {
    typedOrValid(() => resolveEngineOptions({ model: { length: Object.create(null) } } as never, { configFile: false, env: {} }));
    typedOrValid(() => samplingPayload({ maxTokens: 500, temperature: 0.1, topP: 0.9, frequencyPenalty: 0.1 }, { stop: { length: Object.create(null) } }));
  });

  it(`environment variables (${RUNS} cases)`, () => {
    const envNames = ['DEFAULT_MODEL_PATH', 'VLLM_QUANTIZATION', 'VLLM_SWAP_SPACE', 'VLLM_GPU_MEMORY_UTILIZATION', 'VLLM_TRUST_REMOTE_CODE', 'DEFAULT_TEMPERATURE', 'DEFAULT_MAX_TOKENS'];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...envNames), fc.string({ unit: 'binary', maxLength: 40 })), (env) => {
        typedOrValid(() => resolveEngineOptions({ model: '/m' }, { configFile: false, env }));
      }),
      { numRuns: RUNS },
    );
  });

  it(`sampling options (${RUNS} cases)`, () => {
    const defaults = { maxTokens: 500, temperature: 0.1, topP: 0.9, frequencyPenalty: 0.1 };
    fc.assert(
      fc.property(fc.oneof(nasty, fc.dictionary(fc.constantFrom(...sKeys), nasty)), (opts) => {
        typedOrValid(() => samplingPayload(defaults, opts));
      }),
      { numRuns: RUNS },
    );
  });
});
