#!/usr/bin/env node
// The same batch of prompts through Node in-process (concurrent engine.generate) and through vLLM's
// Python LLM.generate directly, on the same engine object, alternating, in one run.
// Each round also takes the process's CPU time (Node, its embedded Python and the engine thread; the EngineCore is
// another process): per request, what the front end costs on each path.
// Usage: node bench/overhead.mjs [model] [prompts=64] [maxTokens=32] [rounds=3] [sampling=seed|greedy|penalty|top-p]
//   at temperature 0 on both paths: seed = the seed's top_p 0.9 and frequency_penalty 0.1; greedy = neither;
//   penalty = frequency_penalty 0.1 alone; top-p = top_p 0.9 alone.
import { performance } from 'node:perf_hooks';

import { Engine } from 'vllm-node';

import { engineOptions, percentile, record, ROOT } from './common.mjs';

const model = process.argv[2] ?? `${ROOT}/.models/tiny-qwen3`;
const n = Number(process.argv[3] ?? 64);
const maxTokens = Number(process.argv[4] ?? 32);
const rounds = Number(process.argv[5] ?? 3);
const sampling = process.argv[6] ?? 'seed';
const SAMPLINGS = { seed: [0.9, 0.1], greedy: [1, 0], penalty: [1, 0.1], 'top-p': [0.9, 0] };
if (!(sampling in SAMPLINGS)) throw new Error(`sampling: one of ${Object.keys(SAMPLINGS).join(', ')}; got ${sampling}`);
const [topP, frequencyPenalty] = SAMPLINGS[sampling];

const engine = await Engine.create(engineOptions(model), { configFile: false });
const prompts = Array.from({ length: n }, (_, i) => `Job posting ${i}: Senior Software Engineer at Company ${i}, remote, full-time.`);
const params = { max_tokens: maxTokens, temperature: 0, top_p: topP, frequency_penalty: frequencyPenalty, ignore_eos: true };
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function viaNode() {
  const t = performance.now();
  const c = cpuSeconds();
  const rs = await Promise.all(prompts.map((p) => engine.generateDetailed(p, { maxTokens, temperature: 0, topP, frequencyPenalty, ignoreEos: true })));
  return { seconds: (performance.now() - t) / 1000, cpu: cpuSeconds() - c, tokens: rs.reduce((a, r) => a + r.outputTokens, 0) };
}
async function viaPython() {
  const c = cpuSeconds();
  const r = await engine.call('reference_generate', { prompts, params });
  return { seconds: r.seconds, cpu: cpuSeconds() - c, tokens: r.outputTokens.reduce((a, b) => a + b, 0) };
}

await viaNode(); // warm-up: every batch shape once
await viaPython();
const node = [];
const python = [];
for (let i = 0; i < rounds; i++) {
  python.push(await viaPython());
  node.push(await viaNode());
}
await engine.close();
const med = (xs) => percentile(xs.map((x) => x.seconds), 50);
const tps = (xs) => xs[0].tokens / med(xs);
const ratio = med(node) / med(python);
const cpuPerRequest = (xs) => `median ${((1000 * percentile(xs.map((x) => x.cpu), 50)) / n).toFixed(2)} ms [${xs.map((x) => ((1000 * x.cpu) / n).toFixed(2)).join(', ')}]`;
record(`Overhead: Node in-process vs Python LLM.generate (${n} prompts × ${maxTokens} tokens, ${sampling} sampling)`, engine.info, [
  `sampling: temperature 0, top_p ${topP}, frequency_penalty ${frequencyPenalty}, ignore_eos, both paths on the same engine, alternating`,
  `Python LLM.generate: median ${med(python).toFixed(3)} s (${tps(python).toFixed(0)} output tok/s) over ${rounds} rounds: ${python.map((x) => x.seconds.toFixed(3)).join(', ')}`,
  `Node engine.generate ×${n} concurrent: median ${med(node).toFixed(3)} s (${tps(node).toFixed(0)} output tok/s): ${node.map((x) => x.seconds.toFixed(3)).join(', ')}`,
  `ratio Node/Python wall time: **${ratio.toFixed(3)}** (1.0 = no overhead)`,
  `process CPU per request (Node with its embedded Python; the EngineCore not counted): Node ${cpuPerRequest(node)}, Python ${cpuPerRequest(python)}`,
]);
