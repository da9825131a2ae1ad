// The CPU profile (src/profiles.ts) is valid options, and the CLI, the CPU tests and the benchmarks start from it.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { cpuProfile, resolveEngineOptions } from '../../src/index.js';
import { cpuOptions, ROOT } from '../helpers/models.js';

const GiB = 1024 * 1024 * 1024;

describe('cpuProfile', () => {
  it('is valid engine options (unknown keys would be errors): no fp8, KV "auto", float32, a 512 MiB KV cache', () => {
    const opts = resolveEngineOptions({ model: '/m', ...cpuProfile() }, { configFile: false, env: {} });
    expect(opts).toMatchObject({ quantization: null, kvCacheDtype: 'auto', dtype: 'float32', gpuMemoryUtilization: 0.5, enforceEager: false });
    expect(opts.maxModelLen).toBeUndefined();
    expect(opts.engineArgs).toEqual({ kv_cache_memory_bytes: 512 * 1024 * 1024 });
  });

  it('overrides replace options whole, engineArgs included', () => {
    expect(cpuProfile({ enforceEager: true, engineArgs: { kv_cache_memory_bytes: GiB } })).toEqual({
      quantization: null,
      kvCacheDtype: 'auto',
      dtype: 'float32',
      gpuMemoryUtilization: 0.5,
      enforceEager: true,
      engineArgs: { kv_cache_memory_bytes: GiB },
    });
    expect(cpuProfile({ engineArgs: {} }).engineArgs).toEqual({});
  });

  it('the CPU tests start it eager with a 1024-token context', () => {
    expect(cpuOptions()).toEqual({ ...cpuProfile({ enforceEager: true, maxModelLen: 1024 }), model: expect.any(String), seed: 0 });
  });

  it('the CPU benchmarks start it as the tests do, with a 1 GiB KV cache', async () => {
    const { engineOptions } = (await import(join(ROOT, 'bench', 'common.mjs'))) as { engineOptions: (m: string) => Record<string, unknown> };
    const prev = process.env.BENCH_GPU;
    delete process.env.BENCH_GPU;
    try {
      expect(engineOptions('/m')).toEqual(cpuProfile({ enforceEager: true, maxModelLen: 1024, model: '/m', engineArgs: { kv_cache_memory_bytes: GiB } }));
    } finally {
      if (prev !== undefined) process.env.BENCH_GPU = prev;
    }
  });
});
