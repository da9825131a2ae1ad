// What `model` names: a local folder (checked before vLLM starts) or a hub id (left to vLLM).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkModel, classifyModel } from '../../src/model-path.js';
import { thrown } from '../helpers/errors.js';


describe('classifyModel', () => {
  it.each(['/models/qwen', './qwen', '../models/qwen', '~/models/qwen', '.', 'models with spaces/x', 'a/b/c'])('%s is a folder', (m) => {
    expect(classifyModel(m).kind).toBe('folder');
  });

  it.each(['Qwen/Qwen3-0.6B', 'gpt2', 'HuggingFaceTB/SmolLM2-135M-Instruct'])('%s is a hub id (when no such path exists)', (m) => {
    expect(classifyModel(m)).toEqual({ kind: 'hub', id: m });
  });

  it('a relative name that exists on disk is a folder', () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-model-'));
    mkdirSync(join(dir, 'org', 'name'), { recursive: true });
    process.chdir(dir);
    try {
      expect(classifyModel('org/name')).toEqual({ kind: 'folder', path: 'org/name' });
    } finally {
      process.chdir(cwd);
    }
  });

  it('expands ~', () => {
    expect(classifyModel('~/m')).toEqual({ kind: 'folder', path: join(homedir(), 'm') });
  });
});

describe('checkModel', () => {
  it('a missing folder: MODEL_NOT_FOUND, "no such folder", never downloads', () => {
    const err = thrown(() => checkModel('/nonexistent/model'));
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.option).toBe('model');
    expect(err.message).toBe(
      'Model not found: no such folder: /nonexistent/model; vllm-node never downloads a model: pass the path of a local Hugging Face model folder (one with config.json)',
    );
  });

  it('a folder without config.json: MODEL_NOT_FOUND naming config.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-model-'));
    const err = thrown(() => checkModel(dir));
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toContain(`the folder ${dir} has no config.json`);
  });

  it('a folder with config.json, a hub id and a single file pass through', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-model-'));
    writeFileSync(join(dir, 'config.json'), '{}');
    expect(checkModel(dir)).toBe(dir);
    expect(checkModel('Qwen/Qwen3-0.6B')).toBe('Qwen/Qwen3-0.6B');
    writeFileSync(join(dir, 'model.gguf'), '');
    expect(checkModel(join(dir, 'model.gguf'))).toBe(join(dir, 'model.gguf'));
  });
});
