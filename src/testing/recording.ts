/**
 * The recording format shared by RecordingGenerator and ReplayGenerator: one JSON object per line, a call
 * (method, inputs, options) and its answer. A call is found again by the canonical JSON of those three, so the
 * order of option keys, the caller's AbortSignal and callbacks (onFinish, onProgress, ...) do not matter.
 */
import { isErrorCode, VllmError } from '../errors.js';
import type { GenerationResult } from '../types.js';

/** The TextGenerator methods a recording holds (health and close are not calls to the model). */
export type RecordedMethod = 'generate' | 'generateDetailed' | 'stream' | 'chat' | 'chatDetailed' | 'chatStream' | 'extract' | 'extractMany';

/** An error as written down: enough to throw the same VllmError (code, message, Python details) again. */
export interface RecordedError {
  name: string;
  message: string;
  code?: string;
  pyType?: string;
  option?: string;
  rawText?: string;
}

/** How a call ended. */
export type RecordedAnswer =
  | { value: unknown }
  | { error: RecordedError }
  /** A stream: its deltas in order, then how it ended (`left`: the consumer stopped reading before the end). */
  | { deltas: string[]; end: 'done'; result?: GenerationResult }
  | { deltas: string[]; end: 'error'; error: RecordedError }
  | { deltas: string[]; end: 'left' }
  /** extractMany: one outcome per input, in input order. */
  | { outcomes: ({ ok: true; value: unknown } | { ok: false; error: RecordedError })[] };

/** One line of a recording. `n` counts earlier calls with the same key (a repeated call's answers, in call order). */
export interface RecordedCall {
  method: RecordedMethod;
  inputs: unknown[];
  options: Record<string, unknown>;
  n: number;
  answer: RecordedAnswer;
}

/** The first line of every recording. */
export const RECORDING_HEADER = { format: 'vllm-node-recording', version: 1 } as const;

/**
 * A JSON-safe copy with object keys sorted and what is not data left out: undefined, functions, symbols and
 * AbortSignals (a call's abort signal and callbacks do not change what the model answers). Non-finite numbers and
 * bigints are kept as tagged objects, so they neither collide with null nor throw.
 */
export function canonical(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value !== 'object') return undefined;
  if (value instanceof AbortSignal) return undefined;
  if (Array.isArray(value)) return value.map((v) => canonical(v) ?? null);
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return canonical(withJson.toJSON());
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = canonical((value as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** What a call is known by: the canonical JSON of its method, inputs and options. */
export function callKey(method: string, inputs: readonly unknown[], options: unknown): string {
  return JSON.stringify(canonical([method, inputs, options ?? {}]));
}

/** The call as one readable line for an error message (cut at `max` characters). */
export function describeCall(method: string, inputs: readonly unknown[], options: unknown, max = 600): string {
  const args = (canonical(inputs) as unknown[]).map((a) => JSON.stringify(a));
  const opts = JSON.stringify(canonical(options ?? {}));
  const text = `${method}(${[...args, opts].join(', ')})`;
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

export function recordError(err: unknown): RecordedError {
  if (err instanceof VllmError) {
    const out: RecordedError = { name: err.name, message: err.message, code: err.code };
    if (err.pyType !== undefined) out.pyType = err.pyType;
    if (err.option !== undefined) out.option = err.option;
    if (err.rawText !== undefined) out.rawText = err.rawText;
    return out;
  }
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** The recorded error thrown again: a VllmError with its code where it was one, else an Error of the same name. */
export function replayError(e: RecordedError): Error {
  if (e.code !== undefined) {
    // A code this version does not know (a recording from a newer one): CALL_FAILED, the recorded code in the message.
    const code = isErrorCode(e.code) ? e.code : 'CALL_FAILED';
    const details: { pyType?: string; option?: string; rawText?: string } = {};
    if (e.pyType !== undefined) details.pyType = e.pyType;
    if (e.option !== undefined) details.option = e.option;
    if (e.rawText !== undefined) details.rawText = e.rawText;
    return new VllmError(code, code === e.code ? e.message : `${e.message} (recorded as ${e.code})`, details);
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
