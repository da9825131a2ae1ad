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

export interface GenerationResult {
  /** Generated text, trimmed (as the seed's generate returns it). */
  text: string;
  /** The text exactly as vLLM produced it. */
  rawText: string;
  finishReason: 'stop' | 'length' | 'abort' | (string & {}) | null;
  promptTokens: number;
  outputTokens: number;
  timings: RequestTimings | null;
}

export interface EffectiveConfig {
  vllmVersion: string;
  device: { platform: string; name?: string; capability?: string | null };
  model: string;
  dtype: string;
  quantization: string | null;
  kvCacheDtype: string;
  gpuMemoryUtilization: number;
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
