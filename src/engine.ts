/**
 * Engine: one vLLM engine inside this process. Every call becomes a request on the engine thread's queue;
 * vLLM's scheduler batches all of them continuously. Results come back as JSON events, one batch per step.
 *
 * This module is the public facade and the engine's lifecycle (starting, ready, dead, closed); its parts live in
 * src/engine/: channel.ts (the addon's engine thread), requests.ts (requests in flight), start-queue.ts (starts one
 * at a time), call-options.ts (argument and option checks) and stream.ts (a streamed request as an iterator).
 */
import { resolve as resolvePath } from 'node:path';

import type { z } from 'zod';

import type { ChatOptions, TextGenerator } from './generator.js';
import { extract, extractMany, type ExtractManyOptions, type ExtractOptions, type ExtractOutcome } from './extract.js';
import { extractDetailed, extractManyDetailed, type DetailedExtraction, type DetailedOutcome, type ExtractManyDetailedOptions } from './extract-detailed.js';
import { resolveEngineOptions, type ResolveOptions } from './config.js';
import { fromBridge, VllmError, withCallerStack } from './errors.js';
import { checkModel } from './model-path.js';
import { recordStart } from './warmup.js';
import { chatInput, checkPrompt, countTokensArgs, detokenizeArgs, requestOptions, splitChat, tokenizeArgs, type RequestInput } from './engine/call-options.js';
import { Channel } from './engine/channel.js';
import { RequestTable, type Pending } from './engine/requests.js';
import { abortedError, exclusiveStart } from './engine/start-queue.js';
import { deltaStream } from './engine/stream.js';
import { loadBinding, type NativeBinding } from './native/binding.js';
import { resolvePython, type PythonInfo } from './native/python.js';
import type { EngineOptions, EngineOptionsInput, SamplingOptions } from './options.js';
import type { BridgeEvent, Command } from './protocol.js';
import { registerTokenAccess, type CountTokensOptions, type TokenizeOptions } from './tokens.js';
import type { ChatMessage, EffectiveConfig, EngineMetrics, GenerationResult, MemoryInfo, SleepPreparation } from './types.js';

/** An engine's lifecycle: `starting` until vLLM has loaded, then `ready`; `closing`/`closed` after close(), `dead` after its EngineCore died. */
export type EngineState = 'starting' | 'ready' | 'closing' | 'closed' | 'dead';

/** The second argument of Engine.create. */
export interface CreateOptions extends ResolveOptions {
  /**
   * Cancels the start. Aborted while queued behind another create(): rejects at once, nothing was started.
   * Aborted while vLLM loads: vLLM's constructor cannot be interrupted, so the engine is shut down as soon as
   * it has loaded, and create() rejects with ENGINE_CLOSED once vLLM (its EngineCore process included) is gone.
   */
  signal?: AbortSignal | undefined;
}

/** The warm record in the engine's cacheDir (warmup.ts), which `vllm-node doctor --model` reads. The engine runs
 * whether or not the folder takes it: a failure is a warning. */
function stampCacheDir(engine: Engine): void {
  try {
    recordStart(engine);
  } catch (err) {
    process.emitWarning(`vllm-node: the warm record could not be written into cacheDir ${engine.options.cacheDir}: ${(err as Error).message}`);
  }
}

export type { ChatOptions } from './generator.js';

/**
 * One vLLM engine inside this Node process: CPython embedded by the addon, `vllm.LLM` driven on its own thread,
 * every call a promise (or an async iterator for streams). Create it with {@link Engine.create}; concurrent calls
 * are batched continuously by vLLM. Close it (or `await using`) to free its memory; see README, Lifecycle.
 */
export class Engine implements AsyncDisposable, TextGenerator {
  readonly options: EngineOptions;
  #info: EffectiveConfig | undefined;
  #channel: Channel;
  #python: PythonInfo;
  #requests = new RequestTable(() => this.#channel.unref());
  #state: EngineState = 'starting';
  #startup: { resolve(): void; reject(e: VllmError): void };
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  #deathError: VllmError | undefined;
  #started = false;

  /**
   * Starts vLLM with the given options over YAML/env/defaults (see README, Configuration). Resolves when the
   * model is loaded; rejects with INVALID_OPTIONS, MODEL_NOT_FOUND, UNSUPPORTED_SETTING, VLLM_VERSION_UNSUPPORTED,
   * INSUFFICIENT_GPU_MEMORY (the model cannot fit under the memory cap, or vLLM found too little memory for one
   * sequence's KV cache), MODEL_LOAD_FAILED or PYTHON_NOT_FOUND, or ENGINE_CLOSED when `signal` aborts the start. Where
   * vLLM's EngineCore failed to start, the message carries the exception it logged. Concurrent calls each get their
   * own engine; vLLM starts them one at a time.
   */
  static async create(options: Partial<EngineOptionsInput> = {}, createOptions: CreateOptions = {}): Promise<Engine> {
    const stack = new Error().stack;
    const { signal, ...resolveOptions } = createOptions ?? {};
    try {
      const resolved = resolveEngineOptions(options, resolveOptions);
      resolved.model = checkModel(resolved.model);
      if (resolved.cacheDir !== undefined) resolved.cacheDir = resolvePath(resolved.cacheDir);
      const python = resolvePython(resolved.python, resolveOptions.env);
      const binding = loadBinding(python);
      return await exclusiveStart(signal, async () => {
        if (signal?.aborted) throw abortedError(signal);
        let startup!: Promise<void>;
        const engine = new Engine(resolved, python, binding.NativeEngine, (p) => (startup = p));
        const onAbort = () => void engine.close();
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          await startup;
        } catch (err) {
          if (signal?.aborted && err instanceof VllmError && err.code === 'ENGINE_CLOSED') throw abortedError(signal);
          throw err;
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
        if (resolved.cacheDir !== undefined) stampCacheDir(engine);
        return engine;
      });
    } catch (err) {
      throw withCallerStack(err, stack);
    }
  }

  private constructor(
    options: EngineOptions,
    python: PythonInfo,
    Native: NativeBinding['NativeEngine'],
    exposeStartup: (p: Promise<void>) => void,
  ) {
    this.options = options;
    this.#python = python;
    let startup!: { resolve(): void; reject(e: VllmError): void };
    const promise = new Promise<void>((resolve, reject) => (startup = { resolve, reject }));
    // A failed start is reported through create(); never as an unhandled rejection.
    promise.catch(() => {});
    this.#startup = startup;
    this.#channel = new Channel(Native, options, python, (ev) => this.#onEvent(ev));
    registerTokenAccess(this, {
      tokenize: (text) => this.tokenize(text, { addSpecialTokens: false }),
      detokenize: (ids) => this.detokenize(ids),
      countTokens: (messages) => this.countTokens(messages),
      contextLength: async () => this.info.maxModelLen,
      defaultMaxTokens: options.sampling.maxTokens,
    });
    this.#channel.ref();
    exposeStartup(promise);
  }

  /** The configuration vLLM really runs with (fp8, KV dtype, memory fraction, what became of swap_space). */
  get info(): EffectiveConfig {
    if (!this.#info) throw new VllmError('ENGINE_CLOSED', 'engine is not started');
    return this.#info;
  }

  get state(): EngineState {
    return this.#state;
  }

  /** Number of requests in flight. */
  get pendingCount(): number {
    return this.#requests.size;
  }

  // -- public calls ---------------------------------------------------------------------------------

  /** Generates a completion and returns the trimmed text. */
  async generate(prompt: string, options?: SamplingOptions): Promise<string> {
    return (await this.generateDetailed(prompt, options)).text;
  }

  /** Like generate, with finish reason, token counts and vLLM's timings. */
  generateDetailed(prompt: string, options?: SamplingOptions): Promise<GenerationResult> {
    return this.#run({ prompt: checkPrompt(prompt) }, options, new Error().stack);
  }

  /** Streams text deltas; breaking out of the loop aborts the request in the engine. */
  stream(prompt: string, options?: SamplingOptions): AsyncIterable<string> {
    return this.#stream(() => ({ prompt: checkPrompt(prompt) }), options);
  }

  /** Chat with the model's own chat template (as vLLM's LLM.chat renders it). */
  async chat(messages: ChatMessage[], options?: SamplingOptions & ChatOptions): Promise<string> {
    return (await this.chatDetailed(messages, options)).text;
  }

  chatDetailed(messages: ChatMessage[], options?: SamplingOptions & ChatOptions): Promise<GenerationResult> {
    const { chatTemplate, tools, rest } = splitChat(options);
    return this.#run(chatInput(messages, chatTemplate, tools), rest, new Error().stack);
  }

  chatStream(messages: ChatMessage[], options?: SamplingOptions & ChatOptions): AsyncIterable<string> {
    const { chatTemplate, tools, onFinish, onReasoning, rest } = splitChat(options);
    return this.#stream(() => chatInput(messages, chatTemplate, tools), rest, onFinish, onReasoning);
  }

  /** Typed extraction: constrained to the schema's JSON Schema, validated and typed by the schema. */
  extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<z.output<S>> {
    const stack = new Error().stack;
    return extract(this, input, schema, options).catch((err: unknown) => {
      throw withCallerStack(err, stack);
    });
  }

  /** Extraction over many inputs at once (batched by vLLM); per-item outcomes in input order. */
  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]> {
    return extractMany(this, inputs, schema, options);
  }

  /** extract, with each field's confidence (from the output's token logprobs) and its span in the input. */
  extractDetailed<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<DetailedExtraction<z.output<S>>> {
    return extractDetailed(this, input, schema, options);
  }

  /** extractMany with each item's fields, and `escalate` to send the uncertain items to another generator. */
  extractManyDetailed<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyDetailedOptions): Promise<DetailedOutcome<z.output<S>>[]> {
    return extractManyDetailed(this, inputs, schema, options);
  }

  /**
   * The model's token ids of `text`, as a generate() prompt gets them (special tokens such as a BOS included;
   * `addSpecialTokens: false` for text that goes inside a chat).
   */
  tokenize(text: string, options?: TokenizeOptions): Promise<number[]> {
    const stack = new Error().stack;
    return (async () => {
      return this.call<number[]>('tokenize', tokenizeArgs(text, options));
    })().catch((err: unknown) => {
      throw withCallerStack(err, stack);
    });
  }

  /** The text of token ids, special tokens included: `detokenize(await tokenize(text))` is `text`. */
  detokenize(ids: readonly number[]): Promise<string> {
    const stack = new Error().stack;
    return (async () => {
      return this.call<string>('detokenize', detokenizeArgs(ids));
    })().catch((err: unknown) => {
      throw withCallerStack(err, stack);
    });
  }

  /**
   * The prompt tokens of a generate() prompt, or of messages rendered through the chat template exactly as chat()
   * renders them (with the same chatTemplate and tools): the `promptTokens` that call reports.
   */
  countTokens(input: string | ChatMessage[], options?: CountTokensOptions): Promise<number> {
    const stack = new Error().stack;
    return (async () => {
      return this.call<number>('count_tokens', countTokensArgs(input, options));
    })().catch((err: unknown) => {
      throw withCallerStack(err, stack);
    });
  }

  /** vLLM sleep mode (CUDA; create with engineArgs.enable_sleep_mode): frees GPU memory, keeps the engine. */
  async sleep(level: 1 | 2 = 1): Promise<void> {
    await this.call('sleep', { level });
  }

  /**
   * The memory cap and the engine's footprint now: on CUDA per card (nvidia-smi's view of the card minus what
   * was used before the engine started, and the torch allocator's), on the CPU the KV cache sized from
   * gpuMemoryGiB. `info.memory` holds the same figures taken right after start.
   */
  memory(): Promise<MemoryInfo> {
    return this.call<MemoryInfo>('memory');
  }

  /**
   * Pins, in the background, the CPU memory that the first `sleep(1)` copies the weights into, so that it takes as
   * long as later ones (a first sleep otherwise pins fresh memory at about 2 GB/s; later ones reuse it). Resolves
   * as soon as the pinning has started; a sleep waits for it to finish. The memory stays pinned until `close()`, as
   * it does after a first sleep. `applied: false` with the reason where it cannot apply (no sleep mode).
   */
  prepareSleep(): Promise<SleepPreparation> {
    return this.call<SleepPreparation>('prepare_sleep');
  }

  /**
   * What the engine has counted since it became ready: speculative decoding's drafts, draft and accepted tokens and
   * acceptance rate (`speculative`: null without the engine option `speculative`; the start-up self-check's probe is
   * in `info.notes`).
   */
  metrics(): Promise<EngineMetrics> {
    return this.call<EngineMetrics>('metrics');
  }

  /** Restores an engine put to sleep. */
  async wakeUp(): Promise<void> {
    await this.call('wake_up');
  }

  /** True when a one-token generation succeeds. Never throws. */
  async health(timeoutMs = 30_000): Promise<boolean> {
    if (this.#state !== 'ready') return false;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      await this.generateDetailed('ping', { maxTokens: 1, temperature: 0, signal: controller.signal });
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a helper on the engine thread (python/vllm_node/calls.py; the test suites add their own from a file
   * outside the package, named by VLLM_NODE_TEST_CALLS).
   */
  call<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
    const stack = new Error().stack;
    return new Promise<T>((resolve, reject) => {
      this.#assertUsable();
      const id = this.#requests.nextId('c');
      this.#requests.add(id, { kind: 'call', resolve: resolve as (v: unknown) => void, reject, chunks: [], reasoning: [], detach: () => {} });
      this.#channel.post({ op: 'call', id, method, args });
    }).catch((err) => {
      throw withCallerStack(err, stack);
    });
  }

  /** Shuts vLLM down (its EngineCore process exits, memory is freed). Idempotent; pending calls reject with ENGINE_CLOSED. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    if (this.#state === 'dead' || this.#state === 'closed') return (this.#closed = Promise.resolve());
    this.#state = 'closing';
    this.#requests.rejectAll(new VllmError('ENGINE_CLOSED', 'the engine was closed'));
    this.#closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    this.#channel.close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -- plumbing ----------------------------------------------------------------------------------------

  #assertUsable(): void {
    if (this.#state === 'ready') return;
    if (this.#state === 'dead') throw this.#deathError ?? new VllmError('ENGINE_DIED', 'the engine died');
    throw new VllmError('ENGINE_CLOSED', `the engine is ${this.#state}`);
  }

  /** Submits one request; resolves with its result. */
  #submit(
    input: RequestInput,
    options: unknown,
    stream: boolean,
    onDelta?: (text: string, reasoning: string | undefined) => void,
  ): { id: string; done: Promise<GenerationResult> } {
    this.#assertUsable();
    const { payload, signal, chatTemplateKwargs: kwargs } = requestOptions(this.options.sampling, this.options.reasoningParser, input, options, stream);
    if (signal?.aborted) throw new VllmError('REQUEST_ABORTED', 'the request was aborted before it started', { cause: signal.reason });
    const id = this.#requests.nextId('r');
    const done = new Promise<GenerationResult>((resolve, reject) => {
      const onAbort = () => this.#abort(id, signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const pending: Pending = {
        kind: 'request',
        resolve: resolve as (v: unknown) => void,
        reject,
        chunks: [],
        reasoning: [],
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      if (onDelta) pending.onDelta = onDelta;
      this.#requests.add(id, pending);
    });
    this.#channel.post({ op: 'add', id, ...input, ...(kwargs ? { chat_template_kwargs: kwargs } : {}), params: payload, stream } as Command);
    return { id, done };
  }

  async #run(input: RequestInput, options: unknown, stack: string | undefined): Promise<GenerationResult> {
    try {
      return await this.#submit(input, options, false).done;
    } catch (err) {
      throw withCallerStack(err, stack);
    }
  }

  #stream(
    input: () => RequestInput,
    options: unknown,
    onFinish?: (result: GenerationResult) => void,
    onReasoning?: (delta: string) => void,
  ): AsyncGenerator<string> {
    return deltaStream(
      (onDelta) => this.#submit(input(), options, true, onDelta),
      (id) => this.#abort(id, undefined, true),
      onFinish,
      onReasoning,
    );
  }

  #abort(id: string, reason: unknown, silent = false): void {
    const pending = this.#requests.settle(id);
    if (!pending) return;
    this.#channel.send({ op: 'abort', ids: [id] });
    if (!silent) pending.reject(new VllmError('REQUEST_ABORTED', 'the request was aborted', { cause: reason }));
  }

  #onEvent(ev: BridgeEvent): void {
    switch (ev.t) {
      case 'out':
      case 'result':
      case 'error':
        this.#requests.onEvent(ev);
        return;
      case 'ready':
        this.#info = { ...(ev.info as unknown as EffectiveConfig), python: { executable: this.#python.executable, version: this.#python.version, source: this.#python.source } };
        this.#started = true;
        this.#channel.unref();
        // Closed while starting: stay 'closing'; the 'closed' event that follows rejects create().
        if (this.#state !== 'starting') return;
        this.#state = 'ready';
        this.#startup.resolve();
        return;
      case 'fatal': {
        const starting = !this.#started;
        const error = fromBridge(ev, starting ? 'MODEL_LOAD_FAILED' : 'ENGINE_DIED');
        this.#state = 'dead';
        this.#deathError = error;
        this.#requests.rejectAll(error);
        this.#channel.dropRefs();
        if (starting) this.#startup.reject(error);
        this.#resolveClosed?.();
        return;
      }
      case 'closed':
        this.#state = 'closed';
        this.#channel.dropRefs();
        this.#startup.reject(new VllmError('ENGINE_CLOSED', 'the engine was closed while starting'));
        this.#resolveClosed?.();
        return;
    }
  }
}
