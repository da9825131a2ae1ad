#!/usr/bin/env node
// The same batch of prompts through Node in-process (concurrent engine.generate) and through vLLM's
// Python LLM.generate directly, on the same engine object, alternating, in one run.
// Usage: node bench/overhead.mjs [model] [prompts=64] [maxTokens=32] [rounds=3]
import { performance } from 'node:perf_hooks';

import { Engine } from 'vllm-node';

import { engineOptions, percentile, record, ROOT } from './common.mjs';

const model = process.argv[2] ?? `${ROOT}/.models/tiny-qwen3`;
const n = Number(process.argv[3] ?? 64);
const maxTokens = Number(process.argv[4] ?? 32);
const rounds = Number(process.argv[5] ?? 3);

const engine = await Engine.create(engineOptions(model), { configFile: false });
const prompts = Array.from({ length: n }, (_, i) => `Job posting ${i}: Senior Software Engineer at Company ${i}, remote, full-time.`);
const params = { max_tokens: maxTokens, temperature: 0, top_p: 0.9, frequency_penalty: 0.1, ignore_eos: true };

async function viaNode() {
  const t = performance.now();
  const rs = await Promise.all(prompts.map((p) => engine.generateDetailed(p, { maxTokens, temperature: 0, ignoreEos: true })));
  return { seconds: (performance.now() - t) / 1000, tokens: rs.reduce((a, r) => a + r.outputTokens, 0) };
}
async function viaPython() {
  const r = await engine.call('reference_generate', { prompts, params });
  return { seconds: r.seconds, tokens: r.outputTokens.reduce((a, b) => a + b, 0) };
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
record(`Overhead: Node in-process vs Python LLM.generate (${n} prompts × ${maxTokens} tokens)`, engine.info, [
  `Python LLM.generate: median ${med(python).toFixed(3)} s (${tps(python).toFixed(0)} output tok/s) over ${rounds} rounds: ${python.map((x) => x.seconds.toFixed(3)).join(', ')}`,
  `Node engine.generate ×${n} concurrent: median ${med(node).toFixed(3)} s (${tps(node).toFixed(0)} output tok/s): ${node.map((x) => x.seconds.toFixed(3)).join(', ')}`,
  `ratio Node/Python wall time: **${ratio.toFixed(3)}** (1.0 = no overhead)`,
]);
