import { resolve } from 'node:path';

import { defineConfig } from 'vitest/config';

// One process per test file (forks): a process holds one embedded interpreter.
export default defineConfig({
  test: {
    pool: 'forks',
    // Engines are heavy (one vLLM each, 2-core CI machine, one GPU): one test file at a time.
    fileParallelism: false,
    // engine.call's test-only calls (reference_generate, in_flight, ...): a Python file outside the package, loaded
    // by python/vllm_node/calls.py when this names it (read when Python starts, so set for the whole process).
    env: { VLLM_NODE_TEST_CALLS: resolve(import.meta.dirname, 'tests', 'helpers', 'engine_calls.py') },
    projects: [
      // No test may depend on the machine's speed: the property tests run thousands of cases and took 60 s on a
      // busy 2-core machine, against vitest's 5 s default.
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          testTimeout: 600_000,
          // The package by name ('vllm-node', as bench/common.mjs imports it) is its sources here, not a built dist/.
          alias: [{ find: /^vllm-node$/, replacement: resolve(import.meta.dirname, 'src', 'index.ts') }],
        },
      },
      {
        extends: true,
        test: {
          name: 'cpu',
          include: ['tests/cpu/**/*.test.ts'],
          // Only a backstop against a hang: an engine start took over 5 minutes on a 2-core machine under load.
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
        },
      },
      {
        extends: true,
        test: { name: 'gpu', include: ['tests/gpu/**/*.test.ts'], testTimeout: 1_200_000, hookTimeout: 1_200_000 },
      },
    ],
  },
});
