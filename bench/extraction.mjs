#!/usr/bin/env node
// The extraction benchmark (issue 25, item 6): job postings (bench/postings.mjs) extracted into an 8-field schema by
// the three paths a user would pick, resident side by side with the same engine arguments, in interleaved rounds:
//   (a) plain  plain vLLM `LLM.chat` with StructuredOutputsParams(json=schema), own Python process (bench/plain_vllm.py)
//   (b) node   vllm-node `Engine.extractMany` with the zod schema (in process)
//   (c) serve  `vllm serve` + Node's `openai` client, chat.completions with response_format json_schema
// Like for like: every engine gets vllm-node's structured-outputs setting (xgrammar, disable_any_whitespace; vLLM's
// xgrammar backend reads it engine-wide), the JSON Schema is the one vllm-node derives from the zod schema, and the
// chats are the ones extractMany sends (taken from its first warm-up batch: system instructions with the schema, the
// posting as the user turn, its chat-template variables), so all three render the same prompt; prompt tokens are
// compared per posting. Per path: postings/s per round, per-posting latency from the batch's start (p50/p99; plain:
// when LLM.chat's loop saw the request finish), and the answers scored against the expected fields.
// Then single-posting latency (one request at a time), and again with n-gram speculation (--spec): each engine
// started anew with speculative_config, since vLLM sets speculation per engine.
// Writes DIR/extraction.json and DIR/extraction.md (a section for docs/benchmarks.md), rewritten after each phase.
//   GPU: BENCH_GPU=1 node bench/extraction.mjs --out DIR          (256 postings, 10 rounds, the qwen3-4b shape)
//   CPU: nice node bench/extraction.mjs --n 16 --rounds 3 --single 4 --out DIR
// Flags (defaults): --model (GPU: $VLLM_NODE_GPU_MODELS/qwen3-4b, CPU: .models/tiny-qwen3) --paths plain,node,serve
//   --n (GPU 256, CPU 16) --posting-tokens 300-1500 --max-tokens 256 --rounds 10 --warmup (GPU 2, CPU 1)
//   --min-round-s (GPU 5, CPU 0) --order rotate|random|fixed --seed 1 --bootstrap 10000 --single (postings per
//   single-latency round; GPU 8, CPU 4) --spec none,ngram (the speculation modes, each its own engine start)
//   --spec-tokens 4 --spec-lookup 2-4 (prompt_lookup_min-max) --node-spec auto|engine-args|option (how the node path
//   asks for speculation: auto = the typed `speculative` option where vllm-node has it) --parts throughput,single
//   --gpu-mem 0.28 --max-model-len (GPU 4096, CPU 2048) --eager --kv-bytes (CPU: 1 GiB) --engine-arg key=value
//   --serve-arg ARG --port 8012 --out DIR --gpu --dry-run
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import OpenAI from 'openai';
import { Engine, EngineOptionsSchema, toJsonSchema } from 'vllm-node';

import { machine, ROOT } from './common.mjs';
import { extractionReport } from './extraction-report.mjs';
import { benchEngineArgs, nodeOptions, parseEngineArgFlags, PlainWorker, ServeProcess, serveArgs } from './paths.mjs';
import { PostingSchema, postings, scoreAnswer, summarizeScores } from './postings.mjs';
import { diffOfMedians, MIN_ROUNDS, quantile, ratioOfMedians, repeatsFor, schedule, summarize } from './stats.mjs';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string' },
    paths: { type: 'string', default: 'plain,node,serve' },
    n: { type: 'string' },
    'posting-tokens': { type: 'string', default: '300-1500' },
    'max-tokens': { type: 'string', default: '256' },
    rounds: { type: 'string', default: String(MIN_ROUNDS) },
    warmup: { type: 'string' },
    'min-round-s': { type: 'string' },
    order: { type: 'string', default: 'rotate' },
    seed: { type: 'string', default: '1' },
    bootstrap: { type: 'string', default: '10000' },
    single: { type: 'string' },
    spec: { type: 'string', default: 'none,ngram' },
    'spec-tokens': { type: 'string', default: '4' },
    'spec-lookup': { type: 'string', default: '2-4' },
    'node-spec': { type: 'string', default: 'auto' },
    parts: { type: 'string', default: 'throughput,single' },
    'gpu-mem': { type: 'string', default: '0.28' },
    'max-model-len': { type: 'string' },
    eager: { type: 'boolean', default: false },
    'kv-bytes': { type: 'string' },
    'engine-arg': { type: 'string', multiple: true, default: [] },
    'serve-arg': { type: 'string', multiple: true, default: [] },
    port: { type: 'string', default: '8012' },
    out: { type: 'string' },
    gpu: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  },
});
const GPU = Boolean(process.env.BENCH_GPU) || o.gpu;
const num = (v, name) => {
  const x = Number(v);
  if (v === undefined || !Number.isFinite(x)) throw new Error(`--${name}: not a number: ${v}`);
  return x;
};
const range = (v, name) => {
  const [a, b] = v.split('-').map((x) => num(x, name));
  return [a, b ?? a];
};
const model = resolve(o.model ?? (GPU ? join(process.env.VLLM_NODE_GPU_MODELS ?? '/tmp/models', 'qwen3-4b') : join(ROOT, '.models', 'tiny-qwen3')));
const n = num(o.n ?? (GPU ? 256 : 16), 'n');
const [minTok, maxTok] = range(o['posting-tokens'], 'posting-tokens');
const maxTokens = num(o['max-tokens'], 'max-tokens');
const rounds = num(o.rounds, 'rounds');
const warmups = num(o.warmup ?? (GPU ? 2 : 1), 'warmup');
const minRoundS = num(o['min-round-s'] ?? (GPU ? 5 : 0), 'min-round-s');
const iterations = num(o.bootstrap, 'bootstrap');
const seed = num(o.seed, 'seed');
const singleN = num(o.single ?? (GPU ? 8 : 4), 'single');
const pathIds = o.paths.split(',').filter(Boolean);
for (const p of pathIds) if (!['plain', 'node', 'serve'].includes(p)) throw new Error(`--paths: unknown path ${p}`);
// extractMany's own chats are what every path is given: without the node path there are no prompts to compare.
if (!pathIds.includes('node')) throw new Error('--paths: the node path defines the chats every path is given; keep node');
const specModes = o.spec.split(',').filter(Boolean);
for (const s of specModes) if (!['none', 'ngram'].includes(s)) throw new Error(`--spec: unknown mode ${s} (none, ngram)`);
const parts = new Set(o.parts.split(',').filter(Boolean));
const outDir = resolve(o.out ?? `/tmp/vllm-node-extraction-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}`);
mkdirSync(outDir, { recursive: true });
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// --- one setting for every path ----------------------------------------------------------------------------------
const baseArgs = benchEngineArgs({ gpu: GPU, model, gpuMem: num(o['gpu-mem'], 'gpu-mem'), maxModelLen: num(o['max-model-len'] ?? (GPU ? 4096 : 2048), 'max-model-len'), eager: o.eager, kvBytes: num(o['kv-bytes'] ?? 2 ** 30, 'kv-bytes') });
// vllm-node's engine setting (src/engine.ts), given to all three so that all decode the same grammar.
baseArgs.structured_outputs_config = { backend: 'xgrammar', disable_any_whitespace: true };
Object.assign(baseArgs, parseEngineArgFlags(o['engine-arg']));
const [lookupMin, lookupMax] = range(o['spec-lookup'], 'spec-lookup');
const SPEC = { method: 'ngram', num_speculative_tokens: num(o['spec-tokens'], 'spec-tokens'), prompt_lookup_min: lookupMin, prompt_lookup_max: lookupMax };
const argsFor = (mode) => (mode === 'ngram' ? { ...baseArgs, speculative_config: SPEC } : { ...baseArgs });
// The node path asks for speculation through the typed option where vllm-node has one, else through engineArgs.
const nodeSpecVia = o['node-spec'] === 'auto' ? ('speculative' in EngineOptionsSchema.shape ? 'option' : 'engine-args') : o['node-spec'];
function nodeOptionsFor(mode) {
  const args = argsFor(mode);
  if (mode !== 'ngram' || nodeSpecVia === 'engine-args') return { model, ...nodeOptions(args, 0) };
  delete args.speculative_config;
  return { model, ...nodeOptions(args, 0), speculative: { method: 'ngram', numSpeculativeTokens: SPEC.num_speculative_tokens, promptLookupMin: lookupMin, promptLookupMax: lookupMax } };
}
// The seed's sampling, in vLLM's names and in vllm-node's.
const SAMPLING = { max_tokens: maxTokens, temperature: 0.1, top_p: 0.9, frequency_penalty: 0.1 };
const NODE_SAMPLING = { maxTokens, temperature: SAMPLING.temperature, topP: SAMPLING.top_p, frequencyPenalty: SAMPLING.frequency_penalty };
const JSON_SCHEMA = toJsonSchema(PostingSchema); // extractMany's own conversion of the zod schema
const POSTINGS = postings(n, { seed, minTokens: minTok, maxTokens: maxTok });
const SINGLE = POSTINGS.slice(0, Math.min(singleN, n));

/** The chats extractMany sent, by posting, with the chat-template variables its options set (filled by NodePath). */
const chats = { messages: new Map(), kwargs: undefined, promptTokens: new Map() };
const templateKwargs = (s) => (s.thinking === undefined ? s.chatTemplateKwargs : { ...s.chatTemplateKwargs, enable_thinking: s.thinking !== false, thinking: s.thinking !== false });
const chatList = (items) => items.map((p) => chats.messages.get(p.id));

// --- the paths: run(items, single) -> { seconds, latencies[], answers[], promptTokens[]?, outputTokens? } ------------
class NodePath {
  id = 'node';
  constructor(mode) {
    this.mode = mode;
  }
  async start() {
    const t = performance.now();
    this.engine = await Engine.create(nodeOptionsFor(this.mode), { configFile: false });
    const info = this.engine.info;
    return { pid: process.pid, startSeconds: (performance.now() - t) / 1000, vllmVersion: info.vllmVersion, kvCacheTokens: info.numGpuBlocks != null ? info.numGpuBlocks * info.blockSize : null, config: { requested: info.requested, notes: info.notes, device: info.device, speculationVia: this.mode === 'ngram' ? nodeSpecVia : null } };
  }
  /** The first batch records the chats extractMany sends (its public chatDetailed, wrapped on this instance only). */
  async capture(items) {
    const seen = [];
    this.engine.chatDetailed = async (messages, sampling) => {
      const r = await Engine.prototype.chatDetailed.call(this.engine, messages, sampling);
      seen.push({ messages, sampling, promptTokens: r.promptTokens });
      return r;
    };
    try {
      return await this.run(items, false);
    } finally {
      delete this.engine.chatDetailed;
      for (const p of items) {
        const s = seen.find((x) => x.messages.at(-1).content === p.text);
        if (!s) throw new Error(`extractMany did not send posting ${p.id} as it is (cut to fit? raise --max-model-len)`);
        chats.messages.set(p.id, s.messages);
        chats.promptTokens.set(p.id, s.promptTokens);
        chats.kwargs = templateKwargs(s.sampling);
      }
    }
  }
  async run(items, single) {
    const answer = (r) => (r.ok ? { value: r.value } : { error: r.error.code, text: r.error.rawText });
    if (single) {
      const latencies = [];
      const answers = [];
      for (const p of items) {
        const t = performance.now();
        const [r] = await this.engine.extractMany([p.text], PostingSchema, NODE_SAMPLING);
        latencies.push((performance.now() - t) / 1000);
        answers.push(answer(r));
      }
      return { seconds: latencies.reduce((a, b) => a + b, 0), latencies, answers };
    }
    const latencies = [];
    const t = performance.now();
    const rs = await this.engine.extractMany(items.map((p) => p.text), PostingSchema, { ...NODE_SAMPLING, onProgress: () => latencies.push((performance.now() - t) / 1000) });
    return { seconds: (performance.now() - t) / 1000, latencies, answers: rs.map(answer), promptTokens: items.map((p) => chats.promptTokens.get(p.id)) };
  }
  async close() {
    await this.engine?.close();
  }
}

class PlainPath extends PlainWorker {
  id = 'plain';
  constructor(mode) {
    super(argsFor(mode), join(outDir, `plain-${mode}.log`));
  }
  async run(items, single) {
    const id = items.map((p) => p.id).join(',');
    if (this.loaded !== id) {
      // The same per-request constraint as vllm-node's (python/vllm_node/requests.py).
      await this.send({ op: 'load', id, messages: chatList(items), chat_template_kwargs: chats.kwargs ?? null, params: SAMPLING, structured: { json: JSON_SCHEMA } });
      this.loaded = id;
    }
    const [b] = (await this.send({ op: 'run', id, repeats: 1, texts: true, each: single })).batches;
    return { seconds: b.seconds, latencies: single ? b.requestSeconds : b.finishSeconds, answers: b.texts.map((text) => ({ text })), promptTokens: b.promptTokens, outputTokens: b.outputTokens };
  }
}

class ServePath extends ServeProcess {
  id = 'serve';
  constructor(mode) {
    const port = num(o.port, 'port');
    super(serveArgs(argsFor(mode), port, o['serve-arg']), join(outDir, `serve-${mode}.log`), port);
  }
  async start() {
    const info = await super.start();
    this.client = new OpenAI({ baseURL: this.baseURL, apiKey: 'none', maxRetries: 0, timeout: 3_600_000 });
    return info;
  }
  request(messages) {
    return this.client.chat.completions.create({
      model: 'bench',
      messages,
      ...SAMPLING,
      response_format: { type: 'json_schema', json_schema: { name: 'posting', schema: JSON_SCHEMA } },
      ...(chats.kwargs ? { chat_template_kwargs: chats.kwargs } : {}),
    });
  }
  async run(items, single) {
    const t = performance.now();
    const latencies = [];
    const timed = async (messages, start) => {
      const r = await this.request(messages);
      latencies.push((performance.now() - start) / 1000);
      return r;
    };
    const rs = [];
    if (single) {
      for (const m of chatList(items)) rs.push(await timed(m, performance.now()));
    } else {
      rs.push(...(await Promise.all(chatList(items).map((m) => timed(m, t)))));
    }
    return {
      seconds: (performance.now() - t) / 1000,
      latencies,
      answers: rs.map((r) => ({ text: r.choices[0]?.message?.content ?? '' })),
      promptTokens: rs.map((r) => r.usage?.prompt_tokens),
      outputTokens: rs.reduce((a, r) => a + (r.usage?.completion_tokens ?? 0), 0),
    };
  }
}

// --- the run -----------------------------------------------------------------------------------------------------
const LABEL = { plain: '(a) plain vLLM `LLM.chat` + structured outputs', node: '(b) vllm-node `extractMany`', serve: '(c) `vllm serve` + `openai` response_format' };
const result = {
  bench: 'bench/extraction.mjs',
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
  engineArgs: baseArgs,
  speculativeConfig: SPEC,
  nodeSpeculationVia: nodeSpecVia,
  sampling: SAMPLING,
  postings: { n, seed, postingTokens: [minTok, maxTok], single: SINGLE.length, schemaFields: Object.keys(PostingSchema.shape) },
  jsonSchema: JSON_SCHEMA,
  settings: { rounds, warmups, minRoundSeconds: minRoundS, order: o.order, seed, bootstrapIterations: iterations, parts: [...parts] },
  modes: {},
};
const save = () => {
  writeFileSync(join(outDir, 'extraction.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'extraction.md'), extractionReport(result, LABEL));
};

let live = {};
async function closeAll() {
  for (const id of ['serve', 'plain', 'node']) await live[id]?.close().catch((e) => log(`closing ${id}: ${e.message}`));
  live = {};
}
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void closeAll().finally(() => process.exit(130)));

/**
 * Warm-up, then rounds in which every live path runs `items` (order rotated per round); a failing path drops out. The
 * part is registered in `result` at once and summarized and saved after every round, so a window cut short (the device
 * taken back) keeps its rounds.
 */
async function rounds_(mode, part, items, single) {
  const entry = { items: items.length, rounds: {}, errors: {}, paths: {}, ratios: [], latencyDiffs: [] };
  result.modes[mode].parts[part] = entry;
  const ids = () => pathIds.filter((id) => live[id]);
  const fail = async (id, err) => {
    log(`${mode}/${part} ${id} failed: ${err.stack ?? err}`);
    entry.errors[id] = String(err.message ?? err).slice(0, 2000);
    await live[id].close().catch(() => {});
    delete live[id];
  };
  const warm = {};
  for (let k = 0; k < warmups; k++) {
    // node first: its first batch defines the chats of the others
    for (const id of ids().sort((a, b) => (b === 'node') - (a === 'node'))) {
      try {
        const b = id === 'node' && !items.every((p) => chats.messages.has(p.id)) ? await live.node.capture(items) : await live[id].run(items, single);
        warm[id] = b.seconds;
        log(`${mode}/${part} warm-up ${k + 1}/${warmups} ${id}: ${b.seconds.toFixed(2)} s`);
      } catch (err) {
        await fail(id, err);
      }
    }
  }
  if (!result.promptTokens && chats.promptTokens.size) {
    const xs = [...chats.promptTokens.values()];
    result.promptTokens = { min: Math.min(...xs), max: Math.max(...xs), mean: mean(xs), n: xs.length };
  }
  entry.repeats = single ? 1 : repeatsFor(ids().map((id) => warm[id]).filter((x) => x > 0), minRoundS);
  entry.schedule = schedule(ids(), rounds, { order: o.order, seed });
  for (const id of ids()) entry.rounds[id] = [];
  for (let r = 0; r < rounds; r++) {
    for (const id of entry.schedule[r]) {
      if (!live[id]) continue;
      try {
        const bs = [];
        for (let k = 0; k < entry.repeats; k++) bs.push(await live[id].run(items, single));
        const seconds = bs.reduce((a, b) => a + b.seconds, 0);
        const scores = bs.flatMap((b) => b.answers.map((a, i) => scoreAnswer(items[i].expected, a)));
        const prompt = bs[0].promptTokens;
        entry.rounds[id].push({
          round: r,
          seconds,
          postingsPerS: (items.length * bs.length) / seconds,
          latencies: bs.flatMap((b) => b.latencies),
          outputTokens: bs.every((b) => b.outputTokens != null) ? bs.reduce((a, b) => a + b.outputTokens, 0) : null,
          score: summarizeScores(scores),
          promptTokensMismatch: prompt ? items.filter((p, i) => prompt[i] !== chats.promptTokens.get(p.id)).length : null,
          errors: [...new Set(bs.flatMap((b) => b.answers.map((a) => a.error).filter(Boolean)))],
        });
        log(`${mode}/${part} round ${r + 1}/${rounds} ${id}: ${((items.length * bs.length) / seconds).toFixed(2)} postings/s, fields ${(summarizeScores(scores).fields * 100).toFixed(0)}%`);
      } catch (err) {
        await fail(id, err);
      }
    }
    summarizePart(entry, single);
    save();
  }
}

function summarizePart(entry, single) {
  entry.paths = {};
  for (const [id, rs] of Object.entries(entry.rounds)) {
    if (!rs.length) continue;
    const lat = rs.flatMap((x) => x.latencies);
    const scores = rs.map((x) => x.score);
    entry.paths[id] = {
      postingsPerS: summarize(rs.map((x) => x.postingsPerS)),
      latency: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), n: lat.length },
      roundMedianLatency: rs.map((x) => quantile(x.latencies, 0.5)),
      outputTokensPerPosting: rs[0].outputTokens != null ? rs.reduce((a, x) => a + x.outputTokens, 0) / rs.reduce((a, x) => a + x.latencies.length, 0) : null,
      correctness: {
        parsed: mean(scores.map((s) => s.parsed)),
        valid: mean(scores.map((s) => s.valid)),
        exact: mean(scores.map((s) => s.exact)),
        fields: mean(scores.map((s) => s.fields)),
        perField: Object.fromEntries(Object.keys(scores[0].perField).map((f) => [f, mean(scores.map((s) => s.perField[f]))])),
      },
      promptTokensMismatch: rs[0].promptTokensMismatch,
      errors: [...new Set(rs.flatMap((x) => x.errors))],
    };
  }
  const paired = (a, b) => entry.rounds[a]?.length && entry.rounds[a].length === entry.rounds[b]?.length;
  entry.ratios = [];
  entry.latencyDiffs = [];
  for (const [a, b] of [['node', 'plain'], ['node', 'serve'], ['plain', 'serve']]) {
    if (!entry.paths[a] || !entry.paths[b]) continue;
    const ci = ratioOfMedians(entry.rounds[a].map((x) => x.postingsPerS), entry.rounds[b].map((x) => x.postingsPerS), { iterations, seed, paired: Boolean(paired(a, b)) });
    entry.ratios.push({ num: a, den: b, ratio: ci.ratio, lo: ci.lo, hi: ci.hi, halfWidth: ci.halfWidth, resolved: ci.resolved, reason: ci.reason });
    if (single) {
      const d = diffOfMedians(entry.paths[a].roundMedianLatency.map((x) => x * 1000), entry.paths[b].roundMedianLatency.map((x) => x * 1000), { iterations, seed, paired: Boolean(paired(a, b)) });
      entry.latencyDiffs.push({ a, b, diffMs: d.diff, lo: d.lo, hi: d.hi });
    }
  }
}
const mean = (xs) => xs.reduce((a, b) => a + Number(b), 0) / xs.length;

if (o['dry-run']) {
  console.log(JSON.stringify({ engineArgs: Object.fromEntries(specModes.map((m) => [m, { plain: argsFor(m), node: nodeOptionsFor(m), serve: serveArgs(argsFor(m), num(o.port, 'port'), o['serve-arg']) }])), sampling: SAMPLING, jsonSchema: JSON_SCHEMA, postings: POSTINGS.slice(0, 2) }, null, 2));
  process.exit(0);
}

let rc = 0;
try {
  log(`output: ${outDir}; ${n} postings, engine arguments ${JSON.stringify(baseArgs)}`);
  for (const mode of specModes) {
    // With speculation only the single-posting part runs: without it, no engine starts for that mode.
    if (mode !== 'none' && !parts.has('single')) continue;
    const m = (result.modes[mode] = { paths: {}, parts: {} });
    // One after the other: each engine's memory profiling must see the others idle, not starting.
    for (const id of pathIds) {
      const path = id === 'plain' ? new PlainPath(mode) : id === 'node' ? new NodePath(mode) : new ServePath(mode);
      log(`${mode}: starting ${LABEL[id]}`);
      try {
        const info = await path.start();
        live[id] = path;
        m.paths[id] = info;
        result.vllmVersion ??= info.vllmVersion;
        log(`${mode}: ${id} ready in ${info.startSeconds.toFixed(1)} s`);
      } catch (err) {
        log(`${mode}: ${id} failed to start: ${err.stack ?? err}`);
        m.paths[id] = { error: String(err.message ?? err).slice(0, 4000) };
        await path.close().catch(() => {});
        rc = 1;
      }
    }
    save();
    if (!live.node) {
      log(`${mode}: the node path did not start; no chats for the others, skipping`);
      await closeAll();
      continue;
    }
    if (parts.has('throughput') && mode === 'none') {
      await rounds_(mode, 'throughput', POSTINGS, false);
    }
    if (parts.has('single')) {
      await rounds_(mode, 'single', SINGLE, true);
    }
    await closeAll();
  }
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  rc = 1;
} finally {
  await closeAll();
  save();
}
console.log(extractionReport(result, LABEL));
log(`wrote ${join(outDir, 'extraction.json')} and ${join(outDir, 'extraction.md')}`);
const partFailed = Object.values(result.modes).some((m) => Object.values(m.parts).some((p) => Object.keys(p.errors).length));
process.exit(rc || (partFailed ? 2 : 0));
