/**
 * Schema-typed extraction: a zod schema becomes JSON Schema (zod's own converter), vLLM's structured
 * outputs constrain decoding to it, and the same schema validates and types the result. A z.enum of strings is
 * decoded under vLLM's `choice` instead: the output is one of its values, as it is.
 */
import { z } from 'zod';

import { asVllmError, VllmError } from './errors.js';
// extract-detailed builds on this module's runner; extractMany hands it the calls with `escalate` (used only inside functions).
import { extractManyDetailed, type Escalation } from './extract-detailed.js';
import type { FieldInfo } from './field-confidence.js';
import { CONSTRAINT_OPTIONS, ExtractOptionsSchema, SamplingOptionsSchema, type SamplingOptions } from './options.js';
import { parseCallOptions, thinkingOffByDefault } from './sampling.js';
import { inputFitter, type InputFitter, type InputTruncation } from './tokens.js';
import type { ChatMessage, GenerationResult } from './types.js';

export interface ExtractOptions extends SamplingOptions {
  /** Instruction placed before the input; the JSON Schema (for a z.enum: the choices) is appended to it. */
  instructions?: string;
  /**
   * Cut the input (never the instructions or the schema) to at most this many tokens. Default, and the most ever
   * kept: what the context (maxModelLen) leaves after the instructions, the schema and maxTokens, so that a long
   * input is cut instead of failing with PROMPT_TOO_LONG. Needs a generator that can tokenize (Engine;
   * RemoteGenerator against vLLM's server). Elsewhere nothing is cut, and with maxInputTokens set an input that
   * may be longer than it is UNSUPPORTED_OPERATION.
   */
  maxInputTokens?: number;
  /** Called when an input was cut, with its length in tokens before and after, and its index (0 for extract). */
  onTruncate?: (truncation: InputTruncation, index: number) => void;
}

export interface ExtractManyOptions extends ExtractOptions {
  /** Called after each item settles, with the number settled so far. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Send the uncertain items to another generator: those with a field whose confidence is below `below`, a string
   * field not found in the input, or output the schema refuses go to `to` (a bigger model, a remote endpoint) in
   * one extractMany after the first pass. Each outcome then says `escalated` and carries the first pass's `fields`
   * (see extractManyDetailed). The first generator must return token log-probabilities: Engine, ModelManager.
   */
  escalate?: Escalation;
}

/**
 * One item of extractMany: its value or its error, and `truncated` when its input was cut to fit. With `escalate`:
 * `escalated` (whether `escalate.to` answered it), `first` (what the first generator answered) and, for an item the first generator answered, each field's
 * confidence and span (`fields`).
 */
export type ExtractOutcome<T> = ({ ok: true; value: T; truncated?: InputTruncation; fields?: Record<string, FieldInfo> | null } | { ok: false; error: VllmError; truncated?: InputTruncation }) & {
  escalated?: boolean;
  /** An escalated item's first answer (kept when `escalate.to` failed it). */
  first?: ExtractOutcome<T>;
};

/** What extraction needs from a generator: the local Engine and the remote client both provide it. */
export interface ChatBackend {
  chatDetailed(messages: ChatMessage[], options?: SamplingOptions): Promise<GenerationResult>;
}

const DEFAULT_INSTRUCTIONS = 'Extract the requested information from the text below. Reply with JSON only.';
const DEFAULT_CHOICE_INSTRUCTIONS = 'Classify the text below. Reply with exactly one of the choices.';

/** What decoding is constrained to: a JSON Schema, or the values of a z.enum of strings. */
type Constraint = { jsonSchema: Record<string, unknown> } | { choice: string[] };

export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  try {
    const json = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'throw' }) as Record<string, unknown>;
    delete json.$schema;
    return json;
  } catch (err) {
    throw new VllmError('INVALID_OPTIONS', `The schema cannot be expressed as JSON Schema: ${(err as Error).message}`, { cause: err });
  }
}

/** The values of a z.enum whose values are all non-empty strings (vLLM's `choice`); undefined for any other schema. */
export function enumChoices(schema: z.ZodType): string[] | undefined {
  const def = (schema as { _zod?: { def?: { type?: string; entries?: Record<string, unknown> } } })._zod?.def;
  if (def?.type !== 'enum' || !def.entries) return undefined;
  const values = [...new Set(Object.values(def.entries))];
  return values.length > 0 && values.every((v) => typeof v === 'string' && v.length > 0) ? (values as string[]) : undefined;
}

function constraintOf(schema: z.ZodType): Constraint {
  const choice = enumChoices(schema);
  return choice ? { choice } : { jsonSchema: toJsonSchema(schema) };
}

function systemPrompt(constraint: Constraint, instructions: string | undefined): string {
  if ('choice' in constraint) return `${instructions ?? DEFAULT_CHOICE_INSTRUCTIONS}\nChoices: ${JSON.stringify(constraint.choice)}`;
  return `${instructions ?? DEFAULT_INSTRUCTIONS}\nJSON Schema:\n${JSON.stringify(constraint.jsonSchema)}`;
}

function messages(constraint: Constraint, input: string, instructions: string | undefined): ChatMessage[] {
  return [
    { role: 'system', content: systemPrompt(constraint, instructions) },
    { role: 'user', content: input },
  ];
}

export function extractionMessages(input: string, jsonSchema: Record<string, unknown>, instructions?: string): ChatMessage[] {
  return messages({ jsonSchema }, input, instructions);
}

export function parseExtraction<S extends z.ZodType>(schema: S, rawText: string): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(rawText);
  } catch (err) {
    throw new VllmError('OUTPUT_INVALID', `The model output is not valid JSON: ${(err as Error).message}`, { rawText, cause: err });
  }
  return validate(schema, data, rawText);
}

function validate<S extends z.ZodType>(schema: S, data: unknown, rawText: string): z.output<S> {
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

/** Every option of extract / extractMany: the sampling ones and extraction's own. */
const ExtractCallSchema = SamplingOptionsSchema.extend(ExtractOptionsSchema.shape);

/** One extraction setting (generator, schema, constraint, options), checked once, run over any number of inputs. */
class Extraction<S extends z.ZodType> {
  readonly #backend: ChatBackend;
  readonly #schema: S;
  readonly #constraint: Constraint;
  readonly #instructions: string | undefined;
  readonly #onTruncate: ExtractOptions['onTruncate'];
  readonly #sampling: SamplingOptions;
  readonly #fitter: Promise<InputFitter>;
  readonly onProgress: ExtractManyOptions['onProgress'];
  readonly #observe: GenerationObserver | undefined;

  /** Checks every option before anything is sent: INVALID_OPTIONS. */
  constructor(backend: ChatBackend, schema: S, constraint: Constraint, options: unknown, observe?: GenerationObserver) {
    this.#observe = observe;
    parseCallOptions(ExtractCallSchema, options);
    const { instructions, maxInputTokens, onTruncate, onProgress, ...sampling } = (options ?? {}) as ExtractManyOptions;
    const set = CONSTRAINT_OPTIONS.find((k) => sampling[k] !== undefined);
    if (set) throw new VllmError('INVALID_OPTIONS', `Invalid option "${set}": extraction constrains the output to its schema itself`, { option: set });
    this.#backend = backend;
    this.#schema = schema;
    this.#constraint = constraint;
    this.#instructions = instructions;
    this.#onTruncate = onTruncate;
    this.onProgress = onProgress;
    this.#sampling = thinkingOffByDefault({ ...sampling, ...constraint }); // a thinking model answers at once unless asked
    this.#fitter = inputFitter(backend, messages(constraint, '', instructions), maxInputTokens, sampling.maxTokens);
    this.#fitter.catch(() => {}); // reported by run()
  }

  async run(input: unknown, index: number): Promise<ExtractOutcome<z.output<S>>> {
    let truncated: InputTruncation | undefined;
    try {
      if (typeof input !== 'string') throw new VllmError('INVALID_REQUEST', `Expected input to be a string, received ${input === null ? 'null' : typeof input}`);
      const fitted = await (await this.#fitter)(input);
      truncated = fitted.truncated;
      if (truncated) this.#onTruncate?.(truncated, index);
      const result = await this.#backend.chatDetailed(messages(this.#constraint, fitted.input, this.#instructions), this.#sampling);
      this.#observe?.(index, fitted.input, result);
      if (result.finishReason === 'length') {
        throw new VllmError('OUTPUT_INVALID', `The output was cut off at maxTokens (${result.outputTokens} tokens) before the ${'choice' in this.#constraint ? 'choice' : 'JSON'} was complete; raise maxTokens`, {
          rawText: result.rawText,
        });
      }
      // A choice is the output as it is; anything else is JSON.
      const value = 'choice' in this.#constraint ? validate(this.#schema, result.rawText, result.rawText) : parseExtraction(this.#schema, result.rawText);
      return truncated ? { ok: true, value, truncated } : { ok: true, value };
    } catch (err) {
      const error = asVllmError(err);
      return truncated ? { ok: false, error, truncated } : { ok: false, error };
    }
  }
}

/** Sees each item's generation and its input as the model got it (cut to fit): extractDetailed's confidences and spans. */
export type GenerationObserver = (index: number, input: string, result: GenerationResult) => void;

/**
 * One extraction setting, checked now (INVALID_OPTIONS before anything is sent), as a function that extracts one
 * input; `observe` sees each generation before it is parsed. `choice`: the schema is decoded as a z.enum's choice.
 */
export function extractionRunner<S extends z.ZodType>(
  backend: ChatBackend,
  schema: S,
  options: ExtractOptions,
  observe?: GenerationObserver,
): { choice: boolean; run: (input: string, index: number) => Promise<ExtractOutcome<z.output<S>>> } {
  const constraint = constraintOf(schema);
  const extraction = new Extraction(backend, schema, constraint, options, observe);
  return { choice: 'choice' in constraint, run: (input, index) => extraction.run(input, index) };
}

async function single<S extends z.ZodType>(extraction: Extraction<S>, input: string): Promise<z.output<S>> {
  const outcome = await extraction.run(input, 0);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

export async function extract<S extends z.ZodType>(backend: ChatBackend, input: string, schema: S, options: ExtractOptions = {}): Promise<z.output<S>> {
  return single(new Extraction(backend, schema, constraintOf(schema), options), input);
}

/**
 * The one extraction: the input fitted to its token budget, decoding constrained to `jsonSchema`, the truncation
 * check, then `schema` validates and types the output. `extract` derives the JSON Schema from the zod schema; the
 * CLI passes its JSON Schema file unchanged together with `fromJsonSchema(file)`.
 */
export async function extractWith<S extends z.ZodType>(
  backend: ChatBackend,
  input: string,
  schema: S,
  jsonSchema: Record<string, unknown>,
  options: ExtractOptions = {},
): Promise<z.output<S>> {
  return single(new Extraction(backend, schema, { jsonSchema }, options), input);
}

/**
 * Submits every item at once so the engine batches them; results come back in input order, and one item's
 * failure does not fail the others. An input too long for the context is cut (its outcome says so), not failed.
 */
export async function extractMany<S extends z.ZodType>(
  backend: ChatBackend,
  inputs: readonly string[],
  schema: S,
  options: ExtractManyOptions = {},
): Promise<ExtractOutcome<z.output<S>>[]> {
  if (!Array.isArray(inputs)) throw new VllmError('INVALID_REQUEST', 'Expected inputs to be an array of strings');
  if (options && typeof options === 'object' && 'escalate' in options) {
    const { escalate, ...plain } = options;
    if (escalate !== undefined) return extractManyDetailed(backend, inputs, schema, options);
    options = plain; // escalate: undefined is no escalation
  }
  // Checked before anything is submitted: an unrepresentable schema, a bad option.
  const extraction = new Extraction(backend, schema, constraintOf(schema), options);
  let done = 0;
  return Promise.all(
    inputs.map(async (input, index) => {
      const outcome = await extraction.run(input, index);
      done += 1;
      extraction.onProgress?.(done, inputs.length);
      return outcome;
    }),
  );
}
