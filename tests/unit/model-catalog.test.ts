// The model manager's catalog from code, YAML (inference.models, inference.default_model) and env (DEFAULT_MODEL).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ModelManager, resolveEngineOptions } from '../../src/index.js';
import { resolveModelCatalog } from '../../src/config.js';
import { thrown } from '../helpers/errors.js';

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vllm-node-models-'));
  writeFileSync(join(dir, 'inference.yaml'), text);
  return join(dir, 'inference.yaml');
}


const YAML = `inference:
  vllm:
    quantization: fp8
  default_model: qwen3-8b
  models:
    qwen3-4b:
      model: /models/qwen3-4b-instruct
    qwen3-8b:
      model: /models/qwen3-8b-instruct
      max_model_len: 8192
`;

describe('model catalog', () => {
  it('reads inference.models and inference.default_model; env DEFAULT_MODEL overrides the default', () => {
    const file = yamlFile(YAML);
    const c = resolveModelCatalog({}, { configFile: file, env: {} });
    expect(c.default).toBe('qwen3-8b');
    expect(c.models['qwen3-8b']).toEqual({ model: '/models/qwen3-8b-instruct', maxModelLen: 8192 });
    expect(resolveModelCatalog({}, { configFile: file, env: { DEFAULT_MODEL: 'qwen3-4b' } }).default).toBe('qwen3-4b');
    // The engine's own options from the same file are unaffected by the model sections.
    expect(resolveEngineOptions({ model: '/m' }, { configFile: file, env: {} }).quantization).toBe('fp8');
  });

  it('code wins over YAML; the first name is the default when none is given', () => {
    const c = resolveModelCatalog({ models: { a: { model: '/a' }, b: { model: '/b' } } }, { configFile: false, env: {} });
    expect(c.default).toBe('a');
  });

  it('names what is wrong', () => {
    expect(thrown(() => resolveModelCatalog({}, { configFile: false, env: {} })).option).toBe('models');
    expect(thrown(() => resolveModelCatalog({ models: { a: { model: '/a' } }, default: 'b' }, { configFile: false, env: {} })).code).toBe('UNKNOWN_MODEL');
    expect(thrown(() => resolveModelCatalog({ models: { a: { modle: '/a' } } }, { configFile: false, env: {} })).option).toBe('models.a.modle');
    const bad = thrown(() => resolveModelCatalog({}, { configFile: yamlFile('inference:\n  models:\n    a:\n      max_modl_len: 5\n'), env: {} }));
    expect(bad.code).toBe('CONFIG_FILE_INVALID');
    expect(bad.message).toContain('"inference.models.a.max_modl_len"; did you mean "inference.models.a.max_model_len"');
  });
  it('rejects manager options of the wrong type before loading anything', async () => {
    const models = { a: { model: '/models/a' } };
    for (const [option, value] of [['sleepBudgetGiB', -1], ['prepareSleep', 'yes']] as const) {
      const err = await ModelManager.create({ models, [option]: value } as never, { configFile: false, env: {} }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID_OPTIONS', option });
    }
  });
});
