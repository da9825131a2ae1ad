// The memory cap on the CPU backend: gpuMemoryGiB sizes the KV cache as the cap minus the weights; a model
// that cannot fit is refused before loading with INSUFFICIENT_GPU_MEMORY, and the process can go on; a KV cache that
// vLLM's EngineCore refuses after loading gives the same code with vLLM's reason.
import { afterAll, describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { cpuOptions } from '../helpers/models.js';

const MiB = 2 ** 20;
let engine: Engine | undefined;

afterAll(async () => {
  await engine?.close();
});

describe('memory cap on the CPU backend', () => {
  it('refuses a cap the model cannot fit under, naming what it needs, before loading', async () => {
    // 0.5 GiB: the weights (~37 MiB) plus the activation reserve (512 MiB) leave no KV cache.
    const err = await rejection(Engine.create(cpuOptions({ gpuMemoryGiB: 0.5, gpuMemoryUtilization: undefined, engineArgs: {} }), { configFile: false }));
    expect(err.code).toBe('INSUFFICIENT_GPU_MEMORY');
    expect(err.message).toMatch(/does not fit under the memory cap \(gpuMemoryGiB 0\.5\).*cpu_offload_gb/);
  });

  it("a KV cache vLLM finds too small: INSUFFICIENT_GPU_MEMORY with the EngineCore's own reason, and the process goes on", async () => {
    // vLLM's EngineCore fails after loading; vLLM's own error says only "See root cause above".
    const err = await rejection(Engine.create(cpuOptions({ engineArgs: { kv_cache_memory_bytes: 65536 } }), { configFile: false }));
    expect(err.code).toBe('INSUFFICIENT_GPU_MEMORY');
    expect(err.message).toMatch(/EngineCore failed to start: ValueError: No available memory for the cache blocks/);
  });

  it('sizes the KV cache from an absolute cap, reports it, and serves', async () => {
    engine = await Engine.create(cpuOptions({ gpuMemoryGiB: 1, gpuMemoryUtilization: undefined, engineArgs: {} }), { configFile: false });
    const { memory, notes, gpuMemoryGiB, gpuMemoryUtilization } = engine.info;
    expect(gpuMemoryGiB).toBe(1);
    expect(gpuMemoryUtilization).toBeNull();
    expect(memory.capMiB).toBe(1024);
    expect(memory.capSource).toBe('gpuMemoryGiB');
    // cap − weights − the 512 MiB activation reserve
    expect(memory.kvCacheMiB! + memory.weightsMiB! + 512).toBeGreaterThanOrEqual(1023);
    expect(memory.kvCacheMiB! + memory.weightsMiB! + 512).toBeLessThanOrEqual(1024);
    expect(memory.kvCacheTokens).toBeGreaterThan(0);
    expect(notes.find((n) => n.option === 'gpuMemoryGiB')).toMatchObject({ applied: true });
    expect(notes.find((n) => n.option === 'swapSpace')).toMatchObject({ applied: false, reason: expect.stringMatching(/CPU backend/) });
    expect(await engine.memory()).toMatchObject({ capMiB: 1024, kvCacheMiB: memory.kvCacheMiB });
    expect((await engine.generateDetailed('hello', { maxTokens: 4, temperature: 0 })).outputTokens).toBeGreaterThan(0);
    expect(memory.kvCacheMiB! * MiB).toBeGreaterThan(0);
  });
});
