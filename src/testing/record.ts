/**
 * RecordingGenerator: any TextGenerator (an Engine on a GPU host, a RemoteGenerator, a Router...) with every call
 * and its answer written to a JSONL file, for ReplayGenerator to answer the same calls later without a model.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import type { z } from 'zod';

import { toJsonSchema, type ExtractManyOptions, type ExtractOptions, type ExtractOutcome } from '../extract.js';
import type { ChatCallOptions, TextGenerator } from '../generator.js';
import type { SamplingOptions } from '../options.js';
import type { ChatMessage, GenerationResult } from '../types.js';
import { callKey, canonical, RECORDING_HEADER, recordError, type RecordedAnswer, type RecordedMethod } from './recording.js';

/**
 * Wraps a generator and writes each call (method, inputs, options) and its answer to `file`, one JSON object per
 * line: results, errors (with their code), and streams as their deltas (chatStream also with the result its
 * `onFinish` got). The file is started afresh; each answer is appended as soon as the call settles, so a run that
 * crashes keeps what it answered. Calls are passed through unchanged; health() is not recorded; close() closes
 * the wrapped generator (leave it unclosed when that generator is shared).
 */
export class RecordingGenerator implements TextGenerator {
  /** The recording's path. */
  readonly file: string;
  readonly #inner: TextGenerator;
  readonly #seen = new Map<string, number>();
  #closed = false;

  constructor(generator: TextGenerator, file: string) {
    this.#inner = generator;
    this.file = resolve(file);
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, `${JSON.stringify(RECORDING_HEADER)}\n`);
  }

  /** Numbers the call among those with the same key; returns the function that writes its answer. */
  #begin(method: RecordedMethod, inputs: unknown[], options: unknown): (answer: RecordedAnswer) => void {
    const key = callKey(method, inputs, options);
    const n = this.#seen.get(key) ?? 0;
    this.#seen.set(key, n + 1);
    const call = { method, inputs: canonical(inputs), options: canonical(options ?? {}), n };
    return (answer) => {
      if (!this.#closed) appendFileSync(this.file, `${JSON.stringify({ ...call, answer })}\n`);
    };
  }

  async #record<T>(method: RecordedMethod, inputs: unknown[], options: unknown, run: () => Promise<T>, toAnswer: (v: T) => RecordedAnswer = (value) => ({ value })): Promise<T> {
    const write = this.#begin(method, inputs, options);
    let value: T;
    try {
      value = await run();
    } catch (err) {
      write({ error: recordError(err) });
      throw err;
    }
    write(toAnswer(value));
    return value;
  }

  async *#recordStream(method: 'stream' | 'chatStream', inputs: unknown[], options: ChatCallOptions | undefined, open: (o: ChatCallOptions | undefined) => AsyncIterable<string>): AsyncGenerator<string> {
    const write = this.#begin(method, inputs, options);
    const deltas: string[] = [];
    let result: GenerationResult | undefined;
    let ended = false;
    try {
      let passed = options;
      if (method === 'chatStream') {
        const onFinish = options?.onFinish;
        passed = {
          ...options,
          onFinish: (r: GenerationResult) => {
            result = r;
            onFinish?.(r);
          },
        };
      }
      for await (const delta of open(passed)) {
        deltas.push(delta);
        yield delta;
      }
      ended = true;
      write(result === undefined ? { deltas, end: 'done' } : { deltas, end: 'done', result });
    } catch (err) {
      ended = true;
      write({ deltas, end: 'error', error: recordError(err) });
      throw err;
    } finally {
      // The consumer stopped reading (a break, a cancelled AI SDK stream): the wrapped stream was closed with it.
      if (!ended) write({ deltas, end: 'left' });
    }
  }

  generate(prompt: string, options?: SamplingOptions): Promise<string> {
    return this.#record('generate', [prompt], options, () => this.#inner.generate(prompt, options));
  }
  generateDetailed(prompt: string, options?: SamplingOptions): Promise<GenerationResult> {
    return this.#record('generateDetailed', [prompt], options, () => this.#inner.generateDetailed(prompt, options));
  }
  stream(prompt: string, options?: SamplingOptions): AsyncIterable<string> {
    return this.#recordStream('stream', [prompt], options, (o) => this.#inner.stream(prompt, o));
  }
  chat(messages: ChatMessage[], options?: ChatCallOptions): Promise<string> {
    return this.#record('chat', [messages], options, () => this.#inner.chat(messages, options));
  }
  chatDetailed(messages: ChatMessage[], options?: ChatCallOptions): Promise<GenerationResult> {
    return this.#record('chatDetailed', [messages], options, () => this.#inner.chatDetailed(messages, options));
  }
  chatStream(messages: ChatMessage[], options?: ChatCallOptions): AsyncIterable<string> {
    return this.#recordStream('chatStream', [messages], options, (o) => this.#inner.chatStream(messages, o));
  }
  /** Recorded with the schema as its JSON Schema, and the validated value as the answer. */
  async extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<z.output<S>> {
    return this.#record('extract', [input, toJsonSchema(schema)], options, () => this.#inner.extract(input, schema, options));
  }
  async extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]> {
    return this.#record('extractMany', [inputs, toJsonSchema(schema)], options, () => this.#inner.extractMany(inputs, schema, options), (outcomes) => ({
      outcomes: outcomes.map((o) => (o.ok ? { ok: true as const, value: o.value } : { ok: false as const, error: recordError(o.error) })),
    }));
  }
  health(): Promise<boolean> {
    return this.#inner.health();
  }
  /** Stops recording and closes the wrapped generator. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#inner.close();
  }
}
