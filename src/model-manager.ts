/**
 * Several named models behind one TextGenerator, one awake engine at a time (per GPU): the seed's model manager
 * with seamless switching.
 *
 * Switching policy (README, "Model manager"):
 * - A call names its model (`options.model`, else the current one). It is served at once when that model is
 *   awake and no other model has calls waiting; otherwise it waits in one FIFO queue.
 * - A switch starts only when the model being left has finished everything it admitted (nothing is aborted,
 *   nothing is answered by the wrong model). The next model is the one whose oldest call has waited longest,
 *   and every waiting call for it is admitted at once: a mixed burst costs at most one switch per model, not
 *   one per call.
 * - The model left sleeps (vLLM sleep mode, where the platform has it: weights to CPU memory, KV cache
 *   dropped, GPU memory returned) or is closed; sleeping models beyond `sleepBudgetGiB` of CPU memory are
 *   closed, least recently used first. Its GPU memory is back before the next model wakes or starts.
 * - A model that fails to load rejects only the calls waiting for it; the manager goes on with the others.
 */
import { totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

import type { z } from 'zod';

import { resolveModelCatalog, type ResolveOptions } from './config.js';
import { Engine, type CreateOptions } from './engine.js';
import { VllmError } from './errors.js';
import type { ExtractManyOptions, ExtractOptions, ExtractOutcome } from './extract.js';
import type { ChatCallOptions, TextGenerator } from './generator.js';
import type { EngineOptionsInput, SamplingOptions } from './options.js';
import type { ChatMessage, GenerationResult, SleepPreparation } from './types.js';
import { warmEngine, type WarmRecord } from './warmup.js';

export interface ModelManagerOptions extends Partial<EngineOptionsInput> {
  /** Named models; each entry takes the engine options, over the shared top-level ones. Default: YAML `inference.models`. */
  models?: Record<string, Partial<EngineOptionsInput>>;
  /** The model served when a call names none, before any switch. Default: env DEFAULT_MODEL, YAML `inference.default_model`, else the first. */
  default?: string;
  /** CPU memory that sleeping models' weights may take, in GiB; beyond it the least recently used are closed. Default: half of RAM. */
  sleepBudgetGiB?: number;
  /**
   * After each start, pin the CPU memory of the model's first sleep in the background (`Engine.prepareSleep`), so
   * that switching away from it is as fast the first time as later (within `sleepBudgetGiB`). Default: true.
   */
  prepareSleep?: boolean;
}

/** Per-call choice of model. */
export interface ModelCallOptions {
  model?: string;
}

/** A model's state in a ModelManager. */
export type ModelState = 'unloaded' | 'awake' | 'asleep';

/** Where the time of the last switch went: the model left (sleep or close) and the model entered (wake or start). */
export interface SwitchTiming {
  from: string | undefined;
  to: string;
  /** `cold`: started (not loaded before, or closed since); `warm`: woken from sleep. */
  kind: 'cold' | 'warm';
  /** How the model left gave its GPU memory back, and how long it took (0 when none was awake). */
  left: 'slept' | 'closed' | 'none';
  leaveSeconds: number;
  enterSeconds: number;
  /** After a cold switch where sleep mode exists: the CPU memory pinned for the new model's first sleep. */
  sleepPrepared?: SleepPreparation;
}

interface Entry {
  name: string;
  options: Partial<EngineOptionsInput>;
  engine?: Engine | undefined;
  state: ModelState;
  lastUsed: number;
  /** CPU memory held while asleep, bytes: what was pinned for its sleep where known, else its weights. */
  sleepingBytes: number;
  /** CPU memory pinned for its first sleep by prepareSleep, bytes (0: none). */
  pinnedBytes: number;
}

interface Waiter {
  name: string;
  admit(engine: Engine): void;
  reject(err: unknown): void;
}

export class ModelManager implements TextGenerator {
  readonly #entries: Map<string, Entry>;
  readonly #createOptions: ResolveOptions;
  readonly #sleepBudget: number;
  readonly #prepareSleep: boolean;
  #current: string | undefined;
  #inflight = 0;
  #queue: Waiter[] = [];
  #switching: Promise<void> | undefined;
  #closed = false;
  #switches = 0;
  #tick = 0;
  #lastSwitch: SwitchTiming | undefined;

  private constructor(entries: Map<string, Entry>, createOptions: ResolveOptions, sleepBudget: number, prepareSleep: boolean) {
    this.#entries = entries;
    this.#createOptions = createOptions;
    this.#sleepBudget = sleepBudget;
    this.#prepareSleep = prepareSleep;
  }

  /** Validates the catalog and loads the default model; resolves when it serves. */
  static async create(options: ModelManagerOptions = {}, createOptions: Omit<CreateOptions, 'signal'> = {}): Promise<ModelManager> {
    const { models, default: def, sleepBudgetGiB, prepareSleep = true, ...shared } = options;
    const catalog = resolveModelCatalog({ models, default: def }, createOptions);
    const entries = new Map<string, Entry>();
    for (const [name, entry] of Object.entries(catalog.models)) {
      entries.set(name, { name, options: { sleepMode: 'auto', ...shared, ...entry }, state: 'unloaded', lastUsed: 0, sleepingBytes: 0, pinnedBytes: 0 });
    }
    if (sleepBudgetGiB !== undefined && !(sleepBudgetGiB >= 0)) {
      throw new VllmError('INVALID_OPTIONS', `Invalid option "sleepBudgetGiB": expected a number >= 0, received ${String(sleepBudgetGiB)}`, { option: 'sleepBudgetGiB' });
    }
    if (typeof prepareSleep !== 'boolean') {
      throw new VllmError('INVALID_OPTIONS', `Invalid option "prepareSleep": expected a boolean, received ${String(prepareSleep)}`, { option: 'prepareSleep' });
    }
    const manager = new ModelManager(entries, createOptions, (sleepBudgetGiB ?? totalmem() / 2 ** 31) * 2 ** 30, prepareSleep);
    await manager.use(catalog.default);
    return manager;
  }

  /** The model that serves now (or is being switched to). */
  get current(): string | undefined {
    return this.#current;
  }

  /** The names of the models, in catalog order. */
  get names(): string[] {
    return [...this.#entries.keys()];
  }

  /** How many switches happened so far (loads, wakes). */
  get switches(): number {
    return this.#switches;
  }

  /** Where the time of the last switch went (undefined before the first). */
  get lastSwitch(): SwitchTiming | undefined {
    return this.#lastSwitch;
  }

  /** Each model's state: unloaded, awake or asleep. */
  get states(): Record<string, ModelState> {
    return Object.fromEntries([...this.#entries.values()].map((e) => [e.name, e.state]));
  }

  /** The engine of a model that is loaded (awake or asleep), for engine-level calls (info, memory). */
  engineOf(name: string): Engine | undefined {
    return this.#entry(name).engine;
  }

  /** Switches to `name` explicitly (waiting for the current model's calls); resolves when it serves. */
  async use(name: string): Promise<void> {
    this.#release(await this.#acquire(name));
  }

  generate(prompt: string, options?: SamplingOptions & ModelCallOptions): Promise<string> {
    return this.#with(options, (e, o) => e.generate(prompt, o));
  }
  generateDetailed(prompt: string, options?: SamplingOptions & ModelCallOptions): Promise<GenerationResult> {
    return this.#with(options, (e, o) => e.generateDetailed(prompt, o));
  }
  stream(prompt: string, options?: SamplingOptions & ModelCallOptions): AsyncIterable<string> {
    return this.#withStream(options, (e, o) => e.stream(prompt, o));
  }
  chat(messages: ChatMessage[], options?: ChatCallOptions & ModelCallOptions): Promise<string> {
    return this.#with(options, (e, o) => e.chat(messages, o));
  }
  chatDetailed(messages: ChatMessage[], options?: ChatCallOptions & ModelCallOptions): Promise<GenerationResult> {
    return this.#with(options, (e, o) => e.chatDetailed(messages, o));
  }
  chatStream(messages: ChatMessage[], options?: ChatCallOptions & ModelCallOptions): AsyncIterable<string> {
    return this.#withStream(options, (e, o) => e.chatStream(messages, o));
  }
  extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions & ModelCallOptions): Promise<z.output<S>> {
    return this.#with(options, (e, o) => e.extract(input, schema, o));
  }
  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions & ModelCallOptions): Promise<ExtractOutcome<z.output<S>>[]> {
    return this.#with(options, (e, o) => e.extractMany(inputs, schema, o));
  }

  /**
   * Warms the named models (default: all), one after the other: each is loaded (building the caches a later start
   * reads; see `vllm-node warmup`) and answers a short generation; then the model that was current is current
   * again. Where sleep mode exists the models stay loaded and asleep, so that switching to them later takes
   * about a second; elsewhere they are closed as switching closes them.
   */
  async warmup(names: readonly string[] = this.names): Promise<(WarmRecord & { name: string; switchSeconds: number })[]> {
    const before = this.#current;
    const out: (WarmRecord & { name: string; switchSeconds: number })[] = [];
    for (const name of names) {
      const t = performance.now();
      await this.use(name);
      const switchSeconds = +((performance.now() - t) / 1000).toFixed(3);
      const engine = await this.#acquire(name);
      try {
        out.push({ name, switchSeconds, ...(await warmEngine(engine)) });
      } finally {
        this.#release(engine);
      }
    }
    if (before !== undefined && before !== this.#current) await this.use(before);
    return out;
  }

  /** True when the current model answers a one-token generation. Never throws; never switches. */
  async health(): Promise<boolean> {
    const engine = this.#current ? this.#entries.get(this.#current)?.engine : undefined;
    return !this.#closed && engine !== undefined && this.#entries.get(this.#current!)?.state === 'awake' ? engine.health() : false;
  }

  /** Rejects waiting calls with ENGINE_CLOSED, lets admitted ones end as their engine closes, closes every engine. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new VllmError('ENGINE_CLOSED', 'the model manager was closed');
    for (const w of this.#queue.splice(0)) w.reject(closed);
    await this.#switching?.catch(() => {});
    await Promise.all([...this.#entries.values()].map(async (e) => {
      const engine = e.engine;
      e.engine = undefined;
      e.state = 'unloaded';
      await engine?.close();
    }));
  }

  // -- scheduling --------------------------------------------------------------------------------------

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (!entry) {
      throw new VllmError('UNKNOWN_MODEL', `Unknown model "${name}"; the model manager has: ${this.names.map((n) => `"${n}"`).join(', ')}`, { option: 'model' });
    }
    return entry;
  }

  async #with<T, O extends ModelCallOptions>(options: O | undefined, call: (engine: Engine, rest: Omit<O, 'model'>) => Promise<T>): Promise<T> {
    const { model, ...rest } = options ?? ({} as O);
    const engine = await this.#acquire(model ?? this.#current ?? this.names[0]!);
    try {
      return await call(engine, rest);
    } finally {
      this.#release(engine);
    }
  }

  async *#withStream<O extends ModelCallOptions>(options: O | undefined, make: (engine: Engine, rest: Omit<O, 'model'>) => AsyncIterable<string>): AsyncIterable<string> {
    const { model, ...rest } = options ?? ({} as O);
    const engine = await this.#acquire(model ?? this.#current ?? this.names[0]!);
    try {
      yield* make(engine, rest);
    } finally {
      this.#release(engine);
    }
  }

  #acquire(name: string): Promise<Engine> {
    if (this.#closed) return Promise.reject(new VllmError('ENGINE_CLOSED', 'the model manager was closed'));
    let entry: Entry;
    try {
      entry = this.#entry(name);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.#switching && this.#current === name && entry.state === 'awake' && entry.engine && this.#queue.length === 0) {
      this.#inflight++;
      entry.lastUsed = ++this.#tick;
      return Promise.resolve(entry.engine);
    }
    return new Promise<Engine>((resolve, reject) => {
      this.#queue.push({ name, admit: resolve, reject });
      this.#pump();
    });
  }

  #release(_engine: Engine): void {
    this.#inflight--;
    this.#pump();
  }

  #pump(): void {
    if (this.#switching || this.#closed || this.#queue.length === 0) return;
    const next = this.#queue[0]!.name;
    const entry = this.#entries.get(next)!;
    if (next === this.#current && entry.state === 'awake' && entry.engine) {
      this.#admitAll(entry);
      return;
    }
    if (this.#inflight > 0) return; // the model being left finishes what it admitted
    this.#switching = this.#switchTo(entry)
      .then(
        () => this.#admitAll(entry),
        (err: unknown) => {
          for (const w of this.#take(next)) w.reject(err);
        },
      )
      .finally(() => {
        this.#switching = undefined;
        this.#pump();
      });
  }

  #take(name: string): Waiter[] {
    const taken = this.#queue.filter((w) => w.name === name);
    this.#queue = this.#queue.filter((w) => w.name !== name);
    return taken;
  }

  #admitAll(entry: Entry): void {
    for (const w of this.#take(entry.name)) {
      this.#inflight++;
      entry.lastUsed = ++this.#tick;
      w.admit(entry.engine!);
    }
  }

  async #switchTo(entry: Entry): Promise<void> {
    const leaving = this.#current !== undefined ? this.#entries.get(this.#current) : undefined;
    const t0 = performance.now();
    let left: SwitchTiming['left'] = 'none';
    if (leaving && leaving !== entry && leaving.state === 'awake') left = await this.#leave(leaving);
    const t1 = performance.now();
    const kind = entry.state === 'asleep' ? 'warm' : 'cold';
    this.#current = entry.name;
    let sleepPrepared: SleepPreparation | undefined;
    if (entry.state === 'asleep' && entry.engine) {
      await entry.engine.wakeUp();
      entry.state = 'awake';
      entry.sleepingBytes = 0;
    } else if (entry.state === 'unloaded') {
      try {
        entry.engine = await Engine.create(entry.options, this.#createOptions);
      } catch (err) {
        this.#current = undefined;
        throw err;
      }
      entry.state = 'awake';
      sleepPrepared = await this.#prepare(entry.engine);
      entry.pinnedBytes = sleepPrepared?.applied ? (sleepPrepared.pinnedBytes ?? 0) : 0;
    }
    this.#switches++;
    const s = (ms: number) => Math.round(ms) / 1000;
    this.#lastSwitch = { from: leaving?.name, to: entry.name, kind, left, leaveSeconds: s(t1 - t0), enterSeconds: s(performance.now() - t1), ...(sleepPrepared ? { sleepPrepared } : {}) };
    if (this.#closed) throw new VllmError('ENGINE_CLOSED', 'the model manager was closed');
  }

  async #leave(entry: Entry): Promise<'slept' | 'closed'> {
    const engine = entry.engine!;
    if (engine.info.requested.enable_sleep_mode === true) {
      await engine.sleep(1);
      entry.state = 'asleep';
      entry.sleepingBytes = Math.max(entry.pinnedBytes, weightBytes(engine));
      await this.#enforceSleepBudget();
      return 'slept';
    }
    entry.engine = undefined;
    entry.state = 'unloaded';
    await engine.close();
    return 'closed';
  }

  /**
   * Pins the new model's first-sleep memory in the background when it would fit the sleep budget next to the
   * sleepers (counted by its weights: the pinned size, known afterwards, is 1.1–1.4× that, up to 2×). Not for a
   * catalog of one model, which never sleeps.
   */
  async #prepare(engine: Engine): Promise<SleepPreparation | undefined> {
    if (!this.#prepareSleep || this.#entries.size < 2 || engine.info.requested.enable_sleep_mode !== true) return undefined;
    if (this.#asleep().reduce((n, e) => n + e.sleepingBytes, 0) + weightBytes(engine) > this.#sleepBudget) {
      return { applied: false, reason: 'its weights and the sleeping models\' would pass sleepBudgetGiB' };
    }
    try {
      return await engine.prepareSleep();
    } catch (err) {
      return { applied: false, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  #asleep(): Entry[] {
    return [...this.#entries.values()].filter((e) => e.state === 'asleep');
  }

  async #enforceSleepBudget(): Promise<void> {
    const sleeping = this.#asleep().sort((a, b) => a.lastUsed - b.lastUsed);
    let held = sleeping.reduce((n, e) => n + e.sleepingBytes, 0);
    for (const e of sleeping) {
      if (held <= this.#sleepBudget) break;
      held -= e.sleepingBytes;
      const engine = e.engine;
      e.engine = undefined;
      e.state = 'unloaded';
      e.sleepingBytes = 0;
      await engine?.close();
    }
  }
}

/** Weights a sleeping engine keeps in CPU memory: vLLM's own figure per worker, else the estimate. */
function weightBytes(engine: Engine): number {
  const m = engine.info.memory;
  const perCard = m.perCard?.reduce((sum, card) => sum + (card.weights ?? 0), 0) ?? 0;
  return ((perCard || m.weightsMiB) ?? 0) * 2 ** 20;
}
