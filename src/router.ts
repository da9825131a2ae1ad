/**
 * The seed's hybrid strategy: prefer the in-process engine, fall back to an OpenAI-compatible endpoint when the
 * local engine fails (dies, is closed, cannot load) or when told to (`prefer: 'remote'`). Input errors are not
 * retried remotely: they would fail there too.
 */
import type { z } from 'zod';

import { VllmError, type VllmErrorCode } from './errors.js';
import { extractDetailed, extractManyDetailed, type DetailedExtraction, type DetailedOutcome, type ExtractManyDetailedOptions } from './extract-detailed.js';
import type { ExtractManyOptions, ExtractOptions, ExtractOutcome } from './extract.js';
import type { ChatCallOptions, TextGenerator } from './generator.js';
import type { SamplingOptions } from './options.js';
import { tokenMethod, type CountTokensOptions, type TokenizeOptions } from './tokens.js';
import type { ChatMessage, GenerationResult } from './types.js';

const LOCAL_FAILURES: ReadonlySet<VllmErrorCode> = new Set(['ENGINE_DIED', 'ENGINE_CLOSED', 'MODEL_LOAD_FAILED', 'MODEL_NOT_FOUND', 'INSUFFICIENT_GPU_MEMORY', 'PYTHON_NOT_FOUND', 'PYTHON_INIT_FAILED', 'ADDON_NOT_FOUND', 'UNSUPPORTED_SETTING', 'VLLM_VERSION_UNSUPPORTED']);

export interface RouterOptions {
  local: TextGenerator | (() => Promise<TextGenerator>);
  remote: TextGenerator;
  prefer?: 'local' | 'remote';
  /** Called whenever a call falls back to the remote endpoint. */
  onFallback?: (error: VllmError) => void;
}

export class Router implements TextGenerator {
  prefer: 'local' | 'remote';
  readonly #remote: TextGenerator;
  readonly #localFactory: () => Promise<TextGenerator>;
  #local: Promise<TextGenerator> | undefined;
  readonly #onFallback: ((e: VllmError) => void) | undefined;

  constructor(options: RouterOptions) {
    this.prefer = options.prefer ?? 'local';
    this.#remote = options.remote;
    const local = options.local;
    this.#localFactory = typeof local === 'function' ? local : () => Promise.resolve(local);
    this.#onFallback = options.onFallback;
  }

  async #route<T>(call: (g: TextGenerator) => Promise<T>): Promise<T> {
    if (this.prefer === 'remote') return call(this.#remote);
    try {
      this.#local ??= this.#localFactory();
      return await call(await this.#local);
    } catch (err) {
      if (!(err instanceof VllmError) || !LOCAL_FAILURES.has(err.code)) throw err;
      this.#onFallback?.(err);
      return call(this.#remote);
    }
  }

  async *#routeStream(make: (g: TextGenerator) => AsyncIterable<string>): AsyncIterable<string> {
    let started = false;
    try {
      const g = this.prefer === 'remote' ? this.#remote : await (this.#local ??= this.#localFactory());
      for await (const d of make(g)) {
        started = true;
        yield d;
      }
    } catch (err) {
      if (started || this.prefer === 'remote' || !(err instanceof VllmError) || !LOCAL_FAILURES.has(err.code)) throw err;
      this.#onFallback?.(err);
      yield* make(this.#remote);
    }
  }

  generate(prompt: string, o?: SamplingOptions): Promise<string> {
    return this.#route((g) => g.generate(prompt, o));
  }
  generateDetailed(prompt: string, o?: SamplingOptions): Promise<GenerationResult> {
    return this.#route((g) => g.generateDetailed(prompt, o));
  }
  stream(prompt: string, o?: SamplingOptions): AsyncIterable<string> {
    return this.#routeStream((g) => g.stream(prompt, o));
  }
  chat(m: ChatMessage[], o?: ChatCallOptions): Promise<string> {
    return this.#route((g) => g.chat(m, o));
  }
  chatDetailed(m: ChatMessage[], o?: ChatCallOptions): Promise<GenerationResult> {
    return this.#route((g) => g.chatDetailed(m, o));
  }
  chatStream(m: ChatMessage[], o?: ChatCallOptions): AsyncIterable<string> {
    return this.#routeStream((g) => g.chatStream(m, o));
  }
  extract<S extends z.ZodType>(input: string, schema: S, o?: ExtractOptions): Promise<z.output<S>> {
    return this.#route((g) => g.extract(input, schema, o));
  }
  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, o?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]> {
    return this.#route((g) => g.extractMany(inputs, schema, o));
  }
  extractDetailed<S extends z.ZodType>(input: string, schema: S, o?: ExtractOptions): Promise<DetailedExtraction<z.output<S>>> {
    return this.#route((g) => (g.extractDetailed ? g.extractDetailed(input, schema, o) : extractDetailed(g, input, schema, o)));
  }
  extractManyDetailed<S extends z.ZodType>(inputs: readonly string[], schema: S, o?: ExtractManyDetailedOptions): Promise<DetailedOutcome<z.output<S>>[]> {
    return this.#route((g) => (g.extractManyDetailed ? g.extractManyDetailed(inputs, schema, o) : extractManyDetailed(g, inputs, schema, o)));
  }
  tokenize(text: string, o?: TokenizeOptions): Promise<number[]> {
    return this.#route((g) => tokenMethod(g, 'tokenize').call(g, text, o));
  }
  detokenize(ids: readonly number[]): Promise<string> {
    return this.#route((g) => tokenMethod(g, 'detokenize').call(g, ids));
  }
  countTokens(input: string | ChatMessage[], o?: CountTokensOptions): Promise<number> {
    return this.#route((g) => tokenMethod(g, 'countTokens').call(g, input, o));
  }
  async health(): Promise<boolean> {
    return this.#route(async (g) => {
      if (await g.health()) return true;
      throw new VllmError('ENGINE_DIED', 'local engine unhealthy');
    }).catch(() => false);
  }
  async close(): Promise<void> {
    if (this.#local) await (await this.#local.catch(() => undefined))?.close();
    await this.#remote.close();
  }
}
