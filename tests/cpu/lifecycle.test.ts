// Engine lifecycle against the real vLLM CPU engine: concurrent create(), aborting a start, close() twice, calls
// after close(); each ends in a typed VllmError or a working engine, never a hang, and no vLLM process is left.
import { afterAll, describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { cpuOptions } from '../helpers/models.js';
import { descendants, procEnv, procStatus, type Proc } from '../helpers/processes.mjs';

const noConfig = { configFile: false as const };

/** CPU ids of a list such as "0", "0-1" or "0,2-3" (sorted). */
function cpuIds(list: string): number[] {
  return list
    .split(',')
    .flatMap((part) => {
      const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
      return Array.from({ length: hi! - lo + 1 }, (_, i) => lo + i);
    })
    .sort((x, y) => x - y);
}

/** The cores vLLM bound a worker to, from the OpenMP variables it gave the worker's process (GOMP_CPU_AFFINITY with
 * torch's libgomp preloaded, else OMP_PLACES or KMP_AFFINITY's proclist); undefined when it set none. */
function boundCpus(env: Record<string, string>): number[] | undefined {
  const list = env.GOMP_CPU_AFFINITY?.trim().split(/\s+/).join(',') ?? /^\{(.*)\}$/.exec(env.OMP_PLACES ?? '')?.[1] ?? /proclist=\[([^\]]*)\]/.exec(env.KMP_AFFINITY ?? '')?.[1];
  return list ? cpuIds(list) : undefined;
}

const engines: Engine[] = [];

/** Descendants of this test process, except multiprocessing's resource tracker (one per process, by design). */
async function vllmProcesses(): Promise<Proc[]> {
  return (await descendants(process.pid)).filter((p) => !/resource_tracker/.test(p.args));
}

/** Polls until no vLLM process is left (vLLM joins its EngineCore with a timeout); returns what remains. */
async function leftovers(timeoutMs = 60_000): Promise<{ pid: number; args: string }[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left = await vllmProcesses();
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function create(signal?: AbortSignal): Promise<Engine> {
  const engine = await Engine.create(cpuOptions(), { ...noConfig, signal });
  engines.push(engine);
  return engine;
}

describe('engine lifecycle on the CPU', () => {
  let a: Engine;
  let c: Engine;

  it('an already-aborted signal rejects create() at once with ENGINE_CLOSED; nothing is started', async () => {
    const controller = new AbortController();
    controller.abort(new Error('not needed'));
    const t = Date.now();
    const err = await rejection(create(controller.signal));
    expect(err.code).toBe('ENGINE_CLOSED');
    expect((err.cause as Error).message).toBe('not needed');
    expect(Date.now() - t).toBeLessThan(2000);
    expect(await vllmProcesses()).toEqual([]);
  });

  it('concurrent create() calls each get their own working engine; one aborted while queued rejects at once', async () => {
    const t = Date.now();
    const controller = new AbortController();
    let firstReady = 0;
    const first = create().then((e) => ((firstReady = Date.now()), e));
    const queued = create(controller.signal);
    const third = create();
    controller.abort();
    const err = await rejection(queued);
    expect(err.code).toBe('ENGINE_CLOSED');
    expect(firstReady).toBe(0); // rejected while the first engine was still starting
    [a, c] = await Promise.all([first, third]);
    console.log(`[lifecycle] two concurrent engines ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    expect(a).not.toBe(c);
    expect(a.state).toBe('ready');
    expect(c.state).toBe('ready');
    const [ra, rc] = await Promise.all([
      a.generateDetailed('hello', { maxTokens: 3, temperature: 0, ignoreEos: true }),
      c.generateDetailed('hello', { maxTokens: 3, temperature: 0, ignoreEos: true }),
    ]);
    expect(ra.outputTokens).toBe(3);
    expect(rc.rawText).toBe(ra.rawText); // same model, greedy: same text from either engine
  });

  it("vLLM's CPU thread binding reaches each engine's worker (VLLM_CPU_OMP_THREADS_BIND: its cores and OpenMP threads)", async () => {
    // vLLM binds the worker through the environment of a new process (OMP_NUM_THREADS, GOMP_CPU_AFFINITY, LD_PRELOAD
    // of torch's libgomp); a worker forked from a process with libgomp loaded would ignore it (docs/benchmarks.md).
    const workers = (await descendants(process.pid)).filter((p) => p.args.startsWith('VLLM::Worker'));
    expect(workers.length).toBe(2);
    const bind = process.env.VLLM_CPU_OMP_THREADS_BIND;
    for (const w of workers) {
      if (bind === 'nobind') continue;
      const env = procEnv(w.pid);
      const bound = boundCpus(env);
      expect(bound, `worker ${w.pid} has none of vLLM's OpenMP binding variables`).toBeDefined();
      if (bind !== undefined && bind !== 'auto' && !bind.includes('|')) expect(bound).toEqual(cpuIds(bind));
      expect(Number(env.OMP_NUM_THREADS)).toBe(bound!.length);
      // The worker's main thread runs on those cores (libgomp pins it to the first of them).
      const allowed = cpuIds(procStatus(w.pid).Cpus_allowed_list!);
      expect(allowed.every((cpu) => bound!.includes(cpu))).toBe(true);
    }
  });

  it('close() twice: both resolve (the same promise); calls after close reject with ENGINE_CLOSED; the other engine is unaffected', async () => {
    const inFlight = a.generate('long', { maxTokens: 500, ignoreEos: true });
    const p1 = a.close();
    const p2 = a.close();
    expect(p2).toBe(p1);
    expect((await rejection(inFlight)).code).toBe('ENGINE_CLOSED');
    await Promise.all([p1, p2]);
    expect(a.state).toBe('closed');
    await a.close(); // a third time, after the fact
    expect((await rejection(a.generate('x'))).code).toBe('ENGINE_CLOSED');
    expect((await rejection(a.generateDetailed('x'))).code).toBe('ENGINE_CLOSED');
    expect((await rejection(a.chat([{ role: 'user', content: 'x' }]))).code).toBe('ENGINE_CLOSED');
    expect((await rejection(a.call('noop'))).code).toBe('ENGINE_CLOSED');
    const iterate = async () => {
      for await (const _ of a.stream('x')) void _;
    };
    expect((await rejection(iterate())).code).toBe('ENGINE_CLOSED');
    expect(await a.health()).toBe(false);
    expect(a.pendingCount).toBe(0);
    // The other engine keeps working.
    expect(await c.generate('still here', { maxTokens: 2 })).toBeTypeOf('string');
    await c[Symbol.asyncDispose]();
    expect(c.state).toBe('closed');
    const left = await leftovers();
    expect(left).toEqual([]);
  });

  it('aborting create() while vLLM loads: rejects with ENGINE_CLOSED once vLLM is shut down, no process is left', async () => {
    const controller = new AbortController();
    const seen = new Set<number>();
    const poll = setInterval(() => void vllmProcesses().then((ps) => ps.forEach((p) => seen.add(p.pid)), () => {}), 500);
    const t = Date.now();
    const pending = create(controller.signal);
    setTimeout(() => controller.abort(new Error('user gave up')), 1000);
    const err = await rejection(pending);
    clearInterval(poll);
    const seconds = (Date.now() - t) / 1000;
    expect(err.code).toBe('ENGINE_CLOSED');
    expect(err.message).toMatch(/aborted/);
    expect((err.cause as Error).message).toBe('user gave up');
    console.log(`[lifecycle] start aborted after 1 s: create() rejected ${seconds.toFixed(1)} s after it began; ${seen.size} vLLM processes seen`);
    expect(seen.size).toBeGreaterThan(0); // vLLM really was starting
    expect(await leftovers()).toEqual([]);
  });

  // One engine for both: the start after an aborted one, and the fork server's (a start costs tens of seconds here).
  it('after all that, a fresh engine starts, its EngineCore forked from a fork server; close() rejects its requests in flight with ENGINE_CLOSED, the fork server ends with it; fastStart false spawns the EngineCore', async () => {
    const e = await create();
    expect(e.info.notes.find((n) => n.option === 'fastStart')).toMatchObject({ applied: true, value: 'fork server' });
    const procs = await vllmProcesses();
    const server = procs.find((p) => p.args.includes('multiprocessing.forkserver'));
    expect(server).toBeDefined();
    // The EngineCore is the fork server's child, not this process's.
    const core = (await descendants(server!.pid)).length;
    expect(core).toBeGreaterThan(0);
    expect(await e.health()).toBe(true);
    expect(await e.generate('Hello', { maxTokens: 2 })).toBeTypeOf('string');
    const inflight = Array.from({ length: 4 }, () => e.generate('long', { maxTokens: 500, ignoreEos: true }));
    const closing = e.close();
    for (const p of inflight) expect((await rejection(p)).code).toBe('ENGINE_CLOSED');
    await closing;
    await e.close();
    expect((await rejection(e.generate('after close'))).code).toBe('ENGINE_CLOSED');
    expect(await e.health()).toBe(false);
    expect(await leftovers()).toEqual([]);

    const b = await Engine.create({ ...cpuOptions(), fastStart: false }, noConfig);
    engines.push(b);
    expect(b.info.notes.find((n) => n.option === 'fastStart')).toMatchObject({ applied: false, value: false });
    expect((await vllmProcesses()).some((p) => p.args.includes('multiprocessing.forkserver'))).toBe(false);
    expect(await b.generate('Hello', { maxTokens: 2 })).toBeTypeOf('string');
    await b.close();
    expect(await leftovers()).toEqual([]);
  });

  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
  });
});
