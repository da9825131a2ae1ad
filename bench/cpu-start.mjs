#!/usr/bin/env node
// CPU start time and decode speed of the demo model with the CPU profile, compiled (vLLM's default) against eager,
// in one process one after the other (issue 13): time to a ready engine, then 3 single requests and a batch of 8, 64
// tokens each. Prints one JSON line per variant. VLLM_NODE_LOG_LEVEL=info shows vLLM's start-up log.
//   node bench/cpu-start.mjs [eager|compiled ...]
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { cpuProfile, Engine } from 'vllm-node';

import { ROOT } from './common.mjs';

const model = process.env.DEMO_MODEL ?? join(ROOT, '.models', 'smollm2-135m-instruct');
const variants = process.argv.slice(2).length ? process.argv.slice(2) : ['compiled', 'eager'];
for (const v of variants) {
  const t0 = performance.now();
  const options = cpuProfile({ model, logLevel: process.env.VLLM_NODE_LOG_LEVEL ?? 'error', maxModelLen: 2048, ...(v === 'eager' ? { enforceEager: true } : {}) });
  const engine = await Engine.create(options, { configFile: false });
  const ready = (performance.now() - t0) / 1000;
  const one = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await engine.generate(`Posting ${i}: Senior Go engineer, remote. Summarise:`, { maxTokens: 64, ignoreEos: true, temperature: 0 });
    one.push(64 / ((performance.now() - t) / 1000));
  }
  const t = performance.now();
  await Promise.all(Array.from({ length: 8 }, (_, i) => engine.generate(`Posting ${i}: nurse, Boston. Summarise:`, { maxTokens: 64, ignoreEos: true, temperature: 0 })));
  const batch = (8 * 64) / ((performance.now() - t) / 1000);
  await engine.close();
  console.log(JSON.stringify({ variant: v, readyS: +ready.toFixed(1), singleTokPerS: one.map((x) => +x.toFixed(1)), batch8TokPerS: +batch.toFixed(1) }));
}
