#!/usr/bin/env node
// GPU benchmark of the memory cap (issue 9) and model switching (issue 10), in one Node process so that each
// model compiles once. Phases (pick with argv; default all):
//   seed   ModelManager over the 4B, 8B and 32B shapes with the default configuration (fp8, fp8 KV, cap 0.9):
//          cold switch 4B → 8B → 32B, warm switch (asleep → awake) back to 4B and 8B, time to first token
//          after each; under each model a load of N requests (~4k-token prompts, 500 output tokens, a quarter
//          JSON-schema constrained, a quarter streamed) while nvidia-smi is sampled every 100 ms: peak vs cap.
//   laptop gpuMemoryGiB 14.4 (the seed's 16 GB card): 32B refused before loading, with the weight offload it needs;
//          4B under a load of N/4 requests (peak vs cap, throughput, the seed's 50-token latency).
//   offload gpuMemoryGiB 14.4, the 32B shape quantized online (the seed's way) and as an fp8 checkpoint: each
//          refused, then started with the refusal's cpu_offload_gb (+ $OFFLOAD_MARGIN GiB) and vLLM's INFO log:
//          start, latency, 16 concurrent requests, peak.
//   compare the 4B shape at 0.9 through vllm-node, then `plain` on the same load.
//   plain  plain Python vLLM (bench/vllm_default.py) at 0.9 on that load: KV cache tokens, output tok/s, peak.
//   swap   gpuMemoryGiB 14.4, 8B with and without swapSpace (vLLM's native CPU KV offload) on repeated long shared
//          prefixes larger than the GPU KV cache; then KILL-ME (scripts/gpu-host/models.sh SIGKILLs Node).
// Phases run in the order given.
// Each step appends to $OUT/models.log as it goes; the summary goes to docs/benchmarks.md.
//   BENCH_GPU=1 node bench/models.mjs /tmp/models [seed] [laptop] [offload] [compare] [plain] [swap] [n=256]
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Engine, ModelManager } from 'vllm-node';

import { record, ROOT } from './common.mjs';

const dir = process.argv[2] ?? '/tmp/models';
const phases = process.argv.slice(3).filter((a) => !a.startsWith('n='));
const n = Number(process.argv.find((a) => a.startsWith('n='))?.slice(2) ?? 256);
const all = phases.length === 0;
const LOG = join(process.env.OUT ?? '/tmp', 'models.log');
mkdirSync(process.env.OUT ?? '/tmp', { recursive: true });
const lines = [];
function log(line) {
  const text = `${new Date().toISOString().slice(11, 19)} ${line}`;
  console.log(text);
  appendFileSync(LOG, `${text}\n`);
  lines.push(line);
}

// nvidia-smi every 100 ms; peak() gives the highest reading since the last reset.
let peakMiB = 0;
let lastMiB = 0;
let totalMiB = 0;
const smi = spawn('nvidia-smi', ['--query-gpu=memory.used,memory.total', '--format=csv,noheader,nounits', '-lms', '100']);
smi.stdout.on('data', (d) => {
  for (const line of d.toString().trim().split('\n')) {
    const [used, total] = line.split(',').map(Number);
    if (Number.isFinite(used)) {
      lastMiB = used;
      totalMiB = total;
      peakMiB = Math.max(peakMiB, used);
    }
  }
});
const resetPeak = () => (peakMiB = lastMiB);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const base = { quantization: 'fp8', kvCacheDtype: 'fp8', swapSpace: 4, trustRemoteCode: true, maxModelLen: 8192 };
const words = 'senior engineer remote data pipelines kubernetes go python salary benefits team product '.split(' ');
const longPrompt = (i, tokens = 4000) =>
  `Posting ${i}: ` + Array.from({ length: Math.round(tokens * 0.75) }, (_, k) => words[(i * 7 + k * 13) % words.length]).join(' ') + '\nTitle:';
const schema = { type: 'object', properties: { title: { type: 'string' }, remote: { type: 'boolean' } }, required: ['title', 'remote'] };

/** N requests: ~4k-token prompts, 500 output tokens, a quarter JSON-constrained, a quarter streamed. */
const requests = (count) =>
  Array.from({ length: count }, (_, i) => ({ prompt: longPrompt(i), maxTokens: 500, ignoreEos: i % 4 !== 1, jsonSchema: i % 4 === 1, stream: i % 4 === 2 }));

async function load(gen, model, count, capMiB, othersMiB = 0) {
  resetPeak();
  const t0 = performance.now();
  let tokens = 0;
  await Promise.all(
    requests(count).map(async (q) => {
      const opts = { ...(model ? { model } : {}), maxTokens: q.maxTokens, ignoreEos: q.ignoreEos, temperature: 0.1 };
      if (q.jsonSchema) {
        const r = await gen.generateDetailed(q.prompt, { ...opts, jsonSchema: schema });
        tokens += r.outputTokens; // (read after the await: `tokens += await x` would add to a stale total)
      } else if (q.stream) {
        for await (const _d of gen.stream(q.prompt, opts)) tokens += 0;
        tokens += q.maxTokens;
      } else {
        const r = await gen.generateDetailed(q.prompt, opts);
        tokens += r.outputTokens;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  await sleep(300);
  const own = peakMiB - othersMiB;
  log(`  load ${model ?? 'engine'}: ${count} requests in ${s.toFixed(1)} s, ${(tokens / s).toFixed(0)} output tok/s; nvidia-smi peak ${peakMiB} MiB of ${totalMiB}` +
    (othersMiB ? `, of which ${othersMiB} MiB held by the sleeping models → this engine ${own} MiB` : '') + ` (cap ${capMiB} MiB: ${own <= capMiB ? 'within' : '**OVER**'})`);
  return { seconds: s, peakMiB, tokensPerSecond: tokens / s };
}

async function ttft(gen, model) {
  const t0 = performance.now();
  for await (const _d of gen.stream('Title of: Senior Go Engineer, Remote.', { model, maxTokens: 50, ignoreEos: true })) {
    return (performance.now() - t0) / 1000;
  }
}

function memLine(label, info) {
  const m = info.memory;
  log(`  ${label}: start ${info.startupSeconds} s; cap ${m.capMiB} MiB (${m.capSource}), measured after start ${m.measuredMiB} MiB, reserve ${m.reserveMiB} MiB, vLLM fraction ${m.vllmGpuMemoryUtilization}; KV ${m.kvCacheMiB} MiB = ${m.kvCacheTokens} tokens (vLLM's sizing at the cap: ~${m.vllmDefaultKvCacheTokens}); per card ${JSON.stringify(m.perCard)}; notes ${JSON.stringify(info.notes.map((x) => `${x.option}: ${x.applied ? 'applied' : 'not applied'}${x.reason ? ` (${x.reason})` : ''}`))}`);
}

let firstInfo;
const laptop = { ...base, gpuMemoryGiB: 14.4 };

async function seedPhase() {
  log(`seed phase: 4B, 8B, 32B shapes; default cap (0.9); ${n} requests per load`);
  const models = {
    q4b: { model: join(dir, 'qwen3-4b') },
    q8b: { model: join(dir, 'qwen3-8b') },
    q32b: { model: join(dir, 'qwen3-32b'), engineArgs: { load_format: 'dummy' } },
  };
  let t = performance.now();
  const mgr = await ModelManager.create({ ...base, models, default: 'q4b' }, { configFile: false });
  log(`q4b first start (create → serving): ${((performance.now() - t) / 1000).toFixed(1)} s`);
  firstInfo = mgr.engineOf('q4b').info;
  memLine('q4b', firstInfo);
  const cap = firstInfo.memory.capMiB;
  await load(mgr, 'q4b', n, cap);
  for (const [name, count] of [['q8b', n], ['q32b', Math.max(16, n / 4)]]) {
    resetPeak();
    t = performance.now();
    await mgr.use(name);
    const sw = (performance.now() - t) / 1000;
    const first = await ttft(mgr, name);
    log(`switch → ${name} (cold: compiled, not loaded in this process): ${sw.toFixed(1)} s to serving, +${first.toFixed(3)} s to first token; peak during switch ${peakMiB} MiB`);
    const info = mgr.engineOf(name).info;
    memLine(name, info);
    await sleep(500);
    const others = Math.max(0, lastMiB - info.memory.measuredMiB);
    await load(mgr, name, count, info.memory.capMiB, others);
  }
  for (const name of ['q4b', 'q8b']) {
    resetPeak();
    t = performance.now();
    const first = await ttft(mgr, name); // switches (wakes) then streams
    log(`switch → ${name} (warm: asleep → awake): ${first.toFixed(3)} s from the call to the first token; peak ${peakMiB} MiB; card now ${lastMiB} MiB with the others asleep; states ${JSON.stringify(mgr.states)}`);
  }
  log(`switches: ${mgr.switches}`);
  t = performance.now();
  await mgr.close();
  await sleep(1000);
  log(`manager closed in ${((performance.now() - t) / 1000).toFixed(1)} s; card ${lastMiB} MiB`);
}

/** `code: message` of the error an engine that should not start fails with (`started?!` when it starts). */
const refusal = (options) =>
  Engine.create(options, { configFile: false }).then(
    (e) => e.close().then(() => 'started?!'),
    (e) => `${e.code}: ${e.message}`,
  );

/** gpuMemoryGiB 14.4: 32B refused with the offload it needs; 4B under load. */
async function laptopPhase() {
  log('laptop phase: gpuMemoryGiB 14.4');
  const refused = await refusal({ ...laptop, model: join(dir, 'qwen3-32b'), engineArgs: { load_format: 'dummy' } });
  log(`  32B at 14.4 GiB: ${refused}`);
  let t = performance.now();
  let engine = await Engine.create({ ...laptop, model: join(dir, 'qwen3-4b') }, { configFile: false });
  log(`  4B at 14.4 GiB: start ${((performance.now() - t) / 1000).toFixed(1)} s`);
  firstInfo ??= engine.info;
  memLine('4B 14.4 GiB', engine.info);
  await load(engine, undefined, Math.max(16, n / 4), engine.info.memory.capMiB);
  await latency(engine, 5);
  await engine.close();
}

/** gpuMemoryGiB 14.4, the 32B shape (bf16 quantized online as the seed does, then an fp8 checkpoint): refused, then started with the
 * refusal's cpu_offload_gb plus OFFLOAD_MARGIN GiB (default 0), with vLLM's INFO log on (its memory profile). */
async function offloadPhase() {
  const margin = Number(process.env.OFFLOAD_MARGIN ?? 0);
  for (const name of ['qwen3-32b', 'qwen3-32b-fp8']) {
    log(`offload phase: gpuMemoryGiB 14.4, ${name}`);
    const q32 = { ...laptop, model: join(dir, name), logLevel: 'info' };
    const refused = await refusal({ ...q32, engineArgs: { load_format: 'dummy' } });
    log(`  ${name} at 14.4 GiB: ${refused}`);
    const offload = Number(/cpu_offload_gb: (\d+)/.exec(refused)?.[1] ?? 24) + margin;
    let t = performance.now();
    resetPeak();
    let engine;
    try {
      engine = await Engine.create({ ...q32, engineArgs: { load_format: 'dummy', cpu_offload_gb: offload } }, { configFile: false });
    } catch (e) {
      log(`  ${name} with cpu_offload_gb ${offload}: ${e.code} ${String(e.message).slice(0, 300)}; peak during start ${peakMiB} MiB`);
      continue;
    }
    log(`  ${name} at 14.4 GiB with cpu_offload_gb ${offload} (the refusal's advice + ${margin}): start ${((performance.now() - t) / 1000).toFixed(1)} s, peak during start ${peakMiB} MiB`);
    memLine(`${name} 14.4 GiB offload`, engine.info);
    await latency(engine, 2);
    resetPeak();
    t = performance.now();
    const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => engine.generateDetailed(`Posting ${i}: senior engineer, remote.\nTitle:`, { maxTokens: 50, ignoreEos: true })));
    const s = (performance.now() - t) / 1000;
    const mem = await engine.memory();
    log(`    16 concurrent × 50 tokens: ${s.toFixed(1)} s, ${(rs.reduce((a, r) => a + r.outputTokens, 0) / s).toFixed(1)} output tok/s; peak ${peakMiB} MiB (cap ${mem.capMiB}: ${peakMiB - baselineMiB <= mem.capMiB ? 'within' : '**OVER**'}); measured ${mem.measuredMiB} MiB; cpuOffloadGiB ${mem.cpuOffloadGiB}`);
    await engine.close();
  }
}

/** The seed's 50-token latency, `count` times. */
async function latency(engine, count) {
  const lat = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await engine.generate('Title of: Senior Go Engineer, Remote.', { maxTokens: 50, ignoreEos: true });
    lat.push((performance.now() - t0) / 1000);
  }
  log(`    50-token latency: ${lat.map((x) => x.toFixed(3)).join(', ')} s`);
}

/** The 4B shape at cap 0.9 through vllm-node, then plain Python vLLM at 0.9 on the same load: KV tokens, throughput, peak. */
async function comparePhase() {
  log(`compare phase: 4B shape, the default configuration at 0.9, vllm-node vs plain vLLM (bench/vllm_default.py); ${n} requests`);
  const model = join(dir, 'qwen3-4b');
  const engine = await Engine.create({ ...base, model }, { configFile: false });
  firstInfo ??= engine.info;
  memLine('vllm-node 4B 0.9', engine.info);
  const ours = await load(engine, undefined, n, engine.info.memory.capMiB);
  const capMiB = engine.info.memory.capMiB;
  const kvOurs = engine.info.memory.kvCacheTokens;
  await engine.close();
  await sleep(2000);
  await plainPhase({ kvOurs, capMiB, ours });
}

/** Plain Python vLLM, 4B shape at 0.9, on the compare phase's load (figures of vllm-node's run when it ran first). */
async function plainPhase(ref) {
  const model = join(dir, 'qwen3-4b');
  const capMiB = ref?.capMiB ?? Math.round(0.9 * totalMiB);
  const file = join(process.env.OUT ?? '/tmp', 'vllm-default-load.json');
  writeFileSync(file, JSON.stringify({ model, gpuMemoryUtilization: 0.9, maxModelLen: base.maxModelLen, schema, requests: requests(n) }));
  const python = process.env.VLLM_NODE_PYTHON ?? 'python3';
  resetPeak();
  const out = await new Promise((resolve, reject) => {
    const child = spawn(python, [join(ROOT, 'bench', 'vllm_default.py'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`vllm_default.py exited ${code}`))));
  });
  const r = JSON.parse(/RESULT (.*)/.exec(out)[1]);
  const tps = r.outputTokens / r.seconds;
  log(`  plain vLLM 4B 0.9: KV ${r.kvCacheTokens} tokens; ${n} requests in ${r.seconds.toFixed(1)} s, ${tps.toFixed(0)} output tok/s; nvidia-smi peak ${peakMiB} MiB (cap ${capMiB}: ${peakMiB <= capMiB ? 'within' : 'over'})` +
    (ref ? `; vllm-node: KV ${ref.kvOurs} tokens (${((ref.kvOurs / r.kvCacheTokens) * 100).toFixed(1)}%), ${ref.ours.tokensPerSecond.toFixed(0)} tok/s (${((ref.ours.tokensPerSecond / tps) * 100).toFixed(1)}%), peak ${ref.ours.peakMiB} MiB` : ''));
}

/** gpuMemoryGiB 14.4, 8B: repeated long shared prefixes larger than the GPU KV cache, with and without swapSpace. */
async function swapPhase() {
  log('swap phase: gpuMemoryGiB 14.4, 8B, swapSpace 0 vs 16');
  // Shared prefixes: 24 documents of ~6k tokens, each asked about 4 times in rounds; the set (~144k tokens)
  // is larger than the GPU KV cache under the cap, so later rounds hit only what offload kept.
  const docs = Array.from({ length: 24 }, (_, i) => longPrompt(1000 + i, 5000));
  for (const swapSpace of [0, 16]) {
    const t = performance.now();
    const engine = await Engine.create({ ...laptop, model: join(dir, 'qwen3-8b'), swapSpace }, { configFile: false });
    log(`  8B at 14.4 GiB, swapSpace ${swapSpace}: start ${((performance.now() - t) / 1000).toFixed(1)} s`);
    memLine(`8B 14.4 GiB swapSpace ${swapSpace}`, engine.info);
    resetPeak();
    const ttfts = [];
    for (let round = 0; round < 4; round++) {
      const t0 = performance.now();
      const rs = await Promise.all(docs.map((d, i) => engine.generateDetailed(`${d}\nQuestion ${round}.${i}:`, { maxTokens: 8, ignoreEos: true })));
      ttfts.push(rs.map((r) => r.timings?.firstToken ?? 0));
      log(`    round ${round}: ${((performance.now() - t0) / 1000).toFixed(2)} s, TTFT p50 ${(ttfts[round].sort((a, b) => a - b)[12] * 1000).toFixed(0)} ms`);
    }
    const mem = await engine.memory();
    log(`    peak ${peakMiB} MiB (cap ${mem.capMiB}: ${peakMiB <= mem.capMiB ? 'within' : '**OVER**'}); measured ${mem.measuredMiB} MiB`);
    const lat = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await engine.generate('Title of: Senior Go Engineer, Remote.', { maxTokens: 50, ignoreEos: true });
      lat.push((performance.now() - t0) / 1000);
    }
    log(`    50-token latency: ${lat.map((x) => x.toFixed(3)).join(', ')} s`);
    if (swapSpace === 16) {
      log('KILL-ME'); // the wrapper SIGKILLs this process with the engine loaded and watches the card (issue 15)
      await sleep(600_000);
    }
    await engine.close();
  }
}

await sleep(1000);
const baselineMiB = lastMiB;
const run = { seed: seedPhase, laptop: laptopPhase, offload: offloadPhase, compare: comparePhase, plain: () => plainPhase(), swap: swapPhase };
for (const phase of all ? Object.keys(run) : phases) {
  if (!run[phase]) throw new Error(`unknown phase ${phase}; phases: ${Object.keys(run).join(', ')}`);
  try {
    await run[phase]();
  } catch (e) {
    log(`phase ${phase} failed: ${e.code ?? ''} ${e.stack ?? e}`);
  }
}

if (firstInfo) record('Memory cap and model switching (bench/models.mjs)', firstInfo, lines);
smi.kill();
process.exit(0);
