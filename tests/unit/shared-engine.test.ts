// sharedEngine's bookkeeping without starting vLLM: options are resolved (and refused) as Engine.create resolves
// them, a failed start is kept and fails later callers the same way, closeSharedEngines forgets it.
import { afterAll, describe, expect, it } from 'vitest';

import { cpuProfile } from '../../src/index.js';
import { closeSharedEngines, sharedEngine, sharedEngineCount } from '../../src/testing/index.js';
import { rejection } from '../helpers/errors.js';

const noConfig = { configFile: false as const };
const missing = cpuProfile({ model: '/nonexistent/models/tiny', enforceEager: true });

afterAll(async () => {
  await closeSharedEngines();
});

describe('sharedEngine', () => {
  it('invalid options are INVALID_OPTIONS, and nothing is kept', async () => {
    const err = await rejection(sharedEngine({ ...missing, maxModelLen: -1 }, noConfig));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.option).toBe('maxModelLen');
    expect(sharedEngineCount()).toBe(0);
  });

  it('a start that failed fails every later caller with the same error, until closeSharedEngines', async () => {
    const first = await rejection(sharedEngine(missing, noConfig));
    expect(first.code).toBe('MODEL_NOT_FOUND');
    // The same settings spelled in another key order are the same engine.
    const reordered = Object.fromEntries(Object.entries(missing).reverse());
    expect(await rejection(sharedEngine(reordered, noConfig))).toBe(first);
    expect(sharedEngineCount()).toBe(1);
    await closeSharedEngines();
    expect(sharedEngineCount()).toBe(0);
    expect(await rejection(sharedEngine(missing, noConfig))).not.toBe(first);
  });
});
