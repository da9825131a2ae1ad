#!/usr/bin/env node
// The Quick start job: typed batch extraction of job postings with the embedded engine.
// Default: the CPU and the small local instruct model built by scripts/setup.sh (SmolLM2-135M-Instruct).
// On a GPU host: DEMO_MODEL=/models/qwen3-4b-instruct DEMO_GPU=1 node examples/demo.mjs
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cpuProfile, Engine } from 'vllm-node';
import { z } from 'zod';

const here = dirname(fileURLToPath(import.meta.url));
const model = process.env.DEMO_MODEL ?? join(here, '..', '.models', 'smollm2-135m-instruct');
const postings = JSON.parse(readFileSync(join(here, 'job-postings.json'), 'utf8'));

const Job = z.object({
  title: z.string().max(40).describe('job title only, without location or salary'),
  company: z.string().max(30).describe('hiring company, or "unknown"'),
  location: z.string().max(30).describe('city and country, or "Remote"'),
  remote: z.boolean(),
});

// The CPU cannot run the default fp8 settings: ask for what it can do (the CPU profile), explicitly (never silently).
// enforceEager: vLLM's CPU build cannot reload its torch.compile cache (vLLM 0.28.0: "'function' object has no
// attribute 'finalize_loading'"), so a compiled start retraces the model every time: 68-77 s against 16-17 s eager on
// 2 cores, for ~12% slower decoding (docs/benchmarks.md, bench/cpu-start.mjs).
const cpu = cpuProfile({ enforceEager: true, maxModelLen: 2048 });
const started = Date.now();
// vLLM's own log lines go to stderr, at "warning" by default; the CPU backend's warnings are performance hints
// (libtcmalloc, Triton), so the demo asks for errors only. VLLM_NODE_LOG_LEVEL=info shows vLLM's start-up.
const logLevel = process.env.VLLM_NODE_LOG_LEVEL ?? 'error';
const engine = await Engine.create({ model, logLevel, ...(process.env.DEMO_GPU ? {} : cpu) }, { configFile: false });
console.log(`engine ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${engine.info.model} on ${engine.info.device.platform}, vLLM ${engine.info.vllmVersion}`);

// Progress on stderr: a bar redrawn in place on a terminal, one line per item otherwise (a log, a pipe, CI).
function progress(done, total) {
  if (!process.stderr.isTTY) return void process.stderr.write(`extracted ${done}/${total}\n`);
  const width = 24;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] extracted ${done}/${total}${done === total ? '\n' : ''}`);
}

// A 135M-parameter model follows examples far better than descriptions: show it four postings (none of the six).
const instructions = `You read one job posting and fill in its fields as JSON. title: the job title only (no company, place, pay or hours). company: the employer's name only. location: the city and region or country; "Remote" when the job is remote. remote: true only when the posting says Remote.
Examples:
Posting: "Barista - Seattle, WA. Blue Bottle Coffee. Part-time, $17/hr."
JSON: {"title":"Barista","company":"Blue Bottle Coffee","location":"Seattle, WA","remote":false}
Posting: "Site Reliability Engineer, Remote (EU only), Hashnode Labs. Run our clusters. €90k."
JSON: {"title":"Site Reliability Engineer","company":"Hashnode Labs","location":"Remote","remote":true}
Posting: "Accountant at Kessler & Co, Toronto, Canada. Hybrid. CPA required."
JSON: {"title":"Accountant","company":"Kessler & Co","location":"Toronto, Canada","remote":false}
Posting: "Product Designer (Figma) - Remote. Orbit Health is hiring a designer for our patient app. $120k."
JSON: {"title":"Product Designer","company":"Orbit Health","location":"Remote","remote":true}`;

const t0 = Date.now();
const results = await engine.extractMany(postings, Job, { temperature: 0, maxTokens: 120, instructions, onProgress: progress });
for (const [i, r] of results.entries()) {
  console.log(JSON.stringify(r.ok ? { posting: i, ...r.value } : { posting: i, error: r.error.code, message: r.error.message }));
}
await engine.close();
console.log(`${results.filter((r) => r.ok).length}/${results.length} postings extracted in ${((Date.now() - t0) / 1000).toFixed(1)} s (one batch)`);
