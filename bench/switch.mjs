#!/usr/bin/env node
// Model switching (issue 10) on a GPU host, one phase per Node process (a "cold" switch is to a model not yet
// loaded in this process; the compile caches on disk are what `warmup` leaves):
//   warmup   ModelManager.warmup() over the models (a fresh host: each start is a first start, compiles included)
//   switch   ModelManager over the models: start the first, then cold switches to the others, a warm switch (asleep →
//            awake) back to the first, and decode throughput on it (64 requests × 256 tokens, ignoreEos);
//            `fast=0` runs the same with fastStart: false (vLLM's own start) for the comparison. After a cold start
//            the manager pins the model's first-sleep memory in the background (prepareSleep): the bench decodes
//            once during that and once after, and otherwise waits BENCH_PIN_WAIT_S (30) before switching on.
// The seed's configuration (fp8, fp8 KV, swapSpace 4, cap 0.9), maxModelLen 8192, compiled (BENCH_EAGER=1: eager).
// Each step appends to $OUT/switch.log as it goes; the summary goes to docs/benchmarks.md.
//   node bench/switch.mjs /tmp/models warmup|switch [fast=0] [models=qwen3-4b,qwen3-8b,qwen3-4b,qwen3-32b]
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { ModelManager } from 'vllm-node';

import { record } from './common.mjs';

const dir = process.argv[2] ?? '/tmp/models';
const phase = process.argv[3] ?? 'switch';
const arg = (k, d) => process.argv.find((a) => a.startsWith(`${k}=`))?.slice(k.length + 1) ?? d;
const fastStart = arg('fast', '1') !== '0';
const order = arg('models', 'qwen3-4b,qwen3-8b,qwen3-4b,qwen3-32b').split(',');
const OUT = process.env.OUT ?? '/tmp';
mkdirSync(OUT, { recursive: true });
const lines = [];
function log(line) {
  const text = `${new Date().toISOString().slice(11, 19)} ${line}`;
  console.log(text);
  appendFileSync(join(OUT, 'switch.log'), `${text}\n`);
  lines.push(line);
}
const s = (t) => ((performance.now() - t) / 1000).toFixed(1);
const base = { quantization: 'fp8', kvCacheDtype: 'fp8', swapSpace: 4, trustRemoteCode: true, maxModelLen: 8192, fastStart, logLevel: 'info', enforceEager: process.env.BENCH_EAGER === '1' };
const entry = (name) => ({ model: join(dir, name), ...(name.includes('32b') ? { engineArgs: { load_format: 'dummy' } } : {}) });
// The card this process runs on (CUDA_VISIBLE_DEVICES' first entry): used MiB, as nvidia-smi reports it.
const card = (process.env.CUDA_VISIBLE_DEVICES ?? '0').split(',')[0];
function cardMiB() {
  try {
    return `${execFileSync('nvidia-smi', ['-i', card, '--query-gpu=memory.used,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim().replace(', ', ' / ')} MiB`;
  } catch {
    return 'n/a';
  }
}
const startNotes = (info) => info.notes.filter((n) => n.option === 'fastStart').map((n) => `${n.value}: ${n.applied ? 'applied' : 'not applied'}`).join('; ');

let info;
if (phase === 'warmup') {
  // Warmed as the manager starts them (sleep mode on: vLLM keys its compile cache on it, among the other settings).
  const names = [...new Set(order)];
  const mgr = await ModelManager.create({ ...base, models: Object.fromEntries(names.map((n) => [n, entry(n)])), default: names[0] }, { configFile: false });
  for (const r of await mgr.warmup()) {
    info = mgr.engineOf(r.name).info;
    log(`warmup ${r.name}: engine ready in ${r.startupSeconds} s (switch ${r.switchSeconds} s), first tokens ${r.firstTokenSeconds} s; ${startNotes(info)}`);
  }
  await mgr.close();
  record(`Model warm-up on a fresh host (bench/switch.mjs warmup, fastStart ${fastStart})`, info, lines);
} else {
  const names = [...new Set(order)];
  const models = Object.fromEntries(names.map((n) => [n, entry(n)]));
  const t0 = performance.now();
  const mgr = await ModelManager.create({ ...base, models, default: order[0] }, { configFile: false });
  info = mgr.engineOf(order[0]).info;
  log(`fastStart ${fastStart}: ${order[0]} first start in this process: ${s(t0)} s (engine start ${info.startupSeconds} s); card ${cardMiB()}; ${startNotes(info)}`);
  const PIN_WAIT_MS = Number(process.env.BENCH_PIN_WAIT_S ?? 30) * 1000;
  let decodedWhilePinning = false;
  const decode = async (model) => {
    const t = performance.now();
    const rs = await Promise.all(Array.from({ length: 64 }, (_, i) => mgr.generateDetailed(`Request ${i}: describe a job posting for a data engineer.`, { model, maxTokens: 256, temperature: 0, ignoreEos: true })));
    const sec = (performance.now() - t) / 1000;
    return `64 requests × 256 tokens in ${sec.toFixed(2)} s = ${(rs.reduce((a, r) => a + r.outputTokens, 0) / sec).toFixed(0)} output tok/s`;
  };
  if (mgr.lastSwitch?.sleepPrepared) {
    log(`  ${order[0]}'s first sleep prepared: ${JSON.stringify(mgr.lastSwitch.sleepPrepared)}`);
    if (mgr.lastSwitch.sleepPrepared.applied) await sleep(PIN_WAIT_MS);
  }
  const seen = new Set([order[0]]);
  for (const name of order.slice(1)) {
    const kind = seen.has(name) ? 'warm (asleep → awake)' : 'cold (not loaded in this process)';
    seen.add(name);
    const t = performance.now();
    await mgr.use(name);
    const switched = s(t);
    const first = performance.now();
    await mgr.generate('Hello', { model: name, maxTokens: 1, temperature: 0 });
    const e = mgr.engineOf(name).info;
    const ls = mgr.lastSwitch;
    log(`switch → ${name}, ${kind}: ${switched} s to serving, + ${((performance.now() - first) / 1000).toFixed(3)} s to the first token (total ${s(t)} s): ${ls.from} ${ls.left} in ${ls.leaveSeconds} s, ${name} ${ls.kind === 'warm' ? 'woken' : 'started'} in ${ls.enterSeconds} s${kind.startsWith('cold') ? ` (engine start ${e.startupSeconds} s)` : ''}; card ${cardMiB()}; ${JSON.stringify(mgr.states)}`);
    if (ls.sleepPrepared) log(`  ${name}'s first sleep prepared: ${JSON.stringify(ls.sleepPrepared)}`);
    if (ls.kind === 'cold' && ls.sleepPrepared?.applied) {
      // Does pinning in the background slow the model that serves meanwhile? The same batch during it and after.
      if (!decodedWhilePinning) {
        decodedWhilePinning = true;
        log(`  decode on ${name} right after its start (pinning under way): ${await decode(name)}`);
        await sleep(PIN_WAIT_MS);
        log(`  decode on ${name} ${PIN_WAIT_MS / 1000} s later (pinning done): ${await decode(name)}`);
      } else {
        // A model serves a while before the next switch; here it idles until its pinning is surely done.
        await sleep(PIN_WAIT_MS);
      }
    }
  }
  const target = order[0];
  await mgr.use(target);
  log(`decode on ${target} (fastStart ${fastStart}): ${await decode(target)}`);
  log(`card after decode ${cardMiB()}`);
  log(`states at the end: ${JSON.stringify(mgr.states)}; switches ${mgr.switches}`);
  const tc = performance.now();
  await mgr.close();
  log(`manager closed in ${s(tc)} s; card ${cardMiB()}`);
  record(`Model switching (bench/switch.mjs switch, fastStart ${fastStart})`, info, lines);
}
process.exit(0);
