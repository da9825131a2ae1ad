#!/usr/bin/env node
// Soak (issue 26, item 5): `--concurrency` callers keep one engine busy for `--seconds` with a mix of generate,
// stream, extract (a z.enum and a JSON object) and calls aborted through an AbortSignal (before they start, while
// queued or running, mid-stream). Every call is counted as it settles: a call settled twice, one never settled (after
// the drain), or an error other than the expected ones (REQUEST_ABORTED for an aborted call, OUTPUT_INVALID for an
// extraction of random weights cut off at maxTokens) fails the run (exit 1). Node's RSS (the embedded Python with
// vLLM's front end included), the RSS of vLLM's processes and, where nvidia-smi runs, the card's used memory are
// sampled every `--sample-s`; the summary gives each curve's start (after the warm-up, the first `--warmup-s`),
// end, max and growth, and a JSON line (SOAK_SUMMARY) with all of it.
//   CPU: nice node bench/soak.mjs --seconds 180 --concurrency 16
//   GPU: BENCH_GPU=1 node bench/soak.mjs --model /tmp/models/qwen3-4b --dummy --seconds 600 --concurrency 64
// Flags (defaults): --model (GPU: $VLLM_NODE_GPU_MODELS/qwen3-4b, CPU: .models/tiny-qwen3) --seconds 600
//   --concurrency 64 --max-tokens 64 --abort-ms 300 (an abort comes 0..this after its call) --sample-s 5
//   --warmup-s (a tenth of --seconds, at most 60) --drain-s 120 --seed 1 --dummy (engineArgs.load_format dummy)
//   --eager --max-model-len (GPU 4096) --gpu (as BENCH_GPU=1) --out DIR (soak.json, samples.csv) --record (a section
//   in docs/benchmarks.md)
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Engine, VllmError } from 'vllm-node';
import { z } from 'zod';

import { CardSampler } from '../tests/helpers/card-sampler.mjs';
import { descendants } from '../tests/helpers/processes.mjs';
import { engineOptions, machine, record, ROOT } from './common.mjs';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string' },
    seconds: { type: 'string', default: '600' },
    concurrency: { type: 'string', default: '64' },
    'max-tokens': { type: 'string', default: '64' },
    'abort-ms': { type: 'string', default: '300' },
    'sample-s': { type: 'string', default: '5' },
    'warmup-s': { type: 'string' },
    'drain-s': { type: 'string', default: '120' },
    seed: { type: 'string', default: '1' },
    dummy: { type: 'boolean', default: false },
    eager: { type: 'boolean', default: false },
    'max-model-len': { type: 'string' },
    gpu: { type: 'boolean', default: false },
    out: { type: 'string' },
    record: { type: 'boolean', default: false },
  },
});
if (o.gpu) process.env.BENCH_GPU = '1';
const gpu = Boolean(process.env.BENCH_GPU);
const seconds = Number(o.seconds);
const concurrency = Number(o.concurrency);
const maxTokens = Number(o['max-tokens']);
const abortMs = Number(o['abort-ms']);
const sampleS = Number(o['sample-s']);
const warmupS = Number(o['warmup-s'] ?? Math.min(60, seconds / 10));
const model = o.model ?? (gpu ? join(process.env.VLLM_NODE_GPU_MODELS ?? '/tmp/models', 'qwen3-4b') : join(ROOT, '.models', 'tiny-qwen3'));
const MiB = 2 ** 20;

/** mulberry32: the same mix of calls for the same --seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(Number(o.seed));

const options = engineOptions(model);
if (gpu) Object.assign(options, { maxModelLen: Number(o['max-model-len'] ?? 4096), trustRemoteCode: true });
else if (o['max-model-len']) options.maxModelLen = Number(o['max-model-len']);
if (o.eager) options.enforceEager = true;
if (o.dummy) options.engineArgs = { ...(options.engineArgs ?? {}), load_format: 'dummy' };

const Mode = z.enum(['remote', 'hybrid', 'onsite']);
const Job = z.object({ title: z.string(), remote: z.boolean() });
// Each call's kind, by weight: a fifth of the calls are aborted.
const MIX = [
  ['generate', 25],
  ['stream', 20],
  ['extract-enum', 15],
  ['extract-object', 20],
  ['abort-generate', 8],
  ['abort-stream', 8],
  ['abort-before', 4],
];
const totalWeight = MIX.reduce((n, [, w]) => n + w, 0);
function pick() {
  let r = random() * totalWeight;
  for (const [kind, w] of MIX) if ((r -= w) < 0) return kind;
  return MIX[0][0];
}

// -- the calls, each counted as it settles ---------------------------------------------------------------------------
const calls = []; // { id, kind, settles, outcome }
const counts = {}; // kind -> outcome -> n
const unexpected = [];
let closing = false;
function settle(call, outcome, err) {
  call.settles += 1;
  if (call.settles > 1) return; // counted as double below
  call.outcome = outcome;
  counts[call.kind] ??= {};
  counts[call.kind][outcome] = (counts[call.kind][outcome] ?? 0) + 1;
  // A call still pending past the drain is counted as missing; the engine's close then rejects it (ENGINE_CLOSED).
  if (outcome.startsWith('error:') && !closing) {
    const code = err instanceof VllmError ? err.code : undefined;
    const expected = (code === 'REQUEST_ABORTED' && call.kind.startsWith('abort')) || (code === 'OUTPUT_INVALID' && call.kind === 'extract-object');
    if (!expected && unexpected.length < 20) unexpected.push({ id: call.id, kind: call.kind, error: err instanceof Error ? `${err.name} ${code ?? ''}: ${err.message.slice(0, 300)}` : String(err) });
    else if (!expected) unexpected.push({ id: call.id, kind: call.kind });
  }
}

async function consume(iterable) {
  let text = '';
  for await (const chunk of iterable) text += chunk;
  return text;
}

/** One call of `kind`; resolves when it has settled (never rejects). */
function oneCall(engine, i) {
  const kind = pick();
  const call = { id: i, kind, settles: 0, outcome: undefined, startS: +((performance.now() - t0) / 1000).toFixed(1) };
  calls.push(call);
  const prompt = `Posting ${i}: senior data engineer, Berlin or remote, Kafka and Go.`;
  const sampling = { maxTokens, temperature: 0.7, seed: i };
  let work;
  let timer;
  if (kind === 'generate') work = engine.generate(prompt, { ...sampling, ignoreEos: true });
  else if (kind === 'stream') work = consume(engine.stream(prompt, { ...sampling, ignoreEos: true }));
  else if (kind === 'extract-enum') work = engine.extract(prompt, Mode, { maxTokens: 16 });
  else if (kind === 'extract-object') work = engine.extract(prompt, Job, { maxTokens });
  else {
    const controller = new AbortController();
    if (kind === 'abort-before') controller.abort(new Error('soak: aborted before the call'));
    else timer = setTimeout(() => controller.abort(new Error('soak: aborted')), random() * abortMs);
    const opts = { ...sampling, ignoreEos: true, signal: controller.signal };
    // A call rejected synchronously (aborted before it started) counts as settled, as a rejection does.
    try {
      work = kind === 'abort-stream' ? consume(engine.stream(prompt, opts)) : engine.generate(prompt, opts);
    } catch (err) {
      work = Promise.reject(err);
    }
  }
  return Promise.resolve(work).then(
    () => {
      clearTimeout(timer);
      settle(call, 'ok');
    },
    (err) => {
      clearTimeout(timer);
      settle(call, `error:${err instanceof VllmError ? err.code : (err?.name ?? 'unknown')}`, err);
    },
  );
}

// -- memory samples ---------------------------------------------------------------------------------------------------
const t0 = performance.now();
const samples = []; // { s, rssMiB, heapMiB, vllmRssMiB, cardMiB }
function rssOf(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}
async function sample(card) {
  const procs = await descendants(process.pid).catch(() => []);
  samples.push({
    s: +((performance.now() - t0) / 1000).toFixed(1),
    rssMiB: +(process.memoryUsage.rss() / MiB).toFixed(1),
    heapMiB: +(process.memoryUsage().heapUsed / MiB).toFixed(1),
    vllmRssMiB: +(procs.reduce((n, p) => n + rssOf(p.pid), 0) / MiB).toFixed(1),
    cardMiB: card.available ? (card.last() ?? null) : null,
  });
}

/** A curve's start (the first sample after the warm-up), end, max and growth. */
function curve(key, fromS) {
  const xs = samples.filter((s) => s.s >= fromS && typeof s[key] === 'number');
  if (xs.length === 0) return null;
  const start = xs[0][key];
  const end = xs.at(-1)[key];
  const max = Math.max(...xs.map((s) => s[key]));
  // Least-squares slope over the samples after the warm-up, MiB per minute.
  const mx = xs.reduce((n, s) => n + s.s, 0) / xs.length;
  const my = xs.reduce((n, s) => n + s[key], 0) / xs.length;
  const sxx = xs.reduce((n, s) => n + (s.s - mx) ** 2, 0);
  const slope = sxx > 0 ? (xs.reduce((n, s) => n + (s.s - mx) * (s[key] - my), 0) / sxx) * 60 : 0;
  return { start, end, max, growth: +(end - start).toFixed(1), slopePerMin: +slope.toFixed(2), fromS: xs[0].s, toS: xs.at(-1).s };
}

// -- the run ----------------------------------------------------------------------------------------------------------
const card = new CardSampler({ card: Number.parseInt((process.env.CUDA_VISIBLE_DEVICES ?? '0').split(',')[0] ?? '0', 10) || 0, intervalMs: sampleS * 1000 });
const cardBefore = await Promise.race([card.first(), new Promise((r) => setTimeout(r, 5_000))]);
console.log(`soak: ${model}, ${seconds} s, ${concurrency} callers, maxTokens ${maxTokens}, card ${cardBefore ?? 'n/a'} MiB before; starting the engine`);
const tStart = performance.now();
const engine = await Engine.create(options, { configFile: false });
const startSeconds = (performance.now() - tStart) / 1000;
console.log(`soak: engine started in ${startSeconds.toFixed(1)} s (vLLM ${engine.info.vllmVersion} on ${engine.info.device.platform})`);

const runStart = performance.now();
const deadline = runStart + seconds * 1000;
const sampleFrom = (runStart - t0) / 1000;
await sample(card);
const sampler = setInterval(() => {
  void sample(card);
}, sampleS * 1000);
const progress = setInterval(() => {
  const settled = calls.filter((c) => c.settles > 0).length;
  const last = samples.at(-1);
  console.log(`soak: ${((performance.now() - runStart) / 1000).toFixed(0)} s, ${calls.length} calls, ${settled} settled; RSS ${last?.rssMiB} MiB, vLLM ${last?.vllmRssMiB} MiB, card ${last?.cardMiB ?? 'n/a'} MiB`);
}, 30_000);

let next = 0;
async function caller() {
  while (performance.now() < deadline) await oneCall(engine, next++);
}
const callers = Promise.all(Array.from({ length: concurrency }, caller));
// The callers await each call, so a call that never settles holds its caller: past the drain it counts as missing.
const drained = await Promise.race([callers.then(() => true), new Promise((r) => setTimeout(() => r(false), deadline - performance.now() + Number(o['drain-s']) * 1000).unref())]);
const runSeconds = (performance.now() - runStart) / 1000;
const missing = calls.filter((c) => c.settles === 0).map((c) => ({ id: c.id, kind: c.kind, startS: c.startS }));
await sample(card);
clearInterval(sampler);
clearInterval(progress);
closing = true;
await engine.close();
await card.settle();
await card.stop();

// -- the verdict ------------------------------------------------------------------------------------------------------
// Counted again after the close: a call that settled once before it and again as the engine closed is a double.
const doubles = calls.filter((c) => c.settles > 1).map((c) => c.id);
const fromS = sampleFrom + warmupS;
const summary = {
  date: new Date().toISOString(),
  machine: machine(),
  vllm: engine.info.vllmVersion,
  platform: engine.info.device.platform,
  model,
  command: `node ${process.argv.slice(1).map((a) => a.replace(`${ROOT}/`, '')).join(' ')}${process.env.BENCH_GPU ? ' (BENCH_GPU=1)' : ''}`,
  seconds,
  runSeconds: +runSeconds.toFixed(1),
  concurrency,
  maxTokens,
  startSeconds: +startSeconds.toFixed(1),
  calls: calls.length,
  callsPerSecond: +(calls.length / runSeconds).toFixed(1),
  byKind: counts,
  doubles: doubles.length,
  missing: missing.length,
  drained,
  missingFirst: missing.slice(0, 20),
  unexpected: unexpected.length,
  unexpectedFirst: unexpected.slice(0, 5),
  cardBeforeMiB: cardBefore ?? null,
  cardAfterCloseMiB: card.available ? (card.last() ?? null) : null,
  warmupS,
  memory: { nodeRssMiB: curve('rssMiB', fromS), nodeHeapMiB: curve('heapMiB', fromS), vllmRssMiB: curve('vllmRssMiB', fromS), cardMiB: curve('cardMiB', fromS) },
  samples: samples.length,
};
const ok = doubles.length === 0 && missing.length === 0 && unexpected.length === 0;
const fmt = (c) => (c ? `start ${c.start}, end ${c.end}, max ${c.max} MiB (growth ${c.growth} MiB, ${c.slopePerMin} MiB/min over ${c.fromS}-${c.toS} s)` : 'n/a');
const lines = [
  `${calls.length} calls in ${summary.runSeconds} s (${summary.callsPerSecond}/s), ${concurrency} concurrent, maxTokens ${maxTokens}; engine start ${summary.startSeconds} s`,
  `settled exactly once: ${ok ? 'every call' : `NO: ${doubles.length} settled twice, ${missing.length} never, ${unexpected.length} unexpected errors`}`,
  `by kind: ${Object.entries(counts).map(([k, v]) => `${k} ${Object.entries(v).map(([x, n]) => `${x} ${n}`).join('/')}`).join('; ')}`,
  `Node RSS: ${fmt(summary.memory.nodeRssMiB)}`,
  `Node heap: ${fmt(summary.memory.nodeHeapMiB)}`,
  `vLLM processes' RSS: ${fmt(summary.memory.vllmRssMiB)}`,
  `card: ${fmt(summary.memory.cardMiB)}; ${summary.cardBeforeMiB ?? 'n/a'} MiB before the engine, ${summary.cardAfterCloseMiB ?? 'n/a'} after its close`,
];
for (const l of lines) console.log(`soak: ${l}`);
if (unexpected.length > 0) console.log(`soak: unexpected errors, the first: ${JSON.stringify(unexpected.slice(0, 5))}`);
console.log(`SOAK_SUMMARY ${JSON.stringify(summary)}`);
if (o.out) {
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'soak.json'), `${JSON.stringify({ ...summary, samplesData: samples }, null, 1)}\n`);
  writeFileSync(join(o.out, 'samples.csv'), `s,rssMiB,heapMiB,vllmRssMiB,cardMiB\n${samples.map((s) => `${s.s},${s.rssMiB},${s.heapMiB},${s.vllmRssMiB},${s.cardMiB ?? ''}`).join('\n')}\n`);
}
if (o.record) record(`Soak: ${seconds} s, ${concurrency} concurrent (bench/soak.mjs)`, engine.info, lines);
process.exitCode = ok ? 0 : 1;
