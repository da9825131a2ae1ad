// ModelManager on a CUDA GPU: sleep/wake switches with the GPU memory of the model left returned, under one budget for
// the card (0.9 of it) with the sleepers counted. Skipped without a GPU. Models: Qwen3-4B/8B-shaped random checkpoints
// (scripts/gpu-host/build-models.py) under $VLLM_NODE_GPU_MODELS.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ModelManager } from '../../src/index.js';
import { FIRST_CARD, GPU_MODELS, gpuMemory, HAS_GPU } from '../helpers/gpu.js';

describe.skipIf(!HAS_GPU)('ModelManager on the GPU', () => {
  it('switches 4B → 8B → 4B → 8B → 4B: the model left sleeps; the 4B, sized alone, starts again beside the 8B; then wake-ups', async () => {
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
      // The 8B got the budget less what the 4B holds asleep (measured after its sleep): the card stays within the cap.
      const memory = await models.memory();
      expect(memory.card).toMatchObject({ applies: true, setting: { source: 'gpuMemoryUtilization', value: 0.9 } });
      expect(memory.models['4b']!.cardMiB).toBeGreaterThan(0);
      expect(models.lastSwitch!.capMiB).toBeLessThanOrEqual(memory.card.capMiB! - memory.models['4b']!.cardMiB!);
      expect(models.engineOf('8b')!.info.notes.some((n) => n.reason?.startsWith('ModelManager:'))).toBe(true);
      expect(card().usedMiB - baseline).toBeLessThanOrEqual(cap);
      expect((await models.generate('x', { model: '8b', maxTokens: 4, ignoreEos: true })).length).toBeGreaterThan(0);

      // The 4B had the whole budget: it cannot wake beside the 8B asleep, so it starts again under what the 8B leaves.
      await models.use('4b');
      expect(models.lastSwitch).toMatchObject({ from: '8b', to: '4b', kind: 'cold', left: 'slept' });
      expect(models.lastSwitch!.resizedFromMiB).toBeGreaterThan(models.lastSwitch!.capMiB!);
      expect(models.lastSwitch!.evicted).toBeUndefined();
      expect(card().usedMiB - baseline).toBeLessThanOrEqual(cap);
      const again = await models.generate('Title of: Go Engineer', { maxTokens: 8, temperature: 0 });
      console.log(`4B after its restart answers ${again === first ? 'as' : 'unlike'} before: ${JSON.stringify(again)} / ${JSON.stringify(first)}`);

      // Now each fits beside the other asleep: both switches are wake-ups.
      await models.use('8b');
      expect(models.lastSwitch).toMatchObject({ from: '4b', to: '8b', kind: 'warm', left: 'slept' });
      expect(models.lastSwitch!.evicted).toBeUndefined();
      await models.use('4b');
      expect(models.lastSwitch).toMatchObject({ from: '8b', to: '4b', kind: 'warm', left: 'slept' });
      expect(card().usedMiB - baseline).toBeLessThanOrEqual(cap);
      // Woken, the 4B answers as before it slept.
      expect(await models.generate('Title of: Go Engineer', { maxTokens: 8, temperature: 0 })).toBe(again);
    } finally {
      await models.close();
    }
    expect(card().usedMiB - baseline).toBeLessThan(512);
  });
});
