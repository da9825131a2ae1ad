// The CPU test suites on the run's shared engine (vllm-node/testing's sharedEngine, tests/helpers/shared-engine.ts):
// one test file that imports them, so one process and one engine serve them all. As one file it runs beside the other
// CPU files (two at a time, longest first); as a vitest project of their own (singleFork) they ran after every other
// file, alone, with the second core idle. A suite that closes, kills or starves an engine, counts the process's vLLM
// processes or measures its memory is a test file of its own instead.
// VLLM_NODE_SHARED_SUITES (comma-separated names) runs only those suites (scripts/test.sh: the oldest vLLM's step).
const SUITES = ['features', 'engine', 'worker-threads', 'extraction-inputs', 'ai-sdk', 'extract-detailed', 'langchain', 'record-replay', 'offline'];

const only = process.env.VLLM_NODE_SHARED_SUITES?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = (only ?? []).filter((s) => !SUITES.includes(s));
if (unknown.length > 0) throw new Error(`VLLM_NODE_SHARED_SUITES: no suite named ${unknown.join(', ')} (suites: ${SUITES.join(', ')})`);
for (const name of only ?? SUITES) await import(`./${name}.suite.ts`);
