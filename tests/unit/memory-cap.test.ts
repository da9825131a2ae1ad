// The memory cap's vocabulary: a fraction (gpuMemoryUtilization) or GiB (gpuMemoryGiB), never both.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { resolveEngineOptions } from '../../src/index.js';
import { thrown } from '../helpers/errors.js';

const none = { configFile: false as const, env: {} };


describe('memory cap options', () => {
  it('defaults to 0.9 of each card when neither cap is set', () => {
    const o = resolveEngineOptions({ model: '/m' }, none);
    expect(o.gpuMemoryUtilization).toBe(0.9);
    expect(o.gpuMemoryGiB).toBeUndefined();
  });

  it('takes an absolute cap from code, env and YAML, and then sets no fraction', () => {
    const code = resolveEngineOptions({ model: '/m', gpuMemoryGiB: 14.4 }, none);
    expect(code.gpuMemoryGiB).toBe(14.4);
    expect(code.gpuMemoryUtilization).toBeUndefined();
    expect(resolveEngineOptions({ model: '/m' }, { configFile: false, env: { VLLM_GPU_MEMORY_GIB: '14.4' } }).gpuMemoryGiB).toBe(14.4);
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-cap-'));
    writeFileSync(join(dir, 'inference.yaml'), 'inference:\n  vllm:\n    gpu_memory_gib: 14.4\n');
    expect(resolveEngineOptions({ model: '/m' }, { configFile: join(dir, 'inference.yaml'), env: {} }).gpuMemoryGiB).toBe(14.4);
  });

  it('rejects both caps at once, from any sources', () => {
    const both = thrown(() => resolveEngineOptions({ model: '/m', gpuMemoryGiB: 14.4, gpuMemoryUtilization: 0.5 }, none));
    expect(both.code).toBe('INVALID_OPTIONS');
    expect(both.message).toMatch(/gpuMemoryGiB.*gpuMemoryUtilization.*keep one/);
    const mixed = thrown(() => resolveEngineOptions({ model: '/m', gpuMemoryGiB: 8 }, { configFile: false, env: { VLLM_GPU_MEMORY_UTILIZATION: '0.5' } }));
    expect(mixed.code).toBe('INVALID_OPTIONS');
  });

  it('bounds the values', () => {
    for (const bad of [0, -1, Number.NaN, 5000]) {
      expect(thrown(() => resolveEngineOptions({ model: '/m', gpuMemoryGiB: bad }, none)).option).toBe('gpuMemoryGiB');
    }
    expect(thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: false, env: { VLLM_GPU_MEMORY_GIB: 'lots' } })).code).toBe('INVALID_OPTIONS');
  });
});
