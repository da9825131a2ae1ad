// logLevel: vLLM's own logging, WARNING unless asked, from code, VLLM_NODE_LOG_LEVEL or inference.vllm.log_level.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { resolveEngineOptions } from '../../src/index.js';
import { ROOT } from '../helpers/models.js';
import { thrown } from '../helpers/errors.js';


const none = { configFile: false as const, env: {} };

describe('logLevel', () => {
  it('defaults to warning', () => {
    expect(resolveEngineOptions({ model: '/m' }, none).logLevel).toBe('warning');
  });

  it('comes from code, VLLM_NODE_LOG_LEVEL and inference.vllm.log_level, in that order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vllm-node-log-'));
    const file = join(dir, 'inference.yaml');
    writeFileSync(file, 'inference:\n  vllm:\n    log_level: error\n');
    expect(resolveEngineOptions({ model: '/m' }, { configFile: file, env: {} }).logLevel).toBe('error');
    expect(resolveEngineOptions({ model: '/m' }, { configFile: file, env: { VLLM_NODE_LOG_LEVEL: 'info' } }).logLevel).toBe('info');
    expect(resolveEngineOptions({ model: '/m', logLevel: 'debug' }, { configFile: file, env: { VLLM_NODE_LOG_LEVEL: 'info' } }).logLevel).toBe('debug');
  });

  it('the shipped config/inference.yaml says warning', () => {
    expect(resolveEngineOptions({ model: '/m' }, { configFile: join(ROOT, 'config', 'inference.yaml'), env: {} }).logLevel).toBe('warning');
  });

  it('an unknown level names the variable and the levels', () => {
    const err = thrown(() => resolveEngineOptions({}, { configFile: false, env: { DEFAULT_MODEL_PATH: '/m', VLLM_NODE_LOG_LEVEL: 'loud' } }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toContain('VLLM_NODE_LOG_LEVEL');
    expect(err.message).toMatch(/"warning"/);
    expect(err.option).toBe('logLevel');
  });
});
