#!/usr/bin/env node
// Node's event loop while 256 requests stream at once through the engine (tiny model on the CPU by default).
// Usage: node bench/event-loop.mjs [model] [streams=256] [maxTokens=64]
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { Engine } from 'vllm-node';

import { engineOptions, record, ROOT } from './common.mjs';

const model = process.argv[2] ?? `${ROOT}/.models/tiny-qwen3`;
const streams = Number(process.argv[3] ?? 256);
const maxTokens = Number(process.argv[4] ?? 64);
const engine = await Engine.create(engineOptions(model), { configFile: false });
const run = () =>
  Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      let chunks = 0;
      for await (const _d of engine.stream(`Stream ${i}: describe the job`, { maxTokens, ignoreEos: true })) chunks += 1;
      return chunks;
    }),
  );
await run(); // warm-up: every batch shape once
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
const t = performance.now();
const chunks = await run();
const seconds = (performance.now() - t) / 1000;
h.disable();
await engine.close();
const ms = (ns) => (ns / 1e6).toFixed(2);
record(`Event loop during ${streams} concurrent streams (${maxTokens} tokens each)`, engine.info, [
  `${chunks.reduce((a, b) => a + b, 0)} stream chunks in ${seconds.toFixed(1)} s`,
  `event-loop delay (monitorEventLoopDelay, 1 ms resolution): p50 ${ms(h.percentile(50))} ms, p99 **${ms(h.percentile(99))} ms**, max ${ms(h.max)} ms`,
]);
