/**
 * Several named models behind one TextGenerator, one awake engine at a time (per GPU): the seed's model manager
 * with seamless switching, under one memory budget for the card.
 *
 * Three parts (README, "Model manager"):
 * - the scheduler (model-scheduler.ts): which calls are admitted and which model comes next;
 * - the residency (model-residency.ts): each model's state and what it holds, the card's budget, and the decisions
 *   that follow from them (the cap a model starts under, which sleeper to close, whether a model fits at all);
 * - this class: the public calls, and the switch itself: the model left sleeps (vLLM sleep mode, where the platform
 *   has it: weights to CPU memory, KV cache dropped, GPU memory returned but for its CUDA context and graph pool) or
 *   is closed; its memory on the card is measured after its sleep; the model entered wakes (or is started again under
 *   what the sleepers leave, when it was sized beside others), or starts under the budget minus what the sleepers
 *   hold, after the least recently used sleepers have been closed where it does not fit; a model that cannot fit even
 *   alone is refused with INSUFFICIENT_GPU_MEMORY, and the others keep serving. Engines come from an injected factory
 *   (Engine.create by default); public types in model-manager-types.ts.
 */
import { totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

import type { z } from 'zod';

import { resolveEngineOptions, resolveModelCatalog, type ResolveOptions } from './config.js';
import { Engine, type CreateOptions } from './engine.js';
import { VllmError } from './errors.js';
import { extractDetailed, extractManyEscalating, type DetailedExtraction, type DetailedOutcome, type ExtractManyDetailedOptions } from './extract-detailed.js';
import type { ExtractManyOptions, ExtractOptions, ExtractOutcome } from './extract.js';
import type { ChatCallOptions, TextGenerator } from './generator.js';
import type { EngineFactory, ManagedEngine, ModelCallOptions, ModelManagerCreateOptions, ModelManagerMemory, ModelManagerOptions, SwitchTiming } from './model-manager-types.js';
import { ModelResidency, type CapSetting, type ModelMemory, type ModelState } from './model-residency.js';
import { ModelScheduler } from './model-scheduler.js';
import type { EngineOptionsInput, SamplingOptions } from './options.js';
import type { ChatMessage, GenerationResult, SleepPreparation } from './types.js';
import { tokenMethod, type CountTokensOptions, type TokenizeOptions } from './tokens.js';
import { warmEngine, type WarmRecord } from './warmup.js';

export type { CapSetting, CardBudget, ModelMemory, ModelState } from './model-residency.js';
export type { EngineFactory, ManagedEngine, ModelCallOptions, ModelManagerCreateOptions, ModelManagerMemory, ModelManagerOptions, SwitchTiming } from './model-manager-types.js';


interface Entry {
  name: string;
  options: Partial<EngineOptionsInput>;
  engine?: ManagedEngine | undefined;
}

export class ModelManager implements TextGenerator {
  readonly #entries: Map<string, Entry>;
  readonly #createOptions: Omit<CreateOptions, 'signal'>;
  readonly #factory: EngineFactory;
  readonly #residency: ModelResidency;
  readonly #scheduler: ModelScheduler<ManagedEngine>;
  readonly #prepareSleep: boolean;
  #closed = false;
  #switches = 0;
  #lastSwitch: SwitchTiming | undefined;

  private constructor(entries: Map<string, Entry>, createOptions: ModelManagerCreateOptions, residency: ModelResidency, prepareSleep: boolean) {
    const { engineFactory, ...engineCreateOptions } = createOptions;
    this.#entries = entries;
    this.#createOptions = engineCreateOptions;
    this.#factory = engineFactory ?? ((options, opts) => Engine.create(options, opts));
    this.#residency = residency;
    this.#prepareSleep = prepareSleep;
    this.#scheduler = new ModelScheduler<ManagedEngine>({
      switchTo: (name, from) => this.#switchTo(name, from),
      onAdmit: (name) => this.#residency.touch(name),
    });
  }

  /** Validates the catalog and loads the default model; resolves when it serves. */
  static async create(options: ModelManagerOptions = {}, createOptions: ModelManagerCreateOptions = {}): Promise<ModelManager> {
    const { models, default: def, sleepBudgetGiB, prepareSleep = true, ...shared } = options;
    const catalog = resolveModelCatalog({ models, default: def }, createOptions);
    const entries = new Map<string, Entry>();
    for (const [name, entry] of Object.entries(catalog.models)) entries.set(name, { name, options: { sleepMode: 'auto', ...shared, ...entry } });
    if (sleepBudgetGiB !== undefined && !(sleepBudgetGiB >= 0)) {
      throw new VllmError('INVALID_OPTIONS', `Invalid option "sleepBudgetGiB": expected a number >= 0, received ${String(sleepBudgetGiB)}`, { option: 'sleepBudgetGiB' });
    }
    if (typeof prepareSleep !== 'boolean') {
      throw new VllmError('INVALID_OPTIONS', `Invalid option "prepareSleep": expected a boolean, received ${String(prepareSleep)}`, { option: 'prepareSleep' });
    }
    // The card's budget: the top-level cap (or env/YAML, or the default), for every model awake or asleep.
    const residency = new ModelResidency([...entries.keys()], capSetting(shared, createOptions), (sleepBudgetGiB ?? totalmem() / 2 ** 31) * 2 ** 30);
    const manager = new ModelManager(entries, createOptions, residency, prepareSleep);
    await manager.use(catalog.default);
    return manager;
  }

  /** The model that serves now (or is being switched to; after a switch that failed, the model still awake). */
  get current(): string | undefined {
    return this.#scheduler.current ?? this.#residency.awake();
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
    return this.#residency.states();
  }

  /** The engine of a model that is loaded (awake or asleep), for engine-level calls (info, memory). */
  engineOf(name: string): Engine | undefined {
    return this.#entry(name).engine as Engine | undefined;
  }

  /**
   * The card's budget and what each model holds, awake or asleep: on the card (the awake one measured now, a
   * sleeping one as measured after its sleep) and in CPU memory (pinned for its sleep; offloaded weights).
   * On the CPU backend there is no card: `card.applies` is false and says why.
   */
  async memory(): Promise<ModelManagerMemory> {
    const models: Record<string, ModelMemory> = {};
    for (const [name, entry] of this.#entries) {
      let awakeMiB: number | undefined;
      if (this.#residency.state(name) === 'awake' && entry.engine && this.#residency.cardCapMiB !== undefined) {
        const measured = await entry.engine.memory().then((m) => m.measuredMiB, () => undefined);
        if (typeof measured === 'number') awakeMiB = this.#residency.footprint(name, measured);
      }
      models[name] = this.#residency.model(name, awakeMiB);
    }
    return { card: this.#residency.card(), models };
  }

  /** Switches to `name` explicitly (waiting for the current model's calls); resolves when it serves. */
  async use(name: string): Promise<void> {
    await this.#acquire(name);
    this.#scheduler.release();
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
    if (options?.escalate !== undefined) return this.extractManyDetailed(inputs, schema, options);
    return this.#with(options, (e, o) => e.extractMany(inputs, schema, o));
  }

  /** Extraction with each field's confidence and span (see extractDetailed), on a model of this manager. */
  async extractDetailed<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions & ModelCallOptions): Promise<DetailedExtraction<z.output<S>>> {
    return this.#with(options, (e, o) => extractDetailed(e, input, schema, o));
  }

  /**
   * extractMany with each item's fields, and `escalate` (see extractManyDetailed). The model is held for the first
   * pass only: escalating to another model of this manager (`escalate: { to: manager, options: { model } }`) switches
   * once the first pass is over.
   */
  extractManyDetailed<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyDetailedOptions & ModelCallOptions): Promise<DetailedOutcome<z.output<S>>[]> {
    const { model, ...rest } = options ?? {};
    return extractManyEscalating((pass) => this.#with(model === undefined ? {} : { model }, (e) => pass(e)), inputs, schema, rest);
  }

  /** The token ids of `text` under a model's tokenizer (default: the current model; the call waits for it as any call does). */
  tokenize(text: string, options?: TokenizeOptions & ModelCallOptions): Promise<number[]> {
    return this.#with(options, (e, o) => tokenMethod(e, 'tokenize').call(e, text, o));
  }
  detokenize(ids: readonly number[], options?: ModelCallOptions): Promise<string> {
    return this.#with(options, (e) => tokenMethod(e, 'detokenize').call(e, ids));
  }
  countTokens(input: string | ChatMessage[], options?: CountTokensOptions & ModelCallOptions): Promise<number> {
    return this.#with(options, (e, o) => tokenMethod(e, 'countTokens').call(e, input, o));
  }

  /**
   * Warms the named models (default: all), one after the other: each is loaded (building the caches a later start
   * reads; see `vllm-node warmup`) and answers a short generation; then the model that was current is current
   * again. Where sleep mode exists the models stay loaded and asleep (as the card's budget allows), so that
   * switching to them later takes about a second; elsewhere they are closed as switching closes them.
   */
  async warmup(names: readonly string[] = this.names): Promise<(WarmRecord & { name: string; switchSeconds: number })[]> {
    const before = this.current;
    const out: (WarmRecord & { name: string; switchSeconds: number })[] = [];
    for (const name of names) {
      const t = performance.now();
      await this.use(name);
      const switchSeconds = +((performance.now() - t) / 1000).toFixed(3);
      const engine = await this.#acquire(name);
      try {
        out.push({ name, switchSeconds, ...(await warmEngine(engine as Engine)) });
      } finally {
        this.#scheduler.release();
      }
    }
    if (before !== undefined && before !== this.current) await this.use(before);
    return out;
  }

  /** True when the current model answers a one-token generation. Never throws; never switches. */
  async health(): Promise<boolean> {
    const serving = this.#scheduler.serving;
    return !this.#closed && serving !== undefined ? serving.engine.health() : false;
  }

  /** Rejects waiting calls with ENGINE_CLOSED, lets admitted ones end as their engine closes, closes every engine. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#scheduler.close(new VllmError('ENGINE_CLOSED', 'the model manager was closed'));
    await Promise.all(this.names.map((name) => this.#unload(name)));
  }

  // -- calls -------------------------------------------------------------------------------------------

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (!entry) {
      throw new VllmError('UNKNOWN_MODEL', `Unknown model "${name}"; the model manager has: ${this.names.map((n) => `"${n}"`).join(', ')}`, { option: 'model' });
    }
    return entry;
  }

  #acquire(name: string): Promise<ManagedEngine> {
    if (this.#closed) return Promise.reject(new VllmError('ENGINE_CLOSED', 'the model manager was closed'));
    try {
      this.#entry(name);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#scheduler.acquire(name);
  }

  async #with<T, O extends ModelCallOptions>(options: O | undefined, call: (engine: ManagedEngine, rest: Omit<O, 'model'>) => Promise<T>): Promise<T> {
    const { model, ...rest } = options ?? ({} as O);
    const engine = await this.#acquire(model ?? this.current ?? this.names[0]!);
    try {
      return await call(engine, rest);
    } finally {
      this.#scheduler.release();
    }
  }

  async *#withStream<O extends ModelCallOptions>(options: O | undefined, make: (engine: ManagedEngine, rest: Omit<O, 'model'>) => AsyncIterable<string>): AsyncIterable<string> {
    const { model, ...rest } = options ?? ({} as O);
    const engine = await this.#acquire(model ?? this.current ?? this.names[0]!);
    try {
      yield* make(engine, rest);
    } finally {
      this.#scheduler.release();
    }
  }

  // -- switching ---------------------------------------------------------------------------------------

  /**
   * The scheduler's switch: the model that served (`from`, if any) has finished its calls; `name` serves when this
   * resolves. The model to leave is the one the residency has awake (a switch that failed may have left one awake).
   */
  async #switchTo(name: string, from: string | undefined): Promise<ManagedEngine> {
    const entry = this.#entries.get(name)!;
    const awake = this.#residency.awake();
    if (awake === name) return entry.engine!; // still awake after a switch away from it failed before leaving it
    // Refused before under all the budget can give it: refused now, before the model serving is put to sleep for it.
    const outright = entry.engine ? undefined : this.#residency.refusedOutright(name, capSetting(entry.options, this.#createOptions));
    if (outright) throw this.#refusal(name, outright, [], undefined);
    const t0 = performance.now();
    let left: SwitchTiming['left'] = 'none';
    if (awake !== undefined) left = await this.#leave(awake);
    const t1 = performance.now();
    const evicted: string[] = [];
    let resizedFromMiB: number | undefined;
    let diedAsleep = false;
    while (this.#residency.state(name) === 'asleep') {
      const plan = this.#residency.planWake(name);
      if (plan.kind === 'evict') {
        await this.#unload(plan.name);
        evicted.push(plan.name);
        continue;
      }
      if (plan.kind === 'resize') {
        resizedFromMiB = plan.fromMiB;
        await this.#unload(name); // started again below, under what the sleepers leave
        break;
      }
      try {
        await entry.engine!.wakeUp();
      } catch (err) {
        await this.#unload(name); // an engine that cannot wake serves no more: the next call starts it again
        // Its process died while it slept (killed, or the card faulted): nothing of it is left to wake, and nothing
        // in the options is at fault, so this switch starts it again instead of failing.
        if (!died(err)) throw err;
        diedAsleep = true;
        await this.#remeasureSleepers();
        break;
      }
      this.#residency.woke(name);
    }
    const kind = this.#residency.state(name) === 'awake' ? 'warm' : 'cold';
    let sleepPrepared: SleepPreparation | undefined;
    if (kind === 'cold') {
      entry.engine = await this.#start(entry, evicted);
      sleepPrepared = await this.#prepare(entry);
    }
    this.#switches++;
    const s = (ms: number) => Math.round(ms) / 1000;
    const capMiB = this.#residency.cardCapMiB !== undefined ? this.#residency.model(name).capMiB : null;
    this.#lastSwitch = {
      from: awake ?? from, to: name, kind, left, leaveSeconds: s(t1 - t0), enterSeconds: s(performance.now() - t1),
      ...(sleepPrepared ? { sleepPrepared } : {}),
      ...(capMiB !== null ? { capMiB } : {}),
      ...(evicted.length > 0 ? { evicted } : {}),
      ...(resizedFromMiB !== undefined ? { resizedFromMiB } : {}),
      ...(diedAsleep ? { diedAsleep } : {}),
    };
    if (this.#closed) throw new VllmError('ENGINE_CLOSED', 'the model manager was closed');
    return entry.engine!;
  }

  /**
   * The model left gives the card back: it sleeps where its engine has sleep mode, and what it still holds is
   * measured; else (or when the sleep or the measurement fails) it is closed.
   */
  async #leave(name: string): Promise<'slept' | 'closed'> {
    const engine = this.#entries.get(name)!.engine!;
    if (engine.info.requested.enable_sleep_mode !== true) {
      await this.#unload(name);
      return 'closed';
    }
    try {
      await engine.sleep(1);
      this.#residency.slept(name, weightBytes(engine));
      if (this.#residency.cardCapMiB !== undefined) {
        const measured = (await engine.memory()).measuredMiB;
        if (typeof measured !== 'number') throw new Error('no measurement');
        this.#residency.measuredAsleep(name, measured);
      }
    } catch {
      // Asleep but not measured, or not asleep: what it holds is unknown, and the budget counts nothing unknown.
      await this.#unload(name);
      return 'closed';
    }
    for (const over of this.#residency.overSleepBudget()) await this.#unload(over);
    return this.#residency.state(name) === 'asleep' ? 'slept' : 'closed';
  }

  /**
   * After a sleeper was found dead: a model that went to sleep after that death was measured with the dead one's
   * figure still counted (the card had its memory back already), so what it holds was taken as that much less.
   * Measured again now that the dead one counts nothing; a sleeper that cannot be measured is closed, as in #leave.
   */
  async #remeasureSleepers(): Promise<void> {
    if (this.#residency.cardCapMiB === undefined) return;
    for (const name of this.names.filter((n) => this.#residency.state(n) === 'asleep')) {
      const measured = await this.#entries.get(name)!.engine!.memory().then((m) => m.measuredMiB, () => undefined);
      if (typeof measured === 'number') this.#residency.measuredAsleep(name, measured);
      else await this.#unload(name);
    }
  }

  /**
   * Starts `entry` cold under the card's budget: the residency gives the cap (the budget minus what the sleepers
   * hold) or names the sleeper to close first; a start refused for memory is recorded and planned again, until it
   * starts or the residency refuses it.
   */
  async #start(entry: Entry, evicted: string[]): Promise<ManagedEngine> {
    const own = capSetting(entry.options, this.#createOptions);
    let refusal: unknown;
    // Each refusal raises what the model is known to need and each eviction frees a sleeper: this ends.
    for (let attempt = 0; attempt <= 2 * this.#entries.size + 1; attempt++) {
      const plan = this.#residency.planStart(entry.name, own);
      if (plan.kind === 'evict') {
        await this.#unload(plan.name);
        evicted.push(plan.name);
        continue;
      }
      if (plan.kind === 'refuse') throw this.#refusal(entry.name, plan.reason, evicted, refusal);
      let options = entry.options;
      if (plan.override) {
        const { gpuMemoryGiB: _g, gpuMemoryUtilization: _u, ...rest } = entry.options;
        options = { ...rest, ...plan.override };
      }
      let engine: ManagedEngine;
      try {
        engine = await this.#factory(options, this.#createOptions);
      } catch (err) {
        if (err instanceof VllmError && err.code === 'INSUFFICIENT_GPU_MEMORY' && this.#residency.cardCapMiB !== undefined) {
          this.#residency.refused(entry.name, plan.capMiB);
          refusal = err;
          continue;
        }
        throw err;
      }
      const [source, value] = Object.entries(plan.override ?? {})[0] ?? [];
      const given: CapSetting | undefined = source ? { source: source as CapSetting['source'], value: value! } : own;
      // The engine's own notes say what it was given; this one says why (never a requested setting changed silently).
      if (plan.reason && source) engine.info.notes.push({ option: source, applied: true, value, reason: plan.reason });
      const m = engine.info.memory;
      this.#residency.started(
        entry.name,
        { platform: engine.info.device.platform, capMiB: m.capMiB, reserveMiB: m.reserveMiB, vllmGpuMemoryUtilization: m.vllmGpuMemoryUtilization, cpuOffloadGiB: m.cpuOffloadGiB, kvCacheMiB: m.kvCacheMiB, kvCacheTokens: m.kvCacheTokens, maxModelLen: engine.info.maxModelLen },
        given,
        plan.reason,
      );
      return engine;
    }
    throw this.#refusal(entry.name, 'it was refused at every cap tried', evicted, refusal);
  }

  #refusal(name: string, reason: string, evicted: string[], cause: unknown): VllmError {
    const closed = evicted.length > 0 ? `; closed to make room, least recently used first: ${evicted.map((n) => `"${n}"`).join(', ')}` : '';
    const said = cause instanceof Error ? ` The engine's refusal: ${cause.message}` : '';
    return new VllmError(
      'INSUFFICIENT_GPU_MEMORY',
      `Model "${name}" does not fit the card's memory budget (${this.#residency.describeCard()}, for every model of this manager awake or asleep): ${reason}. On the card now: ${this.#residency.describeHeld()}${closed}.${said}`,
      { cause },
    );
  }

  /**
   * Pins the new model's first-sleep memory in the background when it would fit the sleep budget next to the
   * sleepers (counted by its weights: the pinned size, known afterwards, is 1.1–1.4× that, up to 2×). Not for a
   * catalog of one model, which never sleeps.
   */
  async #prepare(entry: Entry): Promise<SleepPreparation | undefined> {
    const engine = entry.engine!;
    if (!this.#prepareSleep || this.#entries.size < 2 || engine.info.requested.enable_sleep_mode !== true) return undefined;
    if (!this.#residency.canPin(weightBytes(engine))) {
      return { applied: false, reason: 'its weights and the sleeping models\' would pass sleepBudgetGiB' };
    }
    let prepared: SleepPreparation;
    try {
      prepared = await engine.prepareSleep();
    } catch (err) {
      return { applied: false, reason: err instanceof Error ? err.message : String(err) };
    }
    if (prepared.applied) this.#residency.pinned(entry.name, prepared.pinnedBytes ?? 0);
    return prepared;
  }

  /** Closes a model's engine, whatever its state: the one way a model leaves the card and CPU memory. */
  async #unload(name: string): Promise<void> {
    const entry = this.#entries.get(name)!;
    const engine = entry.engine;
    entry.engine = undefined;
    this.#residency.unloaded(name);
    await engine?.close();
  }
}

/** A cap as the options resolve it (the YAML file, env, then the options; default 0.9); undefined when they do not resolve. */
function capSetting(options: Partial<EngineOptionsInput>, resolve: ResolveOptions): CapSetting | undefined {
  try {
    const o = resolveEngineOptions({ model: '-', ...options }, { ...(resolve.configFile !== undefined ? { configFile: resolve.configFile } : {}), ...(resolve.env ? { env: resolve.env } : {}) });
    return o.gpuMemoryGiB !== undefined ? { source: 'gpuMemoryGiB', value: o.gpuMemoryGiB } : { source: 'gpuMemoryUtilization', value: o.gpuMemoryUtilization! };
  } catch {
    return undefined; // the engine's start reports what is wrong
  }
}

/**
 * An engine whose process is gone: ENGINE_DIED, or vLLM's EngineDeadError reaching a call before the engine thread
 * has reported the death (a call and the death can arrive in the same batch of events).
 */
function died(err: unknown): boolean {
  return err instanceof VllmError && (err.code === 'ENGINE_DIED' || err.pyType === 'EngineDeadError');
}

/** Weights a sleeping engine keeps in CPU memory: vLLM's own figure per worker, else the estimate. */
function weightBytes(engine: ManagedEngine): number {
  const m = engine.info.memory;
  const perCard = m.perCard?.reduce((sum, card) => sum + (card.weights ?? 0), 0) ?? 0;
  return ((perCard || m.weightsMiB) ?? 0) * 2 ** 20;
}
