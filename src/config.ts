/**
 * Resolves engine options from, lowest to highest precedence: schema defaults, the YAML file
 * (`config/inference.yaml` or `configFile`), environment variables, and the options passed in code.
 * Every source is validated on its own so that an error names the file, variable or key at fault.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';

import { VllmError } from './errors.js';
import {
  BOOLEAN_OPTIONS,
  DEFAULT_GPU_MEMORY_UTILIZATION,
  EngineOptionsSchema,
  NULLABLE_OPTIONS,
  NUMBER_OPTIONS,
  OPTION_SOURCES,
  safeParseOptions,
  type EngineOptions,
  type EngineOptionsInput,
} from './options.js';

export interface ResolveOptions {
  /** YAML file; default: $VLLM_NODE_CONFIG, else ./config/inference.yaml when it exists. */
  configFile?: string | false;
  /** Environment to read; default process.env. */
  env?: Record<string, string | undefined>;
}

type Plain = Record<string, unknown>;

function setPath(target: Plain, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Plain;
  }
  node[parts[parts.length - 1] as string] = value;
}

function getPath(source: unknown, path: string): unknown {
  let node = source;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Plain)[part];
  }
  return node;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** "did you mean" for a misspelt key. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = levenshtein(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)} of type string`;
  if (typeof v === 'number') return `${v} of type number`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a value of type ${typeof v}`;
}

/** Formats zod issues as one readable message naming the key, what was expected and what came. */
export function formatIssues(error: z.ZodError, input: unknown, where: string, keyName = (k: string) => k, knownKeys?: readonly string[]): {
  message: string;
  option: string;
} {
  const issue = error.issues[0] as z.core.$ZodIssue;
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const prefix = path ? `${path}.` : '';
    const key = `${prefix}${issue.keys[0]}`;
    const shape = path ? getPath(EngineOptionsSchema.shape, `${path}`) : EngineOptionsSchema.shape;
    const known = knownKeys && !path ? knownKeys : path === 'sampling' ? Object.keys(EngineOptionsSchema.shape.sampling.unwrap().shape) : Object.keys(shape ?? {});
    const hint = suggest(issue.keys[0] as string, known);
    return {
      option: key,
      message: `Unknown option "${keyName(key)}"${where}${hint ? `; did you mean "${keyName(`${prefix}${hint}`)}"?` : ''}`,
    };
  }
  const received = getPath(input, path);
  return {
    option: path,
    message: `Invalid option "${keyName(path)}"${where}: ${issue.message}, received ${describeValue(received)}`,
  };
}

function coerceEnv(key: string, name: string, raw: string): unknown {
  const text = raw.trim();
  if (NULLABLE_OPTIONS.has(key) && ['', 'none', 'null'].includes(text.toLowerCase())) return null;
  if (NUMBER_OPTIONS.has(key)) {
    const n = text === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(n)) {
      throw new VllmError('INVALID_OPTIONS', `Invalid option "${key}" from environment variable ${name}: expected a number, received ${JSON.stringify(raw)}`, { option: key });
    }
    return n;
  }
  if (BOOLEAN_OPTIONS.has(key)) {
    const t = text.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
    throw new VllmError('INVALID_OPTIONS', `Invalid option "${key}" from environment variable ${name}: expected true/false, received ${JSON.stringify(raw)}`, { option: key });
  }
  return raw;
}

export function optionsFromEnv(env: Record<string, string | undefined>): Plain {
  const out: Plain = {};
  for (const [key, source] of Object.entries(OPTION_SOURCES)) {
    if (!source.env) continue;
    const raw = env[source.env];
    if (raw === undefined) continue;
    setPath(out, key, coerceEnv(key, source.env, raw));
  }
  const partial = EngineOptionsSchema.partial().safeParse(out);
  if (!partial.success) {
    const envName = (k: string) => OPTION_SOURCES[k]?.env ?? k;
    const { message, option } = formatIssues(partial.error, out, ' from the environment', (k) => `${k}" (${envName(k)})`.replace(/"$/, ''));
    throw new VllmError('INVALID_OPTIONS', message, { option });
  }
  return out;
}

const YAML_SECTIONS = { 'inference.vllm': '', 'inference.sampling': 'sampling.' } as const;

export function optionsFromYaml(file: string): Plain {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  const out: Plain = {};
  const inference = getPath(doc, 'inference');
  if (typeof doc !== 'object' || Array.isArray(doc) || (inference !== undefined && (typeof inference !== 'object' || inference === null))) {
    throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: expected a mapping with an "inference" section`);
  }
  for (const top of Object.keys(doc as Plain)) {
    if (top !== 'inference') throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: unknown key "${top}" (expected "inference")`, { option: top });
  }
  for (const sectionKey of Object.keys((inference ?? {}) as Plain)) {
    const full = `inference.${sectionKey}`;
    if (full === 'inference.models' || full === 'inference.default_model') continue; // the model manager's (modelsFromYaml)
    if (!(full in YAML_SECTIONS)) {
      throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: unknown key "${full}" (expected inference.vllm or inference.sampling)`, { option: full });
    }
    const section = getPath(doc, full);
    if (section === null || section === undefined) continue;
    if (typeof section !== 'object' || Array.isArray(section)) {
      throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: "${full}" must be a mapping`, { option: full });
    }
    readSection(file, full, section as Plain, out);
  }
  return checkYamlOptions(file, out);
}

/** Reads one YAML section whose keys are OPTION_SOURCES' `yaml` names under `full` (e.g. inference.vllm). */
function readSection(file: string, full: string, section: Plain, out: Plain, shownAs = full): void {
  const yamlToKey = new Map<string, string>();
  for (const [key, src] of Object.entries(OPTION_SOURCES)) if (src.yaml) yamlToKey.set(src.yaml, key);
  for (const [k, v] of Object.entries(section)) {
    const key = yamlToKey.get(`${full}.${k}`);
    if (!key) {
      const known = [...yamlToKey.keys()].filter((y) => y.startsWith(`${full}.`)).map((y) => y.slice(full.length + 1));
      const hint = suggest(k, known);
      throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: unknown key "${shownAs}.${k}"${hint ? `; did you mean "${shownAs}.${hint}"?` : ''}`, { option: `${shownAs}.${k}` });
    }
    setPath(out, key, NULLABLE_OPTIONS.has(key) && typeof v === 'string' && v.toLowerCase() === 'none' ? null : v);
  }
}

function checkYamlOptions(file: string, out: Plain, yamlName = (k: string) => OPTION_SOURCES[k]?.yaml ?? k): Plain {
  const partial = EngineOptionsSchema.partial().safeParse(out);
  if (!partial.success) {
    const { message, option } = formatIssues(partial.error, out, ` in ${file}`, yamlName);
    throw new VllmError('CONFIG_FILE_INVALID', message, { option: yamlName(option) });
  }
  return out;
}

function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    const mergeable = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
    out[k] = k === 'sampling' && mergeable(prev) && mergeable(v) ? merge(prev as Plain, v as Plain) : v;
  }
  return out;
}

/** YAML `inference.models.<name>` (each with the keys of `inference.vllm`) and `inference.default_model`. */
export function modelsFromYaml(file: string): { models?: Record<string, Plain>; default?: string } {
  const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
  const section = getPath(doc, 'inference.models');
  const def = getPath(doc, 'inference.default_model');
  if (def !== undefined && typeof def !== 'string') {
    throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: "inference.default_model" must be a model name`, { option: 'inference.default_model' });
  }
  if (section === undefined || section === null) return def === undefined ? {} : { default: def };
  if (typeof section !== 'object' || Array.isArray(section)) {
    throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: "inference.models" must map names to engine settings`, { option: 'inference.models' });
  }
  const models: Record<string, Plain> = {};
  for (const [name, entry] of Object.entries(section as Plain)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file}: "inference.models.${name}" must be a mapping`, { option: `inference.models.${name}` });
    }
    // Each entry has the keys of inference.vllm, with the same checks and messages.
    const out: Plain = {};
    readSection(file, 'inference.vllm', entry as Plain, out, `inference.models.${name}`);
    models[name] = checkYamlOptions(file, out, (k) => (OPTION_SOURCES[k]?.yaml ?? k).replace('inference.vllm.', `inference.models.${name}.`));
  }
  return def === undefined ? { models } : { models, default: def };
}

/**
 * The model manager's catalog: names → engine options (code, else YAML `inference.models`), and the default
 * model (code, else env DEFAULT_MODEL, else YAML `inference.default_model`, else the first name).
 */
export function resolveModelCatalog(
  input: { models?: Record<string, unknown> | undefined; default?: string | undefined },
  opts: ResolveOptions = {},
): { models: Record<string, Plain>; default: string } {
  const env = opts.env ?? process.env;
  const file = opts.configFile === false ? undefined : (opts.configFile ?? defaultConfigFile(env));
  const fromFile = file && existsSync(file) ? modelsFromYaml(file) : {};
  const models = (input.models ?? fromFile.models) as Record<string, Plain> | undefined;
  if (!models || typeof models !== 'object' || Array.isArray(models) || Object.keys(models).length === 0) {
    throw new VllmError('INVALID_OPTIONS', 'The model manager needs models: pass { models: { name: { model: "/path" } } } or set inference.models in the config file', { option: 'models' });
  }
  for (const [name, entry] of Object.entries(models)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new VllmError('INVALID_OPTIONS', `Invalid option "models.${name}": expected engine options, received ${describeValue(entry)}`, { option: `models.${name}` });
    }
    const checked = safeParseOptions(EngineOptionsSchema.partial(), entry, `options for model "${name}"`);
    if (!checked.success) {
      const { message, option } = formatIssues(checked.error, entry, ` for model "${name}"`);
      throw new VllmError('INVALID_OPTIONS', message, { option: `models.${name}.${option}` });
    }
  }
  const names = Object.keys(models);
  const def = input.default ?? env.DEFAULT_MODEL ?? fromFile.default ?? names[0]!;
  if (!names.includes(def)) {
    throw new VllmError('UNKNOWN_MODEL', `Unknown default model "${def}"; the catalog has: ${names.map((n) => `"${n}"`).join(', ')}`, { option: 'default' });
  }
  return { models, default: def };
}

export function defaultConfigFile(env: Record<string, string | undefined>): string | undefined {
  if (env.VLLM_NODE_CONFIG) return resolve(env.VLLM_NODE_CONFIG);
  const local = resolve('config', 'inference.yaml');
  return existsSync(local) ? local : undefined;
}

/** Validates and merges every source into the full options, defaults applied. */
export function resolveEngineOptions(input: EngineOptionsInput | Partial<EngineOptionsInput> = {}, opts: ResolveOptions = {}): EngineOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new VllmError('INVALID_OPTIONS', `Expected an options object, received ${describeValue(input)}`);
  }
  const env = opts.env ?? process.env;
  const file = opts.configFile === false ? undefined : (opts.configFile ?? defaultConfigFile(env));
  if (file !== undefined && !existsSync(file)) {
    throw new VllmError('CONFIG_FILE_INVALID', `Config file ${file} does not exist`);
  }
  const fromFile = file ? optionsFromYaml(file) : {};
  const fromEnv = optionsFromEnv(env);
  const explicit = safeParseOptions(EngineOptionsSchema.partial(), input, 'engine options');
  if (!explicit.success) {
    const { message, option } = formatIssues(explicit.error, input, '');
    throw new VllmError('INVALID_OPTIONS', message, { option });
  }
  const merged = merge(merge(fromFile, fromEnv), input as Plain);
  if (merged.model === undefined) {
    throw new VllmError('INVALID_OPTIONS', 'Missing option "model": pass { model }, set DEFAULT_MODEL_PATH, or set inference.vllm.model in the config file', { option: 'model' });
  }
  const full = EngineOptionsSchema.safeParse(merged);
  if (!full.success) {
    const { message, option } = formatIssues(full.error, merged, '');
    throw new VllmError('INVALID_OPTIONS', message, { option });
  }
  const data = full.data;
  if (data.gpuMemoryGiB !== undefined && data.gpuMemoryUtilization !== undefined) {
    throw new VllmError(
      'INVALID_OPTIONS',
      `Options "gpuMemoryGiB" (${data.gpuMemoryGiB}) and "gpuMemoryUtilization" (${data.gpuMemoryUtilization}) are both set; they are two ways to give the same memory cap: keep one`,
      { option: 'gpuMemoryGiB' },
    );
  }
  if (data.gpuMemoryGiB === undefined && data.gpuMemoryUtilization === undefined) data.gpuMemoryUtilization = DEFAULT_GPU_MEMORY_UTILIZATION;
  return data;
}
