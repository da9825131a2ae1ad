/**
 * A streamed request as an async iterator: the request's text deltas, yielded as they come; leaving the loop
 * early aborts the request.
 */
import type { GenerationResult } from '../types.js';

type OnDelta = (text: string, reasoning: string | undefined) => void;

/**
 * `submit` starts the request (on the first `next()`, as a generator's body runs) and feeds its deltas to the
 * callback it gets; `abort` drops a request that the consumer left before its end.
 */
export async function* deltaStream(
  submit: (onDelta: OnDelta) => { id: string; done: Promise<GenerationResult> },
  abort: (id: string) => void,
  onFinish?: (result: GenerationResult) => void,
  onReasoning?: (delta: string) => void,
): AsyncGenerator<string> {
  // Reasoning is handed to onReasoning as the queue is read, so it comes in order with the text yielded.
  const queue: { text: string; reasoning?: boolean }[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const { id, done } = submit((text, reasoning) => {
    if (reasoning) queue.push({ text: reasoning, reasoning: true });
    queue.push({ text });
    wake?.();
  });
  let result: GenerationResult | undefined;
  done.then(
    (r) => {
      result = r;
      finished = true;
      wake?.();
    },
    (err) => {
      failure = err;
      wake?.();
    },
  );
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        if (next.reasoning) onReasoning?.(next.text);
        else if (next.text) yield next.text;
        continue;
      }
      if (failure) throw failure;
      if (finished) {
        if (result) onFinish?.(result);
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    if (!finished && !failure) abort(id);
  }
}
