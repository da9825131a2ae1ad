/**
 * The native channel: the one path between an Engine and its engine thread (the addon's NativeEngine, which
 * runs python/vllm_node/bridge.py). Commands go out as JSON, events come back as JSON arrays. The channel also
 * counts what must keep the process alive (the start, a close, each request in flight) and holds the addon's
 * ref while that count is above zero.
 */
import type { NativeBinding, NativeEngine } from '../native/binding.js';
import type { PythonInfo } from '../native/python.js';
import { VLLM_KWARGS, type EngineOptions } from '../options.js';
import type { BridgeEvent, Command } from '../protocol.js';
import { speculativeConfig } from '../speculative.js';

export class Channel {
  #native: NativeEngine;
  #outbox: string[] = [];
  #refs = 0;

  /** Starts the engine thread, which loads vLLM with `options`; every event it sends is handed to `onEvent`. */
  constructor(Native: NativeBinding['NativeEngine'], options: EngineOptions, python: PythonInfo, onEvent: (ev: BridgeEvent) => void) {
    this.#native = new Native(JSON.stringify(startPayload(options, python)), (json) => {
      for (const ev of JSON.parse(json) as BridgeEvent[]) onEvent(ev);
    });
  }

  /** Sends a command whose answer is awaited: holds a ref until the answer settles it (unref). */
  post(cmd: Command): void {
    this.ref();
    this.send(cmd);
  }

  /**
   * Commands issued in one JS tick travel to the engine thread together (one post, flushed in a microtask):
   * 256 generate() calls made in a loop are added to vLLM in one tight loop of one engine-loop iteration, as
   * LLM.generate(list) adds its prompts, instead of one request per wake-up of the engine thread.
   */
  send(cmd: Command): void {
    this.#outbox.push(JSON.stringify(cmd));
    if (this.#outbox.length === 1) queueMicrotask(() => this.flush());
  }

  flush(): void {
    if (this.#outbox.length === 0) return;
    const batch = this.#outbox.join(',');
    this.#outbox = [];
    this.#native.post(batch);
  }

  ref(): void {
    if (this.#refs++ === 0) this.#native.ref();
  }

  unref(): void {
    if (this.#refs > 0 && --this.#refs === 0) this.#native.unref();
  }

  /** The engine thread has ended (fatal or closed): nothing is held any more. */
  dropRefs(): void {
    this.#refs = 0;
  }

  /** Sends what is queued, then asks the engine thread to shut vLLM down; held until its `closed` event. */
  close(): void {
    this.ref();
    this.flush();
    this.#native.close();
  }
}

/** What the bridge starts vLLM with. */
function startPayload(options: EngineOptions, python: PythonInfo): Record<string, unknown> {
  return {
    engine_kwargs: toLlmKwargs(options),
    extra_engine_args: options.engineArgs,
    swap_space: options.swapSpace,
    gpu_memory_gib: options.gpuMemoryGiB ?? null,
    sleep_mode: options.sleepMode,
    fast_start: options.fastStart,
    cache_dir: options.cacheDir ?? null,
    deterministic: options.deterministic,
    python_executable: python.executable,
    log_level: options.logLevel,
  };
}

function toLlmKwargs(options: EngineOptions): Record<string, unknown> {
  // disable_log_stats: false makes vLLM record per-request timings (GenerationResult.timings).
  // disable_any_whitespace: JSON-constrained output is compact; with free whitespace a weak model can spend
  // its whole token budget on newlines (vLLM reads it engine-wide, not per request). engineArgs overrides either:
  // structured_outputs_config field by field, the fields it leaves out keep these (python/vllm_node/config.py).
  const kwargs: Record<string, unknown> = { disable_log_stats: false, structured_outputs_config: { backend: 'xgrammar', disable_any_whitespace: true } };
  // vLLM's weight-loading progress bar is start-up logging too: shown from logLevel "info" down.
  if (options.logLevel !== 'debug' && options.logLevel !== 'info') kwargs.use_tqdm_on_load = false;
  for (const [key, name] of Object.entries(VLLM_KWARGS)) {
    const value = options[key as keyof EngineOptions];
    if (value !== undefined && name) kwargs[name] = value;
  }
  const speculative = speculativeConfig(options);
  if (speculative) kwargs.speculative_config = speculative;
  return kwargs;
}
