import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { cpuProfile, type EngineOptionsInput } from '../../src/index.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const TINY_MODEL = process.env.VLLM_NODE_TEST_MODEL ?? join(ROOT, '.models', 'tiny-qwen3');

export function requireModel(path = TINY_MODEL): string {
  if (!existsSync(join(path, 'config.json'))) throw new Error(`test model missing at ${path}: run scripts/setup.sh`);
  return path;
}

/**
 * The CPU engine used by the CI suite: the CPU profile (src/profiles.ts), started eager with a 1024-token context
 * (a small model, short prompts; eager skips torch.compile's minutes on a 2-core machine), the tiny model, seed 0.
 */
export function cpuOptions(extra: Partial<EngineOptionsInput> = {}): Partial<EngineOptionsInput> {
  return cpuProfile({ enforceEager: true, maxModelLen: 1024, model: requireModel(), seed: 0, ...extra });
}
