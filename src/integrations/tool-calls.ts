/**
 * Tool calls in Qwen3's format (as its chat template writes them and the model was trained to emit them):
 * `<tool_call>\n{"name": "...", "arguments": {...}}\n</tool_call>`. Shared by the AI SDK provider and LangChain.
 */
import type { ChatTool } from '../types.js';

export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';

export interface ParsedToolCall {
  name: string;
  /** The arguments as a JSON string (what the AI SDK's tool-call `input` carries). */
  arguments: string;
}

/** The assistant-turn text for a tool call, for rendering a conversation's history. */
export function renderToolCall(name: string, args: unknown): string {
  return `${TOOL_CALL_OPEN}\n${JSON.stringify({ name, arguments: args })}\n${TOOL_CALL_CLOSE}`;
}

/** Reads one `{"name", "arguments"}` object; undefined when the text is not one. */
export function parseToolCallJson(json: string): ParsedToolCall | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, arguments: args } = value as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string' || name.length === 0) return undefined;
  const input = typeof args === 'string' ? args : JSON.stringify(args ?? {});
  return { name, arguments: input };
}

export type OutputPart = { type: 'text'; text: string } | { type: 'tool-call'; call: ParsedToolCall };

/**
 * Splits streamed model output into text and tool calls. Text that might be the start of `<tool_call>` is held
 * back until it is decided; a tool-call block whose JSON does not parse is passed on as text, never dropped.
 */
export class ToolCallSplitter {
  #buffer = '';
  #inCall = false;

  push(delta: string): OutputPart[] {
    this.#buffer += delta;
    const parts: OutputPart[] = [];
    for (;;) {
      if (this.#inCall) {
        const end = this.#buffer.indexOf(TOOL_CALL_CLOSE);
        if (end < 0) return parts;
        const body = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + TOOL_CALL_CLOSE.length);
        this.#inCall = false;
        const call = parseToolCallJson(body.trim());
        parts.push(call ? { type: 'tool-call', call } : { type: 'text', text: TOOL_CALL_OPEN + body + TOOL_CALL_CLOSE });
        continue;
      }
      const start = this.#buffer.indexOf(TOOL_CALL_OPEN);
      if (start >= 0) {
        if (start > 0) parts.push({ type: 'text', text: this.#buffer.slice(0, start) });
        this.#buffer = this.#buffer.slice(start + TOOL_CALL_OPEN.length);
        this.#inCall = true;
        continue;
      }
      const keep = partialPrefixLength(this.#buffer, TOOL_CALL_OPEN);
      const text = this.#buffer.slice(0, this.#buffer.length - keep);
      if (text) parts.push({ type: 'text', text });
      this.#buffer = this.#buffer.slice(this.#buffer.length - keep);
      return parts;
    }
  }

  /** The end of the output: whatever is held back is text (an unterminated tool call included). */
  flush(): OutputPart[] {
    const rest = (this.#inCall ? TOOL_CALL_OPEN : '') + this.#buffer;
    this.#buffer = '';
    this.#inCall = false;
    return rest ? [{ type: 'text', text: rest }] : [];
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag`. */
function partialPrefixLength(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}

/** Text and tool calls of a whole output. */
export function splitToolCalls(text: string): OutputPart[] {
  const splitter = new ToolCallSplitter();
  return mergeText([...splitter.push(text), ...splitter.flush()]);
}

function mergeText(parts: OutputPart[]): OutputPart[] {
  const out: OutputPart[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (p.type === 'text' && last?.type === 'text') last.text += p.text;
    else out.push(p.type === 'text' ? { ...p } : p);
  }
  return out;
}

/**
 * The JSON Schema that forces one call of one of `tools` (toolChoice "required" or a named tool): vLLM's
 * structured outputs then only let the model write `{"name": <one of them>, "arguments": <its parameters>}`.
 */
export function forcedToolCallSchema(tools: readonly ChatTool[]): Record<string, unknown> {
  const variants = tools.map((t) => ({
    type: 'object',
    properties: { name: { const: t.function.name }, arguments: t.function.parameters },
    required: ['name', 'arguments'],
    additionalProperties: false,
  }));
  return variants.length === 1 ? (variants[0] as Record<string, unknown>) : { anyOf: variants };
}
