/**
 * A TextGenerator for any OpenAI-compatible endpoint (vllm serve, a cloud provider), through the `openai` package.
 */
import OpenAI from 'openai';
import type { z } from 'zod';

import { VllmError } from './errors.js';
import { extractDetailed, extractManyDetailed, type DetailedExtraction, type DetailedOutcome, type ExtractManyDetailedOptions } from './extract-detailed.js';
import { extract, extractMany, type ExtractManyOptions, type ExtractOptions, type ExtractOutcome } from './extract.js';
import type { ChatCallOptions, TextGenerator } from './generator.js';
import { CountTokensOptionsSchema, SamplingDefaultsSchema, TokenizeOptionsSchema, type SamplingDefaults, type SamplingOptions } from './options.js';
import { chatTemplateKwargs, isDefaultThinking, parseCallOptions, samplingPayload } from './sampling.js';
import { registerTokenAccess, type CountTokensOptions, type TokenizeOptions } from './tokens.js';
import type { ChatMessage, GenerationResult, TokenLogprob } from './types.js';

export interface RemoteOptions {
  baseURL: string;
  model: string;
  /** Default: $OPENAI_API_KEY, else "none" (local servers). */
  apiKey?: string;
  sampling?: Partial<SamplingDefaults>;
  timeoutMs?: number;
}

function remoteError(err: unknown): VllmError {
  if (err instanceof VllmError) return err;
  const status = (err as { status?: number }).status;
  return new VllmError('REMOTE_ERROR', `Remote endpoint failed${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message}`, { cause: err });
}

/** The reasoning a server with a reasoning parser sends beside the answer: `reasoning` (vLLM ≥ 0.11), `reasoning_content` before. */
function reasoningOf(part: unknown): string | undefined {
  const p = part as { reasoning?: unknown; reasoning_content?: unknown } | undefined;
  const value = p?.reasoning ?? p?.reasoning_content;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The OpenAI API's token log-probabilities as the engine gives them. It carries each token's text, not its id:
 * `tokenId` is -1. Undefined where the endpoint sent none.
 */
function chatLogprobs(content: readonly { token: string; logprob: number; top_logprobs?: readonly { token: string; logprob: number }[] }[] | null | undefined): TokenLogprob[] | undefined {
  if (!content || content.length === 0) return undefined;
  return content.map((t) => ({ token: t.token, tokenId: -1, logprob: t.logprob, top: (t.top_logprobs ?? []).map((o) => ({ token: o.token, tokenId: -1, logprob: o.logprob })) }));
}

/** The completions API's shape: parallel arrays, and each position's top tokens as an object. */
function completionLogprobs(l: { tokens?: string[]; token_logprobs?: (number | null)[]; top_logprobs?: (Record<string, number> | null)[] | null } | null | undefined): TokenLogprob[] | undefined {
  if (!l?.tokens || l.tokens.length === 0) return undefined;
  return l.tokens.map((token, i) => ({
    token,
    tokenId: -1,
    logprob: l.token_logprobs?.[i] ?? 0,
    top: Object.entries(l.top_logprobs?.[i] ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([t, logprob]) => ({ token: t, tokenId: -1, logprob })),
  }));
}

const CONSTRAINT_KEYS = new Set(['json_schema', 'regex', 'choice', 'grammar']);

export class RemoteGenerator implements TextGenerator {
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #defaults: SamplingDefaults;
  /** vLLM's own endpoints (/tokenize, /detokenize) sit at the server's root, beside /v1. */
  readonly #root: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  #contextLength: Promise<number | undefined> | undefined;

  constructor(options: RemoteOptions) {
    this.#client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? 'none',
      maxRetries: 0,
      timeout: options.timeoutMs ?? 120_000,
    });
    this.#model = options.model;
    this.#defaults = SamplingDefaultsSchema.parse(options.sampling ?? {});
    this.#root = options.baseURL.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.#apiKey = options.apiKey ?? process.env.OPENAI_API_KEY ?? 'none';
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    registerTokenAccess(this, {
      tokenize: (text) => this.tokenize(text, { addSpecialTokens: false }),
      detokenize: (ids) => this.detokenize(ids),
      countTokens: (messages) => this.countTokens(messages),
      contextLength: () => (this.#contextLength ??= this.#readContextLength()),
      defaultMaxTokens: this.#defaults.maxTokens,
    });
  }

  /**
   * Token ids through vLLM's `/tokenize`; UNSUPPORTED_OPERATION against an endpoint without it (other
   * OpenAI-compatible servers have no tokenizer endpoint).
   */
  async tokenize(text: string, options?: TokenizeOptions): Promise<number[]> {
    if (typeof text !== 'string') throw new VllmError('INVALID_REQUEST', `Expected text to be a string, received ${text === null ? 'null' : typeof text}`);
    const { addSpecialTokens = true } = parseCallOptions(TokenizeOptionsSchema, options);
    return ((await this.#vllm('/tokenize', { prompt: text, add_special_tokens: addSpecialTokens })) as { tokens: number[] }).tokens;
  }

  /** Text through vLLM's `/detokenize`; UNSUPPORTED_OPERATION against an endpoint without it. */
  async detokenize(ids: readonly number[]): Promise<string> {
    if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
      throw new VllmError('INVALID_REQUEST', 'Expected ids to be an array of token ids (non-negative integers)');
    }
    return ((await this.#vllm('/detokenize', { tokens: ids })) as { prompt: string }).prompt;
  }

  /** Prompt tokens through vLLM's `/tokenize` (messages through the server's chat template); UNSUPPORTED_OPERATION without it. */
  async countTokens(input: string | ChatMessage[], options?: CountTokensOptions): Promise<number> {
    if (typeof input === 'string') return (await this.tokenize(input)).length;
    if (!Array.isArray(input) || input.length === 0) throw new VllmError('INVALID_REQUEST', 'Expected messages to be a non-empty array of { role, content }');
    const { chatTemplate, tools, ...template } = parseCallOptions(CountTokensOptionsSchema, options);
    const body: Record<string, unknown> = { messages: input, add_generation_prompt: true };
    if (chatTemplate !== undefined) body.chat_template = chatTemplate;
    const kwargs = chatTemplateKwargs(template); // as chat() sends them: the count is of the prompt chat() renders
    if (kwargs !== undefined) body.chat_template_kwargs = kwargs;
    if (tools !== undefined && tools.length > 0) body.tools = tools;
    return ((await this.#vllm('/tokenize', body)) as { count: number }).count;
  }

  /** The server's maxModelLen (vLLM's /tokenize says it); undefined elsewhere: extraction then cuts nothing by default. */
  async #readContextLength(): Promise<number | undefined> {
    try {
      const { max_model_len } = (await this.#vllm('/tokenize', { prompt: '' })) as { max_model_len?: unknown };
      return typeof max_model_len === 'number' ? max_model_len : undefined;
    } catch (err) {
      // Never a reason to fail an extraction: an endpoint that is down fails the extraction's own request.
      if (!(err instanceof VllmError && err.code === 'UNSUPPORTED_OPERATION')) this.#contextLength = undefined; // asked again next time
      return undefined;
    }
  }

  async #vllm(path: string, body: Record<string, unknown>): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.#root}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#apiKey}` },
        body: JSON.stringify({ model: this.#model, ...body }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw remoteError(err);
    }
    if (response.status === 404 || response.status === 405) {
      throw new VllmError('UNSUPPORTED_OPERATION', `The remote endpoint has no ${path} (HTTP ${response.status}): token counts need vLLM's server (vllm serve) or a local Engine`);
    }
    const text = await response.text();
    if (!response.ok) throw new VllmError('REMOTE_ERROR', `Remote endpoint failed (HTTP ${response.status}) on ${path}: ${text.slice(0, 500)}`);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new VllmError('REMOTE_ERROR', `Remote endpoint answered ${path} with something other than JSON: ${text.slice(0, 200)}`, { cause: err });
    }
  }

  #body(options: SamplingOptions | undefined, chat = false) {
    const { payload, signal, chatTemplateKwargs } = samplingPayload(this.#defaults, options);
    if (chatTemplateKwargs !== undefined && !chat) {
      const option = (options as Record<string, unknown>).thinking !== undefined ? 'thinking' : 'chatTemplateKwargs';
      throw new VllmError('INVALID_OPTIONS', `Invalid option "${option}": a text prompt has no chat template; use chat() / chatDetailed() / chatStream()`, { option });
    }
    if (payload.n !== undefined) {
      throw new VllmError('INVALID_OPTIONS', 'Invalid option "n": the remote endpoint does not return several completions through vllm-node yet; use a local Engine', { option: 'n' });
    }
    const body: Record<string, unknown> = {
      model: this.#model,
      max_tokens: payload.max_tokens,
      temperature: payload.temperature,
      top_p: payload.top_p,
      frequency_penalty: payload.frequency_penalty,
    };
    // The rest under vLLM's own names: its OpenAI-compatible server takes SamplingParams fields as extra body keys.
    for (const [key, value] of Object.entries(payload)) {
      if (!CONSTRAINT_KEYS.has(key) && !(key in body) && value !== undefined) body[key] = value;
    }
    if (payload.json_schema !== undefined) body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: payload.json_schema } };
    // vLLM's server takes the other constraints as its `structured_outputs` extension.
    for (const key of ['regex', 'choice', 'grammar'] as const) if (payload[key] !== undefined) body.structured_outputs = { [key]: payload[key] };
    // vLLM's server takes the template variables (thinking on or off) as its `chat_template_kwargs` extension.
    if (chatTemplateKwargs !== undefined) body.chat_template_kwargs = chatTemplateKwargs;
    // OpenAI's two shapes: chat takes `logprobs: true` and `top_logprobs: N`, completions `logprobs: N`.
    if (payload.logprobs !== undefined && chat) {
      body.logprobs = true;
      body.top_logprobs = payload.logprobs;
    }
    return { body, signal };
  }

  async generate(prompt: string, options?: SamplingOptions): Promise<string> {
    return (await this.generateDetailed(prompt, options)).text;
  }

  async generateDetailed(prompt: string, options?: SamplingOptions): Promise<GenerationResult> {
    const { body, signal } = this.#body(options);
    const { response_format: _ignored, ...completionBody } = body;
    try {
      const r = await this.#client.completions.create({ ...completionBody, prompt, stream: false } as unknown as OpenAI.CompletionCreateParamsNonStreaming, signal ? { signal } : {});
      const result = this.#result(r.choices[0]?.text ?? '', r.choices[0]?.finish_reason ?? null, r.usage);
      const logprobs = completionLogprobs(r.choices[0]?.logprobs);
      if (logprobs) result.logprobs = logprobs;
      return result;
    } catch (err) {
      throw remoteError(err);
    }
  }

  async *stream(prompt: string, options?: SamplingOptions): AsyncIterable<string> {
    const { body, signal } = this.#body(options);
    const { response_format: _ignored, ...completionBody } = body;
    try {
      const s = await this.#client.completions.create({ ...completionBody, prompt, stream: true } as unknown as OpenAI.CompletionCreateParamsStreaming, signal ? { signal } : {});
      for await (const chunk of s) if (chunk.choices[0]?.text) yield chunk.choices[0].text;
    } catch (err) {
      throw remoteError(err);
    }
  }

  async chat(messages: ChatMessage[], options?: ChatCallOptions): Promise<string> {
    return (await this.chatDetailed(messages, options)).text;
  }

  /** A chat request body: the sampling options, plus vLLM's `chat_template` extension and tools when given. */
  #chatBody(options: ChatCallOptions | undefined) {
    const { chatTemplate, tools, onFinish, onReasoning, ...given } = options ?? {};
    // Extraction's own thinking-off default stays home: only vLLM's server knows chat_template_kwargs.
    const rest = isDefaultThinking(options) ? { ...given, thinking: undefined } : given;
    if (onReasoning !== undefined && typeof onReasoning !== 'function') {
      throw new VllmError('INVALID_OPTIONS', 'Invalid option "onReasoning": expected a function', { option: 'onReasoning' });
    }
    const { body, signal } = this.#body(rest, true);
    if (chatTemplate !== undefined) body.chat_template = chatTemplate; // vLLM extension
    if (tools !== undefined && tools.length > 0) body.tools = tools;
    return { body, signal, onFinish, onReasoning };
  }

  async chatDetailed(messages: ChatMessage[], options?: ChatCallOptions): Promise<GenerationResult> {
    const { body, signal } = this.#chatBody(options);
    try {
      const r = await this.#client.chat.completions.create({ ...body, messages, stream: false } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, signal ? { signal } : {});
      const message = r.choices[0]?.message;
      const result = this.#result(message?.content ?? '', r.choices[0]?.finish_reason ?? null, r.usage, reasoningOf(message));
      const logprobs = chatLogprobs(r.choices[0]?.logprobs?.content);
      if (logprobs) result.logprobs = logprobs;
      return result;
    } catch (err) {
      throw remoteError(err);
    }
  }

  async *chatStream(messages: ChatMessage[], options?: ChatCallOptions): AsyncIterable<string> {
    const { body, signal, onFinish, onReasoning } = this.#chatBody(options);
    let text = '';
    let reasoning = '';
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    const tokens: TokenLogprob[] = [];
    // The caller's onReasoning throwing reaches the caller as it was thrown, not as the endpoint's failure.
    let callbackError: { error: unknown } | undefined;
    try {
      const stream_options = onFinish ? { include_usage: true } : undefined;
      const s = await this.#client.chat.completions.create({ ...body, messages, stream: true, stream_options } as unknown as OpenAI.ChatCompletionCreateParamsStreaming, signal ? { signal } : {});
      for await (const chunk of s) {
        const thought = reasoningOf(chunk.choices[0]?.delta);
        if (thought) {
          reasoning += thought;
          try {
            onReasoning?.(thought);
          } catch (error) {
            callbackError = { error };
            throw error;
          }
        }
        const delta = chunk.choices[0]?.delta?.content;
        tokens.push(...(chatLogprobs(chunk.choices[0]?.logprobs?.content) ?? []));
        finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
        usage = chunk.usage ?? usage;
        if (delta) {
          text += delta;
          yield delta;
        }
      }
    } catch (err) {
      if (callbackError) throw callbackError.error;
      throw remoteError(err);
    }
    const result = this.#result(text, finishReason, usage, reasoning || undefined);
    if (tokens.length > 0) result.logprobs = tokens;
    onFinish?.(result);
  }

  extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<z.output<S>> {
    return extract(this, input, schema, options);
  }

  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]> {
    return extractMany(this, inputs, schema, options);
  }

  /** extract with each field's confidence and span, from the endpoint's token log-probabilities (OpenAI's `logprobs`). */
  extractDetailed<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<DetailedExtraction<z.output<S>>> {
    return extractDetailed(this, input, schema, options);
  }

  /** extractMany with each item's fields and `escalate` (see extractManyDetailed). */
  extractManyDetailed<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyDetailedOptions): Promise<DetailedOutcome<z.output<S>>[]> {
    return extractManyDetailed(this, inputs, schema, options);
  }

  async health(): Promise<boolean> {
    try {
      await this.generate('ping', { maxTokens: 1, temperature: 0 });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {}

  #result(rawText: string, finishReason: string | null, usage: { prompt_tokens?: number; completion_tokens?: number } | undefined | null, reasoning?: string): GenerationResult {
    const result: GenerationResult = { text: rawText.trim(), rawText, finishReason, promptTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0, timings: null };
    if (reasoning) result.reasoning = reasoning;
    return result;
  }
}
