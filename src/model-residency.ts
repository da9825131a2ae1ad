/**
 * ModelManager's residency and memory budget: where each model is (unloaded, awake, asleep), what it holds, and the
 * one place that decides whether the next model fits. Pure bookkeeping: it never calls an engine; the manager
 * tells it what happened and what was measured, and asks it what to do next.
 *
 * The card's budget (the manager's `gpuMemoryGiB` or `gpuMemoryUtilization`) holds for the whole card, for every
 * model awake or asleep:
 * - **Reserve**: the awake model reserves its engine's whole cap (its footprint grows up to it under load); a sleeping
 *   model holds what it keeps on the card asleep (its CUDA context and graph pool), as measured after its sleep.
 * - **Estimate**: a model started cold gets the budget minus what the sleepers hold now (its engine option, so that
 *   vLLM sizes its KV cache and the load-time bounds from it); a model woken needs its engine's cap beside the
 *   sleepers. A model woken beside other sleepers than it was sized for (the first model had the whole budget) is
 *   started again under what they leave, where its last engine's figures say it runs there: after one round every
 *   model fits beside the others and switches are wake-ups. Otherwise the least recently used sleeper is closed
 *   first; a model that cannot fit even alone is refused.
 * - **Record**: what a model holds asleep is measured after each sleep (engine.memory(): the card's use minus what it
 *   was before that engine started, less what sleepers that came or went since then hold); a start refused for
 *   memory at some cap is remembered, so that the next attempt makes room first, or is refused at once when even the
 *   whole budget was not enough.
 *
 * The CPU memory of sleeping models (their weights' copy, `sleepBudgetGiB`) is kept here too.
 * On the CPU backend there is no card: the card's budget does not apply (each engine's gpuMemoryGiB sizes its own
 * KV cache in CPU memory), and `card()` says so.
 */

/** A model's state in a ModelManager. */
export type ModelState = 'unloaded' | 'awake' | 'asleep';

/** A memory cap as an engine option: a fraction of the card or GiB. */
export interface CapSetting {
  source: 'gpuMemoryGiB' | 'gpuMemoryUtilization';
  value: number;
}

/** What a started engine reports of its cap (EffectiveConfig.device.platform and EffectiveConfig.memory). */
export interface StartedEngine {
  platform: string;
  capMiB?: number | null | undefined;
  reserveMiB?: number | undefined;
  vllmGpuMemoryUtilization?: number | undefined;
  cpuOffloadGiB?: number | undefined;
  /** Its KV cache (MiB and tokens) and context length: what it needs at least follows from them. */
  kvCacheMiB?: number | null | undefined;
  kvCacheTokens?: number | undefined;
  maxModelLen?: number | undefined;
}

/** The card's budget as `ModelManager.memory()` reports it. */
export interface CardBudget {
  /** False on the CPU backend (no card), before the first engine has started, or where the engine reports no cap. */
  applies: boolean;
  /** Why it does not apply. */
  reason?: string;
  /** The cap for the whole card, as set (the manager's top-level option, env or YAML; default 0.9 of the card). */
  setting?: CapSetting;
  /** The same in MiB. */
  capMiB?: number;
  /** Reserved now, MiB: the awake model's whole cap plus what the sleeping models hold. */
  reservedMiB?: number;
}

/** One model as `ModelManager.memory()` reports it. */
export interface ModelMemory {
  state: ModelState;
  /**
   * On the card now, MiB (the fullest card with tensor parallelism): awake, its engine's footprint; asleep, what it
   * keeps there (CUDA context, CUDA-graph pool) as measured after its sleep; unloaded, 0. null without a card (CPU).
   */
  cardMiB: number | null;
  /** The cap its engine runs under, MiB (the card's budget minus what sleepers held when it started); null: none. */
  capMiB: number | null;
  /** Why its cap is not the one asked for (the sleepers beside it), when it is not. */
  capReason?: string;
  /** CPU memory pinned for its sleep, MiB: where its weights go while it sleeps; pinned until it is closed. */
  pinnedCpuMiB: number;
  /** Weights kept in CPU memory by vLLM's weight offload (engineArgs.cpu_offload_gb), MiB. */
  offloadCpuMiB: number;
}

/** What the manager should do next to wake a model. */
export type WakePlan =
  | { kind: 'wake' }
  | { kind: 'evict'; name: string }
  /** Its cap was set beside other sleepers (or none): close it and start it again under what the sleepers leave now. */
  | { kind: 'resize'; fromMiB: number };

/** What the manager should do next to start a model cold. */
export type StartPlan =
  | { kind: 'start'; override?: Partial<Record<CapSetting['source'], number>>; capMiB?: number; reason?: string }
  | { kind: 'evict'; name: string }
  | { kind: 'refuse'; reason: string };

interface Resident {
  name: string;
  state: ModelState;
  lastUsed: number;
  /** The cap its engine runs under, MiB: reserved whole while it is awake. */
  capMiB: number | undefined;
  capReason: string | undefined;
  /** Held on the card while asleep, MiB, measured after its last sleep. */
  heldMiB: number;
  /** What the sleepers held when its engine started: its engine measures from a baseline that counts them. */
  othersAtStartMiB: number;
  /** CPU memory pinned for its first sleep by prepareSleep, bytes. */
  pinnedBytes: number;
  /** CPU memory held while asleep, bytes: what was pinned where known, else its weights. */
  sleepingBytes: number;
  offloadMiB: number;
  /** The largest cap, MiB, at which its start was refused for memory. */
  refusedAtMiB: number | undefined;
  /**
   * The least cap it runs under, MiB, from its last engine's figures: that cap less its KV cache plus the KV cache of
   * one max_model_len sequence (vLLM's own minimum). Kept when it is closed.
   */
  needMiB: number | undefined;
}

const MiB = 2 ** 20;

/**
 * Kept free when a model starts beside sleepers: what a sleeper holds is measured again at each of its sleeps and can
 * differ by a few MiB (the card's page granularity); without this a model sized beside it would not fit beside it
 * later, and waking it would close the sleeper.
 */
export const SLEEPER_SLACK_MIB = 64;

export function formatMiB(mib: number): string {
  return `${Math.round(mib).toLocaleString('en-US')} MiB`;
}

export class ModelResidency {
  readonly #models = new Map<string, Resident>();
  readonly #sleepBudgetBytes: number;
  readonly #card: CapSetting | undefined;
  #platform: 'unknown' | 'card' | 'none' = 'unknown';
  #why = 'no model has started yet';
  #totalMiB: number | undefined;
  #tick = 0;

  /**
   * @param card the cap for the whole card (undefined: none could be resolved; the engines report why)
   * @param sleepBudgetBytes CPU memory that sleeping models may hold
   */
  constructor(names: readonly string[], card: CapSetting | undefined, sleepBudgetBytes: number) {
    for (const name of names) {
      this.#models.set(name, { name, state: 'unloaded', lastUsed: 0, capMiB: undefined, capReason: undefined, heldMiB: 0, othersAtStartMiB: 0, pinnedBytes: 0, sleepingBytes: 0, offloadMiB: 0, refusedAtMiB: undefined, needMiB: undefined });
    }
    this.#card = card;
    this.#sleepBudgetBytes = sleepBudgetBytes;
  }

  state(name: string): ModelState {
    return this.#get(name).state;
  }

  states(): Record<string, ModelState> {
    return Object.fromEntries([...this.#models.values()].map((m) => [m.name, m.state]));
  }

  /** The model awake now, if any (one at a time). */
  awake(): string | undefined {
    return [...this.#models.values()].find((m) => m.state === 'awake')?.name;
  }

  /** A call was admitted to `name`: it is the most recently used. */
  touch(name: string): void {
    this.#get(name).lastUsed = ++this.#tick;
  }

  /** The card's budget in MiB, where it applies. */
  get cardCapMiB(): number | undefined {
    return this.#platform === 'card' && this.#card ? this.#toMiB(this.#card) : undefined;
  }

  // -- deciding ----------------------------------------------------------------------------------------

  /**
   * How to start `name` cold: with what cap (`own` is its own resolved setting), or which sleeper to close first,
   * or why it cannot start at all.
   */
  planStart(name: string, own: CapSetting | undefined): StartPlan {
    const card = this.cardCapMiB;
    const m = this.#get(name);
    if (card === undefined) return { kind: 'start' };
    const ownMiB = own ? this.#toMiB(own) : undefined;
    const most = Math.min(ownMiB ?? card, card);
    const held = this.#heldBy(name);
    const target = Math.min(most, card - held - (held > 0 ? SLEEPER_SLACK_MIB : 0));
    // The same option as the one asked for (the other one may come from the environment or the YAML file, and the two
    // together are refused); a fraction is of the card's size as learned from the first engine, 1 MiB kept for rounding.
    const fraction = own?.source === 'gpuMemoryUtilization' && this.#totalMiB !== undefined;
    const unchanged = own !== undefined && target === ownMiB;
    const capMiB = unchanged || !own ? target : Math.floor(target) - (fraction ? 1 : 0);
    const outright = this.refusedOutright(name, own);
    if (outright) return { kind: 'refuse', reason: outright };
    if (capMiB <= 0 || !this.#mayFit(m, capMiB)) {
      const lru = this.#leastRecentSleeper(name);
      if (lru) return { kind: 'evict', name: lru };
      if (capMiB <= 0 || (m.refusedAtMiB !== undefined && capMiB <= m.refusedAtMiB)) return { kind: 'refuse', reason: `it needs more than ${formatMiB(Math.max(0, capMiB))}` };
    }
    if (unchanged || !own) return { kind: 'start', capMiB };
    const override = fraction ? { gpuMemoryUtilization: capMiB / this.#totalMiB! } : { gpuMemoryGiB: capMiB / 1024 };
    const asked = `${own.source} ${own.value} (${formatMiB(ownMiB!)})`;
    const why = held > 0 ? `${this.describeHeld(name)} beside it (${SLEEPER_SLACK_MIB} MiB more kept free for their figures to move)` : `the card's budget is ${this.#describeCard()}`;
    return {
      kind: 'start',
      override,
      capMiB,
      reason: `ModelManager: ${why}: its cap is ${formatMiB(capMiB)} (${Object.entries(override).map(([k, v]) => `${k} ${+v.toFixed(6)}`).join('')}) instead of ${asked}; the card's budget, ${this.#describeCard()}, holds for every model awake or asleep`,
    };
  }

  /** Why `name` cannot start at all (refused before under all the budget can give it), else undefined. */
  refusedOutright(name: string, own: CapSetting | undefined): string | undefined {
    const card = this.cardCapMiB;
    const refusedAt = this.#get(name).refusedAtMiB;
    if (card === undefined || refusedAt === undefined) return undefined;
    const ownMiB = own ? this.#toMiB(own) : undefined;
    return refusedAt >= Math.min(ownMiB ?? card, card) ? `it did not fit under ${formatMiB(refusedAt)}, all it can have, with nothing of this manager's beside it` : undefined;
  }

  /**
   * Waking `name`: its engine's cap must fit beside the sleepers. Where it does not, and it was sized beside other
   * sleepers than now (or none), it is started again under what they leave, when it is known to run there (its
   * engine's figures); otherwise the least recently used sleeper is closed first.
   */
  planWake(name: string): WakePlan {
    const card = this.cardCapMiB;
    const m = this.#get(name);
    if (card === undefined || m.capMiB === undefined) return { kind: 'wake' };
    const held = this.#heldBy(name);
    if (m.capMiB + held <= card) return { kind: 'wake' };
    const target = Math.floor(card - held - SLEEPER_SLACK_MIB);
    if (m.needMiB !== undefined && this.#mayFit(m, target)) return { kind: 'resize', fromMiB: Math.round(m.capMiB) };
    return { kind: 'evict', name: this.#leastRecentSleeper(name)! };
  }

  /** Sleepers to close so that sleeping models' CPU memory stays within sleepBudgetGiB, least recently used first. */
  overSleepBudget(): string[] {
    const sleeping = this.#asleep().sort((a, b) => a.lastUsed - b.lastUsed);
    let held = sleeping.reduce((n, m) => n + m.sleepingBytes, 0);
    const out: string[] = [];
    for (const m of sleeping) {
      if (held <= this.#sleepBudgetBytes) break;
      held -= m.sleepingBytes;
      out.push(m.name);
    }
    return out;
  }

  /** Whether `bytes` more of pinned CPU memory fit sleepBudgetGiB beside the sleepers'. */
  canPin(bytes: number): boolean {
    return this.#asleep().reduce((n, m) => n + m.sleepingBytes, 0) + bytes <= this.#sleepBudgetBytes;
  }

  // -- recording ---------------------------------------------------------------------------------------

  /** `name`'s engine started (under `given`, its cap as set: the override or its own setting). */
  started(name: string, engine: StartedEngine, given: CapSetting | undefined, capReason?: string): void {
    const m = this.#get(name);
    if (this.#platform === 'unknown') this.#learn(engine, given);
    m.state = 'awake';
    // Reserved while awake: the cap it was given, exactly where that is GiB (the engine reports it rounded to the MiB),
    // else the engine's figure rounded up, never above the card's budget.
    const card = this.cardCapMiB;
    const reported = typeof engine.capMiB === 'number' ? engine.capMiB + 0.5 : undefined;
    const exact = given?.source === 'gpuMemoryGiB' ? given.value * 1024 : reported;
    m.capMiB = exact === undefined ? undefined : card === undefined ? exact : Math.min(exact, card);
    m.capReason = capReason;
    m.othersAtStartMiB = this.#heldBy(name);
    m.offloadMiB = (engine.cpuOffloadGiB ?? 0) * 1024;
    const { kvCacheMiB: kv, kvCacheTokens: tokens, maxModelLen } = engine;
    m.needMiB = m.capMiB !== undefined && kv && tokens && maxModelLen ? Math.ceil(m.capMiB - kv + (kv / tokens) * maxModelLen) : undefined;
  }

  /** `name`'s start was refused for memory under a cap of `capMiB` (undefined: its own setting, unchanged). */
  refused(name: string, capMiB: number | undefined): void {
    const m = this.#get(name);
    const at = capMiB ?? this.cardCapMiB;
    if (at !== undefined) m.refusedAtMiB = Math.max(m.refusedAtMiB ?? 0, at);
  }

  pinned(name: string, bytes: number): void {
    this.#get(name).pinnedBytes = bytes;
  }

  /** `name` went to sleep; its weights' copy takes `weightBytes` of CPU memory (or what was pinned, if more). */
  slept(name: string, weightBytes: number): void {
    const m = this.#get(name);
    m.state = 'asleep';
    m.sleepingBytes = Math.max(m.pinnedBytes, weightBytes);
    // A sleep pins its buffers once; they stay until the engine is closed.
    m.pinnedBytes = m.sleepingBytes;
  }

  /** What `name` holds asleep, from its engine's `measuredMiB` right after its sleep. */
  measuredAsleep(name: string, measuredMiB: number): void {
    this.#get(name).heldMiB = this.footprint(name, measuredMiB);
  }

  /**
   * `name`'s own footprint from its engine's `measuredMiB` (the card's use minus what it was before that engine
   * started): that baseline counted the sleepers of then; take away what the sleepers of now hold beyond them.
   */
  footprint(name: string, measuredMiB: number): number {
    const m = this.#get(name);
    return Math.max(0, Math.round(measuredMiB - (this.#heldBy(name) - m.othersAtStartMiB)));
  }

  woke(name: string): void {
    const m = this.#get(name);
    m.state = 'awake';
    m.sleepingBytes = 0;
  }

  /** `name`'s engine is gone (closed, or never started): it holds nothing. */
  unloaded(name: string): void {
    const m = this.#get(name);
    m.state = 'unloaded';
    m.capMiB = undefined;
    m.capReason = undefined;
    m.heldMiB = 0;
    m.pinnedBytes = 0;
    m.sleepingBytes = 0;
    m.offloadMiB = 0;
  }

  // -- reporting ---------------------------------------------------------------------------------------

  card(): CardBudget {
    const capMiB = this.cardCapMiB;
    if (capMiB === undefined || !this.#card) return { applies: false, reason: this.#card ? this.#why : 'no cap could be resolved from the manager\'s options' };
    const awake = [...this.#models.values()].find((m) => m.state === 'awake');
    return { applies: true, setting: this.#card, capMiB: Math.round(capMiB), reservedMiB: Math.round((awake?.capMiB ?? 0) + this.#heldBy(undefined)) };
  }

  /** One model's memory; `awakeMiB`: the awake engine's footprint measured now, where it could be. */
  model(name: string, awakeMiB?: number): ModelMemory {
    const m = this.#get(name);
    const onCard = this.#platform === 'card';
    const cardMiB = !onCard ? null : m.state === 'asleep' ? m.heldMiB : m.state === 'awake' ? (awakeMiB ?? null) : 0;
    return {
      state: m.state,
      cardMiB,
      capMiB: m.capMiB === undefined ? null : Math.round(m.capMiB),
      ...(m.capReason ? { capReason: m.capReason } : {}),
      pinnedCpuMiB: Math.round(m.pinnedBytes / MiB),
      offloadCpuMiB: Math.round(m.offloadMiB),
    };
  }

  /** What the sleepers (other than `except`) hold, and by whom: `"4b" asleep holds 1,712 MiB`. */
  describeHeld(except?: string): string {
    const sleepers = this.#asleep().filter((m) => m.name !== except);
    if (sleepers.length === 0) return 'nothing of this manager\'s is on the card';
    return sleepers.map((m) => `"${m.name}" asleep holds ${formatMiB(m.heldMiB)}`).join(', ');
  }

  describeCard(): string {
    return this.#describeCard();
  }

  // -- internals ---------------------------------------------------------------------------------------

  #get(name: string): Resident {
    const m = this.#models.get(name);
    if (!m) throw new Error(`no model "${name}"`);
    return m;
  }

  #asleep(): Resident[] {
    return [...this.#models.values()].filter((m) => m.state === 'asleep');
  }

  #heldBy(except: string | undefined): number {
    return this.#asleep().reduce((n, m) => (m.name === except ? n : n + m.heldMiB), 0);
  }

  /** Whether a start of `m` under `capMiB` is worth trying: not refused there before, not under what it needed. */
  #mayFit(m: Resident, capMiB: number): boolean {
    return (m.refusedAtMiB === undefined || capMiB > m.refusedAtMiB) && (m.needMiB === undefined || capMiB >= m.needMiB);
  }

  #leastRecentSleeper(except: string): string | undefined {
    return this.#asleep()
      .filter((m) => m.name !== except)
      .sort((a, b) => a.lastUsed - b.lastUsed)[0]?.name;
  }

  #toMiB(s: CapSetting): number | undefined {
    if (s.source === 'gpuMemoryGiB') return s.value * 1024;
    return this.#totalMiB === undefined ? undefined : s.value * this.#totalMiB;
  }

  #describeCard(): string {
    const s = this.#card!;
    const mib = this.#toMiB(s);
    return `${s.source} ${s.value}${mib !== undefined ? ` = ${formatMiB(mib)}` : ''}`;
  }

  /** The platform and the card's size, from the first engine that started. */
  #learn(engine: StartedEngine, given: CapSetting | undefined): void {
    if (engine.platform === 'cpu') {
      this.#platform = 'none';
      this.#why = "the CPU backend has no card: each engine's gpuMemoryGiB sizes its own KV cache in CPU memory";
      return;
    }
    if (typeof engine.capMiB !== 'number') {
      this.#platform = 'none';
      this.#why = `the engine reports no memory cap on ${engine.platform}`;
      return;
    }
    // The card's size, at most: the engine's figures are rounded (capMiB to the MiB, vLLM's fraction to 4 digits).
    if (given?.source === 'gpuMemoryUtilization') this.#totalMiB = (engine.capMiB - 0.5) / given.value;
    else if (engine.vllmGpuMemoryUtilization && engine.reserveMiB !== undefined) this.#totalMiB = (engine.capMiB - 0.5 - engine.reserveMiB) / (engine.vllmGpuMemoryUtilization + 0.00005);
    if (this.#card?.source === 'gpuMemoryUtilization' && this.#totalMiB === undefined) {
      this.#platform = 'none';
      this.#why = `the card's size could not be read from the first engine's memory report, so ${this.#card.source} ${this.#card.value} has no size in MiB`;
      return;
    }
    this.#platform = 'card';
  }
}
