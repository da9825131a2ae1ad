import type { Engine } from '../../src/index.js';
import { sharedEngine } from '../../src/testing/index.js';
import { cpuOptions } from './models.js';

/**
 * The CPU suite's shared engine (vllm-node/testing): the files of vitest.config.ts's 'cpu-shared' project run in one
 * process and all get this one engine, started by the first and closed when that process ends. Never close it in a
 * test: a file that needs to close, kill or starve an engine starts its own (the 'cpu' project).
 */
export function cpuEngine(): Promise<Engine> {
  return sharedEngine(cpuOptions(), { configFile: false });
}
