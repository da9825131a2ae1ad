// A simulated GPU card and fake engines for ModelManager's unit tests (through its injected engineFactory): each
// engine takes its whole cap on the card while awake (the worst case: under load its footprint grows up to it) and
// what its model keeps asleep; memory() measures as the real one does (the card's use minus what it was before that
// engine started). Every change of the card is sampled.
import { resolveEngineOptions, VllmError, type EffectiveConfig, type MemoryInfo } from '../../src/index.js';
import type { EngineFactory, ManagedEngine } from '../../src/model-manager.js';

export interface FakeModel {
  /** The least cap it starts under, MiB (the real planner's estimate, or vLLM's own KV cache check). */
  needMiB: number;
  /** What it keeps on the card asleep, MiB (CUDA context, graph pool). */
  asleepMiB: number;
  weightsMiB?: number;
  /** Added to asleepMiB at every other sleep: the figure moves a little between sleeps, as on a real card. */
  jitterMiB?: number;
}

export class FakeCard {
  readonly engines = new Set<FakeEngine>();
  readonly samples: number[] = [];
  /** Every start attempt: the model and the cap it asked for, MiB. */
  readonly attempts: { model: string; capMiB: number }[] = [];
  constructor(
    readonly totalMiB: number,
    readonly models: Record<string, FakeModel>,
    public externalMiB = 0,
    readonly platform = 'cuda',
  ) {}

  used(): number {
    return this.externalMiB + [...this.engines].reduce((n, e) => n + e.onCard(), 0);
  }

  sample(): void {
    this.samples.push(this.used());
  }

  get peak(): number {
    return Math.max(0, ...this.samples);
  }

  readonly factory: EngineFactory = async (options, createOptions) => {
    const o = resolveEngineOptions(options, createOptions);
    const model = this.models[o.model];
    if (!model) throw new VllmError('MODEL_LOAD_FAILED', `no fake model ${o.model}`);
    await Promise.resolve();
    if (this.platform === 'cpu') return new FakeEngine(this, o.model, model, null, o.sleepMode === 'on');
    // As the planner computes it (whole bytes); the engine reports it rounded to the MiB.
    const capMiB = Math.floor((o.gpuMemoryGiB !== undefined ? o.gpuMemoryGiB * 2 ** 30 : o.gpuMemoryUtilization! * this.totalMiB * 2 ** 20)) / 2 ** 20;
    this.attempts.push({ model: o.model, capMiB });
    if (capMiB > this.totalMiB - this.used()) throw new VllmError('INSUFFICIENT_GPU_MEMORY', `only ${this.totalMiB - this.used()} MiB free`);
    if (model.needMiB > capMiB) throw new VllmError('INSUFFICIENT_GPU_MEMORY', `${o.model} needs ${model.needMiB} MiB, the cap is ${capMiB} MiB`);
    const source = o.gpuMemoryGiB !== undefined ? 'gpuMemoryGiB' : 'gpuMemoryUtilization';
    return new FakeEngine(this, o.model, model, { capMiB, capSource: source }, o.sleepMode !== 'off');
  };
}

export class FakeEngine implements ManagedEngine {
  readonly info: EffectiveConfig;
  state: 'awake' | 'asleep' | 'closed' | 'dead' = 'awake';
  /** How a call reports this engine's death: as the engine does once it knows (ENGINE_DIED), or as vLLM's error first. */
  #death: VllmError | undefined;
  readonly baselineMiB: number;
  sleeps = 0;
  wakes = 0;
  closes = 0;
  constructor(
    readonly card: FakeCard,
    readonly model: string,
    readonly spec: FakeModel,
    cap: { capMiB: number; capSource: 'gpuMemoryGiB' | 'gpuMemoryUtilization' } | null,
    sleepMode: boolean,
  ) {
    this.baselineMiB = card.used();
    const reserveMiB = 2304;
    this.exactCapMiB = cap?.capMiB ?? 0;
    const memory: MemoryInfo = cap
      ? { capMiB: Math.round(cap.capMiB), capSource: cap.capSource, reserveMiB, kvCacheMiB: Math.round(cap.capMiB - spec.needMiB + 64), kvCacheTokens: Math.round(cap.capMiB - spec.needMiB + 64) * 16, vllmGpuMemoryUtilization: +((cap.capMiB - reserveMiB) / card.totalMiB).toFixed(4), measuredMiB: Math.round(cap.capMiB), weightsMiB: spec.weightsMiB ?? 1000, cpuOffloadGiB: 0 }
      : { capMiB: null, capSource: 'gpuMemoryUtilization', weightsMiB: spec.weightsMiB ?? 1000, cpuOffloadGiB: 0 };
    this.info = {
      vllmVersion: 'fake', device: { platform: card.platform }, model, dtype: 'bfloat16', quantization: null, kvCacheDtype: 'auto',
      gpuMemoryUtilization: null, gpuMemoryGiB: null, memory, maxModelLen: 1024, tensorParallelSize: 1, trustRemoteCode: false, enforceEager: true,
      numGpuBlocks: null, blockSize: 16, seed: null, startupSeconds: 0, requested: { enable_sleep_mode: sleepMode && card.platform !== 'cpu' }, notes: [],
      python: { executable: 'python', version: '3', source: 'fake' },
    };
    card.engines.add(this);
    card.sample();
  }

  /** Its cap, MiB, unrounded. */
  readonly exactCapMiB: number;
  get capMiB(): number {
    return this.exactCapMiB;
  }

  onCard(): number {
    if (this.card.platform === 'cpu' || this.state === 'dead') return 0;
    return this.state === 'awake' ? this.capMiB : this.state === 'asleep' ? this.spec.asleepMiB + (this.sleeps % 2 === 0 ? (this.spec.jitterMiB ?? 0) : 0) : 0;
  }

  /** Its process is killed: the card gets its memory back, and every later call fails as a dead engine's does. */
  die(report: 'ENGINE_DIED' | 'EngineDeadError' = 'ENGINE_DIED'): void {
    this.state = 'dead';
    this.#death =
      report === 'ENGINE_DIED' ? new VllmError('ENGINE_DIED', 'the vLLM EngineCore process exited unexpectedly') : new VllmError('CALL_FAILED', 'EngineDeadError: EngineCore encountered an issue', { pyType: 'EngineDeadError' });
    this.card.sample();
  }

  #awake(): void {
    if (this.#death) throw this.#death;
    if (this.state !== 'awake') throw new VllmError('ENGINE_CLOSED', `${this.model} is ${this.state}`);
  }

  async generate(prompt: string): Promise<string> {
    this.#awake();
    await Promise.resolve();
    return `${this.model}: ${prompt}`;
  }
  async generateDetailed(prompt: string) {
    const text = await this.generate(prompt);
    return { text, rawText: text, finishReason: 'stop', promptTokens: 1, outputTokens: 1, timings: null };
  }
  async *stream(prompt: string): AsyncIterable<string> {
    yield await this.generate(prompt);
  }
  chat = (): Promise<string> => this.generate('chat');
  chatDetailed = () => this.generateDetailed('chat');
  chatStream = (): AsyncIterable<string> => this.stream('chat');
  extract = (() => Promise.reject(new Error('not faked'))) as ManagedEngine['extract'];
  extractMany = (() => Promise.reject(new Error('not faked'))) as ManagedEngine['extractMany'];
  async health(): Promise<boolean> {
    return this.state === 'awake';
  }
  async sleep(): Promise<void> {
    this.#awake();
    if (!this.info.requested.enable_sleep_mode) throw new VllmError('CALL_FAILED', 'no sleep mode');
    await Promise.resolve();
    this.state = 'asleep';
    this.sleeps++;
    this.card.sample();
  }
  /** Set: waking fails with this, the engine alive. */
  wakeFailure: VllmError | undefined;
  async wakeUp(): Promise<void> {
    if (this.#death) throw this.#death;
    if (this.wakeFailure) throw this.wakeFailure;
    if (this.state !== 'asleep') throw new VllmError('CALL_FAILED', `${this.model} is ${this.state}`);
    await Promise.resolve();
    this.state = 'awake';
    this.wakes++;
    this.card.sample();
  }
  async memory(): Promise<MemoryInfo> {
    if (this.state === 'closed') throw new VllmError('ENGINE_CLOSED', 'closed');
    if (this.card.platform === 'cpu') return { ...this.info.memory };
    return { ...this.info.memory, measuredMiB: Math.round(this.card.used() - this.baselineMiB) };
  }
  async prepareSleep() {
    return { applied: true, bytes: (this.spec.weightsMiB ?? 1000) * 2 ** 20, pinnedBytes: (this.spec.weightsMiB ?? 1000) * 2 ** 21 };
  }
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'dead') {
      this.card.engines.delete(this);
      return;
    }
    await Promise.resolve();
    this.state = 'closed';
    this.closes++;
    this.card.engines.delete(this);
    this.card.sample();
  }
}
