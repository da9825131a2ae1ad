// ModelManager on a CUDA GPU: sleep/wake switches with the GPU memory of the model left returned. Skipped without a
// GPU. Models: Qwen3-4B/8B-shaped random checkpoints (scripts/gpu-host/build-models.py) under $VLLM_NODE_GPU_MODELS.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ModelManager } from '../../src/index.js';
import { FIRST_CARD, GPU_MODELS, gpuMemory, HAS_GPU } from '../helpers/gpu.js';

// A sleeping engine keeps its CUDA context and graph pool: 2.3 GiB for the 4B shape on an H100 (docs/benchmarks.md).
const SLEEPER_MIB = 3 * 1024;

describe.skipIf(!HAS_GPU)('ModelManager on the GPU', () => {
  it('switches 4B → 8B → 4B: the model left sleeps and returns its GPU memory; the switch back is a wake-up', async () => {
    const card = () => gpuMemory()[FIRST_CARD]!;
    const baseline = card().usedMiB;
    const cap = 0.9 * card().totalMiB;
    const models = await ModelManager.create(
      {
        quantization: 'fp8',
        kvCacheDtype: 'fp8',
        trustRemoteCode: true,
        maxModelLen: 4096,
        enforceEager: process.env.GPU_TEST_EAGER !== '0',
        models: { '4b': { model: join(GPU_MODELS, 'qwen3-4b') }, '8b': { model: join(GPU_MODELS, 'qwen3-8b') } },
        default: '4b',
      },
      { configFile: false },
    );
    try {
      const first = await models.generate('Title of: Go Engineer', { maxTokens: 8, temperature: 0 });
      await models.use('8b');
      expect(models.states).toEqual({ '4b': 'asleep', '8b': 'awake' });
      expect(models.lastSwitch).toMatchObject({ from: '4b', to: '8b', kind: 'cold', left: 'slept' });
      // The 8B's first sleep gets CPU memory pinned in the background after its start (prepareSleep).
      expect(models.lastSwitch!.sleepPrepared).toMatchObject({ applied: true });
      expect(models.lastSwitch!.sleepPrepared!.pinnedBytes).toBeGreaterThanOrEqual(models.lastSwitch!.sleepPrepared!.bytes!);
      // The 8B got the cap it asked for: the 4B's weights and KV cache left the card.
      expect(card().usedMiB - baseline).toBeLessThanOrEqual(cap + SLEEPER_MIB);
      expect((await models.generate('x', { model: '8b', maxTokens: 4, ignoreEos: true })).length).toBeGreaterThan(0);

      await models.use('4b');
      expect(models.lastSwitch).toMatchObject({ from: '8b', to: '4b', kind: 'warm', left: 'slept' });
      expect(card().usedMiB - baseline).toBeLessThanOrEqual(cap + SLEEPER_MIB);
      // Woken, the 4B answers as before it slept.
      expect(await models.generate('Title of: Go Engineer', { maxTokens: 8, temperature: 0 })).toBe(first);
    } finally {
      await models.close();
    }
    expect(card().usedMiB - baseline).toBeLessThan(512);
  });
});
