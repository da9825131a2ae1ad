// ModelManager's one memory budget for the card, with fake engines on a simulated 16 GB card (tests/unit/fake-card.ts)
// through the injected engineFactory: each model starts under the budget minus what the sleepers hold (measured after
// their sleep); a model woken beside other sleepers than it was sized for is started again under what they leave, or,
// where it cannot run there, the least recently used sleepers are closed; a model that cannot fit is refused with
// INSUFFICIENT_GPU_MEMORY while the others keep serving; and at no step does the card pass the budget.
import { describe, expect, it } from 'vitest';

import { ModelManager, VllmError } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { FakeCard, type FakeModel } from './fake-card.js';

const none = { configFile: false as const, env: {} };
const CAP_MIB = 14.4 * 1024; // 14,745.6 MiB: the seed's 90% of a 16 GB card
// Shapes like the seed's: what each needs at least, and what it keeps on the card asleep (its CUDA context and graph pool).
const SHAPES: Record<string, FakeModel> = {
  '4b': { needMiB: 8_000, asleepMiB: 1_700, weightsMiB: 5_000 },
  '8b': { needMiB: 11_000, asleepMiB: 1_800, weightsMiB: 9_000 },
  '32b': { needMiB: 9_000, asleepMiB: 2_600, weightsMiB: 8_000 },
  huge: { needMiB: 20_000, asleepMiB: 3_000 },
};

async function manager(card: FakeCard, names: string[], extra: Record<string, unknown> = {}, createOptions: Record<string, unknown> = none) {
  const models = Object.fromEntries(names.map((n) => [n, { model: n }]));
  return ModelManager.create({ gpuMemoryGiB: 14.4, models, default: names[0]!, sleepBudgetGiB: 1000, ...extra }, { ...createOptions, engineFactory: card.factory });
}

function engineOf(mgr: ModelManager, name: string) {
  return mgr.engineOf(name) as unknown as { capMiB: number; state: string; closes: number } | undefined;
}

describe('ModelManager: one memory budget for the card', () => {
  it('starts each model under the budget minus what the sleepers hold, measured after their sleep', async () => {
    const card = new FakeCard(16_384, SHAPES);
    const mgr = await manager(card, ['4b', '8b', '32b']);
    expect(engineOf(mgr, '4b')!.capMiB).toBeCloseTo(CAP_MIB, 3);
    // Nothing beside it: the cap asked for, unchanged and without a manager's note.
    expect(mgr.engineOf('4b')!.info.notes).toEqual([]);

    expect(await mgr.generate('hi', { model: '8b' })).toBe('8b: hi');
    expect(mgr.states).toEqual({ '4b': 'asleep', '8b': 'awake', '32b': 'unloaded' });
    expect(engineOf(mgr, '8b')!.capMiB).toBe(12_981);
    expect(mgr.lastSwitch).toMatchObject({ from: '4b', to: '8b', kind: 'cold', left: 'slept', capMiB: 12_981 });
    // The engine's notes say why its cap is not the one asked for.
    const note = mgr.engineOf('8b')!.info.notes.find((n) => n.option === 'gpuMemoryGiB')!;
    expect(note).toMatchObject({ applied: true, value: 12_981 / 1024 });
    expect(note.reason).toContain('"4b" asleep holds 1,700 MiB');
    expect(note.reason).toContain('its cap is 12,981 MiB (gpuMemoryGiB 12.676758) instead of gpuMemoryGiB 14.4 (14,746 MiB)');

    await mgr.use('32b');
    expect(engineOf(mgr, '32b')!.capMiB).toBe(11_181);
    const memory = await mgr.memory();
    expect(memory.card).toEqual({ applies: true, setting: { source: 'gpuMemoryGiB', value: 14.4 }, capMiB: 14_746, reservedMiB: 14_681 });
    expect(memory.models['4b']).toMatchObject({ state: 'asleep', cardMiB: 1_700, capMiB: 14_746, pinnedCpuMiB: 10_000 });
    expect(memory.models['8b']).toMatchObject({ state: 'asleep', cardMiB: 1_800, capMiB: 12_981 });
    expect(memory.models['32b']).toMatchObject({ state: 'awake', cardMiB: 11_181, capMiB: 11_181, capReason: expect.stringContaining('"8b" asleep holds 1,800 MiB') });
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
    expect(card.used()).toBe(0);
  });

  it("the seed's pair: the first model, sized alone, is started again beside the other asleep; then every switch is a wake-up", async () => {
    const card = new FakeCard(16_384, SHAPES);
    const mgr = await manager(card, ['4b', '8b']);
    await mgr.use('8b');
    // The 4B's cap (the whole budget) cannot be woken beside the 8B asleep: it is closed and started again under
    // what the 8B leaves (its last engine ran with 8,000 MiB of that), and the 8B stays asleep.
    await mgr.use('4b');
    expect(mgr.lastSwitch).toMatchObject({ from: '8b', to: '4b', kind: 'cold', left: 'slept', resizedFromMiB: 14_746, capMiB: 12_881 });
    expect(mgr.lastSwitch!.evicted).toBeUndefined();
    expect(mgr.states).toEqual({ '4b': 'awake', '8b': 'asleep' });
    for (const name of ['8b', '4b', '8b', '4b']) {
      await mgr.use(name);
      expect(mgr.lastSwitch).toMatchObject({ to: name, kind: 'warm', left: 'slept' });
      expect(mgr.lastSwitch!.evicted).toBeUndefined();
    }
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
  });

  it('wakes a model that cannot run in less after closing the least recently used sleepers; what a sleeper holds stays its own', async () => {
    const shapes = { big: { needMiB: 14_000, asleepMiB: 1_700 }, small: { needMiB: 5_000, asleepMiB: 1_000 }, mid: { needMiB: 6_000, asleepMiB: 1_200 } };
    const card = new FakeCard(16_384, shapes);
    const mgr = await manager(card, ['big', 'small', 'mid']);
    await mgr.use('small');
    await mgr.use('mid');
    // The big one needs 14,000 MiB: not beside small and mid (1,000 + 1,200): both are closed, least recently used
    // first, and it is woken as it was.
    await mgr.use('big');
    expect(mgr.lastSwitch).toMatchObject({ from: 'mid', to: 'big', kind: 'warm', left: 'slept', evicted: ['small', 'mid'] });
    expect(mgr.states).toEqual({ big: 'awake', small: 'unloaded', mid: 'unloaded' });
    await mgr.use('small');
    // small started beside big asleep; its engine measures from a baseline that counted big. big is woken again (it
    // cannot run beside small: small is closed) and sleeps: its own 1,700 MiB, whatever small's baseline said.
    expect((await mgr.memory()).models.big).toMatchObject({ state: 'asleep', cardMiB: 1_700 });
    await mgr.use('mid');
    expect(engineOf(mgr, 'mid')!.capMiB).toBe(Math.floor(CAP_MIB - 1_700 - 1_000 - 64));
    expect((await mgr.memory()).models).toMatchObject({ big: { cardMiB: 1_700 }, small: { cardMiB: 1_000 }, mid: { state: 'awake' } });
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
  });

  it('with three models: after one round of starts each fits beside the others asleep, and every switch is a wake-up', async () => {
    const shapes = { '4b': { needMiB: 7_000, asleepMiB: 1_700 }, '8b': { needMiB: 9_000, asleepMiB: 1_800 }, '32b': { needMiB: 8_000, asleepMiB: 2_600 } };
    const card = new FakeCard(16_384, shapes);
    const mgr = await manager(card, ['4b', '8b', '32b']);
    const seen: string[] = [];
    for (const name of ['8b', '32b', '4b', '8b', '32b', '4b', '8b', '32b', '4b', '32b', '8b']) {
      await mgr.use(name);
      const l = mgr.lastSwitch!;
      seen.push(`${l.to}:${l.kind}${l.resizedFromMiB ? ':resized' : ''}${l.evicted ? `:evicted ${l.evicted.join(',')}` : ''}`);
    }
    expect(seen).toEqual([
      '8b:cold', '32b:cold', // started beside what sleeps
      '4b:cold:resized', '8b:cold:resized', // sized alone, then beside the 4B: started again beside both others
      '32b:warm', '4b:warm', '8b:warm', '32b:warm', '4b:warm', '32b:warm', '8b:warm',
    ]);
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
  });

  it('keeps a sleeper whose figure moved by a few MiB since the model beside it was sized', async () => {
    const card = new FakeCard(16_384, { a: { needMiB: 8_000, asleepMiB: 1_700, jitterMiB: 40 }, b: { needMiB: 8_000, asleepMiB: 1_800, jitterMiB: 40 } });
    const mgr = await manager(card, ['a', 'b']);
    await mgr.use('b');
    await mgr.use('a'); // a had the whole budget: started again beside b asleep
    for (let i = 0; i < 6; i++) {
      await mgr.use(i % 2 ? 'a' : 'b');
      expect(mgr.lastSwitch).toMatchObject({ kind: 'warm' });
      expect(mgr.lastSwitch!.evicted).toBeUndefined();
    }
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
  });

  it('closes the least recently used sleeper when a cold start is refused beside the sleepers, and starts it then', async () => {
    const card = new FakeCard(16_384, { ...SHAPES, '8b': { needMiB: 12_000, asleepMiB: 1_800 } });
    const mgr = await manager(card, ['32b', '4b', '8b']);
    await mgr.use('4b'); // the 32B asleep, the least recently used
    await mgr.use('8b');
    // Tried under budget - 4B - 32B (refused: it needs 12,000), then with the 32B closed (budget - 4B: 13,045 MiB).
    expect(card.attempts.filter((a) => a.model === '8b').map((a) => a.capMiB)).toEqual([10_381, 12_981]);
    expect(mgr.lastSwitch).toMatchObject({ to: '8b', kind: 'cold', evicted: ['32b'], capMiB: 12_981 });
    expect(mgr.states).toEqual({ '32b': 'unloaded', '4b': 'asleep', '8b': 'awake' });
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
  });

  it('refuses a model that cannot fit with INSUFFICIENT_GPU_MEMORY saying what is held and by whom; the others keep serving', async () => {
    const card = new FakeCard(16_384, SHAPES);
    const mgr = await manager(card, ['4b', '8b', 'huge']);
    await mgr.use('8b');
    const pending = mgr.generate('x', { model: 'huge' });
    const other = mgr.generate('y', { model: '8b' });
    const err = await rejection(pending);
    expect(err.code).toBe('INSUFFICIENT_GPU_MEMORY');
    expect(err.message).toContain('Model "huge" does not fit the card\'s memory budget (gpuMemoryGiB 14.4 = 14,746 MiB');
    // Tried beside both sleepers, then with each closed, least recently used first, then alone under the whole budget.
    expect(card.attempts.filter((a) => a.model === 'huge').map((a) => Math.round(a.capMiB))).toEqual([11_181, 12_881, 14_746]);
    expect(err.message).toContain('closed to make room, least recently used first: "4b", "8b"');
    expect(err.message).toContain('huge needs 20000 MiB, the cap is 14745.');
    expect((err.cause as VllmError).code).toBe('INSUFFICIENT_GPU_MEMORY');
    expect(await other).toBe('8b: y');
    expect(await mgr.generate('z', { model: '4b' })).toBe('4b: z');
    // Refused under the whole budget already: refused at once now, the sleeper kept, nothing tried.
    const tries = card.attempts.length;
    const again = await rejection(mgr.generate('x', { model: 'huge' }));
    expect(again.code).toBe('INSUFFICIENT_GPU_MEMORY');
    expect(again.message).toContain('"8b" asleep holds 1,800 MiB');
    expect(card.attempts.length).toBe(tries);
    expect(mgr.states).toEqual({ '4b': 'awake', '8b': 'asleep', huge: 'unloaded' });
    expect(await mgr.generate('w')).toBe('4b: w');
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
  });

  it('keeps the cap as a fraction where it was set as one (here from the environment), of the card measured by the first engine', async () => {
    const card = new FakeCard(16_384, SHAPES);
    const env = { VLLM_GPU_MEMORY_UTILIZATION: '0.9' };
    const mgr = await ModelManager.create({ models: { '4b': { model: '4b' }, '8b': { model: '8b' } }, sleepBudgetGiB: 1000 }, { configFile: false, env, engineFactory: card.factory });
    const cap = 0.9 * 16_384;
    expect(engineOf(mgr, '4b')!.capMiB).toBeCloseTo(cap, 3);
    await mgr.use('8b');
    const got = engineOf(mgr, '8b')!.capMiB;
    expect(got).toBeLessThanOrEqual(cap - 1_700 - 64);
    expect(got).toBeGreaterThanOrEqual(cap - 1_700 - 64 - 2);
    expect(mgr.engineOf('8b')!.info.notes.at(-1)).toMatchObject({ option: 'gpuMemoryUtilization', applied: true });
    expect((await mgr.memory()).card).toMatchObject({ applies: true, setting: { source: 'gpuMemoryUtilization', value: 0.9 }, capMiB: Math.round(cap) });
    expect(card.peak).toBeLessThanOrEqual(cap);
    await mgr.close();
  });

  it('holds for any order of switches under a random workload', async () => {
    const names = ['4b', '8b', '32b', 'huge'];
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const card = new FakeCard(16_384, SHAPES);
    const mgr = await manager(card, names);
    const kinds = { warm: 0, cold: 0, evicted: 0 };
    for (let i = 0; i < 200; i++) {
      const before = mgr.switches;
      const calls = Array.from({ length: 1 + Math.floor(random() * 4) }, () => names[Math.floor(random() * 3.3)]!);
      const results = await Promise.allSettled(calls.map((model) => mgr.generate(String(i), { model })));
      results.forEach((r, k) => {
        if (calls[k] === 'huge') expect(r.status === 'rejected' && (r.reason as VllmError).code).toBe('INSUFFICIENT_GPU_MEMORY');
        else expect(r).toEqual({ status: 'fulfilled', value: `${calls[k]}: ${i}` });
      });
      const m = await mgr.memory();
      const held = Object.values(m.models).reduce((n, x) => n + (x.state === 'asleep' ? x.cardMiB! : x.state === 'awake' ? x.capMiB! : 0), 0);
      expect(Math.abs(held - m.card.reservedMiB!)).toBeLessThanOrEqual(1);
      // The ledger agrees with the card: what the models hold is what the card shows (the awake one at its cap).
      expect(Math.abs(card.used() - held)).toBeLessThanOrEqual(1);
      expect(card.used()).toBeLessThanOrEqual(CAP_MIB);
      if (mgr.switches > before) {
        kinds[mgr.lastSwitch!.kind]++;
        kinds.evicted += mgr.lastSwitch!.evicted?.length ?? 0;
      }
    }
    // The walk went through every path: wakes, starts, sleepers closed to make room.
    expect(kinds.warm).toBeGreaterThan(10);
    expect(kinds.cold).toBeGreaterThan(10);
    expect(kinds.evicted).toBeGreaterThan(10);
    expect(card.peak).toBeLessThanOrEqual(CAP_MIB);
    await mgr.close();
  });

  it('does not apply on the CPU backend, and says so', async () => {
    const card = new FakeCard(0, SHAPES, 0, 'cpu');
    const mgr = await manager(card, ['4b', '8b'], { gpuMemoryGiB: 2 });
    await mgr.use('8b');
    expect(mgr.states).toEqual({ '4b': 'unloaded', '8b': 'awake' });
    expect(mgr.lastSwitch).toMatchObject({ left: 'closed', kind: 'cold' });
    expect(mgr.lastSwitch!.capMiB).toBeUndefined();
    const memory = await mgr.memory();
    expect(memory.card.applies).toBe(false);
    expect(memory.card.reason).toContain('CPU backend has no card');
    // Its own cap sizes its KV cache in CPU memory: reported, and left as asked.
    expect(memory.models['8b']).toEqual({ state: 'awake', cardMiB: null, capMiB: 2048, pinnedCpuMiB: 0, offloadCpuMiB: 0 });
    expect(mgr.engineOf('8b')!.info.notes).toEqual([]);
    await mgr.close();
  });

  it('closes sleepers beyond sleepBudgetGiB of CPU memory, least recently used first', async () => {
    const card = new FakeCard(16_384, SHAPES);
    // Pinned for each sleep: twice the weights (the fake's prepareSleep): 4B 10,000 MiB, 8B 18,000 MiB.
    const mgr = await manager(card, ['4b', '8b', '32b'], { sleepBudgetGiB: 20 });
    await mgr.use('8b');
    expect(mgr.states).toMatchObject({ '4b': 'asleep' });
    await mgr.use('32b');
    expect(mgr.states).toEqual({ '4b': 'unloaded', '8b': 'asleep', '32b': 'awake' });
    await mgr.close();
  });
});
