#!/usr/bin/env node
// Memory over many sequential requests: the Node process's RSS after a warm-up and at the end, and vLLM's
// child processes (EngineCore, worker) alongside. Each request is one token, so the run measures per-request
// bookkeeping (JS promises, the JSON bridge, vLLM's request state), not generation.
// Usage: node bench/leak.mjs [model] [requests=10000] [warmup=500]
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { Engine } from 'vllm-node';

import { engineOptions, record, ROOT } from './common.mjs';

const model = process.argv[2] ?? `${ROOT}/.models/tiny-qwen3`;
const n = Number(process.argv[3] ?? 10_000);
const warmup = Number(process.argv[4] ?? 500);
const MiB = 2 ** 20;

/** Summed RSS (bytes) of every descendant of this process (vLLM's EngineCore and its worker), from /proc. */
function childrenRss() {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  let total = 0;
  const walk = (pid) => {
    for (const c of kids.get(pid) ?? []) {
      try {
        total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${c}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      } catch {}
      walk(c);
    }
  };
  walk(process.pid);
  return total;
}

const engine = await Engine.create(engineOptions(model), { configFile: false });
const samples = [];
const sample = (i) => samples.push({ i, rss: process.memoryUsage.rss(), children: childrenRss() });
let t0 = 0;
const start = performance.now();
for (let i = 1; i <= n; i++) {
  await engine.generate('x', { maxTokens: 1, temperature: 0 });
  if (i === warmup) {
    sample(i);
    t0 = performance.now();
  } else if (i % 1000 === 0 || i === n) sample(i);
}
const seconds = (performance.now() - start) / 1000;
const steady = (performance.now() - t0) / 1000;
await engine.close();

const first = samples.find((s) => s.i === warmup);
const last = samples.at(-1);
const mib = (b) => (b / MiB).toFixed(1);
record(`Memory over ${n.toLocaleString('en-US')} sequential requests (1 token each)`, engine.info, [
  `Node process RSS after ${warmup} requests (warm-up): ${mib(first.rss)} MiB; after ${n}: ${mib(last.rss)} MiB; growth **${mib(last.rss - first.rss)} MiB**`,
  `vLLM child processes (EngineCore + worker) RSS: ${mib(first.children)} MiB → ${mib(last.children)} MiB (growth ${mib(last.children - first.children)} MiB)`,
  `Node RSS (MiB) after N requests: ${samples.map((s) => `${s.i}: ${mib(s.rss)}`).join(', ')}`,
  `${n} requests in ${seconds.toFixed(1)} s: **${(n / seconds).toFixed(1)} requests/s** (after warm-up ${((n - warmup) / steady).toFixed(1)} requests/s)`,
]);
