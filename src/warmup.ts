/**
 * Warm caches: an engine start builds the caches later starts of the same model and settings read (vLLM's
 * torch.compile cache, Inductor's, Triton's, FlashInfer's kernels and autotune results, the model-info cache). A
 * record of each warm start lies next to vLLM's caches (`<vLLM cache root>/vllm-node/warm.json`): written by
 * `warmEngine` (`vllm-node warmup`, ModelManager.warmup) after one short generation, and at the end of every start of
 * an engine with a `cacheDir` (the folder is then the engine's own). `vllm-node doctor --model DIR` reads it back
 * (`cacheState`): warm for that model, those settings, and the installed vLLM and torch, or why not.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import type { Engine } from './engine.js';
import type { EngineOptions } from './options.js';

export interface WarmRecord {
  model: string;
  vllmVersion: string;
  /** The torch release of that start (absent in records written before vllm-node recorded it). */
  torchVersion?: string;
  device: string;
  /** A hash of the engine options that decide what is compiled (`cacheSettings`): a start with other settings compiles again. */
  settings: string;
  /** Those options (absent in records written before vllm-node recorded them). */
  options?: Record<string, unknown>;
  startupSeconds: number;
  /** The warm-up generation's time; null in the record an engine with a cacheDir writes at the end of its start. */
  firstTokenSeconds: number | null;
  at: string;
}

/** vLLM's cache folder (VLLM_CACHE_ROOT, default ~/.cache/vllm, as vLLM resolves it); `<cacheDir>/vllm` with a cacheDir. */
export function vllmCacheRoot(env: NodeJS.ProcessEnv = process.env, cacheDir?: string): string {
  if (cacheDir) return join(resolve(cacheDir), 'vllm');
  return resolve(env.VLLM_CACHE_ROOT ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vllm'));
}

// Options that change nothing vLLM compiles or tunes: where the model and caches are matched separately, host-side
// settings, and per-request ones. Every other option is part of the key, options added later included, so a new
// setting can make a cache look cold but never look warm wrongly.
const NOT_IN_CACHE_KEY = new Set(['model', 'cacheDir', 'python', 'logLevel', 'sampling', 'seed', 'fastStart', 'trustRemoteCode', 'reasoningParser']);

function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortedDeep(v)]));
  }
  return value;
}

/** The engine options a warm cache is for: all but those that change nothing vLLM compiles (the model is matched apart). */
export function cacheSettings(options: EngineOptions): Record<string, unknown> {
  const entries = Object.entries(options).filter(([k, v]) => !NOT_IN_CACHE_KEY.has(k) && v !== undefined);
  return sortedDeep(Object.fromEntries(entries)) as Record<string, unknown>;
}

function settingsHash(settings: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
}

/** The `settings` of a warm record for these options: a hash of `cacheSettings`. */
export function settingsKey(options: EngineOptions): string {
  return settingsHash(cacheSettings(options));
}

function recordFile(root: string): string {
  return join(root, 'vllm-node', 'warm.json');
}

function readRecords(root: string): WarmRecord[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(recordFile(root), 'utf8'));
    return Array.isArray(parsed) ? (parsed as WarmRecord[]) : [];
  } catch {
    return [];
  }
}

function sameStart(a: WarmRecord, b: WarmRecord): boolean {
  return a.model === b.model && a.settings === b.settings && a.device === b.device && a.vllmVersion === b.vllmVersion && a.torchVersion === b.torchVersion;
}

/** The record of a started engine (firstTokenSeconds null), written over an earlier one of the same start. */
function writeRecord(engine: Engine, firstTokenSeconds: number | null): WarmRecord {
  const info = engine.info;
  const options = cacheSettings(engine.options);
  const record: WarmRecord = {
    model: resolve(info.model),
    vllmVersion: info.vllmVersion,
    ...(info.torchVersion ? { torchVersion: info.torchVersion } : {}),
    device: info.device.name ?? info.device.platform,
    settings: settingsHash(options),
    options,
    startupSeconds: info.startupSeconds,
    firstTokenSeconds,
    at: new Date().toISOString(),
  };
  const root = vllmCacheRoot(process.env, engine.options.cacheDir);
  const file = recordFile(root);
  const others = readRecords(root).filter((r) => !sameStart(r, record));
  mkdirSync(dirname(file), { recursive: true });
  // Per process: engines of several processes may share one cache folder.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify([...others, record], null, 2)}\n`);
  renameSync(tmp, file);
  return record;
}

/** The record an engine with a cacheDir writes into it at the end of its start (Engine.create). */
export function recordStart(engine: Engine): WarmRecord {
  return writeRecord(engine, null);
}

/** Runs one short generation on a started engine and records the warm-up. */
export async function warmEngine(engine: Engine): Promise<WarmRecord> {
  const t = performance.now();
  await engine.generate('Hello', { maxTokens: 4, temperature: 0 });
  return writeRecord(engine, +((performance.now() - t) / 1000).toFixed(3));
}

/** What is known about a model's caches: its warm-up records for this vLLM version, and whether vLLM's compile cache is there. */
export function warmState(model: string, vllmVersion?: string, env?: NodeJS.ProcessEnv, cacheDir?: string): { records: WarmRecord[]; compileCache: boolean } {
  const root = vllmCacheRoot(env, cacheDir);
  const records = readRecords(root).filter((r) => r.model === resolve(model) && (!vllmVersion || r.vllmVersion === vllmVersion));
  const compileDir = join(root, 'torch_compile_cache');
  const compileCache = existsSync(compileDir) && readdirSync(compileDir).length > 0;
  return { records, compileCache };
}

/** The installed stack a warm cache must have been built with (doctor reads it from the Python it checks). */
export interface InstalledStack {
  vllmVersion?: string | undefined;
  torchVersion?: string | undefined;
  /** The device name a record of this machine carries: the first GPU's name, or "cpu". */
  device?: string | undefined;
}

export interface CacheState {
  /** Warm for the model, these settings and the installed vLLM and torch. */
  warm: boolean;
  /** vLLM's cache root that was read (`<cacheDir>/vllm` with a cacheDir). */
  folder: string;
  /** Why it is, or is not, warm. */
  detail: string;
  /** The record that matched, or the model's newest. */
  record?: WarmRecord;
}

function describeDiff(want: Record<string, unknown>, had: Record<string, unknown> | undefined): string {
  if (!had) return 'other settings';
  const keys = [...new Set([...Object.keys(want), ...Object.keys(had)])].filter((k) => JSON.stringify(want[k]) !== JSON.stringify(had[k])).sort();
  return `other settings (${keys.map((k) => `${k}: ${JSON.stringify(had[k])}, not ${JSON.stringify(want[k])}`).join('; ')})`;
}

// The device name of a record (vLLM's platform) and doctor's (torch) may be spelt apart: one containing the other matches.
function sameDevice(a: string, b: string): boolean {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x.includes(y) || y.includes(x);
}

/** Whether the caches (options.cacheDir, else vLLM's default folder) are warm for options.model with these options and the installed stack. */
export function cacheState(options: EngineOptions, installed: InstalledStack, env: NodeJS.ProcessEnv = process.env): CacheState {
  const folder = vllmCacheRoot(env, options.cacheDir);
  const model = resolve(options.model);
  const records = readRecords(folder).filter((r) => r.model === model);
  const last = records.at(-1);
  if (!last) return { warm: false, folder, detail: `${options.model} was never warmed up or started with this cache folder (${folder}): its first start compiles` };
  const want = cacheSettings(options);
  const key = settingsKey(options);
  const same = records.filter((r) => r.settings === key);
  const newest = same.at(-1);
  if (!newest) return { warm: false, folder, record: last, detail: `${options.model} was warmed up on ${last.at} with ${describeDiff(want, last.options)}: a start with these settings compiles again` };
  const stack = (r: WarmRecord) => `vLLM ${r.vllmVersion}, torch ${r.torchVersion ?? '?'} on ${r.device}`;
  const match = same.findLast(
    (r) =>
      r.vllmVersion === installed.vllmVersion &&
      (!r.torchVersion || !installed.torchVersion || r.torchVersion === installed.torchVersion) &&
      (!installed.device || sameDevice(r.device, installed.device)),
  );
  if (!match) {
    return {
      warm: false,
      folder,
      record: newest,
      detail: `${options.model} was warmed up on ${newest.at} with these settings for ${stack(newest)}; this machine has vLLM ${installed.vllmVersion ?? '?'}, torch ${installed.torchVersion ?? '?'} on ${installed.device ?? '?'}: its first start compiles again`,
    };
  }
  const compileDir = join(folder, 'torch_compile_cache');
  if (options.enforceEager !== true && !(existsSync(compileDir) && readdirSync(compileDir).length > 0)) {
    return { warm: false, folder, record: match, detail: `${options.model} was warmed up on ${match.at}, but vLLM's compile cache in ${compileDir} is gone` };
  }
  const how = match.firstTokenSeconds === null ? 'started' : 'warmed up';
  return {
    warm: true,
    folder,
    record: match,
    detail: `${options.model}: warm in ${folder} for these settings and ${stack(match)} (${how} on ${match.at}; that start took ${match.startupSeconds} s): a start with the same settings reads the caches`,
  };
}
