// The shared CPU engine fixture (tests/fixtures/cpu-engine.json) is valid options, and both users see it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { resolveEngineOptions } from '../../src/index.js';
import { CPU_ENGINE_FIXTURE, ROOT } from '../helpers/models.js';

describe('tests/fixtures/cpu-engine.json', () => {
  const fixture = JSON.parse(readFileSync(CPU_ENGINE_FIXTURE, 'utf8'));

  it('is valid engine options (unknown keys would be errors)', () => {
    const opts = resolveEngineOptions({ model: '/m', ...fixture }, { configFile: false, env: {} });
    expect(opts).toMatchObject({ quantization: null, kvCacheDtype: 'auto', dtype: 'float32', enforceEager: true, maxModelLen: 1024 });
    expect(opts.engineArgs).toEqual({ kv_cache_memory_bytes: 512 * 1024 * 1024 });
  });

  it('feeds the CPU benchmarks, which override only the KV cache size', async () => {
    const { engineOptions } = (await import(join(ROOT, 'bench', 'common.mjs'))) as { engineOptions: (m: string) => Record<string, unknown> };
    const prev = process.env.BENCH_GPU;
    delete process.env.BENCH_GPU;
    try {
      expect(engineOptions('/m')).toEqual({ ...fixture, model: '/m', engineArgs: { kv_cache_memory_bytes: 1024 * 1024 * 1024 } });
    } finally {
      if (prev !== undefined) process.env.BENCH_GPU = prev;
    }
  });
});
