/**
 * Field confidence and grounding, as arithmetic on text: where each generated token sits in the output text, where
 * each leaf value sits in the JSON, which tokens produced it, and where its text occurs in the input. No engine here;
 * src/extract-detailed.ts runs the extraction and calls `fieldsOf`.
 */
import { VllmError } from './errors.js';
import type { TokenLogprob } from './types.js';

/** Character offsets `[start, end)` into a string (UTF-16 code units, as JavaScript indexes strings). */
export interface Span {
  start: number;
  end: number;
}

/** One leaf of the extracted value, by its JSON path (`$.title`, `$.skills[0]`; `$` for a z.enum's choice). */
export interface FieldInfo {
  /** The leaf's value, as in the extracted value. */
  value: unknown;
  /**
   * The probability of the least likely token that produced the value's text, under the schema's constraint
   * (0 to 1; 0 where no token could be aligned with it). The least likely token rather than a mean: a value is
   * mostly decided by one token (the first of a name, the digit that differs), and a mean over the near-certain
   * tokens that complete it would hide that decision in long values.
   */
  confidence: number;
  /**
   * Where the value's text first occurs in the input (see `findSpan`), or null: not there (not grounded), and for
   * booleans, null, empty strings and empty containers.
   */
  span: Span | null;
}

/** A leaf of a JSON text: its path, its value, and the characters that produced it (for a non-empty string: its contents, without the quotes). */
export interface JsonLeaf {
  path: string;
  value: unknown;
  start: number;
  end: number;
}

/**
 * The character range of each token in `text`, from the tokens' own decoded texts. Tokens are expected to spell the
 * text one after the other; a token that does not (a byte of a multi-byte character decodes alone to U+FFFD, an
 * end-of-sequence token is not in the text) gets the stretch between the tokens on either side that do, shared with
 * the other tokens there (an empty range at the end).
 */
export function tokenOffsets(text: string, tokens: readonly string[]): Span[] {
  const spans: Span[] = new Array(tokens.length);
  let pos = 0;
  let pending: number[] = [];
  const settle = (end: number) => {
    for (const i of pending) spans[i] = { start: pos, end };
    pending = [];
  };
  for (const [i, token] of tokens.entries()) {
    let at = token !== '' && text.startsWith(token, pos) ? pos : -1;
    // After unaligned tokens, the next clean token that occurs shortly after says where they ended.
    if (at < 0 && pending.length > 0 && token !== '' && !token.includes('\uFFFD')) {
      const next = text.indexOf(token, pos);
      if (next >= 0 && next - pos <= 4 * pending.length) at = next;
    }
    if (at < 0) {
      pending.push(i);
      continue;
    }
    settle(at);
    spans[i] = { start: at, end: at + token.length };
    pos = at + token.length;
  }
  settle(pending.length > 0 && pos < text.length ? text.length : pos);
  return spans;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A JSONPath-style path: `$`, `$.title`, `$.skills[0]`, `$["first name"]`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return IDENTIFIER.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/**
 * The leaves of the JSON value that starts at `from` in `text` (whitespace before it skipped): strings, numbers,
 * booleans, null, and empty arrays and objects, each with its path and character range. OUTPUT_INVALID for a text
 * that is not JSON there.
 */
export function jsonLeaves(text: string, from = 0): JsonLeaf[] {
  const leaves: JsonLeaf[] = [];
  let i = from;
  const fail = (what: string): never => {
    throw new VllmError('OUTPUT_INVALID', `Expected ${what} at offset ${i} of the output`, { rawText: text });
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = (): { value: string; start: number; end: number } => {
    const start = i;
    if (text[i] !== '"') fail('a string');
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('the end of a string');
    i++;
    return { value: JSON.parse(text.slice(start, i)) as string, start, end: i };
  };
  const value = (path: string): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const open = i++;
      const close = c === '{' ? '}' : ']';
      space();
      if (text[i] === close) {
        i++;
        leaves.push({ path, value: c === '{' ? {} : [], start: open, end: i });
        return;
      }
      for (let index = 0; ; index++) {
        if (c === '{') {
          space();
          const key = string().value;
          space();
          if (text[i++] !== ':') fail('":"');
          value(childPath(path, key));
        } else value(childPath(path, index));
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail(`"," or "${close}"`);
      }
    }
    if (c === '"') {
      const s = string();
      // The characters inside the quotes; an empty string is its quotes.
      leaves.push(s.end - s.start > 2 ? { path, value: s.value, start: s.start + 1, end: s.end - 1 } : { path, value: '', start: s.start, end: s.end });
      return;
    }
    const literal = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!literal) fail('a JSON value');
    leaves.push({ path, value: JSON.parse(literal![0]), start: i, end: i + literal![0].length });
    i += literal![0].length;
  };
  value('$');
  return leaves;
}

/** Where the JSON of an output starts: after a reasoning model's `</think>`, where the output has one before it. */
export function jsonStart(rawText: string): number {
  const first = rawText.search(/\S/);
  if (first >= 0 && /[{["\-\dtfn]/.test(rawText[first]!)) return first;
  const think = rawText.lastIndexOf('</think>');
  return think >= 0 ? think + '</think>'.length : Math.max(first, 0);
}

/**
 * The input with its case folded and each run of whitespace made one space, and for each of its characters the
 * range of the original characters it came from.
 */
function normalise(text: string): { text: string; from: Span[] } {
  let out = '';
  const from: Span[] = [];
  let offset = 0;
  for (const ch of text) {
    const at = { start: offset, end: offset + ch.length };
    offset += ch.length;
    if (/\s/.test(ch)) {
      if (out.endsWith(' ')) from[from.length - 1]!.end = at.end;
      else {
        out += ' ';
        from.push(at);
      }
      continue;
    }
    // A case fold may lengthen a character (İ → i̇): each of its code units points at the original character.
    for (const unit of ch.toLowerCase()) {
      out += unit;
      for (let k = 0; k < unit.length; k++) from.push(at);
    }
  }
  return { text: out, from };
}

const WORD = /[\p{L}\p{N}]/u;

/**
 * The first place where `value`'s text occurs in `input`, compared without case and with each run of whitespace as
 * one space, and never inside a word (a value that starts or ends with a letter or digit must not continue one there:
 * "AI" is not found in "available"). Strings are looked for as they are; a number as JSON writes it and, from 1000,
 * with thousands separators ("40,000"). Null for anything else, and where the text is not found.
 */
export function findSpan(input: string, value: unknown): Span | null {
  let needles: string[];
  if (typeof value === 'string') needles = [value];
  else if (typeof value === 'number' && Number.isFinite(value)) needles = Math.abs(value) >= 1000 ? [String(value), value.toLocaleString('en-US', { maximumFractionDigits: 20 })] : [String(value)];
  else return null;
  const haystack = normalise(input);
  let best: Span | null = null;
  for (const raw of needles) {
    const needle = normalise(raw.trim()).text;
    if (needle === '') continue;
    for (let at = haystack.text.indexOf(needle); at >= 0; at = haystack.text.indexOf(needle, at + 1)) {
      const before = haystack.text[at - 1];
      const after = haystack.text[at + needle.length];
      if ((before && WORD.test(needle[0]!) && WORD.test(before)) || (after && WORD.test(needle.at(-1)!) && WORD.test(after))) continue;
      const span = { start: haystack.from[at]!.start, end: haystack.from[at + needle.length - 1]!.end };
      if (!best || span.start < best.start) best = span;
      break;
    }
  }
  return best;
}

/** The logprobs of the tokens that overlap `[start, end)` (NaN ones, where vLLM gave none, left out). */
export function overlapping(spans: readonly Span[], logprobs: readonly TokenLogprob[], start: number, end: number): number[] {
  const out: number[] = [];
  for (const [i, s] of spans.entries()) {
    const lp = logprobs[i]!.logprob;
    if (s.start < end && s.end > start && !Number.isNaN(lp)) out.push(lp);
  }
  return out;
}

/**
 * Each leaf of an extraction's output with its confidence (from the output's token logprobs) and its span in the
 * input. `choice`: the output is a z.enum's choice, not JSON: one field, `$`.
 */
export function fieldsOf(rawText: string, logprobs: readonly TokenLogprob[], input: string, choice = false): Record<string, FieldInfo> {
  const spans = tokenOffsets(
    rawText,
    logprobs.map((t) => t.token),
  );
  let leaves: JsonLeaf[];
  if (choice) {
    const start = Math.max(rawText.search(/\S/), 0);
    leaves = [{ path: '$', value: rawText.trim(), start, end: start + rawText.trim().length }];
  } else leaves = jsonLeaves(rawText, jsonStart(rawText));
  const fields: Record<string, FieldInfo> = {};
  for (const leaf of leaves) {
    const lps = overlapping(spans, logprobs, leaf.start, leaf.end);
    fields[leaf.path] = { value: leaf.value, confidence: lps.length > 0 ? Math.exp(Math.min(...lps)) : 0, span: findSpan(input, leaf.value) };
  }
  return fields;
}
