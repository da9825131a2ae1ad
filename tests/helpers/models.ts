import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { EngineOptionsInput } from '../../src/index.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const TINY_MODEL = process.env.VLLM_NODE_TEST_MODEL ?? join(ROOT, '.models', 'tiny-qwen3');

export function requireModel(path = TINY_MODEL): string {
  if (!existsSync(join(path, 'config.json'))) throw new Error(`test model missing at ${path}: run scripts/setup.sh`);
  return path;
}

/** Shared CPU engine options (also used by bench/common.mjs): tests/fixtures/cpu-engine.json. */
export const CPU_ENGINE_FIXTURE = join(ROOT, 'tests', 'fixtures', 'cpu-engine.json');

/**
 * The CPU engine used by the CI suite: the shared fixture, the tiny model, seed 0. fp8 cannot run on the CPU
 * backend, so the fixture asks for no quantization explicitly; the KV cache is sized in bytes because on CPU
 * gpuMemoryUtilization means a fraction of all RAM.
 */
export function cpuOptions(extra: Partial<EngineOptionsInput> = {}): Partial<EngineOptionsInput> {
  const shared = JSON.parse(readFileSync(CPU_ENGINE_FIXTURE, 'utf8')) as Partial<EngineOptionsInput>;
  return {
    ...shared,
    model: requireModel(),
    seed: 0,
    ...extra,
  };
}
