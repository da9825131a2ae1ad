#!/usr/bin/env node
/** The `vllm-node` command line: generate / chat / extract over JSONL, bench, doctor. */
import { accessSync, constants, createReadStream, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { SingleBar } from 'cli-progress';
import { Command } from 'commander';

import type { z } from 'zod';

import { resolveEngineOptions } from '../config.js';
import { Engine } from '../engine.js';
import { VllmError } from '../errors.js';
import { extractWith, fromJsonSchema, type ExtractOptions } from '../extract.js';
import { ModelManager } from '../model-manager.js';
import { checkModel } from '../model-path.js';
import { ExtractOptionsSchema, type EngineOptions, type EngineOptionsInput, type SamplingOptions } from '../options.js';
import { parseCallOptions, parseSamplingOptions } from '../sampling.js';
import { cpuProfile } from '../profiles.js';
import { warmEngine } from '../warmup.js';
import { doctor } from './doctor.js';

async function readJsonl(file: string | undefined): Promise<unknown[]> {
  const input = !file || file === '-' ? process.stdin : createReadStream(file);
  const items: unknown[] = [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    try {
      items.push(JSON.parse(line));
    } catch {
      items.push(line);
    }
  }
  return items;
}

function progress(total: number): { tick(): void; stop(): void } {
  if (!process.stderr.isTTY) return { tick() {}, stop() {} };
  const bar = new SingleBar({ stream: process.stderr, format: '{bar} {value}/{total} | {eta}s left' });
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

interface Common {
  model?: string;
  maxTokens?: string;
  temperature?: string;
  config?: string;
  cpu?: boolean;
}

/** The options every command adds to the config file's: --cpu's profile and `extra`. */
function overrides(o: Common, extra: Partial<EngineOptionsInput> = {}): Partial<EngineOptionsInput> {
  return { ...(o.cpu ? cpuProfile({ engineArgs: { kv_cache_memory_bytes: 1 << 30 } }) : {}), ...extra };
}
const createOptions = (o: Common) => (o.config ? { configFile: o.config } : {});

async function open(o: Common, extra: Partial<EngineOptionsInput> = {}): Promise<Engine> {
  return Engine.create({ ...(o.model ? { model: o.model } : {}), ...overrides(o, extra) }, createOptions(o));
}

/** A number flag's value; INVALID_OPTIONS naming the flag for anything else. */
function numberFlag(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new VllmError('INVALID_OPTIONS', `Invalid option ${flag}: expected a number, received ${JSON.stringify(text)}`, { option: flag });
  return n;
}

/** Checks flag values against the options schema, before anything starts; the message names the flag. */
function checkFlags<T>(flags: Record<string, string>, check: () => T): T {
  try {
    return check();
  } catch (err) {
    const flag = err instanceof VllmError && err.option !== undefined ? flags[err.option] : undefined;
    if (!flag || !(err instanceof VllmError)) throw err;
    throw new VllmError(err.code, err.message.replace(`"${err.option}"`, flag), { option: flag });
  }
}

const SAMPLING_FLAGS = { maxTokens: '--max-tokens', temperature: '--temperature' };

/** --max-tokens and --temperature as per-call options, checked. */
function sampling(o: Common): SamplingOptions {
  const options: SamplingOptions = {};
  if (o.maxTokens !== undefined) options.maxTokens = numberFlag('--max-tokens', o.maxTokens);
  if (o.temperature !== undefined) options.temperature = numberFlag('--temperature', o.temperature);
  return checkFlags(SAMPLING_FLAGS, () => parseSamplingOptions(options));
}

/** A file a flag names, checked readable before the engine starts. */
function checkFile(flag: string, file: string): string {
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    accessSync(file, constants.R_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    throw new VllmError('INVALID_OPTIONS', `Invalid option ${flag}: cannot read ${file} (${why})`, { option: flag });
  }
  return file;
}

/**
 * Everything a run reads, checked before the engine starts (~20 s): the flags, the files they name, the config
 * file and the model folder.
 */
function preflight(o: Common & { input?: string }, extra: Partial<EngineOptionsInput> = {}): void {
  if (o.input !== undefined && o.input !== '-') checkFile('--input', o.input);
  if (o.config !== undefined) checkFile('--config', o.config);
  const resolved = resolveEngineOptions({ ...(o.model ? { model: o.model } : {}), ...overrides(o, extra) }, createOptions(o));
  checkModel(resolved.model);
}

async function runBatch(o: Common & { input?: string }, each: (engine: Engine, item: unknown) => Promise<unknown>): Promise<void> {
  preflight(o);
  const items = await readJsonl(o.input);
  const engine = await open(o);
  const bar = progress(items.length);
  try {
    const results = await Promise.all(
      items.map((item) =>
        each(engine, item)
          .catch((e: unknown) => ({ error: e instanceof VllmError ? e.code : 'ERROR', message: (e as Error).message }))
          .finally(() => bar.tick()),
      ),
    );
    bar.stop();
    for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
  } finally {
    await engine.close();
  }
}

const program = new Command('vllm-node').description('vLLM inside Node: batch generation over JSONL, benchmarks, environment checks');
const common = (c: Command) =>
  c
    .option('-m, --model <path>', 'model folder (default: DEFAULT_MODEL_PATH / config file)')
    .option('-i, --input <file>', 'JSONL input (default: stdin)')
    .option('--max-tokens <n>', 'maximum tokens per output')
    .option('--temperature <t>', 'sampling temperature')
    .option('-c, --config <file>', 'YAML config file')
    .option('--cpu', 'CPU settings (no fp8, small KV cache)');

common(program.command('generate').description('each line: {"prompt": "..."} or a plain string → {"text": ...}')).action((o) => {
  const options = sampling(o);
  return runBatch(o, async (engine, item) => {
    const prompt = typeof item === 'string' ? item : (item as { prompt: string }).prompt;
    const r = await engine.generateDetailed(prompt, options);
    return { text: r.text, finishReason: r.finishReason, outputTokens: r.outputTokens };
  });
});
common(program.command('chat').description('each line: {"messages": [...]} → {"text": ...}')).action((o) => {
  const options = sampling(o);
  return runBatch(o, async (engine, item) => ({ text: await engine.chat((item as { messages: never }).messages, options) }));
});

/** The --schema file: a JSON Schema object, and the zod schema that validates output against it. */
function schemaFile(file: string): { jsonSchema: Record<string, unknown>; schema: z.ZodType } {
  let jsonSchema: unknown;
  try {
    jsonSchema = JSON.parse(readFileSync(checkFile('--schema', file), 'utf8'));
  } catch (err) {
    if (err instanceof VllmError) throw err;
    throw new VllmError('INVALID_OPTIONS', `Invalid option --schema: ${file} is not JSON (${(err as Error).message})`, { option: '--schema' });
  }
  if (typeof jsonSchema !== 'object' || jsonSchema === null || Array.isArray(jsonSchema)) {
    throw new VllmError('INVALID_OPTIONS', `Invalid option --schema: ${file} holds ${Array.isArray(jsonSchema) ? 'an array' : String(jsonSchema)}, not a JSON Schema object`, { option: '--schema' });
  }
  // Converted before the engine starts: a schema zod cannot validate with fails at once.
  return { jsonSchema: jsonSchema as Record<string, unknown>, schema: fromJsonSchema(jsonSchema as Record<string, unknown>) };
}

common(
  program
    .command('extract')
    .description('each line: {"input": "..."} or a string → the JSON value (an input too long for the context is cut to fit)')
    .requiredOption('-s, --schema <file>', 'JSON Schema file')
    .option('--max-input-tokens <n>', 'cut each input to at most this many tokens (default: what the context leaves)'),
).action((o: Common & { schema: string; maxInputTokens?: string }) => {
  const options: ExtractOptions = sampling(o);
  if (o.maxInputTokens !== undefined) {
    const maxInputTokens = numberFlag('--max-input-tokens', o.maxInputTokens);
    checkFlags({ maxInputTokens: '--max-input-tokens' }, () => parseCallOptions(ExtractOptionsSchema, { maxInputTokens }));
    options.maxInputTokens = maxInputTokens;
  }
  const { jsonSchema, schema } = schemaFile(o.schema);
  return runBatch(o, (engine, item) => {
    const input = typeof item === 'string' ? item : (item as { input: string }).input;
    return extractWith(engine, input, schema, jsonSchema, options);
  });
});
common(program.command('bench').description('N concurrent requests; prints output tokens/s').option('-n, --requests <n>', 'requests', '64')).action(async (o) => {
  const n = numberFlag('--requests', o.requests);
  if (!Number.isInteger(n) || n < 1) throw new VllmError('INVALID_OPTIONS', `Invalid option --requests: expected a positive integer, received ${o.requests}`, { option: '--requests' });
  const { maxTokens = 64 } = sampling(o);
  preflight(o);
  const engine = await open(o);
  try {
    const t = performance.now();
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => engine.generateDetailed(`Request ${i}: write a job title.`, { maxTokens, ignoreEos: true })));
    const s = (performance.now() - t) / 1000;
    const tokens = rs.reduce((a, r) => a + r.outputTokens, 0);
    console.log(JSON.stringify({ requests: n, seconds: +s.toFixed(3), outputTokensPerSecond: +(tokens / s).toFixed(1) }));
  } finally {
    await engine.close();
  }
});
interface CacheFlags {
  sleepMode?: string;
  cacheDir?: string;
}
const CACHE_FLAGS = { sleepMode: '--sleep-mode', cacheDir: '--cache-dir' };

function cacheFlags(o: CacheFlags): Partial<EngineOptionsInput> {
  return { ...(o.sleepMode ? { sleepMode: o.sleepMode as 'auto' } : {}), ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) };
}

/** The engine options doctor checks the caches for: what warmup would start with the same flags. */
function doctorOptions(o: Common & CacheFlags): { options: EngineOptions } | { error: Error } {
  try {
    const options = checkFlags(CACHE_FLAGS, () => resolveEngineOptions({ ...(o.model ? { model: o.model } : {}), ...overrides(o, cacheFlags(o)) }, createOptions(o)));
    return { options: { ...options, ...(options.cacheDir !== undefined ? { cacheDir: resolve(options.cacheDir) } : {}) } };
  } catch (err) {
    return { error: err as Error };
  }
}

program
  .command('warmup')
  .description(
    "start the engine once for a model and settings, so later starts read warm caches (torch.compile, FlashInfer); prints the start's timings. " +
      'vLLM keys its compile cache on the settings, sleep mode included: warm a ModelManager\'s models with --models (or --sleep-mode auto)',
  )
  .option('-m, --model <path>', 'model folder (default: DEFAULT_MODEL_PATH / config file)')
  .option('-c, --config <file>', 'YAML config file')
  .option('--cpu', 'CPU settings (no fp8, small KV cache)')
  .option('--sleep-mode <mode>', 'sleepMode of the engine to warm: off | auto | on (a ModelManager uses auto)')
  .option('--cache-dir <dir>', 'put every cache the start writes into this folder (cacheDir; default VLLM_NODE_CACHE_DIR / config file)')
  .option('--models', "warm every model of the config's catalog (inference.models) as ModelManager starts them")
  .action(async (o: Common & CacheFlags & { models?: boolean }) => {
    const extra = cacheFlags(o);
    if (o.models) {
      const manager = await ModelManager.create(overrides(o, extra), createOptions(o));
      try {
        for (const r of await manager.warmup()) console.log(JSON.stringify(r));
      } finally {
        await manager.close();
      }
      return;
    }
    checkFlags(CACHE_FLAGS, () => preflight(o, extra));
    const engine = await open(o, extra);
    try {
      console.log(JSON.stringify(await warmEngine(engine)));
    } finally {
      await engine.close();
    }
  });
program
  .command('doctor')
  .description('check Python, the addon, vLLM, GPUs and fp8 support, with a fix for each problem')
  .option('--python <exe>', 'Python to check')
  .option('-m, --model <path>', "also say whether this model's caches are warm for the settings (config file, environment, the flags below) and the installed vLLM and torch (see warmup)")
  .option('-c, --config <file>', 'YAML config file (with --model)')
  .option('--cpu', 'CPU settings (with --model)')
  .option('--sleep-mode <mode>', 'sleepMode (with --model): off | auto | on')
  .option('--cache-dir <dir>', 'the cache folder to check (cacheDir; default VLLM_NODE_CACHE_DIR / config file, else vLLM\'s own)')
  .option('--json', 'JSON output')
  .action((o: Common & CacheFlags & { python?: string; json?: boolean }) => {
    const findings = doctor(o.python, o.model === undefined ? undefined : doctorOptions(o));
    if (o.json) console.log(JSON.stringify(findings, null, 2));
    else for (const f of findings) console.log(`${f.ok ? 'ok  ' : 'FAIL'} ${f.check}: ${f.detail}${f.fix ? `\n     fix: ${f.fix}` : ''}`);
    process.exitCode = findings.every((f) => f.ok) ? 0 : 1;
  });

program.parseAsync().catch((err: unknown) => {
  // One line for what a user got wrong (typed errors, a file the system could not read); the whole error otherwise.
  const system = err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
  console.error(err instanceof VllmError ? `${err.code}: ${err.message}` : system ? `ERROR: ${(err as Error).message}` : err);
  process.exit(1);
});
