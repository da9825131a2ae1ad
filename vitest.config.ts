import { resolve } from 'node:path';

import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// CPU test files on the run's shared engine (tests/helpers/shared-engine.ts, vllm-node/testing's sharedEngine). They
// run in one process ('cpu-shared'), so the engine is started once for all of them. Every other CPU file runs in a
// process of its own ('cpu'): a file that closes, kills or starves an engine, counts this process's vLLM processes or
// measures its memory, and a file whose engines live in child processes (those share nothing with the engine here, and
// in 'cpu' they run beside another file instead of after all of them).
const CPU_SHARED = [
  'ai-sdk',
  'engine',
  'extract-detailed',
  'extraction-inputs',
  'features',
  'langchain',
  'offline',
  'record-replay',
  'worker-threads',
].map((name) => `tests/cpu/${name}.test.ts`);

// Two test files at a time where only the CPU suites run: vLLM binds an engine's worker to one core and an engine
// start is mostly single-threaded Python, so with one file at a time the second core of a 2-core CI machine idled.
// Each of the two files binds its engines to cores of its own (tests/helpers/cpu-cores.ts). The GPU suite (and any run
// that may include it) keeps one file at a time: one card.
const projects = process.argv.flatMap((a, i, all) => (a === '--project' ? [all[i + 1]] : a.startsWith('--project=') ? [a.slice(10)] : []));
const cpuOnly = projects.length > 0 && projects.every((p) => p === 'unit' || p === 'cpu' || p === 'cpu-shared');
const WORKERS = cpuOnly ? 2 : 1;

// The longest CPU files first (as measured on a 2-core machine), so that the two files at a time end together
// instead of one long file running alone at the end. vitest orders by the durations it cached from the last
// run, which a fresh clone (CI) does not have; files not named here follow in vitest's order.
const LONGEST = ['model-manager', 'exit', 'pack', 'cli', 'lifecycle', 'reliability', 'native-build', 'speculative', 'leak', 'thinking', 'remote', 'caches', 'memory', 'newcomer'];
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST.findIndex((name) => f.moduleId.endsWith(`/tests/cpu/${name}.test.ts`));
      return i < 0 ? LONGEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

// One process per test file (forks): a process holds one embedded interpreter. The exception is 'cpu-shared'.
export default defineConfig({
  test: {
    pool: 'forks',
    // Engines are heavy (one vLLM each, 2-core CI machine, one GPU): at most two test files at a time (see cpuOnly).
    fileParallelism: cpuOnly,
    maxWorkers: WORKERS,
    minWorkers: 1,
    sequence: { sequencer: LongestFirst },
    // engine.call's test-only calls (reference_generate, in_flight, ...): a Python file outside the package, loaded
    // by python/vllm_node/calls.py when this names it (read when Python starts, so set for the whole process).
    env: { VLLM_NODE_TEST_CALLS: resolve(import.meta.dirname, 'tests', 'helpers', 'engine_calls.py'), VLLM_NODE_TEST_WORKERS: String(WORKERS) },
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
          setupFiles: ['tests/helpers/cpu-cores.ts'],
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
          setupFiles: ['tests/helpers/cpu-cores.ts'],
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
