/**
 * A TextGenerator for any OpenAI-compatible endpoint (vllm serve, a cloud provider), through the `openai` package.
 */
import OpenAI from 'openai';
import type { z } from 'zod';

import { VllmError } from './errors.js';
import { extract, extractMany, type ExtractManyOptions, type ExtractOptions, type ExtractOutcome } from './extract.js';
import type { ChatCallOptions, TextGenerator } from './generator.js';
import { SamplingDefaultsSchema, type SamplingDefaults, type SamplingOptions } from './options.js';
import { samplingPayload } from './sampling.js';
import type { ChatMessage, GenerationResult } from './types.js';

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

export class RemoteGenerator implements TextGenerator {
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #defaults: SamplingDefaults;

  constructor(options: RemoteOptions) {
    this.#client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? 'none',
      maxRetries: 0,
      timeout: options.timeoutMs ?? 120_000,
    });
    this.#model = options.model;
    this.#defaults = SamplingDefaultsSchema.parse(options.sampling ?? {});
  }

  #body(options: SamplingOptions | undefined) {
    const { payload, signal } = samplingPayload(this.#defaults, options);
    for (const option of ['n', 'logprobs'] as const) {
      if (payload[option] !== undefined) {
        throw new VllmError('INVALID_OPTIONS', `Invalid option "${option}": the remote endpoint does not return ${option === 'n' ? 'several completions' : 'log-probabilities'} through vllm-node yet; use a local Engine`, { option });
      }
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
      if (key !== 'json_schema' && !(key in body) && value !== undefined) body[key] = value;
    }
    if (payload.json_schema !== undefined) body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: payload.json_schema } };
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
      return this.#result(r.choices[0]?.text ?? '', r.choices[0]?.finish_reason ?? null, r.usage);
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
    const { chatTemplate, tools, onFinish, ...rest } = options ?? {};
    const { body, signal } = this.#body(rest);
    if (chatTemplate !== undefined) body.chat_template = chatTemplate; // vLLM extension
    if (tools !== undefined && tools.length > 0) body.tools = tools;
    return { body, signal, onFinish };
  }

  async chatDetailed(messages: ChatMessage[], options?: ChatCallOptions): Promise<GenerationResult> {
    const { body, signal } = this.#chatBody(options);
    try {
      const r = await this.#client.chat.completions.create({ ...body, messages, stream: false } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, signal ? { signal } : {});
      return this.#result(r.choices[0]?.message?.content ?? '', r.choices[0]?.finish_reason ?? null, r.usage);
    } catch (err) {
      throw remoteError(err);
    }
  }

  async *chatStream(messages: ChatMessage[], options?: ChatCallOptions): AsyncIterable<string> {
    const { body, signal, onFinish } = this.#chatBody(options);
    try {
      const stream_options = onFinish ? { include_usage: true } : undefined;
      const s = await this.#client.chat.completions.create({ ...body, messages, stream: true, stream_options } as unknown as OpenAI.ChatCompletionCreateParamsStreaming, signal ? { signal } : {});
      let text = '';
      let finishReason: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of s) {
        const delta = chunk.choices[0]?.delta?.content;
        finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
        usage = chunk.usage ?? usage;
        if (delta) {
          text += delta;
          yield delta;
        }
      }
      onFinish?.(this.#result(text, finishReason, usage));
    } catch (err) {
      throw remoteError(err);
    }
  }

  extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions): Promise<z.output<S>> {
    return extract(this, input, schema, options);
  }

  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]> {
    return extractMany(this, inputs, schema, options);
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

  #result(rawText: string, finishReason: string | null, usage: { prompt_tokens?: number; completion_tokens?: number } | undefined | null): GenerationResult {
    return { text: rawText.trim(), rawText, finishReason, promptTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0, timings: null };
  }
}
