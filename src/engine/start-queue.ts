/**
 * The start queue: engine starts of one Node environment run one at a time, in call order.
 *
 * vLLM's import and LLM() start-up are not thread-safe (module-level state, environment, import locks), and
 * each engine has its own thread (the Python side also holds a process-wide lock around each start, for engines
 * made in other worker_threads).
 */
import { VllmError } from '../errors.js';

let startChain: Promise<void> = Promise.resolve();

/** Runs `start` once every earlier start has settled; rejects at once (nothing started) when `signal` aborts while queued. */
export async function exclusiveStart<T>(signal: AbortSignal | undefined, start: () => Promise<T>): Promise<T> {
  const previous = startChain;
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  // The next start waits for the previous one too, even when this one is aborted while waiting.
  startChain = previous.then(() => mine);
  try {
    if (signal) {
      let onAbort!: () => void;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(abortedError(signal));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => {});
      try {
        await Promise.race([previous, aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
    await previous;
    return await start();
  } finally {
    release();
  }
}

/** The error of a start cancelled through Engine.create's `signal`. */
export function abortedError(signal: AbortSignal): VllmError {
  return new VllmError('ENGINE_CLOSED', 'Engine.create was aborted: the engine was closed before it was ready', { cause: signal.reason });
}
