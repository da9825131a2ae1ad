// Shared by the benchmarks: engine options per machine, and the results log (docs/benchmarks.md).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cpuProfile } from 'vllm-node';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS = join(ROOT, 'docs', 'benchmarks.md');
// engine.call('reference_generate') (vLLM's own LLM.generate on the same engine) is one of the tests' calls, outside
// the package: python/vllm_node/calls.py loads them from this file. Set before Python starts (the first create).
process.env.VLLM_NODE_TEST_CALLS ??= join(ROOT, 'tests', 'helpers', 'engine_calls.py');

/** BENCH_GPU=1 uses the seed's configuration (fp8); otherwise the CPU profile as the CPU tests start it (eager, 1024 tokens). */
export function engineOptions(model) {
  if (process.env.BENCH_GPU) return { model };
  // The benchmarks batch more requests than the tests: a 1 GiB KV cache instead of the profile's 512 MiB.
  return cpuProfile({ enforceEager: true, maxModelLen: 1024, model, engineArgs: { kv_cache_memory_bytes: 1024 * 1024 * 1024 } });
}

export function machine() {
  let gpu = '';
  try {
    gpu = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {}
  return `${gpu ? `${gpu}; ` : ''}${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Appends one dated section to docs/benchmarks.md. */
export function record(title, info, lines) {
  mkdirSync(dirname(RESULTS), { recursive: true });
  if (!existsSync(RESULTS)) writeFileSync(RESULTS, '# Benchmarks\n\nEach section is one run, appended by the script named in it.\n');
  const text = [
    '',
    `## ${title} (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `- machine: ${machine()}`,
    `- vLLM ${info.vllmVersion} on ${info.device.platform}${info.device.name ? ` (${info.device.name})` : ''}, model ${info.model}, dtype ${info.dtype}, quantization ${info.quantization ?? 'none'}, KV ${info.kvCacheDtype}, enforce_eager ${info.enforceEager}`,
    `- command: \`${process.argv.slice(1).map((a) => a.replace(ROOT + '/', '')).join(' ')}\`${process.env.BENCH_GPU ? ' (BENCH_GPU=1)' : ''}`,
    ...lines.map((l) => `- ${l}`),
    '',
  ].join('\n');
  console.log(text);
  appendFileSync(RESULTS, text);
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}
