import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { OPTION_SOURCES, resolveEngineOptions } from '../../src/index.js';
import { thrown } from '../helpers/errors.js';
import { ROOT } from '../helpers/models.js';

const none = { configFile: false as const, env: {} };

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vllm-node-cfg-'));
  const file = join(dir, 'inference.yaml');
  writeFileSync(file, text);
  return file;
}


describe('engine options', () => {
  it("applies the seed's defaults", () => {
    const o = resolveEngineOptions({ model: '/m' }, none);
    expect(o).toMatchObject({
      model: '/m',
      quantization: 'fp8',
      kvCacheDtype: 'fp8',
      swapSpace: 4,
      gpuMemoryUtilization: 0.9,
      trustRemoteCode: true,
      tensorParallelSize: 1,
      enforceEager: false,
      engineArgs: {},
      sampling: { maxTokens: 500, temperature: 0.1, topP: 0.9, frequencyPenalty: 0.1 },
    });
  });

  it('reads every documented environment variable', () => {
    const o = resolveEngineOptions(
      {},
      {
        configFile: false,
        env: {
          DEFAULT_MODEL_PATH: '/models/x',
          VLLM_QUANTIZATION: 'none',
          VLLM_KV_CACHE_DTYPE: 'auto',
          VLLM_SWAP_SPACE: '8',
          VLLM_GPU_MEMORY_UTILIZATION: '0.5',
          VLLM_TRUST_REMOTE_CODE: 'false',
          DEFAULT_TEMPERATURE: '0.7',
          DEFAULT_MAX_TOKENS: '64',
        },
      },
    );
    expect(o).toMatchObject({
      model: '/models/x',
      quantization: null,
      kvCacheDtype: 'auto',
      swapSpace: 8,
      gpuMemoryUtilization: 0.5,
      trustRemoteCode: false,
      sampling: { temperature: 0.7, maxTokens: 64, topP: 0.9 },
    });
  });

  it('reads inference.vllm and inference.sampling from YAML', () => {
    const file = yamlFile(
      'inference:\n  vllm:\n    model: /models/y\n    quantization: fp8\n    kv_cache_dtype: fp8\n    swap_space: 4\n    gpu_memory_utilization: 0.8\n    trust_remote_code: true\n  sampling:\n    temperature: 0.2\n    max_tokens: 100\n',
    );
    const o = resolveEngineOptions({}, { configFile: file, env: {} });
    expect(o).toMatchObject({ model: '/models/y', gpuMemoryUtilization: 0.8, sampling: { temperature: 0.2, maxTokens: 100 } });
  });

  it('precedence: code > environment > YAML > defaults', () => {
    const file = yamlFile('inference:\n  vllm:\n    model: /yaml\n    swap_space: 1\n    gpu_memory_utilization: 0.3\n  sampling:\n    temperature: 0.3\n    max_tokens: 30\n');
    const env = { VLLM_GPU_MEMORY_UTILIZATION: '0.6', DEFAULT_TEMPERATURE: '0.6' };
    const o = resolveEngineOptions({ model: '/code', sampling: { maxTokens: 7 } }, { configFile: file, env });
    expect(o.model).toBe('/code');
    expect(o.gpuMemoryUtilization).toBe(0.6);
    expect(o.swapSpace).toBe(1);
    expect(o.sampling).toEqual({ maxTokens: 7, temperature: 0.6, topP: 0.9, frequencyPenalty: 0.1 });
  });

  describe('invalid options name the exact key', () => {
    it('code: unknown key with a suggestion', () => {
      const e = thrown(() => resolveEngineOptions({ model: '/m', gpuMemoryUtilisation: 0.5 } as never, none));
      expect(e.code).toBe('INVALID_OPTIONS');
      expect(e.message).toBe('Unknown option "gpuMemoryUtilisation"; did you mean "gpuMemoryUtilization"?');
    });
    it('code: wrong type', () => {
      const e = thrown(() => resolveEngineOptions({ model: '/m', swapSpace: 'lots' } as never, none));
      expect(e.code).toBe('INVALID_OPTIONS');
      expect(e.option).toBe('swapSpace');
      expect(e.message).toMatch(/^Invalid option "swapSpace": .*received "lots" of type string$/);
    });
    it('code: out of range', () => {
      const e = thrown(() => resolveEngineOptions({ model: '/m', gpuMemoryUtilization: 1.5 }, none));
      expect(e.message).toMatch(/^Invalid option "gpuMemoryUtilization": .*received 1.5 of type number$/);
    });
    it('code: missing model', () => {
      const e = thrown(() => resolveEngineOptions({}, none));
      expect(e.code).toBe('INVALID_OPTIONS');
      expect(e.option).toBe('model');
    });
    it('environment: names the variable', () => {
      const e = thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: false, env: { VLLM_SWAP_SPACE: 'abc' } }));
      expect(e.code).toBe('INVALID_OPTIONS');
      expect(e.message).toBe('Invalid option "swapSpace" from environment variable VLLM_SWAP_SPACE: expected a number, received "abc"');
      const b = thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: false, env: { VLLM_TRUST_REMOTE_CODE: 'maybe' } }));
      expect(b.message).toBe('Invalid option "trustRemoteCode" from environment variable VLLM_TRUST_REMOTE_CODE: expected true/false, received "maybe"');
      const r = thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: false, env: { VLLM_GPU_MEMORY_UTILIZATION: '3' } }));
      expect(r.option).toBe('gpuMemoryUtilization');
      expect(r.message).toContain('VLLM_GPU_MEMORY_UTILIZATION');
    });
    it('YAML: names the file and the key', () => {
      const file = yamlFile('inference:\n  vllm:\n    swap_spaces: 4\n');
      const e = thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: file, env: {} }));
      expect(e.code).toBe('CONFIG_FILE_INVALID');
      expect(e.message).toBe(`Config file ${file}: unknown key "inference.vllm.swap_spaces"; did you mean "inference.vllm.swap_space"?`);
      const typed = yamlFile('inference:\n  vllm:\n    gpu_memory_utilization: high\n');
      const t = thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: typed, env: {} }));
      expect(t.code).toBe('CONFIG_FILE_INVALID');
      expect(t.option).toBe('inference.vllm.gpu_memory_utilization');
      expect(t.message).toContain(typed);
    });
    it('YAML: malformed file', () => {
      const file = yamlFile('inference:\n  vllm: [unclosed\n');
      const e = thrown(() => resolveEngineOptions({ model: '/m' }, { configFile: file, env: {} }));
      expect(e.code).toBe('CONFIG_FILE_INVALID');
      expect(e.message).toContain(file);
    });
    it('YAML: unknown section', () => {
      const file = yamlFile('inference:\n  vllmm:\n    model: x\n');
      expect(thrown(() => resolveEngineOptions({}, { configFile: file, env: {} })).message).toContain('"inference.vllmm"');
    });
  });
});

describe('one vocabulary', () => {
  it("every option's environment variable, YAML key and vLLM name come from its zod field, none used twice", () => {
    const envs = Object.values(OPTION_SOURCES).flatMap((s) => (s.env ? [s.env] : []));
    const yamls = Object.values(OPTION_SOURCES).map((s) => s.yaml);
    expect(new Set(envs).size).toBe(envs.length);
    expect(yamls.every(Boolean)).toBe(true);
    expect(new Set(yamls).size).toBe(yamls.length);
    expect(OPTION_SOURCES.swapSpace).toEqual({ env: 'VLLM_SWAP_SPACE', yaml: 'inference.vllm.swap_space' });
    expect(OPTION_SOURCES.maxModelLen?.vllm).toBe('max_model_len');
    expect(OPTION_SOURCES['sampling.topP']).toEqual({ env: 'DEFAULT_TOP_P', yaml: 'inference.sampling.top_p' });
  });

  it("README's configuration table is the one scripts/config-table.mjs writes from the schema", () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'config-table.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
  });
});
