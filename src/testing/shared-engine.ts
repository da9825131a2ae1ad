/**
 * One engine per test run: every test file of a run that asks for the same model and settings gets the same
 * Engine, started once and closed when the run ends. Starting an engine is the dominant cost of an engine test
 * (tens of seconds on a CPU, minutes on a fresh GPU host); a process holds one embedded interpreter, so sharing
 * needs the test files to run in one process (see README, "Testing with vllm-node").
 */
import { resolveEngineOptions } from '../config.js';
import { Engine, type CreateOptions } from '../engine.js';
import type { EngineOptionsInput } from '../options.js';
import { canonical } from './recording.js';

interface Registry {
  engines: Map<string, Promise<Engine>>;
  hooked: boolean;
}

// On globalThis, not in this module: a test runner may evaluate this module once per test file (vitest with
// isolation, a package imported both as source and built), and every copy must find the same engines.
const REGISTRY = Symbol.for('vllm-node.testing.sharedEngines');

function registry(): Registry {
  const g = globalThis as { [REGISTRY]?: Registry };
  return (g[REGISTRY] ??= { engines: new Map(), hooked: false });
}

/** What vitest's worker offers its own per-worker fixtures for their teardown (vitest 3: `onCleanup`). */
interface VitestWorkerState {
  onCleanup?: (listener: () => unknown) => void;
}

/**
 * Closes the engines when the run ends. Under vitest: at the worker's teardown, the hook vitest's own
 * `scope: 'worker'` fixtures are torn down by (awaited before the worker process is stopped). Elsewhere (node:test,
 * a script): when the event loop has nothing left to do (an idle engine does not keep it alive).
 */
function closeAtEnd(reg: Registry): void {
  if (reg.hooked) return;
  reg.hooked = true;
  const worker = (globalThis as { __vitest_worker__?: VitestWorkerState }).__vitest_worker__;
  if (typeof worker?.onCleanup === 'function') worker.onCleanup(() => closeSharedEngines());
  else process.once('beforeExit', () => void closeSharedEngines());
}

/**
 * The run's engine for these options: started by the first caller, the same Engine for every later caller whose
 * options resolve (with the config file and environment, as Engine.create resolves them) to the same settings.
 * A start that failed fails every caller the same way, at once; an engine that died or was closed is replaced by a
 * new one. Do not close it in a test: {@link closeSharedEngines} does, at the end of the run.
 */
export async function sharedEngine(options: Partial<EngineOptionsInput> = {}, createOptions: Omit<CreateOptions, 'signal'> = {}): Promise<Engine> {
  const key = JSON.stringify(canonical(resolveEngineOptions(options, createOptions)));
  const reg = registry();
  closeAtEnd(reg);
  for (;;) {
    const entry = reg.engines.get(key);
    if (!entry) break;
    const engine = await entry;
    if (engine.state === 'ready') return engine;
    if (reg.engines.get(key) === entry) reg.engines.delete(key);
  }
  const started = Engine.create(options, createOptions);
  reg.engines.set(key, started);
  return started;
}

/** Closes every shared engine (those still starting once they have started); later calls start new ones. */
export async function closeSharedEngines(): Promise<void> {
  const reg = registry();
  const entries = [...reg.engines.values()];
  reg.engines.clear();
  await Promise.all(entries.map((p) => p.then((engine) => engine.close(), () => undefined)));
}

/** How many shared engines are open or starting. */
export function sharedEngineCount(): number {
  return registry().engines.size;
}
