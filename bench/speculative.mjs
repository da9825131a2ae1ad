#!/usr/bin/env node
// Single-posting extraction latency with and without n-gram speculative decoding (issue 25, item 4): two engines of
// the same model in this process, one with `speculative: { method: 'ngram' }` (admitted by its start-up self-check),
// one without; each round extracts every posting once on each engine, one request at a time, the engine order
// alternating by round. Greedy, so both must return the same JSON: a difference is reported, not averaged over.
// Figures: per-extraction latency median and quartiles per path, the ratio of medians (plain / speculative, so > 1
// means speculation is faster) with its paired bootstrap interval, and the acceptance over the run (engine.metrics()).
// Usage: node bench/speculative.mjs [model=.models/smollm2-135m-instruct] [rounds=10] [numSpeculativeTokens=4]
// GPU (BENCH_GPU=1): the package's defaults (the seed's fp8 configuration, compiled), each engine at SPEC_GPU_MEM (0.4)
// of the card, since both are resident at once; SPEC_EAGER=1 starts them eager (no compile: a short window).
import { performance } from 'node:perf_hooks';

import { Engine } from 'vllm-node';

import { engineOptions, record, ROOT } from './common.mjs';
import { ratioOfMedians, schedule, summarize } from './stats.mjs';

const model = process.argv[2] ?? `${ROOT}/.models/smollm2-135m-instruct`;
const rounds = Number(process.argv[3] ?? 10);
const numSpeculativeTokens = Number(process.argv[4] ?? 4);

const SCHEMA = {
  type: 'object',
  properties: { title: { type: 'string' }, company: { type: 'string' }, city: { type: 'string' }, skills: { type: 'array', items: { type: 'string' }, maxItems: 6 } },
  required: ['title', 'company', 'city', 'skills'],
};
// maxItems keeps the 135M model from listing skills until maxTokens.
const SYSTEM = `Extract the requested information from the text below. Reply with JSON only.\nJSON Schema:\n${JSON.stringify(SCHEMA)}`;
const POSTINGS = [
  'Backend Developer at Harbor Logistics in Rotterdam. Harbor Logistics is looking for a Backend Developer in Rotterdam who knows Go, PostgreSQL and Kafka.',
  'Data Analyst, Meridian Health, Toronto. Meridian Health is hiring a Data Analyst in Toronto. Required: SQL, Tableau, Python, statistics.',
  'Frontend Engineer at Bluebird Travel (Lisbon). Join Bluebird Travel in Lisbon as a Frontend Engineer working with TypeScript, React and GraphQL.',
  'Site Reliability Engineer - Quantum Freight - Warsaw. Quantum Freight seeks a Site Reliability Engineer for Warsaw: Kubernetes, Terraform, Prometheus, Linux.',
  'Machine Learning Engineer at Alder Robotics, Munich. Alder Robotics in Munich needs a Machine Learning Engineer with PyTorch, CUDA, C++ and computer vision.',
  'Mobile Developer, Kestrel Bank, Singapore. Kestrel Bank is looking for a Mobile Developer in Singapore: Kotlin, Swift, Android, iOS.',
];
const params = { temperature: 0, maxTokens: 160, jsonSchema: SCHEMA };
let cutOff = 0; // extractions that reached maxTokens (timed the same on both engines; the output is still compared)
const runaway = new Set(); // postings whose extraction reached maxTokens: the model repeating itself, which n-grams draft well

const base = process.env.BENCH_GPU ? { ...engineOptions(model), gpuMemoryUtilization: Number(process.env.SPEC_GPU_MEM ?? 0.4), ...(process.env.SPEC_EAGER === '1' ? { enforceEager: true } : {}) } : engineOptions(model);
const engines = {
  plain: await Engine.create(base, { configFile: false }),
  speculative: await Engine.create({ ...base, speculative: { method: 'ngram', numSpeculativeTokens } }, { configFile: false }),
};
const check = engines.speculative.info.notes.find((n) => n.option === 'speculative');

async function extractAll(engine) {
  const seconds = [];
  const texts = [];
  for (const [i, posting] of POSTINGS.entries()) {
    const t = performance.now();
    const r = await engine.chatDetailed([{ role: 'system', content: SYSTEM }, { role: 'user', content: posting }], params);
    seconds.push((performance.now() - t) / 1000);
    texts.push(r.rawText);
    if (r.finishReason !== 'stop') {
      cutOff += 1;
      runaway.add(i);
    }
  }
  return { seconds, texts };
}

// Warm-up: every prompt once on each engine (xgrammar compiles the schema once per engine).
const reference = (await extractAll(engines.plain)).texts;
await extractAll(engines.speculative);
const before = (await engines.speculative.metrics()).speculative;
const perRound = { plain: [], speculative: [] };
const perRoundFinished = { plain: [], speculative: [] }; // the postings that never reached maxTokens
const perExtraction = { plain: [], speculative: [] };
let mismatches = 0;
for (const order of schedule(['plain', 'speculative'], rounds)) {
  for (const path of order) {
    const { seconds, texts } = await extractAll(engines[path]);
    perExtraction[path].push(...seconds);
    perRound[path].push(seconds.reduce((a, b) => a + b, 0) / seconds.length);
    const finished = seconds.filter((_, i) => !runaway.has(i));
    if (finished.length) perRoundFinished[path].push(finished.reduce((a, b) => a + b, 0) / finished.length);
    mismatches += texts.filter((t, i) => t !== reference[i]).length;
  }
}
const after = (await engines.speculative.metrics()).speculative;
const info = engines.speculative.info;
await Promise.all(Object.values(engines).map((e) => e.close()));

const drafted = after.draftTokens - before.draftTokens;
const accepted = after.acceptedTokens - before.acceptedTokens;
const drafts = after.drafts - before.drafts;
const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
const fmt = (s) => `median ${ms(s.median)} [q1 ${ms(s.q1)}, q3 ${ms(s.q3)}; min ${ms(s.min)}, max ${ms(s.max)}]`;
const speedup = ratioOfMedians(perRound.plain, perRound.speculative);
const finishedSpeedup = perRoundFinished.plain.length ? ratioOfMedians(perRoundFinished.plain, perRoundFinished.speculative) : undefined;
record(`Speculative decoding: single-posting extraction, ngram k=${numSpeculativeTokens}`, info, [
  `${rounds} interleaved rounds (order alternating) of ${POSTINGS.length} extractions, one request at a time, greedy, JSON Schema of 4 fields, maxTokens ${params.maxTokens}; two engines of one model in one process`,
  `start-up self-check: ${check?.reason ?? 'none'}`,
  `per extraction, plain: ${fmt(summarize(perExtraction.plain))}`,
  `per extraction, speculative: ${fmt(summarize(perExtraction.speculative))}`,
  `speedup (plain / speculative, ratio of the per-round medians): ${speedup.ratio.toFixed(2)}× [95% CI ${speedup.lo.toFixed(2)}-${speedup.hi.toFixed(2)}]${speedup.resolved ? '' : ` (not resolved: ${speedup.reason})`}`,
  ...(finishedSpeedup ? [`speedup over the ${POSTINGS.length - runaway.size} postings whose extraction ended by itself (without posting${runaway.size === 1 ? '' : 's'} ${[...runaway].map((i) => i + 1).join(', ') || '-'}, which ran to maxTokens): ${finishedSpeedup.ratio.toFixed(2)}× [95% CI ${finishedSpeedup.lo.toFixed(2)}-${finishedSpeedup.hi.toFixed(2)}]${finishedSpeedup.resolved ? '' : ` (not resolved: ${finishedSpeedup.reason})`}`] : []),
  `acceptance over the timed rounds: ${accepted} of ${drafted} draft tokens (${drafted ? ((100 * accepted) / drafted).toFixed(1) : '-'}%), ${drafts ? (1 + accepted / drafts).toFixed(2) : '-'} tokens per drafted step`,
  `outputs differing from the plain engine's: ${mismatches} of ${rounds * POSTINGS.length * 2}; extractions cut off at maxTokens: ${cutOff} of ${(rounds + 1) * POSTINGS.length * 2}`,
]);
