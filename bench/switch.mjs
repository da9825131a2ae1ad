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
// `cap=14.4` sets gpuMemoryGiB (the seed's 16 GB laptop), `len=4096` maxModelLen, `offload=28` the cpu_offload_gb of a
// 32B-fp8 entry (qwen3-32b-fp8). The card (CUDA_VISIBLE_DEVICES' first) is read by nvidia-smi every 200 ms from start
// to end: each step logs the peak of its phase over what the card held before, and the end the peak per phase and
// whether any sample passed the cap (ModelManager holds one budget for the card: models.memory() is logged too).
// Each step appends to $OUT/switch.log as it goes; the summary goes to docs/benchmarks.md.
//   node bench/switch.mjs /tmp/models warmup|switch [fast=0] [models=qwen3-4b,qwen3-8b,qwen3-4b,qwen3-32b] [cap=14.4] [len=4096] [offload=28]
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
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
const capGiB = arg('cap', undefined);
const offloadGiB = Number(arg('offload', '0'));
const base = {
  quantization: 'fp8', kvCacheDtype: 'fp8', swapSpace: 4, trustRemoteCode: true, maxModelLen: Number(arg('len', '8192')), fastStart, logLevel: 'info', enforceEager: process.env.BENCH_EAGER === '1',
  ...(capGiB ? { gpuMemoryGiB: Number(capGiB) } : {}),
};
const entry = (name) => ({
  model: join(dir, name),
  ...(name.includes('32b') ? { engineArgs: { load_format: 'dummy', ...(name.endsWith('-fp8') && offloadGiB > 0 ? { cpu_offload_gb: offloadGiB } : {}) } } : {}),
});
// The card this process runs on (CUDA_VISIBLE_DEVICES' first entry): used MiB, as nvidia-smi reports it.
const card = (process.env.CUDA_VISIBLE_DEVICES ?? '0').split(',')[0];
function cardMiB() {
  try {
    return `${execFileSync('nvidia-smi', ['-i', card, '--query-gpu=memory.used,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim().replace(', ', ' / ')} MiB`;
  } catch {
    return 'n/a';
  }
}
// nvidia-smi in its own loop: every reading tagged with the phase under way (the whole run, loading included).
const samples = [];
let cardPhase = 'before';
const smi = spawn('nvidia-smi', ['-i', card, '--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '200'], { stdio: ['ignore', 'pipe', 'ignore'] });
smi.on('error', () => {});
createInterface({ input: smi.stdout }).on('line', (l) => Number.isFinite(Number(l.trim())) && samples.push({ used: Number(l.trim()), phase: cardPhase }));
await sleep(600);
const baseline = samples[0]?.used ?? 0;
const capMiB = capGiB ? Number(capGiB) * 1024 : undefined;
const peak = (p) => Math.max(0, ...samples.filter((x) => x.phase === p).map((x) => x.used)) - baseline;
const enter = async (next) => {
  const done = cardPhase;
  cardPhase = next;
  await sleep(250); // one more reading of the phase that ended
  return peak(done);
};
const memoryLine = async (mgr) => {
  const m = await mgr.memory();
  const models = Object.entries(m.models).map(([n, x]) => `${n} ${x.state} ${x.cardMiB ?? '-'} MiB (cap ${x.capMiB ?? '-'}, pinned CPU ${x.pinnedCpuMiB} MiB)`).join(', ');
  return `models.memory(): ${models}; ${m.card.applies ? `reserved ${m.card.reservedMiB} of ${m.card.capMiB} MiB` : m.card.reason}`;
};
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
  cardPhase = `first start ${order[0]}`;
  const mgr = await ModelManager.create({ ...base, models, default: order[0] }, { configFile: false });
  info = mgr.engineOf(order[0]).info;
  log(`fastStart ${fastStart}: ${order[0]} first start in this process: ${s(t0)} s (engine start ${info.startupSeconds} s); card ${cardMiB()} (baseline ${baseline}); peak ${await enter(`serving ${order[0]}`)} MiB over the baseline; ${startNotes(info)}`);
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
    const kind = seen.has(name) ? 'asleep or closed before' : 'cold (not loaded in this process)';
    seen.add(name);
    await enter(`${mgr.current} → ${name}`);
    const t = performance.now();
    await mgr.use(name);
    const switched = s(t);
    const first = performance.now();
    await mgr.generate('Hello', { model: name, maxTokens: 1, temperature: 0 });
    const e = mgr.engineOf(name).info;
    const ls = mgr.lastSwitch;
    const how = ls.resizedFromMiB ? `started again (its cap ${ls.resizedFromMiB} MiB did not fit beside the sleepers)` : ls.kind === 'warm' ? 'woken' : 'started';
    const budget = `${ls.capMiB !== undefined ? `; cap ${ls.capMiB} MiB` : ''}${ls.evicted ? `; closed to make room: ${ls.evicted.join(', ')}` : ''}`;
    log(`switch → ${name} (${kind}), **${ls.kind}**: ${switched} s to serving, + ${((performance.now() - first) / 1000).toFixed(3)} s to the first token (total ${s(t)} s): ${ls.from} ${ls.left} in ${ls.leaveSeconds} s, ${name} ${how} in ${ls.enterSeconds} s${ls.kind === 'cold' ? ` (engine start ${e.startupSeconds} s)` : ''}${budget}; card ${cardMiB()}; peak of the switch ${await enter(`serving ${name}`)} MiB over the baseline; ${JSON.stringify(mgr.states)}`);
    log(`  ${await memoryLine(mgr)}`);
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
  await enter(`${mgr.current} → ${target}`);
  await mgr.use(target);
  await enter(`decode ${target}`);
  log(`decode on ${target} (fastStart ${fastStart}): ${await decode(target)}; peak ${await enter('end')} MiB over the baseline`);
  log(`card after decode ${cardMiB()}`);
  log(`states at the end: ${JSON.stringify(mgr.states)}; switches ${mgr.switches}; ${await memoryLine(mgr)}`);
  const tc = performance.now();
  cardPhase = 'close';
  await mgr.close();
  log(`manager closed in ${s(tc)} s; card ${cardMiB()}`);
  await sleep(250);
  const phases = [...new Set(samples.map((x) => x.phase))].filter((p) => p !== 'before');
  log(`peak per phase over the baseline (MiB; nvidia-smi every 200 ms, ${samples.length} samples): ${phases.map((p) => `${p} ${peak(p)}`).join('; ')}`);
  if (capMiB !== undefined) {
    const over = samples.filter((x) => x.used - baseline > capMiB);
    log(`samples over the cap (${capMiB} MiB): ${over.length}${over.length ? ` (highest ${Math.max(...over.map((x) => x.used)) - baseline} MiB, in ${[...new Set(over.map((x) => x.phase))].join(', ')})` : ''}`);
  }
  record(`Model switching (bench/switch.mjs switch, fastStart ${fastStart})`, info, lines);
}
smi.kill();
process.exit(0);
