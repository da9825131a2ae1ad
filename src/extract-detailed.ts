/**
 * Extraction with a confidence and a source per field (issue 25, item 5): the extraction of src/extract.ts with the
 * output's token logprobs, each leaf of the value scored and looked up in the input (src/field-confidence.ts), and
 * `escalate`, which sends the items that scored low, or whose text is not in the input, to another generator.
 */
import type { z } from 'zod';

import { asVllmError, VllmError } from './errors.js';
import { extractionRunner, type ChatBackend, type ExtractManyOptions, type ExtractOptions, type ExtractOutcome } from './extract.js';
import { fieldsOf, type FieldInfo } from './field-confidence.js';
import { checkOptionsObject } from './sampling.js';
import type { InputTruncation } from './tokens.js';
import type { GenerationResult } from './types.js';

export interface DetailedExtraction<T> {
  value: T;
  fields: Record<string, FieldInfo>;
}

/** What escalation needs of a generator: its own extractMany (Engine, ModelManager, RemoteGenerator, Router). */
export interface EscalationTarget {
  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions): Promise<ExtractOutcome<z.output<S>>[]>;
}

export interface Escalation {
  /** An item with a field whose confidence is below this (0 to 1) is sent on. */
  below: number;
  /** The generator that answers the items sent on, with its own extractMany: a bigger model, a remote endpoint. */
  to: EscalationTarget;
  /** Options for `to` over this call's (e.g. `{ model: 'big' }` for a ModelManager); no logprobs are asked of it. */
  options?: Record<string, unknown>;
  /** Also send an item with a non-empty string field that is not found in the input (default true). */
  ungrounded?: boolean;
}

/** extractManyDetailed's options: extractMany's, `escalate` included. */
export type ExtractManyDetailedOptions = ExtractManyOptions;

/**
 * One item of extractManyDetailed. `generator` is the one whose answer this is; `escalated` says it is `escalate.to`,
 * and `first` is then what the first generator answered. An escalated answer has no `fields` (null): the second
 * generator is asked for the value only.
 */
export type DetailedOutcome<T> = (
  | { ok: true; value: T; fields: Record<string, FieldInfo> | null; truncated?: InputTruncation }
  | { ok: false; error: VllmError; truncated?: InputTruncation }
) & { escalated: boolean; generator: object; first?: DetailedOutcome<T> };

/**
 * Extracts `input` as `extract` does, with each leaf's confidence and span. Needs the output's token logprobs: an
 * Engine or a ModelManager; UNSUPPORTED_OPERATION for a generator without them (RemoteGenerator).
 */
export async function extractDetailed<S extends z.ZodType>(generator: ChatBackend, input: string, schema: S, options: ExtractOptions = {}): Promise<DetailedExtraction<z.output<S>>> {
  const [outcome] = await firstPass(generator, [input], schema, options);
  if (!outcome!.ok) throw outcome!.error;
  return { value: outcome!.value, fields: outcome!.fields! };
}

/**
 * extractMany with each item's fields (see extractDetailed). With `escalate`, the items whose extraction failed
 * with OUTPUT_INVALID, that have a field below `escalate.below`, or (unless `ungrounded: false`) a string field not
 * found in the input, go to `escalate.to` in one extractMany once the first pass is over; the others are left as
 * they are. `onProgress` counts an item when its final answer is in.
 */
export async function extractManyDetailed<S extends z.ZodType>(
  generator: ChatBackend,
  inputs: readonly string[],
  schema: S,
  options: ExtractManyDetailedOptions = {},
): Promise<DetailedOutcome<z.output<S>>[]> {
  return extractManyEscalating((pass) => pass(generator), inputs, schema, options);
}

/**
 * extractManyDetailed, with the first pass run through `first` (it hands the pass the generator to run on). A
 * ModelManager holds its model for the first pass only, so that escalating to another of its models waits for nothing.
 */
export async function extractManyEscalating<S extends z.ZodType>(
  first: (pass: (generator: ChatBackend) => Promise<DetailedOutcome<z.output<S>>[]>) => Promise<DetailedOutcome<z.output<S>>[]>,
  inputs: readonly string[],
  schema: S,
  options: ExtractManyDetailedOptions = {},
): Promise<DetailedOutcome<z.output<S>>[]> {
  if (!Array.isArray(inputs)) throw new VllmError('INVALID_REQUEST', 'Expected inputs to be an array of strings');
  checkOptionsObject(options);
  const { escalate, onProgress, ...rest } = options;
  if (escalate !== undefined) checkEscalation(escalate);
  let done = 0;
  const outcomes = await first((generator) =>
    firstPass(generator, inputs, schema, rest, (outcome) => {
      if (escalate && sendOn(outcome, escalate)) return;
      onProgress?.(++done, inputs.length);
    }),
  );
  if (!escalate) return outcomes;
  const picked = outcomes.flatMap((o, i) => (sendOn(o, escalate) ? [i] : []));
  if (picked.length === 0) return outcomes;
  const { logprobs: _, onTruncate, ...shared } = rest;
  let counted = 0; // escalated items escalate.to reported done
  const second = await escalate.to
    .extractMany(
      picked.map((i) => inputs[i]!),
      schema,
      {
        ...shared,
        ...(onTruncate ? { onTruncate: (t: InputTruncation, k: number) => onTruncate(t, picked[k]!) } : {}),
        ...(onProgress
          ? {
              onProgress: (d: number) => {
                counted = Math.max(counted, d);
                onProgress(done + d, inputs.length);
              },
            }
          : {}),
        ...escalate.options,
      } as ExtractManyOptions,
    )
    .catch((err: unknown) => {
      const error = asVllmError(err);
      return picked.map(() => ({ ok: false as const, error }));
    });
  // Every item counted once its final answer is in, also where escalate.to failed them all or reports no progress.
  for (let d = counted + 1; onProgress && d <= picked.length; d++) onProgress(done + d, inputs.length);
  for (const [k, i] of picked.entries()) {
    const answer = second[k]!;
    outcomes[i] = { ...(answer.ok ? { ...answer, fields: null } : answer), escalated: true, generator: escalate.to, first: outcomes[i]! };
  }
  return outcomes;
}

/** The first generator's pass: every item at once (the engine batches them), logprobs asked for. */
async function firstPass<S extends z.ZodType>(
  generator: ChatBackend,
  inputs: readonly string[],
  schema: S,
  options: ExtractManyOptions,
  settled?: (outcome: DetailedOutcome<z.output<S>>) => void,
): Promise<DetailedOutcome<z.output<S>>[]> {
  checkOptionsObject(options);
  const seen: { input: string; result: GenerationResult }[] = [];
  const { choice, run } = extractionRunner(generator, schema, { ...options, logprobs: options?.logprobs ?? 0 }, (index, input, result) => {
    seen[index] = { input, result };
  });
  return Promise.all(
    inputs.map(async (input, index) => {
      const outcome = withFields(await run(input, index), seen[index], choice, generator);
      settled?.(outcome);
      return outcome;
    }),
  );
}

function withFields<T>(outcome: ExtractOutcome<T>, seen: { input: string; result: GenerationResult } | undefined, choice: boolean, generator: ChatBackend): DetailedOutcome<T> {
  const by = { escalated: false, generator };
  const failed = (error: VllmError): DetailedOutcome<T> => ({ ok: false, error, ...(outcome.truncated ? { truncated: outcome.truncated } : {}), ...by });
  if (!outcome.ok) {
    // RemoteGenerator refuses the option before sending anything.
    return failed(outcome.error.code === 'INVALID_OPTIONS' && outcome.error.option === 'logprobs' ? noLogprobs(generator, outcome.error) : outcome.error);
  }
  const logprobs = seen?.result.logprobs;
  if (!seen || !logprobs) return failed(noLogprobs(generator));
  try {
    const fields = fieldsOf(seen.result.rawText, logprobs, seen.input, choice);
    return { ok: true, value: outcome.value, ...(outcome.truncated ? { truncated: outcome.truncated } : {}), fields, ...by };
  } catch (err) {
    return failed(err instanceof VllmError ? err : new VllmError('OUTPUT_INVALID', String(err), { cause: err }));
  }
}

function noLogprobs(generator: object, cause?: unknown): VllmError {
  return new VllmError(
    'UNSUPPORTED_OPERATION',
    `This generator (${generator.constructor.name}) returned no token log-probabilities, which field confidence is computed from: use an Engine, a ModelManager, or an endpoint that answers OpenAI's logprobs (vllm serve does)`,
    { option: 'logprobs', cause },
  );
}

/** Whether an item goes to `escalate.to`: a failed output, a field below the threshold, a string not in the input. */
export function sendOn(outcome: DetailedOutcome<unknown>, escalate: Escalation): boolean {
  if (!outcome.ok) return outcome.error.code === 'OUTPUT_INVALID';
  return Object.values(outcome.fields ?? {}).some(
    (f) => f.confidence < escalate.below || (escalate.ungrounded !== false && f.span === null && typeof f.value === 'string' && f.value.trim() !== ''),
  );
}

const ESCALATION_KEYS = ['below', 'to', 'options', 'ungrounded'];

function checkEscalation(e: Escalation): void {
  const bad = (option: string, message: string) => new VllmError('INVALID_OPTIONS', `Invalid option "escalate${option}": ${message}`, { option: `escalate${option}` });
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw bad('', 'expected { below, to }');
  const unknown = Object.keys(e).find((k) => !ESCALATION_KEYS.includes(k));
  if (unknown) throw bad(`.${unknown}`, `unknown option; expected one of ${ESCALATION_KEYS.join(', ')}`);
  if (typeof e.below !== 'number' || !(e.below >= 0 && e.below <= 1)) throw bad('.below', `expected a number between 0 and 1, received ${JSON.stringify(e.below)}`);
  if (typeof e.to?.extractMany !== 'function') throw bad('.to', 'expected a generator with extractMany (Engine, ModelManager, RemoteGenerator, Router)');
  if (e.options !== undefined) checkOptionsObject(e.options);
  if (e.ungrounded !== undefined && typeof e.ungrounded !== 'boolean') throw bad('.ungrounded', `expected a boolean, received ${typeof e.ungrounded}`);
}
