// The seed's own tests, on a CUDA GPU with the seed's exact configuration. Skipped without a GPU.
// Models: Qwen3-4B/8B-shaped random checkpoints (scripts/gpu-host/build-models.py) under $VLLM_NODE_GPU_MODELS.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { afterAll, describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { GPU_MODELS, gpuMemory, gpuProcesses, HAS_GPU } from '../helpers/gpu.js';

const seed = {
  quantization: 'fp8',
  kvCacheDtype: 'fp8',
  swapSpace: 4,
  gpuMemoryUtilization: 0.9,
  trustRemoteCode: true,
  maxModelLen: 4096,
  enforceEager: process.env.GPU_TEST_EAGER !== '0',
};
const report: Record<string, unknown> = {};
let engine: Engine | undefined;

describe.skipIf(!HAS_GPU)('seed configuration on the GPU', () => {
  const baseline = gpuMemory()[0]?.usedMiB ?? 0;

  it('initialises with the exact seed configuration, passes health() and reports the effective configuration', async () => {
    const t = performance.now();
    engine = await Engine.create({ model: join(GPU_MODELS, 'qwen3-4b'), ...seed }, { configFile: false });
    report.start4bSeconds = (performance.now() - t) / 1000;
    expect(await engine.health()).toBe(true);
    const info = engine.info;
    expect(info.device.platform).toBe('cuda');
    expect(info.quantization).toBe('fp8');
    expect(info.kvCacheDtype).toBe('fp8');
    expect(info.gpuMemoryUtilization).toBe(0.9);
    expect(info.trustRemoteCode).toBe(true);
    const swap = info.notes.find((n) => n.option === 'swapSpace');
    expect(swap).toBeDefined();
    report.info = info;
  });

  it('a 50-token generation returns text', async () => {
    const t = performance.now();
    const r = await engine!.generateDetailed('Extract job title from: Software Engineer - Remote', { maxTokens: 50, ignoreEos: true });
    report.single50Seconds = (performance.now() - t) / 1000;
    expect(r.outputTokens).toBe(50);
    expect(r.rawText.length).toBeGreaterThan(0);
  });

  it('5 concurrent generations of 100 tokens all return text', async () => {
    const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => engine!.generateDetailed(`Posting ${i}`, { maxTokens: 100, ignoreEos: true })));
    for (const r of rs) expect(r.outputTokens).toBe(100);
  });

  it('GPU memory stays within the configured fraction', () => {
    const [card] = gpuMemory();
    const procs = gpuProcesses();
    report.usedWith4bMiB = card!.usedMiB;
    report.perProcessMiB = procs;
    report.nodePid = process.pid;
    // The Node process itself holds no GPU memory: all of it belongs to vLLM's worker process.
    expect(procs.find((p) => p.pid === process.pid)).toBeUndefined();
    // The cap covers the engine's whole footprint on the card (python/vllm_node/memory.py).
    expect(card!.usedMiB - baseline).toBeLessThanOrEqual(engine!.info.memory!.capMiB!);
  });

  it('switches models: close 4B (memory released, per nvidia-smi), create 8B, generate', async () => {
    const t = performance.now();
    await engine!.close();
    const closed = performance.now();
    const afterClose = gpuMemory()[0]!.usedMiB;
    report.usedAfterCloseMiB = afterClose;
    expect(afterClose - baseline).toBeLessThan(1024);
    engine = await Engine.create({ model: join(GPU_MODELS, 'qwen3-8b'), ...seed }, { configFile: false });
    const created = performance.now();
    const text = await engine.generate('Extract job title from: Data Analyst', { maxTokens: 20, ignoreEos: true });
    const switchSeconds = (performance.now() - t) / 1000;
    report.switch = { closeSeconds: (closed - t) / 1000, createSeconds: (created - closed) / 1000, totalSeconds: switchSeconds };
    await engine.close();
    engine = undefined;
    expect(text.length).toBeGreaterThan(0); // switch times: bench/models.mjs (docs/benchmarks.md)
  });

  it('fast switching with sleep mode: two engines, one awake at a time', async () => {
    const opts = { ...seed, gpuMemoryUtilization: 0.42, engineArgs: { enable_sleep_mode: true } };
    const a = await Engine.create({ model: join(GPU_MODELS, 'qwen3-4b'), ...opts }, { configFile: false });
    const b = await Engine.create({ model: join(GPU_MODELS, 'qwen3-8b'), ...opts }, { configFile: false });
    try {
      await b.sleep(1);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        let t = performance.now();
        await a.sleep(1);
        await b.wakeUp();
        expect((await b.generate('b', { maxTokens: 5, ignoreEos: true })).length).toBeGreaterThan(0);
        times.push((performance.now() - t) / 1000);
        t = performance.now();
        await b.sleep(1);
        await a.wakeUp();
        expect((await a.generate('a', { maxTokens: 5, ignoreEos: true })).length).toBeGreaterThan(0);
        times.push((performance.now() - t) / 1000);
      }
      report.sleepSwitchSeconds = times;
    } finally {
      await a.close();
      await b.close();
    }
  });

  afterAll(async () => {
    await engine?.close();
    console.log(`GPU_REPORT ${JSON.stringify(report)}`);
  });
});
