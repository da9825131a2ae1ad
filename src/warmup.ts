/**
 * Warm-up: an engine start that builds the caches later starts of the same model and settings read (vLLM's
 * torch.compile cache, FlashInfer's kernels and autotune results, the model-info cache), followed by one short
 * generation, so that a deployment's first request is not its slowest. Each warm-up is recorded next to vLLM's
 * caches, and `vllm-node doctor --model DIR` reads the record back.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import type { Engine } from './engine.js';

export interface WarmRecord {
  model: string;
  vllmVersion: string;
  device: string;
  /** A hash of the keyword arguments vLLM was started with: a start with other settings compiles again. */
  settings: string;
  startupSeconds: number;
  firstTokenSeconds: number;
  at: string;
}

/** vLLM's cache folder (VLLM_CACHE_ROOT, default ~/.cache/vllm, as vLLM resolves it). */
export function vllmCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.VLLM_CACHE_ROOT ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vllm'));
}

function recordFile(env?: NodeJS.ProcessEnv): string {
  return join(vllmCacheRoot(env), 'vllm-node', 'warm.json');
}

function readRecords(env?: NodeJS.ProcessEnv): WarmRecord[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(recordFile(env), 'utf8'));
    return Array.isArray(parsed) ? (parsed as WarmRecord[]) : [];
  } catch {
    return [];
  }
}

function settingsHash(requested: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(requested).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/** Runs one short generation on a started engine and records the warm-up. */
export async function warmEngine(engine: Engine): Promise<WarmRecord> {
  const t = performance.now();
  await engine.generate('Hello', { maxTokens: 4, temperature: 0 });
  const info = engine.info;
  const record: WarmRecord = {
    model: resolve(info.model),
    vllmVersion: info.vllmVersion,
    device: info.device.name ?? info.device.platform,
    settings: settingsHash(info.requested),
    startupSeconds: info.startupSeconds,
    firstTokenSeconds: +((performance.now() - t) / 1000).toFixed(3),
    at: new Date().toISOString(),
  };
  const others = readRecords().filter((r) => !(r.model === record.model && r.settings === record.settings && r.device === record.device && r.vllmVersion === record.vllmVersion));
  const file = recordFile();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify([...others, record], null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return record;
}

/** What is known about a model's caches: its warm-up records for this vLLM version, and whether vLLM's compile cache is there. */
export function warmState(model: string, vllmVersion?: string, env?: NodeJS.ProcessEnv): { records: WarmRecord[]; compileCache: boolean } {
  const records = readRecords(env).filter((r) => r.model === resolve(model) && (!vllmVersion || r.vllmVersion === vllmVersion));
  const compileDir = join(vllmCacheRoot(env), 'torch_compile_cache');
  const compileCache = existsSync(compileDir) && readdirSync(compileDir).length > 0;
  return { records, compileCache };
}
