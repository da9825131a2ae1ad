import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { EngineOptionsInput } from '../../src/index.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const TINY_MODEL = process.env.VLLM_NODE_TEST_MODEL ?? join(ROOT, '.models', 'tiny-qwen3');

export function requireModel(path = TINY_MODEL): string {
  if (!existsSync(join(path, 'config.json'))) throw new Error(`test model missing at ${path}: run scripts/setup.sh`);
  return path;
}

/**
 * The CPU engine used by the CI suite. fp8 cannot run on the CPU backend, so the suite asks for no
 * quantization explicitly; the KV cache is sized in bytes because on CPU gpuMemoryUtilization means a
 * fraction of all RAM.
 */
export function cpuOptions(extra: Partial<EngineOptionsInput> = {}): Partial<EngineOptionsInput> {
  return {
    model: requireModel(),
    quantization: null,
    kvCacheDtype: 'auto',
    dtype: 'float32',
    enforceEager: true,
    maxModelLen: 1024,
    gpuMemoryUtilization: 0.5,
    seed: 0,
    engineArgs: { kv_cache_memory_bytes: 512 * 1024 * 1024 },
    ...extra,
  };
}
