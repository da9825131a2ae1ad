#!/usr/bin/env node
// GPU benchmark (issue: the seed's FP8 configuration, measured against Python and the HTTP hop). One run,
// one card, same engine arguments for all three paths:
//   1. Python LLM.generate on 256 prompts (same engine object: the in-process ceiling)
//   2. our Node engine, 256 concurrent generate() (event-loop delay measured meanwhile)
//   3. `vllm serve` + Node's openai client, 256 concurrent requests
// Plus streaming time-to-first-token, single 50-token latency, and model-switch time.
// Usage: BENCH_GPU=1 node bench/gpu.mjs [model=/tmp/models/qwen3-4b] [n=256] [outTokens=128] [skip-http]
import { execFileSync, spawn } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import OpenAI from 'openai';
import { Engine } from 'vllm-node';

import { percentile, record } from './common.mjs';

const model = process.argv[2] ?? '/tmp/models/qwen3-4b';
const n = Number(process.argv[3] ?? 256);
const outTokens = Number(process.argv[4] ?? 128);
const skipHttp = process.argv.includes('skip-http');
// `eager`: enforce_eager for both the Node engine and vllm serve (fast start when no compile cache exists).
const eager = process.argv.includes('eager');
const seed = { quantization: 'fp8', kvCacheDtype: 'fp8', swapSpace: 4, gpuMemoryUtilization: 0.9, trustRemoteCode: true, maxModelLen: 4096, enforceEager: eager };
const prompts = Array.from({ length: n }, (_, i) => `Job posting ${i}: We are hiring a Senior Software Engineer at Company ${i} to build data pipelines. Remote, full-time, competitive salary. Extract the job title.`);
const ms = (s) => `${(s * 1000).toFixed(1)} ms`;
const lines = [];
// Lets engine.call('gpu_memory') ship its probe to vLLM's workers (diagnostics only; set before Python starts).
process.env.VLLM_ALLOW_INSECURE_SERIALIZATION ??= '1';
const MiB = (b) => (b == null ? '?' : `${Math.round(b / 2 ** 20)} MiB`);
/** nvidia-smi (card and per process) next to each worker's torch allocator and vLLM's own budget. */
async function memory(label) {
  const q = (what) => execFileSync('nvidia-smi', [what, '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim();
  const [used, total] = q('--query-gpu=memory.used,memory.total').split('\n')[0].split(',').map(Number);
  const procs = q('--query-compute-apps=pid,used_memory').split('\n').filter(Boolean).join('; ');
  let workers = '';
  try {
    workers = (await engine.call('gpu_memory')).map((w) => `worker ${w.pid}: device used ${MiB(w.deviceUsed)}, torch allocated ${MiB(w.torchAllocated)}, reserved ${MiB(w.torchReserved)} (max ${MiB(w.torchMaxReserved)}); vLLM budget ${MiB(w.requested)} = weights ${MiB(w.weights)} + peak activation ${MiB(w.peakActivation)} + KV ${MiB(w.kvCache)} + non-torch`).join('; ');
  } catch (e) {
    workers = `worker probe failed: ${e.message}`;
  }
  lines.push(`memory ${label}: card ${used} / ${total} MiB (budget 0.9 × total = ${Math.round(0.9 * total)} MiB, ${used <= 0.9 * total ? 'within' : '**over**'}); processes (pid, MiB): ${procs}; ${workers}`);
}
const stats = (lat) => `p50 ${ms(percentile(lat, 50))}, p99 ${ms(percentile(lat, 99))}`;

// --- in-process ----------------------------------------------------------------------------------
let t = performance.now();
const engine = await Engine.create({ model, ...seed }, { configFile: false });
const startSeconds = (performance.now() - t) / 1000;
const info = engine.info;
await memory('after create');
lines.push(`engine start (create → ready, incl. torch.compile/CUDA graphs): ${startSeconds.toFixed(1)} s; effective: quantization ${info.quantization}, KV ${info.kvCacheDtype}, gpu_memory_utilization ${info.gpuMemoryUtilization}, swap_space: ${JSON.stringify(info.notes)}`);

const params = { max_tokens: outTokens, temperature: 0.1, top_p: 0.9, frequency_penalty: 0.1, ignore_eos: true };
async function nodeBatch() {
  const lat = [];
  const t0 = performance.now();
  const rs = await Promise.all(prompts.map(async (p) => {
    const s = performance.now();
    const r = await engine.generateDetailed(p, { maxTokens: outTokens, ignoreEos: true });
    lat.push((performance.now() - s) / 1000);
    return r;
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, tokens: rs.reduce((a, r) => a + r.outputTokens, 0), lat };
}
const pyBatch = () => engine.call('reference_generate', { prompts, params });

await nodeBatch(); // warm-up both paths
await pyBatch();
await memory('after warm-up (one 256-batch each way)');
const py = [];
const nd = [];
// A fresh histogram per Node run: re-enabling one histogram counts the paused time as a delay.
const loops = [];
for (let i = 0; i < 3; i++) {
  py.push(await pyBatch());
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  nd.push(await nodeBatch());
  loop.disable();
  loops.push(loop);
}
const loop = { percentile: (p) => Math.max(...loops.map((l) => l.percentile(p))), max: Math.max(...loops.map((l) => l.max)) };
const med = (xs) => [...xs].sort((a, b) => a.seconds - b.seconds)[1];
const pyM = med(py);
const ndM = med(nd);
const pyTps = pyM.outputTokens.reduce((a, b) => a + b, 0) / pyM.seconds;
const ndTps = ndM.tokens / ndM.seconds;
lines.push(`(1) Python LLM.generate, ${n} prompts × ${outTokens} tokens: ${pyTps.toFixed(0)} output tok/s (median of 3: ${py.map((x) => x.seconds.toFixed(2)).join(', ')} s), request latency ${stats(pyM.latencies)}`);
lines.push(`(2) Node engine, ${n} concurrent generate(): ${ndTps.toFixed(0)} output tok/s (${nd.map((x) => x.seconds.toFixed(2)).join(', ')} s) = **${((ndTps / pyTps) * 100).toFixed(1)}% of (1)**, request latency ${stats(ndM.lat)}`);
lines.push(`(2) event-loop delay during the Node runs: p50 ${(loop.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(2)} ms`);

// streaming time to first token, 256 concurrent streams
{
  const ttft = [];
  await Promise.all(prompts.map(async (p) => {
    const s = performance.now();
    let first = true;
    for await (const _ of engine.stream(p, { maxTokens: outTokens, ignoreEos: true })) {
      if (first) ttft.push((performance.now() - s) / 1000);
      first = false;
    }
  }));
  lines.push(`(2) streaming, ${n} concurrent: time to first token ${stats(ttft)}`);
}
// single request, 50 tokens
{
  const single = [];
  for (let i = 0; i < 7; i++) {
    const s = performance.now();
    await engine.generate('Extract job title from: Software Engineer - Remote', { maxTokens: 50, ignoreEos: true });
    single.push((performance.now() - s) / 1000);
  }
  lines.push(`(2) single 50-token request: median ${ms(percentile(single, 50))} (7 runs: ${single.map((x) => (x * 1000).toFixed(0)).join(', ')} ms)`);
}
await memory('at the end');
await engine.close();
record(`GPU: seed configuration, Python LLM.generate vs Node in-process (${n} prompts × ${outTokens} tokens)`, info, lines.splice(0));

// --- HTTP hop ------------------------------------------------------------------------------------
if (!skipHttp) {
  const port = 8011;
  const args = ['-m', 'vllm.entrypoints.cli.main', 'serve', model, '--port', String(port), '--quantization', 'fp8', '--kv-cache-dtype', 'fp8',
    '--gpu-memory-utilization', '0.9', '--trust-remote-code', '--max-model-len', '4096', '--served-model-name', 'bench', ...(eager ? ['--enforce-eager'] : [])];
  t = performance.now();
  const server = spawn(process.env.VLLM_NODE_PYTHON ?? 'python3', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VLLM_NO_USAGE_STATS: '1' } });
  let serverErr = '';
  server.stderr.on('data', (d) => (serverErr = (serverErr + d).slice(-4000)));
  try {
    for (;;) {
      if (server.exitCode !== null) throw new Error(`vllm serve exited: ${serverErr}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 1000));
    }
    lines.push(`(3) vllm serve start: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0, timeout: 600_000 });
    const body = (p, max) => ({ model: 'bench', prompt: p, max_tokens: max, temperature: 0.1, top_p: 0.9, frequency_penalty: 0.1, ignore_eos: true });
    const httpBatch = async () => {
      const lat = [];
      const t0 = performance.now();
      const rs = await Promise.all(prompts.map(async (p) => {
        const s = performance.now();
        const r = await client.completions.create(body(p, outTokens));
        lat.push((performance.now() - s) / 1000);
        return r.usage?.completion_tokens ?? 0;
      }));
      return { seconds: (performance.now() - t0) / 1000, tokens: rs.reduce((a, b) => a + b, 0), lat };
    };
    await httpBatch();
    const hs = [await httpBatch(), await httpBatch(), await httpBatch()];
    const hM = med(hs);
    const hTps = hM.tokens / hM.seconds;
    lines.push(`(3) HTTP (vllm serve + openai client), ${n} concurrent: ${hTps.toFixed(0)} output tok/s (${hs.map((x) => x.seconds.toFixed(2)).join(', ')} s), request latency ${stats(hM.lat)}; Node in-process is ${((ndTps / hTps) * 100).toFixed(1)}% of its throughput`);
    const ttft = [];
    await Promise.all(prompts.map(async (p) => {
      const s = performance.now();
      const stream = await client.completions.create({ ...body(p, outTokens), stream: true });
      let first = true;
      for await (const _ of stream) {
        if (first) ttft.push((performance.now() - s) / 1000);
        first = false;
      }
    }));
    lines.push(`(3) HTTP streaming, ${n} concurrent: time to first token ${stats(ttft)}`);
    const single = [];
    for (let i = 0; i < 7; i++) {
      const s = performance.now();
      await client.completions.create(body('Extract job title from: Software Engineer - Remote', 50));
      single.push((performance.now() - s) / 1000);
    }
    lines.push(`(3) HTTP single 50-token request: median ${ms(percentile(single, 50))}`);
  } finally {
    server.kill('SIGINT');
    await new Promise((r) => server.once('exit', r));
  }
}
if (lines.length) record(`GPU: HTTP hop, vllm serve + openai client (${n} prompts × ${outTokens} tokens)`, info, lines);
