import { resolve } from 'node:path';

import { configDefaults, defineConfig } from 'vitest/config';

// CPU test files that start no engine of their own in the test process: those on the run's shared engine
// (tests/helpers/shared-engine.ts, vllm-node/testing's sharedEngine) and those whose engines live in child
// processes. They run in one process ('cpu-shared'), so the engine is started once for all of them. A file that
// closes, kills or starves an engine, counts this process's vLLM processes or measures its memory stays in 'cpu'.
const CPU_SHARED = [
  'ai-sdk',
  'cli',
  'engine',
  'exit',
  'extract-detailed',
  'extraction-inputs',
  'features',
  'langchain',
  'native-build',
  'newcomer',
  'offline',
  'pack',
  'record-replay',
  'remote',
  'worker-threads',
].map((name) => `tests/cpu/${name}.test.ts`);

// One process per test file (forks): a process holds one embedded interpreter. The exception is 'cpu-shared'.
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
          exclude: [...configDefaults.exclude, ...CPU_SHARED],
          // Only a backstop against a hang: an engine start took over 5 minutes on a 2-core machine under load.
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'cpu-shared',
          include: CPU_SHARED,
          // vitest 3.2: singleFork gives this project's files one process (one task, run after the other projects'
          // files); isolate: false keeps modules loaded between its files, so the engine, and the classes its
          // errors are instances of, are the same in every file. vitest awaits the teardown that closes the engine
          // (vllm-node/testing registers it) before it stops that process.
          poolOptions: { forks: { singleFork: true, isolate: false } },
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
