/** Messages between the Engine and the Python bridge (python/vllm_node/bridge.py), as JSON. */
import type { BridgeError } from './errors.js';
import type { ChatMessage, ChatTool, TokenLogprob } from './types.js';

export interface SamplingPayload {
  max_tokens: number;
  temperature: number;
  top_p: number;
  frequency_penalty: number;
  presence_penalty?: number;
  top_k?: number;
  seed?: number;
  stop?: string[];
  ignore_eos?: boolean;
  json_schema?: unknown;
  /** The other structured-output constraints (StructuredOutputsParams fields); at most one per request. */
  regex?: string;
  choice?: string[];
  grammar?: string;
  repetition_penalty?: number;
  min_p?: number;
  min_tokens?: number;
  stop_token_ids?: number[];
  bad_words?: string[];
  logit_bias?: Record<string, number>;
  n?: number;
  logprobs?: number;
  /** `thinking: { budgetTokens }` (vLLM's reasoning config, set by the engine option reasoningParser, enforces it). */
  thinking_token_budget?: number;
}

export type Command =
  | {
      op: 'add';
      id: string;
      prompt?: string;
      messages?: ChatMessage[];
      chat_template?: string;
      chat_template_kwargs?: Record<string, unknown>;
      tools?: ChatTool[];
      params: SamplingPayload;
      stream: boolean;
    }
  | { op: 'abort'; ids: string[] }
  | { op: 'call'; id: string; method: string; args: Record<string, unknown> };

export interface RawMetrics {
  arrivalTime: number;
  queuedTs: number;
  scheduledTs: number;
  firstTokenTs: number;
  lastTokenTs: number;
  firstTokenLatency: number;
}

export type BridgeEvent =
  | { t: 'ready'; info: Record<string, unknown> }
  | ({ t: 'fatal' } & BridgeError)
  | ({ t: 'error'; id: string } & BridgeError)
  | {
      t: 'out';
      id: string;
      text: string;
      /** What the engine's reasoning parser took out of `text` (this event's part; with the engine option reasoningParser). */
      reasoning?: string;
      done: boolean;
      finishReason?: string | null;
      promptTokens?: number;
      outputTokens?: number;
      metrics?: RawMetrics | null;
      /** The tokens of this event (with `logprobs`). */
      logprobs?: TokenLogprob[];
      /** Every completion, when `n` > 1 (final event only). */
      choices?: { text: string; reasoning?: string; finishReason: string | null; outputTokens: number; logprobs?: TokenLogprob[] }[];
    }
  | { t: 'result'; id: string; value: unknown }
  | { t: 'closed' };
