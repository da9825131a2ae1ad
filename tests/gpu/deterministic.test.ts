// deterministic: true (vLLM's batch-invariant mode) and cacheDir on a CUDA GPU. Skipped without a GPU. Both are fixed
// per process by its first engine: this file's process (project 'gpu': one process per file) starts one engine.
// Unquantized bf16: vLLM's batch-invariant kernels cover the bf16 matmuls; fp8 GEMMs are not claimed by its docs.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cacheState, Engine } from '../../src/index.js';
import { GPU_MODELS, HAS_GPU } from '../helpers/gpu.js';

const cacheDir = process.env.VLLM_NODE_GPU_CACHE_DIR ?? mkdtempSync(join(tmpdir(), 'vllm-node-gpu-cache-'));
const probe = { prompt: 'Write a job title for a data engineer:', options: { temperature: 0.9, topP: 0.95, seed: 1234, maxTokens: 48 } };

describe.skipIf(!HAS_GPU)('deterministic: true on the GPU', () => {
  let engine: Engine | undefined;
  afterAll(async () => engine?.close());

  it('starts with batch invariance, says what it costs, and keeps every cache in cacheDir', async () => {
    engine = await Engine.create(
      { model: join(GPU_MODELS, 'qwen3-4b'), quantization: null, kvCacheDtype: 'auto', dtype: 'bfloat16', maxModelLen: 2048, deterministic: true, cacheDir },
      { configFile: false },
    );
    const note = engine.info.notes.find((n) => n.option === 'deterministic');
    expect(note).toMatchObject({ applied: true, value: true });
    expect(note!.reason).toContain('decode speed');
    expect(engine.info.notes.find((n) => n.option === 'cacheDir')).toMatchObject({ applied: true, value: cacheDir });
    // The start compiled (not eager) into cacheDir, and the record says warm for this machine.
    expect(readdirSync(join(cacheDir, 'vllm', 'torch_compile_cache')).length).toBeGreaterThan(0);
    expect(existsSync(join(cacheDir, 'vllm', 'vllm-node', 'warm.json'))).toBe(true);
    const { vllmVersion, torchVersion, device } = engine.info;
    expect(cacheState(engine.options, { vllmVersion, torchVersion, device: device.name }).warm).toBe(true);
  });

  it('a seeded sampled request gives the same text alone and inside batches of 64 in other orders', async () => {
    const alone = await engine!.generate(probe.prompt, probe.options);
    const others = Array.from({ length: 63 }, (_, i) => ({
      prompt: `Request ${i}: describe a job in ${8 + (i % 24)} words, then list ${i % 7} skills.`,
      options: { temperature: 0.8, seed: i, maxTokens: 16 + (i % 5) * 24 },
    }));
    for (const at of [0, 37, 63]) {
      const batch = [...others.slice(0, at), probe, ...others.slice(at)];
      const order = at === 37 ? batch.reverse() : batch;
      const texts = await Promise.all(order.map((r) => engine!.generate(r.prompt, r.options)));
      expect(texts[order.indexOf(probe)]).toBe(alone);
    }
  });
});
