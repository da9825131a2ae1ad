/** Public result types. */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
}

/** A tool offered to the chat template (OpenAI's function-tool shape, which Hugging Face chat templates read). */
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

/** Timings vLLM recorded for one request, in seconds. */
export interface RequestTimings {
  /** Time waiting in vLLM's queue before first being scheduled. */
  queued: number;
  /** From arrival to the first output token. */
  firstToken: number;
  /** From the first to the last output token. */
  decode: number;
  /** From entering the queue to the last token. */
  total: number;
  /** Raw engine-core monotonic timestamps, comparable between requests of one engine. */
  raw: { queuedTs: number; scheduledTs: number; firstTokenTs: number; lastTokenTs: number; arrivalTime: number };
}

/** A generated token with its log-probability, and the most likely tokens at its position (per-call `logprobs`). */
export interface TokenLogprob {
  token: string;
  /** The token's id; -1 from a RemoteGenerator (OpenAI's API carries the token's text only). */
  tokenId: number;
  logprob: number;
  /** The `logprobs` most likely tokens at this position, most likely first. */
  top: { token: string; tokenId: number; logprob: number }[];
}

/** One of the `n` completions of a request. */
export interface GenerationChoice {
  text: string;
  rawText: string;
  /** The completion's reasoning (see GenerationResult.reasoning). */
  reasoning?: string;
  finishReason: GenerationResult['finishReason'];
  outputTokens: number;
  logprobs?: TokenLogprob[];
}

export interface GenerationResult {
  /** Generated text, trimmed of surrounding whitespace (with a reasoningParser: the answer, without the reasoning). */
  text: string;
  /** The text exactly as vLLM produced it (with a reasoningParser: less what the parser took out as reasoning). */
  rawText: string;
  /**
   * A thinking model's reasoning, apart from `text`: set on chat results by the engine option `reasoningParser` (vLLM's
   * parser for the model) when the output has any.
   */
  reasoning?: string;
  finishReason: 'stop' | 'length' | 'abort' | (string & {}) | null;
  promptTokens: number;
  outputTokens: number;
  timings: RequestTimings | null;
  /** With the per-call `logprobs` option: one entry per generated token of the (first) completion. */
  logprobs?: TokenLogprob[];
  /** With `n` > 1: every completion, the first being the one in `text`. */
  choices?: GenerationChoice[];
}

/** The memory cap and the engine's footprint (MiB; per card with tensor parallelism: the largest card). */
export interface MemoryInfo {
  capMiB?: number | null;
  capSource?: 'gpuMemoryUtilization' | 'gpuMemoryGiB';
  /** What vLLM's own profiler is not told about (CUDA context, workspaces), kept out of its budget. */
  reserveMiB?: number;
  /** The fraction vLLM was given to size the KV cache: the cap minus the reserve. */
  vllmGpuMemoryUtilization?: number;
  kvCacheMiB?: number | null;
  kvCacheTokens?: number;
  /** KV tokens vLLM's default sizing would give at the same fraction (the reserve in the KV cache too). */
  vllmDefaultKvCacheTokens?: number;
  /** Footprint on the fullest card: used memory minus what was used before the engine started. */
  measuredMiB?: number;
  weightsMiB?: number | null;
  /** Weights kept in CPU memory (vLLM's cpu_offload_gb). */
  cpuOffloadGiB?: number;
  perCard?: Record<string, number | null>[];
}

/** Speculative decoding between two readings of vLLM's counters (`Engine.metrics()`). */
export interface SpeculativeMetrics {
  /** Steps in which a request had draft tokens. */
  drafts: number;
  draftTokens: number;
  acceptedTokens: number;
  /** Accepted tokens by position in the draft (the first draft token, the second...). */
  acceptedPerPosition: number[];
  /** acceptedTokens / draftTokens; null before any draft. */
  acceptanceRate: number | null;
  /** Tokens per drafted step: 1 + acceptedTokens / drafts (vLLM's mean acceptance length); null before any draft. */
  meanAcceptanceLength: number | null;
}

/** What `Engine.metrics()` reports: counted since the engine became ready. */
export interface EngineMetrics {
  /** null without the engine option `speculative`. */
  speculative: SpeculativeMetrics | null;
}

/** What `Engine.prepareSleep()` started: CPU memory pinned in the background for the engine's first sleep. */
export interface SleepPreparation {
  applied: boolean;
  /** Weights the sleep copies to CPU memory, bytes (all cards). */
  bytes?: number;
  /** CPU memory pinned for them, bytes (torch's pinned-memory cache rounds each buffer up to a power of two). */
  pinnedBytes?: number;
  /** Why nothing is pinned (no sleep mode, another worker extension, a vLLM that backs its sleep up otherwise). */
  reason?: string;
}

export interface EffectiveConfig {
  vllmVersion: string;
  /** The torch release vLLM runs on (a warm cache is for one vLLM and torch); absent where a backend does not say. */
  torchVersion?: string;
  device: { platform: string; name?: string; capability?: string | null };
  model: string;
  dtype: string;
  quantization: string | null;
  kvCacheDtype: string;
  /** The memory cap as requested: a fraction of each card, or GiB (the other is null). */
  gpuMemoryUtilization: number | null;
  gpuMemoryGiB: number | null;
  /** How the cap was applied and what the engine holds (empty when no cap applies, e.g. CPU without gpuMemoryGiB). */
  memory: MemoryInfo;
  maxModelLen: number;
  tensorParallelSize: number;
  trustRemoteCode: boolean;
  enforceEager: boolean;
  numGpuBlocks: number | null;
  blockSize: number;
  seed: number | null;
  startupSeconds: number;
  /** The keyword arguments given to vllm.LLM. */
  requested: Record<string, unknown>;
  /** Settings the installed vLLM handles differently, e.g. swap_space on V1. */
  notes: { option: string; applied: boolean; value: unknown; reason?: string }[];
  python: { executable: string; version: string; source: string };
}
