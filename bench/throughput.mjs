#!/usr/bin/env node
// Throughput you can trust (issue 29): the paths a user would pick, resident side by side on one card with the
// same engine arguments, measured in interleaved rounds, each ratio with a bootstrap interval.
//   (a) plain   plain vLLM `LLM.generate` in its own long-lived Python process (bench/plain_vllm.py)
//   (b) node    our Node engine (`Engine.create`, concurrent `generateDetailed()`)
//   (c) serve   `vllm serve` (its own process) driven by Node's `openai` client, same concurrency
//   (d) ref     optional diagnostic: `reference_generate` (LLM.generate on our engine, in our process)
//   (e) alt     optional diagnostic: a second vllm-node engine in the same process, with --alt-engine-arg overrides and
//               --alt-fast-start (a setting's cost measured in the same rounds as (b), without another plain start)
// Each engine starts once (one after the other: vLLM's memory profiling must not see another engine starting) and
// stays resident for every workload of the run, so the card's memory is split: --gpu-mem (0.28 by default) each.
// Per workload: warm-up, round size from the fastest warm-up (>= --min-round-s), then --rounds rounds in which every
// path runs the same batches (order rotated or shuffled per round). Per path: median, min/max and IQR of the
// per-round tok/s; per ratio (node/plain, node/serve, node/ref, node/alt, alt/plain, plain/serve): the median of the per-round ratios (paths paired by
// round; the ratio of medians where a path missed rounds) with a 95% bootstrap interval over rounds, flagged "not resolved" when wider than ±3% or from fewer than 10 rounds.
// Card memory per path: nvidia-smi's compute apps mapped to each path's process tree (n/a on the CPU).
// Front-end CPU per path: the CPU time (user + system, /proc/PID/stat) of the process that runs the path's front end
// (the Python of (a), Node with its embedded Python for (b), (d) and (e), the API server of (c)) during each of its
// rounds, per 1,000 output tokens: what each output token costs on its way to the caller. The EngineCore is apart.
// Writes DIR/throughput.json and DIR/throughput.md (a section for docs/benchmarks.md), rewritten after each workload.
//
//   GPU: BENCH_GPU=1 node bench/throughput.mjs --workloads seed,c1024,c4096,extraction,single --out DIR
//   CPU: nice node bench/throughput.mjs --workloads seed --n 16 --max-tokens 16 --rounds 3 --min-round-s 1 --out DIR
// Flags (defaults): --model (GPU: $VLLM_NODE_GPU_MODELS/qwen3-4b, CPU: .models/tiny-qwen3) --paths plain,node,serve
//   --workloads seed --rounds 10 --warmup (GPU 2, CPU 1) --warmup-s (GPU 20, CPU 0) --min-round-s 5 --repeats (from the warm-up)
//   --order rotate|random|fixed --seed 1 --bootstrap 10000 --gpu-mem 0.28 --max-model-len (GPU 4096, CPU 1024)
//   --sampling seed|greedy --fast-start on|off (vllm-node) --deterministic (vllm-node only) --eager --swap-space 0 --kv-bytes (CPU: 1 GiB) --n (batch workloads), --max-tokens, --prompt-tokens (override the workload's)
//   --engine-arg key=value (repeatable, JSON values; given to all three engines) --alt-engine-arg key=value (repeatable,
//   (e) only, over --engine-arg) --alt-fast-start on|off (default: --fast-start) --serve-arg ARG (repeatable, vllm
//   serve only) --port 8011 --out DIR --gpu (as BENCH_GPU=1) --dry-run (print what each path would be given, start nothing)
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import OpenAI from 'openai';
import { Engine } from 'vllm-node';

import { parentOf, statFields } from '../tests/helpers/processes.mjs';

import { machine, ROOT } from './common.mjs';
import { benchEngineArgs, nodeOptions as toNodeOptions, parseEngineArgFlags, PlainWorker, PYTHON as python, ServeProcess, serveArgs as toServeArgs } from './paths.mjs';
import { diffOfMedians, medianOfRatios, MIN_ROUNDS, ratioOfMedians, repeatsFor, schedule, summarize, TOLERANCE } from './stats.mjs';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string' },
    paths: { type: 'string', default: 'plain,node,serve' },
    workloads: { type: 'string', default: 'seed' },
    rounds: { type: 'string', default: String(MIN_ROUNDS) },
    warmup: { type: 'string' },
    'warmup-s': { type: 'string' },
    'min-round-s': { type: 'string', default: '5' },
    repeats: { type: 'string' },
    order: { type: 'string', default: 'rotate' },
    seed: { type: 'string', default: '1' },
    bootstrap: { type: 'string', default: '10000' },
    'gpu-mem': { type: 'string', default: '0.28' },
    'max-model-len': { type: 'string' },
    eager: { type: 'boolean', default: false },
    deterministic: { type: 'boolean', default: false },
    'swap-space': { type: 'string', default: '0' },
    'kv-bytes': { type: 'string' },
    sampling: { type: 'string', default: 'seed' },
    'fast-start': { type: 'string', default: 'on' },
    n: { type: 'string' },
    'max-tokens': { type: 'string' },
    'prompt-tokens': { type: 'string' },
    'engine-arg': { type: 'string', multiple: true, default: [] },
    'alt-engine-arg': { type: 'string', multiple: true, default: [] },
    'alt-fast-start': { type: 'string' },
    'serve-arg': { type: 'string', multiple: true, default: [] },
    port: { type: 'string', default: '8011' },
    out: { type: 'string' },
    gpu: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  },
});
const GPU = Boolean(process.env.BENCH_GPU) || o.gpu;
// The scheduler's batch limits a path ran with: plain vLLM reports vLLM's resolved values; vllm-node the ones it asked
// vLLM for (under a cap it sizes them for a card of the cap's size, as vLLM does on such a card: a setting that
// differs from plain vLLM's changes what a ratio compares, so every path's line names its own).
const batchOf = (p) => {
  const seqs = p.config?.maxNumSeqs ?? p.config?.requested?.max_num_seqs;
  const tokens = p.config?.maxNumBatchedTokens ?? p.config?.requested?.max_num_batched_tokens;
  return seqs ? `, max_num_seqs ${seqs}, max_num_batched_tokens ${tokens ?? "vLLM's default"}` : '';
};
const num = (v, name) => {
  const x = Number(v);
  if (v === undefined || !Number.isFinite(x)) throw new Error(`--${name}: not a number: ${v}`);
  return x;
};
const model = resolve(o.model ?? (GPU ? join(process.env.VLLM_NODE_GPU_MODELS ?? '/tmp/models', 'qwen3-4b') : join(ROOT, '.models', 'tiny-qwen3')));
const rounds = num(o.rounds, 'rounds');
const warmups = num(o.warmup ?? (GPU ? 2 : 1), 'warmup');
// A fresh GPU host ran every path slowly for its first ~45 s of rounds (2026-12-04): warm up by time as well as count.
const warmupSeconds = num(o['warmup-s'] ?? (GPU ? 20 : 0), 'warmup-s');
const warmupSpent = {}; // seconds of work per path so far, across workloads
const minRoundS = num(o['min-round-s'], 'min-round-s');
const iterations = num(o.bootstrap, 'bootstrap');
const seed = num(o.seed, 'seed');
const pathIds = o.paths.split(',').filter(Boolean);
for (const p of pathIds) if (!['plain', 'node', 'serve', 'ref', 'alt'].includes(p)) throw new Error(`--paths: unknown path ${p}`);
// Paths that run inside Node's process, beside the node path's engine: the card shows one figure for them all (b's).
const IN_NODE_PROCESS = { ref: ' (= b)', alt: ' (= b: both engines)' };
// ref and alt run in this Node process: with node among the paths, the card figure is node's (both engines); alone
// (e.g. --paths plain,alt), alt is measured as its own root.
const sharesNode = (id) => id in IN_NODE_PROCESS && pathIds.includes('node');
// Engines whose card memory a path's figure holds: with alt, Node's process (b's figure) holds two, each under the cap.
const enginesIn = (id) => (id === 'node' && pathIds.includes('alt') ? 2 : 1);
const overCap = (id, mib, cap) => mib > cap * enginesIn(id);
if (pathIds.includes('ref') && !pathIds.includes('node')) throw new Error('--paths: ref runs on the node engine; add node');
const outDir = resolve(o.out ?? `/tmp/vllm-node-throughput-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}`);
mkdirSync(outDir, { recursive: true });
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// --- engine arguments: one set, in vLLM's names, given to every path ------------------------------------------
const extra = parseEngineArgFlags(o['engine-arg']);
const engineArgs = benchEngineArgs({
  gpu: GPU,
  model,
  gpuMem: num(o['gpu-mem'], 'gpu-mem'),
  maxModelLen: num(o['max-model-len'] ?? (GPU ? 4096 : 1024), 'max-model-len'),
  eager: o.eager,
  kvBytes: num(o['kv-bytes'] ?? 2 ** 30, 'kv-bytes'),
});
Object.assign(engineArgs, extra);
const swapSpace = num(o['swap-space'], 'swap-space');
const onOff = (flag) => {
  if (!['on', 'off'].includes(o[flag])) throw new Error(`--${flag}: on or off`);
  return o[flag] === 'on';
};
// --fast-start off: vllm-node's EngineCore spawned as plain vLLM's is, instead of forked from the fork server.
const fastStart = onOff('fast-start');
// --deterministic: vllm-node's engines (node, alt; ref runs on node's) with deterministic: true, vLLM's batch-invariant
// mode; plain vLLM and vllm serve keep vLLM's default, so node / plain is what the mode costs (issue 26, item 2).
const vllmNodeOptions = (args, fast) => ({ ...toNodeOptions(args, swapSpace), ...(fast ? {} : { fastStart: false }), ...(o.deterministic ? { deterministic: true } : {}) });
const nodeOptions = () => vllmNodeOptions(engineArgs, fastStart);
const altOverrides = parseEngineArgFlags(o['alt-engine-arg']);
const altFastStart = o['alt-fast-start'] === undefined ? fastStart : onOff('alt-fast-start');
const altOptions = () => vllmNodeOptions({ ...engineArgs, ...altOverrides }, altFastStart);
const altAbout = [...Object.entries(altOverrides).map(([k, v]) => `${k}=${JSON.stringify(v)}`), ...(altFastStart !== fastStart ? [`fastStart ${altFastStart}`] : [])].join(', ') || 'no overrides';
const serveArgs = (port) => toServeArgs(engineArgs, port, o['serve-arg']);

// --- workloads ---------------------------------------------------------------------------------------------------
// The seed's sampling for every path; ignore_eos fixes the output length where the workload allows it. --sampling
// greedy: temperature 0, no top-p, no penalty, to tell the sampler's share of the round-to-round spread (with random
// weights top-p 0.9 keeps most of the vocabulary, and vLLM's top-p kernels then do the most work).
const SAMPLINGS = { seed: { temperature: 0.1, top_p: 0.9, frequency_penalty: 0.1 }, greedy: { temperature: 0, top_p: 1, frequency_penalty: 0 } };
const SAMPLING = SAMPLINGS[o.sampling];
if (!SAMPLING) throw new Error(`--sampling: seed or greedy, not ${o.sampling}`);
const SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    company: { type: 'string' },
    location: { type: 'string' },
    remote: { type: 'boolean' },
    employment_type: { type: 'string', enum: ['full-time', 'part-time', 'contract', 'internship'] },
    salary: { type: 'string' },
    skills: { type: 'array', items: { type: 'string' } },
    summary: { type: 'string' },
  },
  required: ['title', 'company', 'location', 'remote', 'employment_type', 'salary', 'skills', 'summary'],
  additionalProperties: false,
};
const WORKLOADS = {
  seed: { n: 256, maxTokens: 128, ignoreEos: true, about: '256 concurrent requests × 128 tokens, ignore_eos (the seed workload)' },
  c1024: { n: 1024, maxTokens: 128, ignoreEos: true, about: '1,024 concurrent requests × 128 tokens, ignore_eos' },
  c4096: { n: 4096, maxTokens: 128, ignoreEos: true, about: '4,096 concurrent requests × 128 tokens, ignore_eos' },
  extraction: { n: 256, maxTokens: 200, ignoreEos: false, promptTokens: 1500, schema: SCHEMA, about: 'job postings of ~1,500 tokens, up to 200 output tokens under a JSON-schema constraint, 256 concurrent' },
  single: { n: 1, maxTokens: 50, ignoreEos: true, about: 'one request at a time, 50 tokens, ignore_eos (latency)' },
};
const WORDS = {
  title: ['Senior Software Engineer', 'Data Engineer', 'Product Designer', 'Site Reliability Engineer', 'Machine Learning Engineer', 'Backend Developer', 'Frontend Developer', 'Engineering Manager', 'Security Analyst', 'Technical Writer'],
  company: ['Northwind Labs', 'Acme Analytics', 'Blue Harbor Systems', 'Quantum Ledger', 'Greenfield Health', 'Orbital Freight', 'Maple Robotics', 'Silverline Media', 'Cedar Bank', 'Helios Energy'],
  city: ['Berlin', 'Lisbon', 'Toronto', 'Austin', 'Singapore', 'Warsaw', 'Melbourne', 'Dublin', 'Seattle', 'Nairobi'],
  skill: ['TypeScript', 'Python', 'Kubernetes', 'PostgreSQL', 'Kafka', 'Terraform', 'React', 'Go', 'Rust', 'Spark', 'Airflow', 'GraphQL', 'AWS', 'GCP', 'Linux', 'CI/CD'],
  team: ['payments', 'search', 'platform', 'growth', 'data infrastructure', 'mobile', 'observability', 'identity', 'billing', 'logistics'],
  verb: ['design', 'build', 'operate', 'scale', 'maintain', 'improve', 'document', 'test', 'review', 'migrate'],
  thing: ['services', 'pipelines', 'dashboards', 'APIs', 'deployment tooling', 'data models', 'internal libraries', 'alerting', 'batch jobs', 'user interfaces'],
  perk: ['a yearly learning budget', 'flexible hours', 'four weeks of paid leave', 'a home-office allowance', 'private health insurance', 'parental leave', 'a pension plan', 'team offsites twice a year'],
};
/** A synthetic job posting of about `tokens` tokens (the Qwen3 tokenizer: ~1.3 tokens per word here), seeded by i. */
function posting(i, tokens) {
  let s = (i + 1) * 2654435761;
  const pick = (xs) => {
    s = (Math.imul(s ^ (s >>> 13), 0x5bd1e995) + 0x27d4eb2d) >>> 0;
    return xs[s % xs.length];
  };
  const title = pick(WORDS.title);
  const company = pick(WORDS.company);
  const parts = [`${company} is hiring a ${title} in ${pick(WORDS.city)} (posting #${i}).`];
  const words = () => parts.join(' ').split(/\s+/).length;
  while (words() * 1.3 < tokens) {
    parts.push(`On the ${pick(WORDS.team)} team you will ${pick(WORDS.verb)} ${pick(WORDS.thing)} with ${pick(WORDS.skill)} and ${pick(WORDS.skill)}, and help other engineers ${pick(WORDS.verb)} ${pick(WORDS.thing)}.`);
    if (parts.length % 6 === 0) parts.push(`We offer ${pick(WORDS.perk)}, ${pick(WORDS.perk)} and a salary of ${40 + (parts.length % 90)},000 to ${60 + (parts.length % 120)},000 EUR.`);
  }
  return `Extract the job posting below as JSON.\n\n${parts.join(' ')}\n\nJSON:`;
}
function workload(name) {
  const base = WORKLOADS[name];
  if (!base) throw new Error(`--workloads: unknown workload ${name} (${Object.keys(WORKLOADS).join(', ')})`);
  const w = { name, ...base };
  if (o.n && w.n > 1) w.n = num(o.n, 'n'); // the single-request workload stays one request
  if (o['max-tokens']) w.maxTokens = num(o['max-tokens'], 'max-tokens');
  if (o['prompt-tokens'] && w.promptTokens) w.promptTokens = num(o['prompt-tokens'], 'prompt-tokens');
  w.prompts = Array.from({ length: w.n }, (_, i) =>
    w.promptTokens ? posting(i, w.promptTokens)
      : w.n === 1 ? 'Extract job title from: Software Engineer - Remote'
        : `Job posting ${i}: We are hiring a Senior Software Engineer at Company ${i} to build data pipelines. Remote, full-time, competitive salary. Extract the job title.`);
  w.params = { max_tokens: w.maxTokens, ...SAMPLING, ignore_eos: w.ignoreEos };
  return w;
}

// --- the paths ---------------------------------------------------------------------------------------------------
const LABEL = {
  plain: '(a) plain vLLM `LLM.generate`, own Python process',
  node: '(b) vllm-node, Node in-process',
  serve: '(c) `vllm serve` + Node `openai` client',
  ref: '(d) `reference_generate` (LLM.generate on (b)\'s engine; diagnostic)',
  alt: `(e) vllm-node, second engine: ${altAbout} (diagnostic)`,
};
const batchResult = (seconds, outputTokens, requests) => ({ seconds, outputTokens, requests });

class PlainPath extends PlainWorker {
  id = 'plain';
  constructor() {
    super(engineArgs, join(outDir, 'plain.log'));
  }
  async load(w) {
    const r = await this.send({ op: 'load', id: w.name, prompts: w.prompts, params: w.params, schema: w.schema ?? null });
    return { promptTokens: r.promptTokens };
  }
  async run(w, repeats) {
    return (await this.send({ op: 'run', id: w.name, repeats })).batches;
  }
}

class NodePath {
  constructor(id = 'node', options = nodeOptions) {
    this.id = id;
    this.options = options;
  }
  async start() {
    const t = performance.now();
    this.engine = await Engine.create({ model, ...this.options() }, { configFile: false });
    const info = this.engine.info;
    return {
      pid: process.pid,
      startSeconds: (performance.now() - t) / 1000,
      vllmVersion: info.vllmVersion,
      kvCacheTokens: info.numGpuBlocks != null ? info.numGpuBlocks * info.blockSize : null,
      config: { requested: info.requested, notes: info.notes, memory: info.memory, numGpuBlocks: info.numGpuBlocks, blockSize: info.blockSize, python: info.python, device: info.device },
    };
  }
  async load() {
    return {};
  }
  async run(w, repeats) {
    const opts = { maxTokens: w.maxTokens, temperature: SAMPLING.temperature, topP: SAMPLING.top_p, frequencyPenalty: SAMPLING.frequency_penalty, ignoreEos: w.ignoreEos, ...(w.schema ? { jsonSchema: w.schema } : {}) };
    const batches = [];
    for (let k = 0; k < repeats; k++) {
      const t = performance.now();
      const rs = await Promise.all(w.prompts.map((p) => this.engine.generateDetailed(p, opts)));
      batches.push(batchResult((performance.now() - t) / 1000, rs.reduce((a, r) => a + r.outputTokens, 0), rs.length));
    }
    return batches;
  }
  async close() {
    await this.engine?.close();
  }
}

/** vLLM's LLM.generate on our engine, in our process (tests/helpers/engine_calls.py); timed there, around it. */
class RefPath {
  id = 'ref';
  constructor(node) {
    this.node = node;
  }
  async start() {
    return { pid: process.pid, startSeconds: 0, note: 'the engine of (b)' };
  }
  async load() {
    return {};
  }
  async run(w, repeats) {
    const params = { ...w.params, ...(w.schema ? { json_schema: w.schema } : {}) };
    const batches = [];
    for (let k = 0; k < repeats; k++) {
      const r = await this.node.engine.call('reference_generate', { prompts: w.prompts, params });
      batches.push(batchResult(r.seconds, r.outputTokens.reduce((a, b) => a + b, 0), r.outputTokens.length));
    }
    return batches;
  }
  async close() {}
}

class ServePath extends ServeProcess {
  id = 'serve';
  constructor() {
    const port = num(o.port, 'port');
    super(serveArgs(port), join(outDir, 'serve.log'), port);
  }
  async start() {
    const info = await super.start();
    this.client = new OpenAI({ baseURL: this.baseURL, apiKey: 'none', maxRetries: 0, timeout: 3_600_000 });
    return info;
  }
  async load() {
    return {};
  }
  async run(w, repeats) {
    const body = (prompt) => ({
      model: 'bench',
      prompt,
      ...w.params,
      ...(w.schema ? { response_format: { type: 'json_schema', json_schema: { name: 'posting', schema: w.schema } } } : {}),
    });
    const batches = [];
    for (let k = 0; k < repeats; k++) {
      const t = performance.now();
      const rs = await Promise.all(w.prompts.map((p) => this.client.completions.create(body(p))));
      batches.push(batchResult((performance.now() - t) / 1000, rs.reduce((a, r) => a + (r.usage?.completion_tokens ?? 0), 0), rs.length));
    }
    return batches;
  }
}

// --- front-end CPU per path --------------------------------------------------------------------------------------
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
/** User + system CPU seconds of a process (every thread), or null where /proc cannot tell. */
function cpuSeconds(pid) {
  const f = pid ? statFields(pid) : null;
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : null; // utime, stime: fields 14 and 15
}
// Each path's start() reports the process that runs its front end (Node's own for node, ref and alt).
const frontEndPid = (id) => result.paths[id]?.pid;

// --- card memory per path ----------------------------------------------------------------------------------------
function nvidiaSmi(args) {
  try {
    return execFileSync('nvidia-smi', [...args, '--format=csv,noheader,nounits'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
/** MiB on the card per path (nvidia-smi's compute apps, each walked up to the nearest path's root process); null without nvidia-smi. */
function cardMemory(roots) {
  const apps = nvidiaSmi(['--query-compute-apps=pid,used_memory']);
  if (apps === null) return null;
  const byPath = {};
  for (const line of apps.split('\n').filter(Boolean)) {
    const [pid, mib] = line.split(',').map((x) => Number(x.trim()));
    let owner = 'unmapped';
    for (let p = pid, hops = 0; p && p > 1 && hops < 64; p = parentOf(p), hops++) {
      if (roots.has(p)) {
        owner = roots.get(p);
        break;
      }
    }
    byPath[owner] = (byPath[owner] ?? 0) + mib;
  }
  const card = nvidiaSmi(['--query-gpu=memory.used,memory.total']);
  const [used, total] = (card ?? '').split('\n')[0].split(',').map((x) => Number(x.trim()));
  return { byPath, cardUsedMiB: used, cardTotalMiB: total };
}

// --- the run -----------------------------------------------------------------------------------------------------
const fmt = (x, d = 0) => (x == null || Number.isNaN(x) ? 'n/a' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const RATIOS = [['node', 'plain'], ['node', 'serve'], ['node', 'ref'], ['node', 'alt'], ['alt', 'plain'], ['plain', 'serve']];

const result = {
  bench: 'bench/throughput.mjs',
  date: new Date().toISOString(),
  machine: machine(),
  command: `node ${process.argv.slice(1).map((a) => a.replace(`${ROOT}/`, '')).join(' ')}${process.env.BENCH_GPU ? ' (BENCH_GPU=1)' : ''}`,
  gitHead: (() => {
    try {
      return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  })(),
  platform: GPU ? 'gpu' : 'cpu',
  engineArgs,
  nodeOnly: { swapSpace, fastStart, deterministic: o.deterministic, alt: pathIds.includes('alt') ? { overrides: altOverrides, fastStart: altFastStart } : undefined, note: 'vllm-node options beyond the engine arguments: swapSpace (0 = no native KV offload, as plain vLLM), fastStart and the memory cap as the package applies them' },
  sampling: SAMPLING,
  settings: { rounds, warmups, warmupSeconds, minRoundSeconds: minRoundS, order: o.order, seed, bootstrapIterations: iterations, tolerance: TOLERANCE, minRounds: MIN_ROUNDS, timing: 'plain and ref: around LLM.generate in Python; node and serve: around Promise.all in Node' },
  notes: {
    jsonSchema: `plain: SamplingParams(structured_outputs=StructuredOutputsParams(json=schema)); serve: response_format json_schema; vllm-node: the jsonSchema option. ${engineArgs.structured_outputs_config ? 'Every path\'s engine has the structured_outputs_config above' : 'The grammars differ: vllm-node\'s engines default to compact JSON (structured_outputs_config.disable_any_whitespace, which vLLM reads engine-wide), plain and serve have vLLM\'s default (free whitespace); pin it for all paths with --engine-arg structured_outputs_config=...'}.`,
    serve: 'vLLM\'s defaults otherwise (uvicorn access log on), the completions endpoint, text prompts; tokens counted from usage.completion_tokens. Its scheduler defaults are the API server\'s, which vLLM sets apart from LLM\'s (vllm/engine/arg_utils.py): on a 70-160 GB GPU max_num_batched_tokens 8192 against 16384, on the CPU max_num_seqs 128 against 256 and max_num_batched_tokens 2048 against 4096; --engine-arg pins them for all paths',
  },
  paths: {},
  workloads: [],
};
const paths = {};
const roots = new Map();

async function startPaths() {
  // One after the other: each engine's memory profiling must see the others idle, not starting.
  for (const id of pathIds) {
    const path = id === 'plain' ? new PlainPath() : id === 'node' ? new NodePath() : id === 'alt' ? new NodePath('alt', altOptions) : id === 'serve' ? new ServePath() : new RefPath(paths.node);
    if (id === 'ref' && !paths.node) {
      result.paths.ref = { label: LABEL.ref, error: 'the node path did not start' };
      continue;
    }
    log(`starting ${LABEL[id]}`);
    try {
      const info = await path.start();
      paths[id] = path;
      if (!sharesNode(id)) roots.set(info.pid, id);
      result.paths[id] = { label: LABEL[id], ...info };
      result.vllmVersion ??= info.vllmVersion;
      log(`${id} ready in ${info.startSeconds.toFixed(1)} s${info.kvCacheTokens ? `, KV cache ${fmt(info.kvCacheTokens)} tokens` : ''}`);
    } catch (err) {
      log(`${id} failed to start: ${err.stack ?? err}`);
      result.paths[id] = { label: LABEL[id], error: String(err.message ?? err).slice(0, 4000) };
      await path.close().catch(() => {});
    }
  }
  result.memoryAfterStart = cardMemory(roots);
}

async function runWorkload(name) {
  const w = workload(name);
  const live = () => pathIds.filter((id) => paths[id]);
  const entry = { name, about: w.about, n: w.n, maxTokens: w.maxTokens, ignoreEos: w.ignoreEos, jsonSchema: Boolean(w.schema), promptTokens: null, paths: {}, ratios: [] };
  result.workloads.push(entry);
  for (const id of live()) entry.paths[id] = { rounds: [], memoryMiB: [] };
  const fail = async (id, err) => {
    log(`${id} failed on ${name}: ${err.stack ?? err}`);
    entry.paths[id].error = String(err.message ?? err).slice(0, 4000);
    const p = paths[id];
    delete paths[id];
    if (id === 'node' && paths.ref) delete paths.ref;
    await p.close().catch(() => {});
  };
  for (const id of live()) {
    try {
      const l = await paths[id].load(w);
      if (l.promptTokens) entry.promptTokens = l.promptTokens;
    } catch (err) {
      await fail(id, err);
    }
  }
  // warm-up: every path runs the batch; the last warm-up of the fastest path sizes the rounds
  // (at least --warmup batches each, then more, interleaved, until every path has spent --warmup-s in this process:
  // the seconds carry over from earlier workloads, since what warms up is the fresh process and card, not the shape)
  const warm = {};
  const spent = warmupSpent;
  const more = (k) => k < warmups || live().some((id) => (spent[id] ?? 0) < warmupSeconds);
  for (let k = 0; more(k); k++) {
    for (const id of live()) {
      try {
        const [b] = await paths[id].run(w, 1);
        warm[id] = b.seconds;
        spent[id] = (spent[id] ?? 0) + b.seconds;
        log(`${name} warm-up ${k + 1} ${id}: ${b.seconds.toFixed(2)} s, ${b.outputTokens} tokens (${spent[id].toFixed(1)} s so far)`);
      } catch (err) {
        await fail(id, err);
      }
    }
  }
  if (!live().length) throw new Error(`${name}: no path left`);
  entry.repeats = o.repeats ? num(o.repeats, 'repeats') : repeatsFor(live().map((id) => warm[id]).filter((x) => x > 0), minRoundS);
  entry.schedule = schedule(live(), rounds, { order: o.order, seed });
  log(`${name}: ${rounds} rounds of ${entry.repeats} batch(es) × ${w.n} request(s) per path, order ${o.order}`);
  for (let r = 0; r < rounds; r++) {
    for (const id of entry.schedule[r]) {
      if (!paths[id]) continue;
      try {
        const cpu0 = cpuSeconds(frontEndPid(id));
        const batches = await paths[id].run(w, entry.repeats);
        const cpu1 = cpuSeconds(frontEndPid(id));
        const seconds = batches.reduce((a, b) => a + b.seconds, 0);
        const tokens = batches.reduce((a, b) => a + b.outputTokens, 0);
        const requests = batches.reduce((a, b) => a + b.requests, 0);
        const sorted = batches.map((b) => b.seconds).sort((a, b) => a - b);
        entry.paths[id].rounds.push({ round: r, seconds, outputTokens: tokens, requests, tokPerS: tokens / seconds, batchSecondsMedian: sorted[Math.floor(sorted.length / 2)], batchSeconds: batches.map((b) => +b.seconds.toFixed(4)), ...(cpu0 != null && cpu1 != null && tokens > 0 ? { frontEndCpuSeconds: +(cpu1 - cpu0).toFixed(3), frontEndCpuMsPer1kTokens: ((cpu1 - cpu0) * 1e6) / tokens } : {}) });
        const mem = cardMemory(roots);
        if (mem) entry.paths[id].memoryMiB.push(mem.byPath[sharesNode(id) ? 'node' : id] ?? 0);
        log(`${name} round ${r + 1}/${rounds} ${id}: ${(tokens / seconds).toFixed(0)} tok/s (${seconds.toFixed(2)} s, ${tokens} tokens)`);
      } catch (err) {
        await fail(id, err);
      }
    }
    // after every round, so that a window cut short (the device taken back) keeps the rounds it ran
    figures(entry, w);
    save();
  }
  return entry;
}

/** The workload's summaries, ratios and latency difference from the rounds so far. */
function figures(entry, w) {
  entry.ratios = [];
  const perRound = (id) => entry.paths[id]?.rounds.map((x) => x.tokPerS) ?? [];
  for (const id of Object.keys(entry.paths)) {
    const xs = perRound(id);
    const p = entry.paths[id];
    if (xs.length) {
      p.tokPerS = summarize(xs);
      p.requestSeconds = summarize(p.rounds.map((x) => x.batchSecondsMedian));
      const cpu = p.rounds.map((x) => x.frontEndCpuMsPer1kTokens).filter((x) => x != null);
      if (cpu.length) p.frontEndCpuMsPer1kTokens = summarize(cpu);
    }
    if (p.memoryMiB.length) p.memoryMaxMiB = Math.max(...p.memoryMiB);
  }
  // Pair by round only where both paths have every round (a path that failed midway is compared unpaired).
  const byRound = (id) => new Map(entry.paths[id].rounds.map((x) => [x.round, x.tokPerS]));
  for (const [a, b] of RATIOS) {
    if (!perRound(a).length || !perRound(b).length) continue;
    const ma = byRound(a);
    const mb = byRound(b);
    const common = [...ma.keys()].filter((k) => mb.has(k));
    const paired = common.length === ma.size && common.length === mb.size;
    // Paired: the median of the per-round ratios (a drift common to a round cancels); unpaired: the ratio of medians.
    const rom = ratioOfMedians(perRound(a), perRound(b), { iterations, seed, paired });
    const ci = paired ? medianOfRatios(common.map((k) => ma.get(k)), common.map((k) => mb.get(k)), { iterations, seed }) : rom;
    entry.ratios.push({ num: a, den: b, statistic: paired ? 'median of per-round ratios' : 'ratio of medians', ratio: ci.ratio, lo: ci.lo, hi: ci.hi, halfWidth: ci.halfWidth, resolved: ci.resolved, reason: ci.reason, paired, rounds: Math.min(ma.size, mb.size), ratioOfMedians: { ratio: rom.ratio, lo: rom.lo, hi: rom.hi } });
  }
  if (w.n === 1 && perRound('node').length && perRound('plain').length) {
    // single request: per-round median latency, ours minus plain (target: <= +5 ms)
    const lat = (id) => entry.paths[id].rounds.map((x) => x.batchSecondsMedian * 1000);
    const paired = entry.paths.node.rounds.length === entry.paths.plain.rounds.length;
    const d = diffOfMedians(lat('node'), lat('plain'), { iterations, seed, paired });
    entry.latencyDiffMs = { nodeMinusPlain: d.diff, lo: d.lo, hi: d.hi, paired };
  }
}

// --- output ------------------------------------------------------------------------------------------------------
function markdown() {
  const r = result;
  const a = r.engineArgs;
  const lines = [
    '',
    `## Throughput: plain vLLM, vllm-node and \`vllm serve\` in interleaved rounds (bench/throughput.mjs) (${r.date.slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `- machine: ${r.machine}; vLLM ${r.vllmVersion ?? '?'}${r.gitHead ? `; main ${r.gitHead}` : ''}`,
    `- command: \`${r.command}\``,
    `- engine arguments, the same for every path: \`${JSON.stringify(a)}\`${r.platform === 'gpu' ? ` — all engines resident on one card at once, so each gets ${a.gpu_memory_utilization} of it` : ''}; vllm-node: \`swapSpace: ${r.nodeOnly.swapSpace}\`, its own memory cap, \`fastStart: ${r.nodeOnly.fastStart !== false}\`${r.nodeOnly.deterministic ? ', `deterministic: true` (vLLM\'s batch-invariant mode; plain and serve without it)' : ''}; sampling ${JSON.stringify(r.sampling)}`,
    `- ${r.settings.rounds} rounds per path after ${r.settings.warmups} warm-up batch(es)${r.settings.warmupSeconds ? ` and, in the first workload(s), until each path had run ${r.settings.warmupSeconds} s since its start (interleaved)` : ''}, order ${r.settings.order} (seed ${r.settings.seed}), each round ≥ ${r.settings.minRoundSeconds} s of work sized on the fastest warm-up; 95% intervals: bootstrap over rounds (${r.settings.bootstrapIterations} resamples, seed ${r.settings.seed}) of the median of the per-round ratios (paths paired by round; the ratio of medians beside it); a ratio wider than ±${r.settings.tolerance * 100}% or from fewer than ${r.settings.minRounds} rounds is **not resolved**. Timing: ${r.settings.timing}.`,
  ];
  lines.push(`- \`vllm serve\`: ${r.notes.serve}`);
  for (const [id, p] of Object.entries(r.paths)) {
    lines.push(`- ${p.label}: ${p.error ? `**failed**: ${p.error.split('\n')[0].slice(0, 300)}` : `start ${p.startSeconds.toFixed(1)} s${p.kvCacheTokens ? `, KV cache ${fmt(p.kvCacheTokens)} tokens` : ''}${batchOf(p)}`}`);
  }
  lines.push('', '| workload | path | tok/s median | min – max | IQR | s per batch (median) | rounds × batches | front-end CPU ms per 1k tokens (median, min – max) | card MiB (max) |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const w of r.workloads) {
    for (const [id, p] of Object.entries(w.paths)) {
      const t = p.tokPerS;
      const cap = r.memoryAfterStart?.cardTotalMiB ? a.gpu_memory_utilization * r.memoryAfterStart.cardTotalMiB : null;
      const mem = p.memoryMaxMiB != null ? `${fmt(p.memoryMaxMiB)}${(sharesNode(id) && IN_NODE_PROCESS[id]) || `${enginesIn(id) > 1 ? ' (b and e)' : ''}${cap && overCap(id, p.memoryMaxMiB, cap) ? ' **over cap**' : ''}`}` : 'n/a';
      const c = p.frontEndCpuMsPer1kTokens;
      const cpu = c ? `${fmt(c.median)} (${fmt(c.min)} – ${fmt(c.max)})` : 'n/a';
      lines.push(t
        ? `| ${w.name} | ${LABEL[id]} | ${fmt(t.median)} | ${fmt(t.min)} – ${fmt(t.max)} | ${fmt(t.iqr)} | ${p.requestSeconds.median.toFixed(3)} | ${t.n} × ${w.repeats} | ${cpu} | ${mem} |`
        : `| ${w.name} | ${LABEL[id]} | failed: ${(p.error ?? 'no rounds').split('\n')[0].slice(0, 120)} | | | | | | ${mem} |`);
    }
  }
  lines.push('', '| workload | ratio (tok/s; paired: median of per-round ratios) | estimate | 95% interval | ± | verdict | ratio of medians [95%] |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const w of r.workloads) {
    for (const q of w.ratios) {
      const rom = q.ratioOfMedians ? `${pct(q.ratioOfMedians.ratio)} [${pct(q.ratioOfMedians.lo)} – ${pct(q.ratioOfMedians.hi)}]` : '';
      lines.push(`| ${w.name} | ${q.num} / ${q.den} | ${q.resolved ? `**${pct(q.ratio)}**` : pct(q.ratio)} | ${pct(q.lo)} – ${pct(q.hi)} | ±${(q.halfWidth * 100).toFixed(1)}% | ${q.resolved ? 'resolved' : `not resolved (${q.reason})`}${q.paired ? '' : ', unpaired'} | ${rom} |`);
    }
  }
  lines.push('');
  if (r.workloads.some((w) => w.jsonSchema)) lines.push(`- JSON schema: ${r.notes.jsonSchema}`);
  for (const w of r.workloads) {
    const extra = [];
    if (w.promptTokens) extra.push(`prompt tokens ${fmt(w.promptTokens.min)}–${fmt(w.promptTokens.max)} (mean ${fmt(w.promptTokens.mean)})`);
    if (w.latencyDiffMs) extra.push(`single-request latency node − plain: ${w.latencyDiffMs.nodeMinusPlain.toFixed(1)} ms (95% ${w.latencyDiffMs.lo.toFixed(1)} – ${w.latencyDiffMs.hi.toFixed(1)} ms; target ≤ +5 ms)`);
    lines.push(`- ${w.name}: ${w.about}${w.n !== WORKLOADS[w.name].n || w.maxTokens !== WORKLOADS[w.name].maxTokens ? ` — **this run: ${w.n} × ${w.maxTokens} tokens**` : ''}${extra.length ? `; ${extra.join('; ')}` : ''}`);
  }
  if (r.memoryAfterStart) {
    const m = r.memoryAfterStart;
    const cap = Math.round(a.gpu_memory_utilization * m.cardTotalMiB);
    lines.push(`- card after the starts: ${fmt(m.cardUsedMiB)} / ${fmt(m.cardTotalMiB)} MiB; per path (cap ${a.gpu_memory_utilization} × card = ${fmt(cap)} MiB each) ${Object.entries(m.byPath).map(([k, v]) => (k === 'unmapped' ? `not in any path's process tree ${fmt(v)} MiB` : `${k} ${fmt(v)} MiB (${overCap(k, v, cap) ? '**over**' : 'within'}${enginesIn(k) > 1 ? ' twice the cap: two engines, b and e' : ''})`)).join(', ')}`);
  } else {
    lines.push('- card memory: n/a (no GPU)');
  }
  return `${lines.filter((l, i, xs) => !(l === '' && xs[i - 1] === '')).join('\n')}\n`;
}
function save() {
  writeFileSync(join(outDir, 'throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'throughput.md'), markdown());
}

let closing = false;
async function closeAll() {
  if (closing) return;
  closing = true;
  for (const id of ['ref', 'alt', 'serve', 'plain', 'node']) await paths[id]?.close().catch((e) => log(`closing ${id}: ${e.message}`));
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: closing the engines`);
    closeAll().finally(() => process.exit(130));
  });
}

if (o['dry-run']) {
  const sizes = o.workloads.split(',').filter(Boolean).map((name) => {
    const w = workload(name);
    return { name, n: w.n, maxTokens: w.maxTokens, params: w.params, jsonSchema: Boolean(w.schema), promptChars: w.prompts[0].length };
  });
  console.log(JSON.stringify({ python, plain: engineArgs, node: { model, ...nodeOptions() }, ...(pathIds.includes('alt') ? { alt: { model, ...altOptions() } } : {}), serve: serveArgs(num(o.port, 'port')), workloads: sizes }, null, 2));
  process.exit(0);
}

let rc = 0;
try {
  log(`output: ${outDir}; engine arguments ${JSON.stringify(engineArgs)}`);
  await startPaths();
  save();
  if (!Object.keys(paths).length) throw new Error('no path started');
  for (const name of o.workloads.split(',').filter(Boolean)) {
    try {
      await runWorkload(name);
    } catch (err) {
      log(`workload ${name} failed: ${err.stack ?? err}`);
      rc = 1;
    }
    save();
  }
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  rc = 1;
} finally {
  save();
  await closeAll();
}
console.log(markdown());
log(`wrote ${join(outDir, 'throughput.json')} and ${join(outDir, 'throughput.md')}`);
process.exit(rc || (Object.values(result.paths).some((p) => p.error) ? 2 : 0));
