// Setup file of the CPU projects (vitest.config.ts). With two test files at a time, each file's engines get cores of
// their own: vLLM's own CPU binding ('auto') puts every engine's worker on the same first core (the rest are left to
// the front ends), so two files' engines took turns on one core while the other idled. The environment is read by
// the embedded Python when it starts and inherited by child processes (CLI, exit children, vllm serve), so every
// engine a file starts is bound alike. A binding set from outside is kept.
import { availableParallelism } from 'node:os';

const workers = Number(process.env.VLLM_NODE_TEST_WORKERS ?? 1);
const slot = Number(process.env.VITEST_POOL_ID ?? 1) - 1; // vitest's worker slot, 1 .. maxWorkers
const cores = availableParallelism();
if (workers > 1 && cores >= workers && process.env.VLLM_CPU_OMP_THREADS_BIND === undefined) {
  const per = Math.floor(cores / workers);
  const first = (slot % workers) * per;
  process.env.VLLM_CPU_OMP_THREADS_BIND = per === 1 ? String(first) : `${first}-${first + per - 1}`;
}
