// ModelManager's scheduler on its own, with fake engines: which calls are admitted, which model comes next, and what a
// failed switch or close() does to the calls waiting.
import { describe, expect, it } from 'vitest';

import { ModelScheduler } from '../../src/model-scheduler.js';

/** A scheduler whose switches are recorded and complete when the test says so. */
function scheduler(fail: Set<string> = new Set()) {
  const switches: string[] = [];
  const admitted: string[] = [];
  let open: (() => void) | undefined;
  let held = false;
  const s = new ModelScheduler<string>({
    switchTo: async (name) => {
      switches.push(name);
      if (held) await new Promise<void>((resolve) => (open = resolve));
      if (fail.has(name)) throw new Error(`${name} failed`);
      return `engine:${name}`;
    },
    onAdmit: (name) => admitted.push(name),
  });
  return { s, switches, admitted, hold: () => (held = true), release: () => ((held = false), open?.()) };
}

/** A call: acquire, run until `end` is called, release. */
function call(s: ModelScheduler<string>, name: string) {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const result = s.acquire(name).then(async (engine) => {
    await ended;
    s.release();
    return engine;
  });
  return { result, end };
}

describe('ModelScheduler', () => {
  it('admits calls for the model serving at once, and switches for the others only once its calls have ended', async () => {
    const { s, switches } = scheduler();
    const first = call(s, 'a');
    first.end();
    expect(await first.result).toBe('engine:a');
    const a1 = call(s, 'a');
    const b1 = call(s, 'b');
    const a2 = call(s, 'a'); // waits behind b: no call overtakes one waiting for another model
    await new Promise((r) => setTimeout(r, 0));
    expect(switches).toEqual(['a']); // b waits for a1
    a1.end();
    b1.end();
    expect(await b1.result).toBe('engine:b');
    a2.end();
    expect(await a2.result).toBe('engine:a');
    expect(switches).toEqual(['a', 'b', 'a']);
  });

  it('serves a mixed burst with one switch per model, the model whose call waited longest first', async () => {
    const { s, switches, admitted } = scheduler();
    await s.acquire('a');
    s.release();
    await new Promise((r) => setTimeout(r, 0)); // the switch to a has ended
    const running = call(s, 'a');
    const burst = ['b', 'c', 'a', 'b', 'c', 'a', 'b'].map((name) => ({ name, c: call(s, name) }));
    running.end();
    for (const { c } of burst) c.end();
    for (const { name, c } of burst) expect(await c.result).toBe(`engine:${name}`);
    expect(switches).toEqual(['a', 'b', 'c', 'a']);
    expect(admitted.slice(-7)).toEqual(['b', 'b', 'b', 'c', 'c', 'a', 'a']);
  });

  it('a switch that fails rejects the calls waiting for that model only', async () => {
    const { s, switches } = scheduler(new Set(['bad']));
    const bad1 = s.acquire('bad');
    const good = call(s, 'a');
    const bad2 = s.acquire('bad');
    await expect(bad1).rejects.toThrow('bad failed');
    await expect(bad2).rejects.toThrow('bad failed');
    good.end();
    expect(await good.result).toBe('engine:a');
    expect(switches).toEqual(['bad', 'a']);
    expect(s.current).toBe('a');
  });

  it('close() rejects the calls waiting and every later one, after the switch under way', async () => {
    const { s, hold, release } = scheduler();
    hold();
    const during = s.acquire('a');
    const waiting = s.acquire('b');
    const closing = s.close(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    release();
    await closing;
    await expect(s.acquire('a')).rejects.toThrow('closed');
    await during.then(() => s.release(), () => {});
    expect(s.waiting).toEqual([]);
  });
});
