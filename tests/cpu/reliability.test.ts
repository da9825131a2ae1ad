// Faults and bad input against the real vLLM CPU engine: every request settles once, the process survives.
import { execFileSync } from 'node:child_process';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { Engine, VllmError } from '../../src/index.js';
import { cpuOptions } from '../helpers/models.js';

// The fault test ships a function into the EngineCore (collective_rpc), which vLLM allows only with this set before
// the engine's Python starts.
process.env.VLLM_ALLOW_INSECURE_SERIALIZATION = '1';
const noConfig = { configFile: false as const };
let engine: Engine;

/** This process's EngineCore: spawned as its child, or (fastStart, the default) a child of its fork server (a
 * forked process keeps the fork server's command line). The EngineCore's workers are its own children. */
function engineCorePids(): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l) ?? [])
    .map(([, pid, ppid, args]) => ({ pid: Number(pid), ppid: Number(ppid), args: args ?? '' }));
  const servers = new Set(rows.filter((r) => r.ppid === process.pid && /multiprocessing\.forkserver/.test(r.args)).map((r) => r.pid));
  return rows.filter((r) => (r.ppid === process.pid && /EngineCore|spawn_main/.test(r.args)) || servers.has(r.ppid)).map((r) => r.pid);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(VllmError);
  return (err as VllmError).code;
}

describe('reliability on the CPU engine', () => {
  it('starts', async () => {
    // Calls that leave maxTokens unset (the fuzz's random option sets) generate 4 tokens, not the 500 of the
    // library's default: the fuzz is about the input, and 500 random-weight tokens per case were most of its time.
    engine = await Engine.create(cpuOptions({ sampling: { maxTokens: 4 } }), noConfig);
  });

  it('a prompt longer than the context rejects alone with PROMPT_TOO_LONG; the rest of the batch completes', async () => {
    const long = 'word '.repeat(5000);
    const batch = [engine.generate('ok 1', { maxTokens: 4 }), engine.generate(long, { maxTokens: 4 }), engine.generate('ok 2', { maxTokens: 4 })];
    const settled = await Promise.allSettled(batch);
    expect(settled[0]!.status).toBe('fulfilled');
    expect(settled[2]!.status).toBe('fulfilled');
    expect(settled[1]!.status).toBe('rejected');
    expect(((settled[1] as PromiseRejectedResult).reason as VllmError).code).toBe('PROMPT_TOO_LONG');
  });

  it('fuzz: random prompts and options through the live engine end in a result or a typed error', async () => {
    const runs = Number(process.env.ENGINE_FUZZ_RUNS ?? 150);
    const value = fc.oneof(
      fc.string({ maxLength: 50 }),
      fc.string({ unit: 'binary', maxLength: 50 }),
      fc.constantFrom('', '\u0000\u0000', '\ud800 lone', '\udfff', 'x'.repeat(1 << 20), null, 42, {}, []),
    );
    // Valid option sets stay short (maxTokens ≤ 4): the point is the input, not long generations.
    const opts = fc.oneof(
      fc.constant({ maxTokens: 3 }),
      fc.record({ maxTokens: fc.oneof(fc.integer({ min: -2, max: 4 }), fc.constant(Number.NaN)), temperature: fc.double() }, { requiredKeys: [] }),
      fc.anything(),
    );
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(value, opts, async (prompt, o) => {
        cases += 1;
        try {
          const text = await engine.generate(prompt as string, o as never);
          expect(typeof text).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(VllmError);
        }
      }),
      { numRuns: runs },
    );
    console.log(`[fuzz] ${cases} engine cases`);
    expect(await engine.health()).toBe(true);
  });

  it('2,000 concurrent requests: each settles exactly once with its own result', async () => {
    const n = Number(process.env.LOAD_REQUESTS ?? 2000);
    let settledCount = 0;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        engine.generateDetailed(`request ${i}`, { maxTokens: 2, temperature: 0, ignoreEos: true }).then((r) => {
          settledCount += 1;
          return { i, r };
        }),
      ),
    );
    expect(settledCount).toBe(n);
    // No swapped outputs: greedy output depends only on the prompt, so re-asking a sample gives the same text.
    for (const i of [0, 1, 7, n - 1]) {
      const again = await engine.generateDetailed(`request ${i}`, { maxTokens: 2, temperature: 0, ignoreEos: true });
      expect(again.rawText).toBe(results[i]!.r.rawText);
    }
  });

  it('SIGKILL of the EngineCore process: pending requests reject with ENGINE_DIED within seconds, health() turns false', async () => {
    const pids = engineCorePids();
    expect(pids.length).toBeGreaterThan(0);
    const pending = Array.from({ length: 4 }, () => engine.generate('long', { maxTokens: 900, ignoreEos: true }));
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    for (const p of pending) expect(await codeOf(p)).toBe('ENGINE_DIED');
    const seconds = (Date.now() - t) / 1000;
    console.log(`[faults] pending requests rejected ${seconds.toFixed(1)} s after SIGKILL`);
    expect(seconds).toBeLessThan(30);
    expect(await engine.health()).toBe(false);
    expect(await codeOf(engine.generate('after death'))).toBe('ENGINE_DIED');
    await engine.close(); // closing a dead engine is fine
  });

  it('a new engine can be created in the same process afterwards, and trustRemoteCode: false is honoured', async () => {
    engine = await Engine.create(cpuOptions({ trustRemoteCode: false }), noConfig);
    expect(engine.info.trustRemoteCode).toBe(false);
    expect(await engine.generate('alive again', { maxTokens: 3 })).toBeTypeOf('string');
  });

  it('an exception inside the EngineCore: calls reject with ENGINE_DIED carrying what the EngineCore logged', async () => {
    await engine.call('break_engine_core');
    const err = await engine.generate('the next step fails', { maxTokens: 4 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(VllmError);
    expect((err as VllmError).code).toBe('ENGINE_DIED');
    expect((err as VllmError).message).toMatch(/the EngineCore logged: RuntimeError: .*injected fault: the model step failed/);
    await engine.close();
  });

  afterAll(async () => {
    await engine?.close();
  });
});
