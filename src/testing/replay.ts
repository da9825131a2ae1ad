/**
 * ReplayGenerator: answers the calls a RecordingGenerator wrote down, from its file, with no model at all (a GPU
 * run's answers in CPU CI, a test that must not depend on sampling). A call that was not recorded fails loudly.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setImmediate } from 'node:timers/promises';

import type { z } from 'zod';

import { asVllmError, VllmError } from '../errors.js';
import { toJsonSchema, type ExtractManyOptions, type ExtractOptions, type ExtractOutcome } from '../extract.js';
import type { ChatCallOptions, TextGenerator } from '../generator.js';
import type { SamplingOptions } from '../options.js';
import type { ChatMessage, GenerationResult } from '../types.js';
import { callKey, describeCall, RECORDING_HEADER, replayError, type RecordedAnswer, type RecordedCall, type RecordedMethod } from './recording.js';

function invalidFile(file: string, why: string, cause?: unknown): VllmError {
  return new VllmError('INVALID_OPTIONS', `Expected a recording written by RecordingGenerator at ${file}, but ${why}`, { option: 'file', cause });
}

function aborted(signal: AbortSignal): VllmError {
  return new VllmError('REQUEST_ABORTED', 'the request was aborted', { cause: signal.reason });
}

/**
 * A TextGenerator that answers from a recording: the same call (method, inputs and options, compared as canonical
 * JSON, so key order, signals and callbacks do not matter) gets the recorded answer, errors included; a call made
 * again gets the answers recorded for its repeats in order, then the last one again. Streams replay as streams,
 * delta by delta (chatStream's `onFinish` gets the recorded result); an AbortSignal still aborts. A call not in
 * the recording rejects with `REPLAY_MISS`, naming the call.
 */
export class ReplayGenerator implements TextGenerator {
  /** The recording's path. */
  readonly file: string;
  readonly #answers = new Map<string, RecordedCall[]>();
  /** Per method and inputs, the options recorded with them: a miss names the nearest recorded calls. */
  readonly #byInputs = new Map<string, unknown[]>();
  readonly #seen = new Map<string, number>();
  #count = 0;
  #closed = false;

  constructor(file: string) {
    this.file = resolve(file);
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      throw invalidFile(this.file, `it cannot be read: ${(err as Error).message}`, err);
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    for (const [i, line] of lines.entries()) {
      let entry: Partial<RecordedCall> & { format?: string; version?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch (err) {
        throw invalidFile(this.file, `line ${i + 1} is not JSON: ${(err as Error).message}`, err);
      }
      if (i === 0) {
        if (entry.format !== RECORDING_HEADER.format || entry.version !== RECORDING_HEADER.version) {
          throw invalidFile(this.file, `its first line is ${line.slice(0, 100)}, not the header ${JSON.stringify(RECORDING_HEADER)}`);
        }
        continue;
      }
      if (typeof entry.method !== 'string' || !Array.isArray(entry.inputs) || entry.answer === undefined) {
        throw invalidFile(this.file, `line ${i + 1} is not a recorded call (method, inputs, options, answer)`);
      }
      const call = { ...entry, options: entry.options ?? {}, n: entry.n ?? 0 } as RecordedCall;
      const key = callKey(call.method, call.inputs, call.options);
      this.#answers.set(key, [...(this.#answers.get(key) ?? []), call]);
      const near = callKey(call.method, call.inputs, null);
      this.#byInputs.set(near, [...(this.#byInputs.get(near) ?? []), call.options]);
      this.#count += 1;
    }
    if (lines.length === 0) throw invalidFile(this.file, 'it is empty');
    for (const calls of this.#answers.values()) calls.sort((a, b) => a.n - b.n);
  }

  /** The recorded answer to this call (its repeats get the next recorded answers), or a typed error. */
  #answer(method: RecordedMethod, inputs: unknown[], options: unknown): RecordedAnswer {
    if (this.#closed) throw new VllmError('ENGINE_CLOSED', 'the ReplayGenerator was closed');
    const signal = (options as { signal?: unknown } | undefined)?.signal;
    if (signal instanceof AbortSignal && signal.aborted) throw new VllmError('REQUEST_ABORTED', 'the request was aborted before it started', { cause: signal.reason });
    const key = callKey(method, inputs, options);
    const calls = this.#answers.get(key);
    if (!calls) {
      const near = this.#byInputs.get(callKey(method, inputs, null)) ?? [];
      const hint = near.length > 0 ? `; the same ${method} call was recorded with other options: ${near.slice(0, 3).map((o) => JSON.stringify(o)).join(', ')}` : '';
      throw new VllmError('REPLAY_MISS', `No recorded answer for ${describeCall(method, inputs, options)} in ${this.file} (${this.#count} calls recorded)${hint}. Record the test again with RecordingGenerator.`);
    }
    const n = this.#seen.get(key) ?? 0;
    this.#seen.set(key, n + 1);
    return calls[Math.min(n, calls.length - 1)]!.answer;
  }

  async #replay<T>(method: RecordedMethod, inputs: unknown[], options: unknown): Promise<T> {
    const answer = this.#answer(method, inputs, options);
    if ('error' in answer && !('deltas' in answer)) throw replayError(answer.error);
    if (!('value' in answer)) throw new VllmError('REPLAY_MISS', `The recording of ${describeCall(method, inputs, options)} in ${this.file} holds no value`);
    return structuredClone(answer.value) as T;
  }

  async *#replayStream(method: 'stream' | 'chatStream', inputs: unknown[], options: ChatCallOptions | undefined): AsyncGenerator<string> {
    const answer = this.#answer(method, inputs, options);
    if ('error' in answer && !('deltas' in answer)) throw replayError(answer.error);
    if (!('deltas' in answer)) throw new VllmError('REPLAY_MISS', `The recording of ${describeCall(method, inputs, options)} in ${this.file} is not a stream`);
    const signal = options?.signal;
    for (const delta of answer.deltas) {
      // One event-loop turn per delta, as a real stream gives: timers and aborts run between deltas.
      await setImmediate();
      if (signal?.aborted) throw aborted(signal);
      yield delta;
    }
    if (answer.end === 'error') throw replayError(answer.error);
    if (answer.end === 'left') {
      throw new VllmError('REPLAY_MISS', `The recording of ${describeCall(method, inputs, options)} in ${this.file} stops after ${answer.deltas.length} deltas: its consumer stopped reading there when it was recorded`);
    }
    if (answer.result !== undefined) options?.onFinish?.(structuredClone(answer.result));
  }

  generate(prompt: string, options?: SamplingOptions): Promise<string> {
    return this.#replay('generate', [prompt], options);
  }
  generateDetailed(prompt: string, options?: SamplingOptions): Promise<GenerationResult> {
    return this.#replay('generateDetailed', [prompt], options);
  }
  stream(prompt: string, options?: SamplingOptions): AsyncIterable<string> {
    return this.#replayStream('stream', [prompt], options);
  }
  chat(messages: ChatMessage[], options?: ChatCallOptions): Promise<string> {
    return this.#replay('chat', [messages], options);
  }
  chatDetailed(messages: ChatMessage[], options?: ChatCallOptions): Promise<GenerationResult> {
    return this.#replay('chatDetailed', [messages], options);
  }
  chatStream(messages: ChatMessage[], options?: ChatCallOptions): AsyncIterable<string> {
    return this.#replayStream('chatStream', [messages], options);
  }
  /** The recorded value: the one the schema validated when it was recorded. */
  async extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<z.output<S>> {
    return this.#replay('extract', [input, toJsonSchema(schema)], options);
  }
  /** The recorded outcomes; `onProgress` is called once per item, in input order. */
  async extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]> {
    const answer = this.#answer('extractMany', [inputs, toJsonSchema(schema)], options);
    if ('error' in answer && !('deltas' in answer)) throw replayError(answer.error);
    if (!('outcomes' in answer)) throw new VllmError('REPLAY_MISS', `The recording of ${describeCall('extractMany', [inputs], options)} in ${this.file} holds no outcomes`);
    const outcomes = answer.outcomes.map((o): ExtractOutcome<z.output<S>> => (o.ok ? { ok: true, value: structuredClone(o.value) as z.output<S> } : { ok: false, error: asVllmError(replayError(o.error)) }));
    outcomes.forEach((_, i) => options?.onProgress?.(i + 1, outcomes.length));
    return outcomes;
  }
  async health(): Promise<boolean> {
    return !this.#closed;
  }
  async close(): Promise<void> {
    this.#closed = true;
  }
}
