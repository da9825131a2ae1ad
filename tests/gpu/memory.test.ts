// The memory cap on a CUDA card (python/vllm_node/memory.py) with the seed's laptop budget, gpuMemoryGiB 14.4:
// the 4B shape stays within it under load, the 32B shape is refused before loading with the weight offload it
// needs, offload with online quantization is refused, and the 32B shape as an fp8 checkpoint with that offload
// starts and generates within the cap. Skipped without a GPU.
// Models: random Qwen3-shaped checkpoints (scripts/gpu-host/build-models.py) under $VLLM_NODE_GPU_MODELS.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { GPU_MODELS, gpuMemory, HAS_GPU } from '../helpers/gpu.js';
import { rejection } from '../helpers/errors.js';

const laptop = { quantization: 'fp8', kvCacheDtype: 'fp8', swapSpace: 4, trustRemoteCode: true, maxModelLen: 8192, gpuMemoryGiB: 14.4 } as const;

/** The card's highest nvidia-smi reading (MiB) while `work` runs, sampled every 100 ms. */
async function peakDuring(work: () => Promise<unknown>): Promise<number> {
  let peak = 0;
  const smi = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '100']);
  smi.stdout.on('data', (d: Buffer) => {
    for (const v of d.toString().trim().split('\n').map(Number)) if (Number.isFinite(v)) peak = Math.max(peak, v);
  });
  try {
    await work();
  } finally {
    smi.kill();
  }
  return peak;
}

describe.skipIf(!HAS_GPU)('memory cap on the GPU (gpuMemoryGiB 14.4)', () => {
  const baseline = gpuMemory()[0]?.usedMiB ?? 0;
  const capMiB = Math.round(14.4 * 1024);
  let offloadGiB = 0;

  it('the 4B shape stays within the cap from start to close, under 32 concurrent long requests', async () => {
    let engine: Engine | undefined;
    const peak = await peakDuring(async () => {
      engine = await Engine.create({ ...laptop, model: join(GPU_MODELS, 'qwen3-4b') }, { configFile: false });
      const words = 'senior engineer remote data pipelines kubernetes go python '.split(' ');
      const prompt = (i: number) => Array.from({ length: 3000 }, (_, k) => words[(i + k) % words.length]).join(' ');
      await Promise.all(Array.from({ length: 32 }, (_, i) => engine!.generate(prompt(i), { maxTokens: 200, ignoreEos: true })));
      const mem = await engine.memory();
      expect(mem.capMiB).toBe(capMiB);
      expect(mem.measuredMiB).toBeLessThanOrEqual(capMiB);
      await engine.close();
    });
    expect(engine!.info.memory!.kvCacheTokens).toBeGreaterThan(8192);
    expect(peak - baseline).toBeLessThanOrEqual(capMiB);
  });

  it('the 32B shape (online fp8) is refused before loading, with the weight offload that would fit, and the process goes on', async () => {
    const e = await rejection(Engine.create({ ...laptop, model: join(GPU_MODELS, 'qwen3-32b'), engineArgs: { load_format: 'dummy' } }, { configFile: false }));
    expect(e.code).toBe('INSUFFICIENT_GPU_MEMORY');
    expect(e.message).toMatch(/already quantized/);
    const m = /cpu_offload_gb: (\d+)/.exec(e.message);
    expect(m).not.toBeNull();
    offloadGiB = Number(m![1]);
    expect(gpuMemory()[0]!.usedMiB - baseline).toBeLessThan(1024);
  });

  it('weight offload with online quantization is refused before loading (vLLM cannot offload meta-device weights)', async () => {
    const e = await rejection(
      Engine.create({ ...laptop, model: join(GPU_MODELS, 'qwen3-32b'), engineArgs: { load_format: 'dummy', cpu_offload_gb: 24 } }, { configFile: false }),
    );
    expect(e.code).toBe('UNSUPPORTED_SETTING');
    expect(e.message).toMatch(/quantizes them online/);
  });

  it('with that offload the 32B shape as an fp8 checkpoint starts, generates and stays within the cap', async () => {
    expect(offloadGiB).toBeGreaterThan(0);
    let engine: Engine | undefined;
    const peak = await peakDuring(async () => {
      engine = await Engine.create(
        { ...laptop, model: join(GPU_MODELS, 'qwen3-32b-fp8'), engineArgs: { load_format: 'dummy', cpu_offload_gb: offloadGiB } },
        { configFile: false },
      );
      const rs = await Promise.all(Array.from({ length: 4 }, (_, i) => engine!.generateDetailed(`Posting ${i}`, { maxTokens: 10, ignoreEos: true })));
      for (const r of rs) expect(r.outputTokens).toBe(10);
      await engine.close();
    });
    expect(engine!.info.memory!.cpuOffloadGiB).toBe(offloadGiB);
    expect(peak - baseline).toBeLessThanOrEqual(capMiB);
  });
});
