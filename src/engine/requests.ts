/**
 * The table of requests in flight: one entry per generate/stream/call until its last event, the ids they travel
 * under, and the assembly of a request's events into its GenerationResult.
 */
import { fromBridge, type VllmError } from '../errors.js';
import type { BridgeEvent, RawMetrics } from '../protocol.js';
import type { GenerationResult, RequestTimings, TokenLogprob } from '../types.js';

export interface Pending {
  kind: 'request' | 'call';
  resolve(value: unknown): void;
  reject(error: VllmError): void;
  onDelta?: (text: string, reasoning: string | undefined) => void;
  logprobs?: TokenLogprob[];
  chunks: string[];
  /** The reasoning parser's part of each event (engine option reasoningParser). */
  reasoning: string[];
  detach(): void;
}

/** The events that answer one request. */
export type RequestEvent = Extract<BridgeEvent, { t: 'out' | 'result' | 'error' }>;

export class RequestTable {
  #pending = new Map<string, Pending>();
  #seq = 0;
  #onSettle: () => void;

  /** `onSettle` runs once per entry that leaves the table (the channel's unref). */
  constructor(onSettle: () => void) {
    this.#onSettle = onSettle;
  }

  get size(): number {
    return this.#pending.size;
  }

  nextId(prefix: string): string {
    this.#seq += 1;
    return `${prefix}${this.#seq}`;
  }

  add(id: string, pending: Pending): void {
    this.#pending.set(id, pending);
  }

  /** Takes the entry out of the table (it no longer hears events); undefined when it was gone already. */
  settle(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    pending.detach();
    this.#onSettle();
    return pending;
  }

  rejectAll(error: VllmError): void {
    for (const id of [...this.#pending.keys()]) this.settle(id)?.reject(error);
  }

  onEvent(ev: RequestEvent): void {
    switch (ev.t) {
      case 'out': {
        const pending = this.#pending.get(ev.id);
        if (!pending) return;
        if (pending.onDelta) pending.onDelta(ev.text, ev.reasoning);
        pending.chunks.push(ev.text);
        if (ev.reasoning) pending.reasoning.push(ev.reasoning);
        if (ev.logprobs) (pending.logprobs ??= []).push(...ev.logprobs);
        if (!ev.done) return;
        this.settle(ev.id);
        const rawText = pending.chunks.join('');
        const result: GenerationResult = {
          text: rawText.trim(),
          rawText,
          finishReason: ev.finishReason ?? null,
          promptTokens: ev.promptTokens ?? 0,
          outputTokens: ev.outputTokens ?? 0,
          timings: timings(ev.metrics),
        };
        if (pending.reasoning.length > 0) result.reasoning = pending.reasoning.join('');
        if (pending.logprobs) result.logprobs = pending.logprobs;
        if (ev.choices) {
          result.choices = ev.choices.map((c) => ({
            text: c.text.trim(),
            rawText: c.text,
            ...(c.reasoning ? { reasoning: c.reasoning } : {}),
            finishReason: c.finishReason,
            outputTokens: c.outputTokens,
            ...(c.logprobs ? { logprobs: c.logprobs } : {}),
          }));
        }
        pending.resolve(result);
        return;
      }
      case 'result':
        this.settle(ev.id)?.resolve(ev.value);
        return;
      case 'error':
        this.settle(ev.id)?.reject(fromBridge(ev, 'INVALID_REQUEST'));
        return;
    }
  }
}

function timings(m: RawMetrics | null | undefined): RequestTimings | null {
  if (!m || !m.lastTokenTs) return null;
  return {
    queued: Math.max(0, m.scheduledTs - m.queuedTs),
    firstToken: m.firstTokenLatency,
    decode: Math.max(0, m.lastTokenTs - m.firstTokenTs),
    total: Math.max(0, m.lastTokenTs - m.queuedTs),
    raw: { queuedTs: m.queuedTs, scheduledTs: m.scheduledTs, firstTokenTs: m.firstTokenTs, lastTokenTs: m.lastTokenTs, arrivalTime: m.arrivalTime },
  };
}
