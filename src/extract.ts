/**
 * Schema-typed extraction: a zod schema becomes JSON Schema (zod's own converter), vLLM's structured
 * outputs constrain decoding to it, and the same schema validates and types the result.
 */
import { z } from 'zod';

import { VllmError } from './errors.js';
import type { SamplingOptions } from './options.js';
import type { ChatMessage, GenerationResult } from './types.js';

export interface ExtractOptions extends SamplingOptions {
  /** Instruction placed before the input; the JSON Schema is appended to it. */
  instructions?: string;
}

export interface ExtractManyOptions extends ExtractOptions {
  /** Called after each item settles, with the number settled so far. */
  onProgress?: (done: number, total: number) => void;
}

export type ExtractOutcome<T> = { ok: true; value: T } | { ok: false; error: VllmError };

/** What extraction needs from a generator: the local Engine and the remote client both provide it. */
export interface ChatBackend {
  chatDetailed(messages: ChatMessage[], options?: SamplingOptions): Promise<GenerationResult>;
}

const DEFAULT_INSTRUCTIONS = 'Extract the requested information from the text below. Reply with JSON only.';

export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  try {
    const json = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'throw' }) as Record<string, unknown>;
    delete json.$schema;
    return json;
  } catch (err) {
    throw new VllmError('INVALID_OPTIONS', `The schema cannot be expressed as JSON Schema: ${(err as Error).message}`, { cause: err });
  }
}

export function extractionMessages(input: string, jsonSchema: Record<string, unknown>, instructions = DEFAULT_INSTRUCTIONS): ChatMessage[] {
  return [
    { role: 'system', content: `${instructions}\nJSON Schema:\n${JSON.stringify(jsonSchema)}` },
    { role: 'user', content: input },
  ];
}

export function parseExtraction<S extends z.ZodType>(schema: S, rawText: string): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(rawText);
  } catch (err) {
    throw new VllmError('OUTPUT_INVALID', `The model output is not valid JSON: ${(err as Error).message}`, { rawText, cause: err });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at "${issue.path.join('.')}"` : '';
    throw new VllmError('OUTPUT_INVALID', `The model output does not match the schema${where}: ${issue?.message}`, { rawText, cause: parsed.error });
  }
  return parsed.data;
}

/**
 * A JSON Schema document as a zod schema that validates output (zod's converter; draft-7 unless the document's
 * `$schema` says otherwise). INVALID_OPTIONS when zod cannot convert it.
 */
export function fromJsonSchema(jsonSchema: Record<string, unknown>): z.ZodType {
  try {
    return z.fromJSONSchema(jsonSchema as Parameters<typeof z.fromJSONSchema>[0], { defaultTarget: 'draft-7' });
  } catch (err) {
    throw new VllmError('INVALID_OPTIONS', `The JSON Schema cannot be used to validate output: ${(err as Error).message}`, { cause: err });
  }
}

export async function extract<S extends z.ZodType>(backend: ChatBackend, input: string, schema: S, options: ExtractOptions = {}): Promise<z.output<S>> {
  return extractWith(backend, input, schema, toJsonSchema(schema), options);
}

/**
 * The one extraction: decoding constrained to `jsonSchema`, the truncation check, then `schema` validates and
 * types the output. `extract` derives the JSON Schema from the zod schema; the CLI passes its JSON Schema file
 * unchanged together with `fromJsonSchema(file)`.
 */
export async function extractWith<S extends z.ZodType>(
  backend: ChatBackend,
  input: string,
  schema: S,
  jsonSchema: Record<string, unknown>,
  options: ExtractOptions = {},
): Promise<z.output<S>> {
  if (typeof input !== 'string') throw new VllmError('INVALID_REQUEST', `Expected input to be a string, received ${input === null ? 'null' : typeof input}`);
  const { instructions, ...sampling } = options;
  const result = await backend.chatDetailed(extractionMessages(input, jsonSchema, instructions), { ...sampling, jsonSchema });
  if (result.finishReason === 'length') {
    throw new VllmError('OUTPUT_INVALID', `The output was cut off at maxTokens (${result.outputTokens} tokens) before the JSON was complete; raise maxTokens`, { rawText: result.rawText });
  }
  return parseExtraction(schema, result.rawText);
}

/**
 * Submits every item at once so the engine batches them; results come back in input order, and one item's
 * failure does not fail the others.
 */
export async function extractMany<S extends z.ZodType>(
  backend: ChatBackend,
  inputs: readonly string[],
  schema: S,
  options: ExtractManyOptions = {},
): Promise<ExtractOutcome<z.output<S>>[]> {
  if (!Array.isArray(inputs)) throw new VllmError('INVALID_REQUEST', 'Expected inputs to be an array of strings');
  const { onProgress, ...rest } = options;
  toJsonSchema(schema); // fail fast on an unrepresentable schema, before submitting anything
  let done = 0;
  return Promise.all(
    inputs.map(async (input): Promise<ExtractOutcome<z.output<S>>> => {
      try {
        return { ok: true, value: await extract(backend, input, schema, rest) };
      } catch (err) {
        const error = err instanceof VllmError ? err : new VllmError('PYTHON_ERROR', String(err), { cause: err });
        return { ok: false, error };
      } finally {
        done += 1;
        onProgress?.(done, inputs.length);
      }
    }),
  );
}
