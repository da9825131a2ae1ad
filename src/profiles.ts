/**
 * The CPU profile: engine options vLLM's CPU backend can run, asked for explicitly (the defaults are the seed's
 * fp8 GPU settings, and vllm-node never falls back silently). One definition for the CLI's `--cpu`, the CPU
 * tests, the benchmarks and the examples; each states its own differences as overrides.
 */
import type { EngineOptionsInput } from './options.js';

/**
 * fp8 weights and KV cache need CUDA, so neither is asked for; float32 because the CPU backend runs it fastest on
 * AVX2-only x86 (no AVX512-BF16/AMX). The KV cache is sized in bytes (512 MiB) because on the CPU
 * `gpuMemoryUtilization` is a fraction of all RAM; with an explicit size vLLM's CPU worker does not reserve that
 * fraction. Neither `enforceEager` nor `maxModelLen` is set: callers choose.
 *
 * `overrides` replace the profile's options whole, engineArgs included: `{ engineArgs: { kv_cache_memory_bytes: 2 ** 30 } }`
 * for a 1 GiB KV cache, `{ engineArgs: {} }` to let a memory cap size it.
 */
export function cpuProfile(overrides: Partial<EngineOptionsInput> = {}): Partial<EngineOptionsInput> {
  return {
    quantization: null,
    kvCacheDtype: 'auto',
    dtype: 'float32',
    gpuMemoryUtilization: 0.5,
    engineArgs: { kv_cache_memory_bytes: 512 * 1024 * 1024 },
    ...overrides,
  };
}
