// Tensor parallelism from Node: vLLM's own multi-process executor, workers started with the real Python.
// Runs only where there are at least two CUDA GPUs.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { GPU_MODELS, gpuMemory, gpuProcesses } from '../helpers/gpu.js';

describe.skipIf(gpuMemory().length < 2)('tensor parallelism', () => {
  it('tensorParallelSize: 2 generates, and both GPUs hold a worker', async () => {
    const engine = await Engine.create(
      { model: join(GPU_MODELS, 'qwen3-4b'), tensorParallelSize: 2, maxModelLen: 4096, enforceEager: true },
      { configFile: false },
    );
    try {
      expect(engine.info.tensorParallelSize).toBe(2);
      const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.generateDetailed(`TP ${i}`, { maxTokens: 32, ignoreEos: true })));
      for (const r of rs) expect(r.outputTokens).toBe(32);
      const cards = gpuMemory();
      console.log(`TP_REPORT ${JSON.stringify({ cards, procs: gpuProcesses(), info: engine.info.quantization })}`);
      expect(cards.filter((c) => c.usedMiB > 10_000).length).toBe(2);
    } finally {
      await engine.close();
    }
  });
});
