/**
 * Tokens: the types of `tokenize` / `detokenize` / `countTokens`, and extraction's input budget (`maxInputTokens`),
 * which cuts the input by tokens so that the instructions, the schema and `maxTokens` of output still fit the
 * context. vLLM's own `truncate_prompt_tokens` keeps the end of the rendered prompt, which drops the system prompt.
 */
import { VllmError } from './errors.js';
import type { ChatMessage, ChatTool } from './types.js';

export interface TokenizeOptions {
  /** Add the tokenizer's special tokens (e.g. a BOS) as a generate() prompt gets them (default true); false for text that goes inside a chat. */
  addSpecialTokens?: boolean;
}

/** For messages: the chat options that change how chat() renders them. */
export interface CountTokensOptions {
  chatTemplate?: string;
  tools?: ChatTool[];
  chatTemplateKwargs?: Record<string, unknown>;
  thinking?: boolean | { budgetTokens: number };
}

/** An input cut to fit: its length in tokens (alone, without special tokens) before and after. */
export interface InputTruncation {
  from: number;
  to: number;
}

/** What a generator gives extraction to fit its input; Engine and RemoteGenerator register one for themselves. */
export interface TokenAccess {
  /** Tokens of text that goes inside a chat (no special tokens). */
  tokenize(text: string): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** Prompt tokens of messages rendered as chat() renders them. */
  countTokens(messages: ChatMessage[]): Promise<number>;
  /** The context length (maxModelLen); undefined where the backend does not say. */
  contextLength(): Promise<number | undefined>;
  /** The maxTokens a call without one gets. */
  defaultMaxTokens: number;
}

const access = new WeakMap<object, TokenAccess>();

export function registerTokenAccess(generator: object, tokens: TokenAccess): void {
  access.set(generator, tokens);
}

export function tokenAccess(generator: object): TokenAccess | undefined {
  return access.get(generator);
}

/** A generator without a tokenizer: no context length, so only maxInputTokens can ask it to count. */
const NO_TOKENS: TokenAccess = {
  tokenize: unsupported,
  detokenize: unsupported,
  countTokens: unsupported,
  contextLength: async () => undefined,
  defaultMaxTokens: 0,
};

async function unsupported(): Promise<never> {
  throw new VllmError('UNSUPPORTED_OPERATION', 'Invalid option "maxInputTokens": this generator cannot count tokens (an Engine can; so can RemoteGenerator against vLLM\'s server)', {
    option: 'maxInputTokens',
  });
}

/** Cuts an input to the budget, or returns it as it is. */
export type InputFitter = (input: string) => Promise<{ input: string; truncated?: InputTruncation }>;

const asIs: InputFitter = async (input) => ({ input });

/**
 * The input fitter for one extraction setting. The budget is `maxInputTokens`, and at most what the context leaves
 * after the prompt without its input (`emptyInput`: the instructions and the schema, through the chat template) and
 * `maxTokens`. A generator without token access cuts nothing; an input that may be longer than `maxInputTokens`
 * is UNSUPPORTED_OPERATION there.
 */
export async function inputFitter(generator: object, emptyInput: ChatMessage[], maxInputTokens: number | undefined, maxTokens: number | undefined): Promise<InputFitter> {
  const tokens = tokenAccess(generator) ?? NO_TOKENS;
  let budget = maxInputTokens ?? Infinity;
  const context = await tokens.contextLength();
  if (context !== undefined) {
    const rest = await countRest(tokens, emptyInput);
    const output = maxTokens ?? tokens.defaultMaxTokens;
    const room = context - rest - output;
    if (room < 1) {
      throw new VllmError(
        'PROMPT_TOO_LONG',
        `The instructions and the schema take ${rest} tokens and maxTokens is ${output}: together they leave no room for the input in the context of ${context} tokens (maxModelLen); lower maxTokens or shorten the instructions`,
      );
    }
    budget = Math.min(budget, room);
  }
  if (budget === Infinity) return asIs;
  return (input) => fit(tokens, input, budget);
}

// The prompt without its input is the same for every input of an extractMany, and for repeated extract calls with
// one schema: counted once per generator (the last 64 settings).
const restCounts = new WeakMap<TokenAccess, Map<string, Promise<number>>>();

function countRest(tokens: TokenAccess, emptyInput: ChatMessage[]): Promise<number> {
  let counts = restCounts.get(tokens);
  if (!counts) restCounts.set(tokens, (counts = new Map()));
  const key = JSON.stringify(emptyInput);
  let count = counts.get(key);
  if (!count) {
    if (counts.size >= 64) counts.delete(counts.keys().next().value!);
    count = tokens.countTokens(emptyInput);
    counts.set(key, count);
    count.catch(() => counts.delete(key));
  }
  return count;
}

// A token covers at least one byte, save for a tokenizer's leading word-start marker: an input this short fits
// without asking the tokenizer.
const MARGIN = 2;

async function fit(tokens: TokenAccess, input: string, budget: number): Promise<{ input: string; truncated?: InputTruncation }> {
  if (Buffer.byteLength(input, 'utf8') + MARGIN <= budget) return { input };
  const ids = await tokens.tokenize(input);
  if (ids.length <= budget) return { input };
  // Decoded and encoded again, a cut can come out a token or two longer (merges at the cut): cut again by the excess.
  for (let keep = budget; keep > 0; ) {
    // A cut inside a multi-byte character decodes to U+FFFD.
    const text = (await tokens.detokenize(ids.slice(0, keep))).replace(/\uFFFD+$/, '');
    const to = (await tokens.tokenize(text)).length;
    if (to <= budget) return { input: text, truncated: { from: ids.length, to } };
    keep -= Math.max(1, to - budget);
  }
  return { input: '', truncated: { from: ids.length, to: 0 } };
}

/** A generator's token method (`tokenize`, `detokenize`, `countTokens`), or UNSUPPORTED_OPERATION where it has none. */
export function tokenMethod<K extends 'tokenize' | 'detokenize' | 'countTokens', G extends { [P in K]?: unknown }>(g: G, method: K): NonNullable<G[K]> {
  const fn = g[method];
  if (typeof fn !== 'function') throw new VllmError('UNSUPPORTED_OPERATION', `This generator (${(g as object).constructor.name}) has no ${method}()`);
  return fn as NonNullable<G[K]>;
}
