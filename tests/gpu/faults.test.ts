// GPU faults, survived (issue 26, item 5), on a CUDA card with the 4B shape (vLLM's random weights: load_format dummy):
// - the EngineCore killed mid-batch (vLLM's default executor for one card runs the GPU worker inside the EngineCore),
//   and the GPU worker alone killed mid-batch (the multiprocess executor: the worker is the EngineCore's child): every
//   call pending (generate, stream, extract; 64 at once) rejects ENGINE_DIED within 2 s of the kill, the card's memory
//   is returned, and a new engine starts in the same process and serves;
// - a second engine that cannot fit beside the first is refused with INSUFFICIENT_GPU_MEMORY, and the first serves on;
// - a ModelManager model whose process died while it slept is started again by the next switch to it.
// nvidia-smi samples the card every 200 ms throughout. Skipped without a GPU. The 10-minute soak is bench/soak.mjs.
//   VLLM_NODE_GPU_MODELS=/tmp/models npx vitest run --project gpu tests/gpu/faults.test.ts
// GPU_TEST_EAGER=0 compiles (default eager).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { Engine, ModelManager, VllmError, type EngineOptionsInput } from '../../src/index.js';
import { CardSampler } from '../helpers/card-sampler.mjs';
import { rejection } from '../helpers/errors.js';
import { FIRST_CARD, GPU_MODELS, gpuMemory, HAS_GPU } from '../helpers/gpu.js';
import { alive, commandOf, descendants, parentOf } from '../helpers/processes.mjs';

const DEATH_BOUND_MS = 2_000; // the bound: kill → every pending call rejected
const RETURN_BOUND_MS = 15_000; // kill → the card back to what it held before the engine
const shape: Partial<EngineOptionsInput> = {
  model: join(GPU_MODELS, 'qwen3-4b'),
  quantization: 'fp8',
  kvCacheDtype: 'fp8',
  trustRemoteCode: true,
  maxModelLen: 4096,
  enforceEager: process.env.GPU_TEST_EAGER !== '0',
  engineArgs: { load_format: 'dummy' },
};
const noConfig = { configFile: false as const };
const Posting = z.object({ title: z.string(), summary: z.string() });

let sampler: CardSampler;
let baseline = 0;
let engine: Engine | undefined;
const report: Record<string, unknown> = {};

/** The command line, or '?' once the process is gone. */
const commandLine = (pid: number) => commandOf(pid) || '?';

/** The process that holds the engine's card (its GPU worker), as the worker reports itself. */
async function workerPid(e: { memory: Engine['memory'] }): Promise<number> {
  const pid = (await e.memory()).perCard?.[0]?.pid;
  expect(typeof pid).toBe('number');
  return pid as number;
}

/**
 * 64 calls at once, each counted as it settles: generate, stream and extract (an open-ended JSON object), long enough
 * to be running when the process is killed. Resolves when every stream has had its first chunk (all are running).
 */
async function batch(e: Engine) {
  const calls: { kind: string; settled: number; at?: number; error?: unknown }[] = [];
  let firstChunks = 0;
  const streams = 16;
  const promises = Array.from({ length: 64 }, (_, i) => {
    const kind = ['generate', 'stream', 'extract', 'generate'][i % 4]!;
    const call: (typeof calls)[number] = { kind, settled: 0 };
    calls.push(call);
    const work = async () => {
      if (kind === 'generate') return e.generate(`Posting ${i}: a data engineer in Berlin`, { maxTokens: 3000, ignoreEos: true });
      if (kind === 'extract') return e.extract(`Posting ${i}: a data engineer in Berlin`, Posting, { maxTokens: 3000 });
      let n = 0;
      for await (const _ of e.stream(`Stream ${i}`, { maxTokens: 3000, ignoreEos: true })) if (n++ === 0) firstChunks++;
      return n;
    };
    return work().then(
      () => {
        call.settled++;
        call.at = performance.now();
      },
      (err: unknown) => {
        call.settled++;
        call.at = performance.now();
        call.error = err;
      },
    );
  });
  const deadline = performance.now() + 300_000;
  while (firstChunks < streams) {
    const failed = calls.find((c) => c.error !== undefined);
    if (failed) throw failed.error;
    if (performance.now() > deadline) throw new Error(`only ${firstChunks} of ${streams} streams produced a chunk in 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const pending = calls.filter((c) => c.settled === 0);
  return { calls, pending, all: Promise.all(promises) };
}

/** Kills `pid` mid-batch; checks every call pending then rejected ENGINE_DIED within the bound, once, and the card emptied. */
async function killMidBatch(e: Engine, pid: number, label: string): Promise<void> {
  const { calls, pending, all } = await batch(e);
  // The generations and streams are far from their 3,000 tokens; an extract may have closed its JSON already.
  expect(pending.filter((c) => c.kind !== 'extract').length).toBe(48);
  sampler.phase = `${label} killed`;
  const t = performance.now();
  process.kill(pid, 'SIGKILL');
  // A call that never settles fails the checks below instead of hanging the file.
  await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
  const lastMs = Math.max(...pending.map((c) => (c.at ?? Number.POSITIVE_INFINITY) - t));
  const returned = await sampler.until(baseline + 1024, RETURN_BOUND_MS);
  report[label] = {
    pending: pending.length,
    byKind: Object.fromEntries(['generate', 'stream', 'extract'].map((k) => [k, pending.filter((c) => c.kind === k).length])),
    lastRejectedMs: Math.round(lastMs),
    cardReturnedMs: returned ? Math.round(returned.t - t) : null,
    cardAfterMiB: sampler.last(),
  };
  console.log(`[faults] ${label}: ${JSON.stringify(report[label])}`);
  for (const c of calls) expect(c.settled).toBe(1);
  for (const c of pending) {
    expect(c.error).toBeInstanceOf(VllmError);
    expect((c.error as VllmError).code).toBe('ENGINE_DIED');
  }
  expect(lastMs).toBeLessThanOrEqual(DEATH_BOUND_MS);
  expect(returned, `the card still held ${sampler.last()} MiB (${baseline} before) ${RETURN_BOUND_MS} ms after the kill`).toBeDefined();
  expect(await e.health()).toBe(false);
  expect((await rejection(e.generate('after death'))).code).toBe('ENGINE_DIED');
  await e.close();
}

/** A new engine in this process, after a death: starts and serves. */
async function startsAgain(extra: Partial<EngineOptionsInput> = {}): Promise<Engine> {
  sampler.phase = 'start';
  const t = performance.now();
  const e = await Engine.create({ ...shape, ...extra }, noConfig);
  const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => e.generateDetailed(`Again ${i}`, { maxTokens: 16, ignoreEos: true })));
  for (const r of rs) expect(r.outputTokens).toBe(16);
  console.log(`[faults] a new engine started in ${((performance.now() - t) / 1000).toFixed(1)} s and serves`);
  return e;
}

describe.skipIf(!HAS_GPU)('GPU faults, survived', () => {
  beforeAll(async () => {
    sampler = new CardSampler({ card: FIRST_CARD, intervalMs: 200 });
    baseline = (await sampler.first())!;
    report.baselineMiB = baseline;
  });

  afterAll(async () => {
    await engine?.close();
    await sampler?.settle();
    await sampler?.stop();
    report.peakMiB = sampler?.peak();
    report.samples = sampler?.samples.length;
    console.log(`GPU_FAULTS_REPORT ${JSON.stringify(report)}`);
  });

  it('starts the 4B shape (the card at 0.9)', async () => {
    sampler.phase = 'start';
    engine = await Engine.create(shape, noConfig);
    expect(engine.info.device.platform).toBe('cuda');
  });

  it('a second engine that cannot fit is refused with INSUFFICIENT_GPU_MEMORY; the first keeps serving', async () => {
    sampler.phase = 'second engine';
    const before = gpuMemory()[FIRST_CARD]!.usedMiB;
    // More than the card has left beside the first.
    const over = await rejection(Engine.create({ ...shape, gpuMemoryUtilization: 0.5 }, noConfig));
    expect(over.code).toBe('INSUFFICIENT_GPU_MEMORY');
    expect(over.message).toMatch(/is free now/);
    // What is left, but less than the 4B needs.
    const small = await rejection(Engine.create({ ...shape, gpuMemoryGiB: 2 }, noConfig));
    expect(small.code).toBe('INSUFFICIENT_GPU_MEMORY');
    report.refusals = [over.message, small.message];
    // The refused engines left nothing on the card.
    await sampler.settle();
    expect(sampler.last()! - before).toBeLessThan(256);
    const rs = await Promise.all(Array.from({ length: 64 }, (_, i) => engine!.generateDetailed(`Still ${i}`, { maxTokens: 32, ignoreEos: true })));
    for (const r of rs) expect(r.outputTokens).toBe(32);
    expect(await engine!.health()).toBe(true);
  });

  it('the EngineCore (which runs the GPU worker) killed mid-batch: every pending call rejects ENGINE_DIED within 2 s, the card is emptied, a new engine serves', async () => {
    const pid = await workerPid(engine!);
    // vLLM's executor for one card runs the worker in the EngineCore process: a child of this process or of its fork
    // server, itself this process's child.
    expect((await descendants(process.pid)).map((p) => p.pid)).toContain(pid);
    const parent = parentOf(pid);
    expect(parent === process.pid || (parent !== null && parentOf(parent) === process.pid)).toBe(true);
    report.engineCore = { pid, command: commandLine(pid) };
    await killMidBatch(engine!, pid, 'EngineCore');
    expect(alive(pid)).toBe(false);
    engine = await startsAgain({ engineArgs: { load_format: 'dummy', distributed_executor_backend: 'mp' } });
  });

  it('the GPU worker alone killed mid-batch (multiprocess executor): the same', async () => {
    const pid = await workerPid(engine!);
    const core = parentOf(pid)!;
    // Here the worker is a process of its own, the EngineCore's child.
    expect(core).not.toBe(process.pid);
    expect((await descendants(process.pid)).map((p) => p.pid)).toEqual(expect.arrayContaining([core, pid]));
    report.worker = { pid, command: commandLine(pid), engineCore: core, engineCoreCommand: commandLine(core) };
    await killMidBatch(engine!, pid, 'GPU worker');
    expect(alive(pid)).toBe(false);
    expect(alive(core)).toBe(false);
    engine = await startsAgain();
    await engine.close();
    engine = undefined;
  });

  it('a ModelManager model whose process died while it slept is started again by the next switch to it', async () => {
    sampler.phase = 'manager';
    // Each with its own cap, both fitting beside the other asleep: switching back is a wake-up, not a resize.
    const models = await ModelManager.create(
      { ...shape, models: { a: { model: shape.model!, gpuMemoryGiB: 24 }, b: { model: shape.model!, gpuMemoryGiB: 24 } }, default: 'a' },
      noConfig,
    );
    try {
      const pid = await workerPid(models.engineOf('a')!);
      await models.use('b');
      expect(models.states).toEqual({ a: 'asleep', b: 'awake' });
      sampler.phase = 'sleeper killed';
      process.kill(pid, 'SIGKILL');
      while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
      const t = performance.now();
      expect(await models.generate('Title of: Go Engineer', { model: 'a', maxTokens: 8, ignoreEos: true })).toBeTypeOf('string');
      const ls = models.lastSwitch!;
      report.deadSleeper = { switchSeconds: (performance.now() - t) / 1000, lastSwitch: ls };
      console.log(`[faults] dead sleeper: ${JSON.stringify(report.deadSleeper)}`);
      expect(ls).toMatchObject({ from: 'b', to: 'a', kind: 'cold', left: 'slept', diedAsleep: true });
      expect(models.states).toEqual({ a: 'awake', b: 'asleep' });
      expect(await workerPid(models.engineOf('a')!)).not.toBe(pid);
      const memory = await models.memory();
      expect(memory.card.reservedMiB!).toBeLessThanOrEqual(memory.card.capMiB!);
      // From then on the switches are wake-ups.
      await models.use('b');
      await models.use('a');
      expect(models.lastSwitch).toMatchObject({ to: 'a', kind: 'warm' });
    } finally {
      await models.close();
    }
    await sampler.settle();
    expect(sampler.last()! - baseline).toBeLessThan(512);
  });
});
