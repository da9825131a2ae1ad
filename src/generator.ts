import type { z } from 'zod';

import type { DetailedExtraction, DetailedOutcome, ExtractManyDetailedOptions } from './extract-detailed.js';
import type { ExtractManyOptions, ExtractOptions, ExtractOutcome } from './extract.js';
import type { SamplingOptions } from './options.js';
import type { CountTokensOptions, TokenizeOptions } from './tokens.js';
import type { ChatMessage, ChatTool, GenerationResult } from './types.js';

/** Chat-only options, next to the sampling options. */
export interface ChatOptions {
  /** A Jinja chat template for models without one (base models). */
  chatTemplate?: string;
  /** Tools the chat template lists for the model (it decides the tool-call format, e.g. Qwen3's `<tool_call>`). */
  tools?: ChatTool[];
  /** chatStream: called once the stream has ended, with the finish reason and the token counts. */
  onFinish?: (result: GenerationResult) => void;
  /**
   * chatStream: called with each piece of the model's reasoning (engine option reasoningParser), in order with the
   * text the stream yields (before the text that follows it). The stream itself yields the answer only.
   */
  onReasoning?: (delta: string) => void;
}

export type ChatCallOptions = SamplingOptions & ChatOptions;

/** What both the in-process Engine and the OpenAI-compatible RemoteGenerator offer; Router switches between them. */
export interface TextGenerator {
  generate(prompt: string, options?: SamplingOptions): Promise<string>;
  generateDetailed(prompt: string, options?: SamplingOptions): Promise<GenerationResult>;
  stream(prompt: string, options?: SamplingOptions): AsyncIterable<string>;
  chat(messages: ChatMessage[], options?: ChatCallOptions): Promise<string>;
  chatDetailed(messages: ChatMessage[], options?: ChatCallOptions): Promise<GenerationResult>;
  chatStream(messages: ChatMessage[], options?: ChatCallOptions): AsyncIterable<string>;
  extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<z.output<S>>;
  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]>;
  /**
   * extract with each field's confidence and span in the input (see extractDetailed). Needs the output's token
   * log-probabilities: Engine and ModelManager; UNSUPPORTED_OPERATION from RemoteGenerator. Absent on generators
   * that predate it: the free function extractDetailed(generator, …) takes any.
   */
  extractDetailed?<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<DetailedExtraction<z.output<S>>>;
  /** extractMany with each item's fields and `escalate` (see extractManyDetailed). */
  extractManyDetailed?<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyDetailedOptions): Promise<DetailedOutcome<z.output<S>>[]>;
  /**
   * The model's token ids of `text` (as a generate() prompt gets them; `addSpecialTokens: false` for text inside a
   * chat). Where the generator has a tokenizer: the Engine; RemoteGenerator against vLLM's server, and
   * UNSUPPORTED_OPERATION against other endpoints. Absent where a generator has none.
   */
  tokenize?(text: string, options?: TokenizeOptions): Promise<number[]>;
  /** The text of token ids (special tokens included), where the generator has a tokenizer (see tokenize). */
  detokenize?(ids: readonly number[]): Promise<string>;
  /**
   * The prompt tokens of a generate() prompt, or of messages rendered through the chat template exactly as chat()
   * renders them (the `promptTokens` of that call), where the generator has a tokenizer (see tokenize).
   */
  countTokens?(input: string | ChatMessage[], options?: CountTokensOptions): Promise<number>;
  health(): Promise<boolean>;
  close(): Promise<void>;
}
