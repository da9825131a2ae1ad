#!/usr/bin/env node
// The Quick start job: typed batch extraction of job postings with the embedded engine.
// Default: the CPU and the small local instruct model built by scripts/setup.sh (SmolLM2-135M-Instruct).
// On a GPU host: DEMO_MODEL=/models/qwen3-4b-instruct DEMO_GPU=1 node examples/demo.mjs
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Engine } from 'vllm-node';
import { z } from 'zod';

const here = dirname(fileURLToPath(import.meta.url));
const model = process.env.DEMO_MODEL ?? join(here, '..', '.models', 'smollm2-135m-instruct');
const postings = JSON.parse(readFileSync(join(here, 'job-postings.json'), 'utf8'));

const Job = z.object({
  title: z.string().describe('job title only, without location or salary'),
  company: z.string().describe('hiring company, or "unknown"'),
  location: z.string().describe('city and country, or "Remote"'),
  remote: z.boolean(),
});

// The CPU cannot run the default fp8 settings: ask for what it can do, explicitly (never silently).
const cpu = {
  quantization: null,
  kvCacheDtype: 'auto',
  dtype: 'float32',
  gpuMemoryUtilization: 0.5,
  maxModelLen: 2048,
  engineArgs: { kv_cache_memory_bytes: 512 * 1024 * 1024 },
};
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

const t0 = Date.now();
const results = await engine.extractMany(postings, Job, { temperature: 0, maxTokens: 120, onProgress: progress });
for (const [i, r] of results.entries()) {
  console.log(JSON.stringify(r.ok ? { posting: i, ...r.value } : { posting: i, error: r.error.code, message: r.error.message }));
}
await engine.close();
console.log(`${results.filter((r) => r.ok).length}/${results.length} postings extracted in ${((Date.now() - t0) / 1000).toFixed(1)} s (one batch)`);
