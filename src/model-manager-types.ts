/** ModelManager's public types: its options, what it uses of an engine, and what it reports. */
import type { CreateOptions, Engine } from './engine.js';
import type { CardBudget, ModelMemory } from './model-residency.js';
import type { EngineOptionsInput } from './options.js';
import type { SleepPreparation } from './types.js';

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

/** What ModelManager uses of an engine. */
export type ManagedEngine = Pick<
  Engine,
  'info' | 'generate' | 'generateDetailed' | 'stream' | 'chat' | 'chatDetailed' | 'chatStream' | 'extract' | 'extractMany' | 'health' | 'sleep' | 'wakeUp' | 'memory' | 'prepareSleep' | 'close'
> &
  Partial<Pick<Engine, 'tokenize' | 'detokenize' | 'countTokens'>>;

/** Makes a model's engine from its options (the catalog entry over the shared options, the manager's cap applied). */
export type EngineFactory = (options: Partial<EngineOptionsInput>, createOptions: Omit<CreateOptions, 'signal'>) => Promise<ManagedEngine>;

/** The second argument of ModelManager.create. */
export interface ModelManagerCreateOptions extends Omit<CreateOptions, 'signal'> {
  /** Makes each model's engine; default `Engine.create`. For tests with fake engines, or engines made otherwise. */
  engineFactory?: EngineFactory;
}

/** Per-call choice of model. */
export interface ModelCallOptions {
  model?: string;
}

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
  /** Where the card's budget applies: the cap the model entered runs under, MiB. */
  capMiB?: number;
  /** Sleeping models closed to make room for the model entered, least recently used first. */
  evicted?: string[];
  /**
   * The model entered was asleep under a cap that no longer fits beside the sleepers (set beside others, or none):
   * it was closed and started again under what they leave. Its cap before, MiB.
   */
  resizedFromMiB?: number;
  /** The model entered was asleep and its engine's process had died (ENGINE_DIED on waking it): it was started again. */
  diedAsleep?: boolean;
}

/** `ModelManager.memory()`: the card's budget, and what each model holds. */
export interface ModelManagerMemory {
  card: CardBudget;
  models: Record<string, ModelMemory>;
}
