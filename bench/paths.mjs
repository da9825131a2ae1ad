// The engines the comparison benches start (bench/throughput.mjs, bench/extraction.mjs), each the same way: one set of
// engine arguments in vLLM's names for every path; plain vLLM in its own long-lived Python process
// (bench/plain_vllm.py, one JSON command per line); `vllm serve` in its own process, healthy before it counts.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

import { cpuProfile } from 'vllm-node';

import { ROOT } from './common.mjs';

export const PYTHON = process.env.VLLM_NODE_PYTHON ?? (existsSync(join(ROOT, '.venv', 'bin', 'python')) ? join(ROOT, '.venv', 'bin', 'python') : 'python3');
// The environment as it was before any engine: the embedded engine sets variables in this process (vLLM's log level,
// vllm-node's own), which the plain worker and vllm serve must not inherit. Taken when this module loads, before any.
export const BASE_ENV = { ...process.env, VLLM_NO_USAGE_STATS: '1', PYTHONUNBUFFERED: '1' };
delete BASE_ENV.VLLM_NODE_TEST_CALLS;

/** `--engine-arg key=value` flags as an object; values are JSON where they parse as JSON, strings otherwise. */
export function parseEngineArgFlags(list) {
  return Object.fromEntries(list.map((kv) => {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--engine-arg wants key=value, got ${kv}`);
    const v = kv.slice(i + 1);
    try {
      return [kv.slice(0, i), JSON.parse(v)];
    } catch {
      return [kv.slice(0, i), v];
    }
  }));
}

/**
 * The engine arguments every path gets. GPU: the seed's configuration (fp8 weights and KV cache, trust_remote_code),
 * the card split between the resident engines (gpuMem each). CPU: the CPU profile as the benchmarks start it
 * (float32, eager, an explicit KV cache size).
 */
export function benchEngineArgs({ gpu, model, gpuMem, maxModelLen, eager, kvBytes }) {
  if (gpu) return { model, quantization: 'fp8', kv_cache_dtype: 'fp8', gpu_memory_utilization: gpuMem, max_model_len: maxModelLen, trust_remote_code: true, enforce_eager: eager };
  const p = cpuProfile({ enforceEager: true });
  return { model, dtype: p.dtype, kv_cache_dtype: p.kvCacheDtype, gpu_memory_utilization: p.gpuMemoryUtilization, max_model_len: maxModelLen, trust_remote_code: true, enforce_eager: true, kv_cache_memory_bytes: kvBytes };
}

const NODE_OPTION = { model: 'model', quantization: 'quantization', kv_cache_dtype: 'kvCacheDtype', dtype: 'dtype', gpu_memory_utilization: 'gpuMemoryUtilization', max_model_len: 'maxModelLen', trust_remote_code: 'trustRemoteCode', enforce_eager: 'enforceEager', tensor_parallel_size: 'tensorParallelSize', seed: 'seed' };

/** The engine arguments as vllm-node options: typed options where one exists, engineArgs for the rest. */
export function nodeOptions(engineArgs, swapSpace) {
  const opts = { quantization: null, swapSpace, engineArgs: {} };
  for (const [k, v] of Object.entries(engineArgs)) {
    if (NODE_OPTION[k]) opts[NODE_OPTION[k]] = v;
    else opts.engineArgs[k] = v;
  }
  return opts;
}

/** `python -m vllm.entrypoints.cli.main serve ...` with the same engine arguments, served as model "bench". */
export function serveArgs(engineArgs, port, extra = []) {
  const args = ['-m', 'vllm.entrypoints.cli.main', 'serve', engineArgs.model, '--host', '127.0.0.1', '--port', String(port), '--served-model-name', 'bench'];
  for (const [k, v] of Object.entries(engineArgs)) {
    if (k === 'model' || v === null || v === false) continue;
    args.push(`--${k.replace(/_/g, '-')}`);
    if (v !== true) args.push(typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return [...args, ...extra];
}

export function tail(path, chars = 3000) {
  try {
    return readFileSync(path, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

/** Plain vLLM (`vllm.LLM`) in its own Python process; `send` one command, await its one answer. */
export class PlainWorker {
  constructor(engineArgs, logPath) {
    this.engineArgs = engineArgs;
    this.logPath = logPath;
  }
  async start() {
    const logFile = createWriteStream(this.logPath);
    this.proc = spawn(PYTHON, [join(ROOT, 'bench', 'plain_vllm.py'), JSON.stringify(this.engineArgs)], { stdio: ['pipe', 'pipe', 'pipe'], env: BASE_ENV });
    this.proc.stderr.pipe(logFile);
    this.waiting = [];
    this.exited = new Promise((r) => this.proc.once('exit', (code, sig) => r({ code, sig })));
    this.exited.then(({ code, sig }) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`plain vLLM worker exited (${code ?? sig}); see ${this.logPath}`));
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (!line.startsWith('BENCH-JSON ')) return void logFile.write(`${line}\n`);
      this.waiting.shift()?.resolve(JSON.parse(line.slice('BENCH-JSON '.length)));
    });
    const ready = await this.#next();
    if (!ready.ready) throw new Error(`plain vLLM did not start: ${ready.error}\n${ready.trace ?? ''}`);
    this.pid = this.proc.pid;
    this.info = ready;
    return { pid: this.pid, startSeconds: ready.startSeconds, vllmVersion: ready.vllmVersion, kvCacheTokens: ready.config.kvCacheTokens, config: ready.config };
  }
  #next() {
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
  async send(cmd) {
    const answer = this.#next();
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const msg = await answer;
    if (!msg.ok) throw new Error(`plain vLLM: ${msg.error}\n${msg.trace ?? ''}`);
    return msg;
  }
  async close() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
    const t = setTimeout(() => this.proc.kill('SIGTERM'), 60_000);
    await this.exited;
    clearTimeout(t);
  }
}

const SERVE_START_LIMIT_S = 1800;

/** `vllm serve` in its own process, started with `args` (serveArgs) and awaited until /health answers. */
export class ServeProcess {
  constructor(args, logPath, port) {
    this.args = args;
    this.logPath = logPath;
    this.port = port;
  }
  async start() {
    const t = performance.now();
    const logFile = createWriteStream(this.logPath);
    this.proc = spawn(PYTHON, this.args, { stdio: ['ignore', 'pipe', 'pipe'], env: BASE_ENV });
    this.proc.stdout.pipe(logFile);
    this.proc.stderr.pipe(logFile);
    this.exited = new Promise((r) => this.proc.once('exit', r));
    for (;;) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`vllm serve exited during its start; see ${this.logPath}:\n${tail(this.logPath)}`);
      if (performance.now() - t > SERVE_START_LIMIT_S * 1000) throw new Error(`vllm serve not healthy after ${SERVE_START_LIMIT_S} s; see ${this.logPath}:\n${tail(this.logPath)}`);
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/health`)).ok) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.pid = this.proc.pid;
    this.baseURL = `http://127.0.0.1:${this.port}/v1`;
    const kv = /KV cache size: ([\d,]+) tokens/.exec(readFileSync(this.logPath, 'utf8'));
    return { pid: this.pid, startSeconds: (performance.now() - t) / 1000, kvCacheTokens: kv ? Number(kv[1].replace(/,/g, '')) : null, config: { command: `python ${this.args.join(' ')}` } };
  }
  async close() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGINT');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 60_000);
    await this.exited;
    clearTimeout(t);
  }
}
