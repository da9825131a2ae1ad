#!/usr/bin/env node
// Is field confidence informative (issue 25, item 5)? extractManyDetailed over job postings whose fields are known
// (the six of examples/job-postings.json and twelve more below), on the CPU with SmolLM2-135M-Instruct (real
// weights), temperature 0: each field is right or wrong against the expected values, and the confidence of the
// right and the wrong fields is compared (quartiles; AUROC: the chance that a right field scores above a wrong one,
// with a bootstrap interval). For comparison, the geometric mean of the value's token probabilities (the rule not
// chosen) from the same outputs. Prints the figures; docs/benchmarks.md has them written down.
//   node bench/field-confidence.mjs   (DEMO_MODEL=/path/to/model to try another; needs `npm run build:ts`)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { cpuProfile, Engine, extractManyDetailed } from 'vllm-node';
import { z } from 'zod';

// The package's own alignment (not exported by the package), for the rule not chosen.
import { jsonLeaves, jsonStart, overlapping, tokenOffsets } from '../dist/field-confidence.js';
import { machine, ROOT } from './common.mjs';
import { bootstrap, summarize } from './stats.mjs';

const model = process.env.DEMO_MODEL ?? join(ROOT, '.models', 'smollm2-135m-instruct');
const demo = JSON.parse(readFileSync(join(ROOT, 'examples', 'job-postings.json'), 'utf8'));

// [posting, title(s), company(s), location(s), remote]: several accepted answers where the posting allows them.
const CASES = [
  [demo[0], ['Senior Backend Engineer', 'Senior Backend Engineer (Go)'], ['Acme Cloud'], ['Remote'], true],
  [demo[1], ['Data Analyst'], ['Northwind Traders'], ['London, UK', 'London'], false],
  [demo[2], ['Registered Nurse', 'Registered Nurse - Night Shift'], ["St. Mary's Hospital"], ['Boston MA', 'Boston'], false],
  [demo[3], ['Frontend Developer', 'Frontend Developer (React)'], ['Pixelwerk GmbH', 'Pixelwerk'], ['Berlin, Germany', 'Berlin'], false],
  [demo[4], ['Warehouse Associate'], ['Amazon', 'Amazon Fulfillment Center'], ['Dallas TX', 'Dallas'], false],
  [demo[5], ['Machine Learning Engineer'], ['Lumen AI'], ['Remote', 'Remote (US only)'], true],
  ['Backend Developer (Python) at Finch Labs, Austin, TX. On-site. $130k.', ['Backend Developer', 'Backend Developer (Python)'], ['Finch Labs'], ['Austin, TX', 'Austin'], false],
  ['Customer Support Specialist - Remote. Zendesk is hiring support agents for its EMEA team. €38k.', ['Customer Support Specialist'], ['Zendesk'], ['Remote'], true],
  ['Mechanical Engineer, Siemens Energy, Munich, Germany. Full-time. €70,000.', ['Mechanical Engineer'], ['Siemens Energy'], ['Munich, Germany', 'Munich'], false],
  ['Line Cook at The Golden Fork, Chicago IL. Evenings and weekends, $19/hr.', ['Line Cook'], ['The Golden Fork', 'Golden Fork'], ['Chicago IL', 'Chicago'], false],
  ['DevOps Engineer - Remote (Canada). Maple Systems Inc. CAD 120k.', ['DevOps Engineer'], ['Maple Systems Inc', 'Maple Systems'], ['Remote', 'Remote (Canada)'], true],
  ['Elementary School Teacher, Lincoln Elementary, Portland OR. Start in August.', ['Elementary School Teacher'], ['Lincoln Elementary'], ['Portland OR', 'Portland'], false],
  ['Product Manager at Brightwave, Amsterdam, Netherlands. Hybrid. €85k.', ['Product Manager'], ['Brightwave'], ['Amsterdam, Netherlands', 'Amsterdam'], false],
  ['iOS Developer - Remote. Pocket Apps Ltd builds fitness apps. £60k.', ['iOS Developer'], ['Pocket Apps Ltd', 'Pocket Apps'], ['Remote'], true],
  ['Truck Driver (CDL-A), Swift Logistics, Phoenix AZ. $80k/year.', ['Truck Driver', 'Truck Driver (CDL-A)'], ['Swift Logistics'], ['Phoenix AZ', 'Phoenix'], false],
  ['Security Analyst at Ironclad Bank, New York, NY. On-site. $110,000.', ['Security Analyst'], ['Ironclad Bank'], ['New York, NY', 'New York'], false],
  ['Technical Writer - Remote. Docsmith writes API documentation for startups. $90k.', ['Technical Writer'], ['Docsmith'], ['Remote'], true],
  ['Pharmacist, Walgreens, Miami FL. Full-time, $65/hour.', ['Pharmacist'], ['Walgreens'], ['Miami FL', 'Miami'], false],
];

const Job = z.object({ title: z.string().max(60), company: z.string().max(40), location: z.string().max(40), remote: z.boolean() });

// Examples that are none of the postings above (a 135M model follows examples better than descriptions).
const instructions = `Fill in the fields of the job posting as JSON. title: the job title only. company: the employer's name. location: the city, or "Remote" when the job is remote. remote: true only when the posting says Remote.
Posting: "Barista - Seattle, WA. Blue Bottle Coffee. Part-time, $17/hr."
JSON: {"title":"Barista","company":"Blue Bottle Coffee","location":"Seattle, WA","remote":false}
Posting: "Data Engineer - Remote. Streamline Analytics builds pipelines. $140k."
JSON: {"title":"Data Engineer","company":"Streamline Analytics","location":"Remote","remote":true}`;

/** Each field's geometric mean of its tokens' probabilities: exp(mean logprob). */
function fieldsOfMean(result) {
  const spans = tokenOffsets(result.rawText, result.logprobs.map((t) => t.token));
  const out = {};
  for (const leaf of jsonLeaves(result.rawText, jsonStart(result.rawText))) {
    const lps = overlapping(spans, result.logprobs, leaf.start, leaf.end);
    out[leaf.path] = lps.length ? Math.exp(lps.reduce((a, b) => a + b, 0) / lps.length) : 0;
  }
  return out;
}

/** Case, punctuation and spacing aside. */
const norm = (s) => String(s).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
const right = (value, expected) => (typeof expected === 'boolean' ? value === expected : expected.some((e) => norm(e) === norm(value)));

const engine = await Engine.create(cpuProfile({ model, enforceEager: true, maxModelLen: 2048, logLevel: 'error', seed: 0 }), { configFile: false });
// The same engine through a wrapper that keeps each output, for the geometric-mean comparison.
const outputs = new Map();
const generator = { chatDetailed: (m, o) => engine.chatDetailed(m, o).then((r) => (outputs.set(m.at(-1).content, r), r)) };
const t0 = performance.now();
const results = await extractManyDetailed(
  generator,
  CASES.map((c) => c[0]),
  Job,
  { instructions, temperature: 0, maxTokens: 120 },
);
const seconds = (performance.now() - t0) / 1000;

const scores = { min: { right: [], wrong: [] }, mean: { right: [], wrong: [] } };
const rows = [];
const grounding = { right: [0, 0], wrong: [0, 0] }; // string fields: [not found in the posting, all]
const items = []; // per item: its lowest field confidence, whether a string field is ungrounded, whether a field is wrong
let failed = 0;
for (const [i, r] of results.entries()) {
  const [posting, ...expected] = CASES[i];
  if (!r.ok) {
    failed += 1;
    rows.push({ posting: i, error: r.error.code });
    continue;
  }
  const mean = fieldsOfMean(outputs.get(posting));
  const item = { lowest: 1, ungrounded: false, wrong: false };
  for (const [k, key] of ['title', 'company', 'location', 'remote'].entries()) {
    const f = r.fields[`$.${key}`];
    const ok = right(r.value[key], expected[k]);
    item.wrong ||= !ok;
    item.lowest = Math.min(item.lowest, f.confidence);
    if (typeof f.value === 'string') {
      grounding[ok ? 'right' : 'wrong'][0] += f.span === null ? 1 : 0;
      grounding[ok ? 'right' : 'wrong'][1] += 1;
      item.ungrounded ||= f.span === null;
    }
    scores.min[ok ? 'right' : 'wrong'].push(f.confidence);
    scores.mean[ok ? 'right' : 'wrong'].push(mean[`$.${key}`]);
    rows.push({ posting: i, field: key, value: r.value[key], ok, confidence: +f.confidence.toFixed(3), mean: +mean[`$.${key}`].toFixed(3), span: f.span });
  }
  items.push(item);
}
for (const row of rows) console.log(JSON.stringify(row));

/** P(a right field scores above a wrong one), ties half. */
function auroc(r, w) {
  let s = 0;
  for (const a of r) for (const b of w) s += a > b ? 1 : a === b ? 0.5 : 0;
  return s / (r.length * w.length);
}
const fmt = (x) => x.toFixed(3);
const THRESHOLDS = [0.2, 0.3, 0.5, 0.8];
const describe = (xs) => {
  if (xs.length === 0) return 'none';
  const s = summarize(xs);
  return `n=${s.n} min ${fmt(s.min)} q1 ${fmt(s.q1)} median ${fmt(s.median)} q3 ${fmt(s.q3)} max ${fmt(s.max)} mean ${fmt(s.mean)}`;
};
const info = engine.info;
console.log(`\nmachine: ${machine()}; vLLM ${info.vllmVersion} on ${info.device.platform}, model ${info.model}, dtype ${info.dtype}; ${CASES.length} postings in ${seconds.toFixed(1)} s; failed items: ${failed}`);
for (const rule of ['min', 'mean']) {
  const { right: r, wrong: w } = scores[rule];
  const ci = r.length && w.length ? bootstrap([r, w], auroc, { paired: false, iterations: 2000, seed: 1 }) : null;
  console.log(`${rule === 'min' ? 'confidence (least likely token, the rule used)' : 'geometric mean of the tokens (not used)'}:`);
  console.log(`  right: ${describe(r)}`);
  console.log(`  wrong: ${describe(w)}`);
  if (ci) console.log(`  AUROC ${fmt(ci.estimate)} [${fmt(ci.lo)}-${fmt(ci.hi)}] (95% bootstrap, 2000 resamples)`);
  const below = (xs, t) => `${xs.filter((x) => x < t).length}/${xs.length}`;
  console.log(`  below t, right / wrong: ${THRESHOLDS.map((t) => `${t}: ${below(r, t)} / ${below(w, t)}`).join('; ')}`);
}
console.log(`string fields not found in the posting: right ${grounding.right.join('/')}, wrong ${grounding.wrong.join('/')}`);
// What escalate: { below: t } (grounding on, as by default) would send on, and how many of the items with a wrong field it catches.
const wrongItems = items.filter((it) => it.wrong).length;
for (const t of THRESHOLDS) {
  const sent = items.filter((it) => it.lowest < t || it.ungrounded);
  console.log(`escalate below ${t}: sends ${sent.length}/${items.length} items, ${sent.filter((it) => it.wrong).length}/${wrongItems} of those with a wrong field`);
}
await engine.close();
