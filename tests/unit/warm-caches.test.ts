// cacheDir and deterministic as options (schema, environment, YAML), and the warm check doctor --model runs on the
// records an engine leaves in its cache folder; no engine.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { OPTION_SOURCES, resolveEngineOptions, type EngineOptions } from '../../src/index.js';
import { cacheSettings, cacheState, settingsKey, vllmCacheRoot, type WarmRecord } from '../../src/warmup.js';
import { thrown } from '../helpers/errors.js';

const none = { configFile: false as const, env: {} };

describe('cacheDir and deterministic options', () => {
  it('default: no cache folder of its own, batch invariance off', () => {
    const o = resolveEngineOptions({ model: '/m' }, none);
    expect(o.cacheDir).toBeUndefined();
    expect(o.deterministic).toBe(false);
  });

  it('come from VLLM_NODE_CACHE_DIR and VLLM_NODE_DETERMINISTIC, and from inference.vllm in YAML', () => {
    expect(OPTION_SOURCES.cacheDir).toEqual({ env: 'VLLM_NODE_CACHE_DIR', yaml: 'inference.vllm.cache_dir' });
    expect(OPTION_SOURCES.deterministic).toEqual({ env: 'VLLM_NODE_DETERMINISTIC', yaml: 'inference.vllm.deterministic' });
    const env = resolveEngineOptions({ model: '/m' }, { configFile: false, env: { VLLM_NODE_CACHE_DIR: '/caches/a', VLLM_NODE_DETERMINISTIC: 'true' } });
    expect(env).toMatchObject({ cacheDir: '/caches/a', deterministic: true });
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-cfg-'));
    const file = join(dir, 'inference.yaml');
    writeFileSync(file, 'inference:\n  vllm:\n    cache_dir: /caches/b\n    deterministic: true\n');
    expect(resolveEngineOptions({ model: '/m' }, { configFile: file, env: {} })).toMatchObject({ cacheDir: '/caches/b', deterministic: true });
    // Code over environment.
    expect(resolveEngineOptions({ model: '/m', cacheDir: '/c', deterministic: false }, { configFile: false, env: { VLLM_NODE_CACHE_DIR: '/e', VLLM_NODE_DETERMINISTIC: '1' } })).toMatchObject({
      cacheDir: '/c',
      deterministic: false,
    });
  });

  it('bad values name the option and where it came from', () => {
    const e = thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: false, env: { VLLM_NODE_DETERMINISTIC: 'maybe' } }));
    expect(e.code).toBe('INVALID_OPTIONS');
    expect(e.message).toBe('Invalid option "deterministic" from environment variable VLLM_NODE_DETERMINISTIC: expected true/false, received "maybe"');
    const c = thrown(() => resolveEngineOptions({ model: '/m', cacheDir: '' }, none));
    expect(c).toMatchObject({ code: 'INVALID_OPTIONS', option: 'cacheDir' });
    const t = thrown(() => resolveEngineOptions({ model: '/m', deterministic: 'yes' } as never, none));
    expect(t).toMatchObject({ code: 'INVALID_OPTIONS', option: 'deterministic' });
  });
});

describe('the settings a warm cache is for', () => {
  const base = (extra: Partial<EngineOptions> = {}) => ({ ...resolveEngineOptions({ model: '/m' }, none), ...extra }) as EngineOptions;

  it('leave out the model, the folder and what changes nothing compiled', () => {
    const s = cacheSettings(base({ cacheDir: '/c', seed: 3, logLevel: 'debug', python: '/p' }));
    for (const k of ['model', 'cacheDir', 'seed', 'logLevel', 'python', 'sampling', 'fastStart', 'trustRemoteCode']) expect(s).not.toHaveProperty(k);
    expect(s).toMatchObject({ quantization: 'fp8', dtype: 'auto', enforceEager: false, deterministic: false, engineArgs: {} });
    expect(cacheSettings(base({ seed: 1, cacheDir: '/x' }))).toEqual(cacheSettings(base()));
    expect(cacheSettings(base({ deterministic: true }))).not.toEqual(cacheSettings(base()));
    // Key order does not matter.
    expect(cacheSettings(base({ engineArgs: { b: 1, a: 2 } }))).toEqual(cacheSettings(base({ engineArgs: { a: 2, b: 1 } })));
  });

  it("lie in <cacheDir>/vllm with a cacheDir, else in vLLM's own folder", () => {
    expect(vllmCacheRoot({}, '/c')).toBe('/c/vllm');
    expect(vllmCacheRoot({ VLLM_CACHE_ROOT: '/v' })).toBe('/v');
    expect(vllmCacheRoot({ XDG_CACHE_HOME: '/x' })).toBe('/x/vllm');
  });
});

describe('cacheState (doctor --model)', () => {
  const installed = { vllmVersion: '0.32.0+cpu', torchVersion: '2.13.0+cpu', device: 'cpu' };

  /** A cache folder (with or without a compile cache) and the options of an engine that uses it. */
  function folder(compiled = true): { dir: string; options: EngineOptions } {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-warm-'));
    mkdirSync(join(dir, 'vllm', 'vllm-node'), { recursive: true });
    if (compiled) mkdirSync(join(dir, 'vllm', 'torch_compile_cache', 'abc'), { recursive: true });
    return { dir, options: resolveEngineOptions({ model: '/models/tiny', cacheDir: dir }, none) };
  }

  /** The records an engine with these options leaves in the folder. */
  function write(options: EngineOptions, records: Partial<WarmRecord>[]): void {
    const full = records.map((r) => ({
      model: '/models/tiny',
      vllmVersion: installed.vllmVersion,
      torchVersion: installed.torchVersion,
      device: 'cpu',
      settings: settingsKey(options),
      options: cacheSettings(options),
      startupSeconds: 9,
      firstTokenSeconds: null,
      at: '2026-12-05T00:00:00.000Z',
      ...r,
    }));
    writeFileSync(join(options.cacheDir!, 'vllm', 'vllm-node', 'warm.json'), JSON.stringify(full));
  }

  it('never started with this folder: cold, and says which folder', () => {
    const { dir, options } = folder();
    const state = cacheState(options, installed);
    expect(state).toMatchObject({ warm: false, folder: join(dir, 'vllm') });
    expect(state.detail).toContain('was never warmed up or started with this cache folder');
  });

  it('warm for the same model, settings, vLLM, torch and device; cold for any other, saying why', () => {
    const { dir, options } = folder();
    write(options, [{}]);
    const warm = cacheState(options, installed);
    expect(warm.warm).toBe(true);
    expect(warm.detail).toContain(`/models/tiny: warm in ${join(dir, 'vllm')} for these settings and vLLM 0.32.0+cpu, torch 2.13.0+cpu on cpu (started on 2026-12-05T00:00:00.000Z`);
    // The seed is no setting of the cache.
    expect(cacheState({ ...options, seed: 5 }, installed).warm).toBe(true);

    const cold = cacheState({ ...options, quantization: null, dtype: 'float32' }, installed);
    expect(cold.warm).toBe(false);
    expect(cold.detail).toContain('was warmed up on 2026-12-05T00:00:00.000Z with other settings (dtype: "auto", not "float32"; quantization: "fp8", not null)');

    const torch = cacheState(options, { ...installed, torchVersion: '2.14.0' });
    expect(torch.warm).toBe(false);
    expect(torch.detail).toContain('for vLLM 0.32.0+cpu, torch 2.13.0+cpu on cpu; this machine has vLLM 0.32.0+cpu, torch 2.14.0 on cpu');
    expect(cacheState(options, { ...installed, vllmVersion: '0.33.0' }).warm).toBe(false);
    expect(cacheState(options, { ...installed, device: 'NVIDIA H200' }).warm).toBe(false);
    expect(cacheState({ ...options, model: '/models/other' }, installed).detail).toContain('was never warmed up or started');
  });

  it("a record whose compile cache went missing is cold, unless the engine never compiles (enforceEager)", () => {
    const { options } = folder(false);
    write(options, [{}]);
    expect(cacheState(options, installed).detail).toContain("but vLLM's compile cache in");
    const eager = { ...options, enforceEager: true };
    write(eager, [{}]);
    expect(cacheState(eager, installed).warm).toBe(true);
  });
});
