import type { Engine } from '../../src/index.js';
import { sharedEngine } from '../../src/testing/index.js';
import { cpuOptions } from './models.js';

/**
 * The CPU suite's shared engine (vllm-node/testing): the suites tests/cpu/shared-engine.test.ts imports run in one
 * process and all get this one engine, started by the first and closed when that process ends. Never close it in a
 * test: a file that needs to close, kill or starve an engine starts its own (a test file of its own).
 */
export function cpuEngine(): Promise<Engine> {
  return sharedEngine(cpuOptions(), { configFile: false });
}
