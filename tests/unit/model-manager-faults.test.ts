// ModelManager when a sleeping model's process died (issue 26, item 5): the next switch to it finds it dead on waking
// and starts it again, under the same budget; a wake-up that fails for another reason still fails the switch. Fake
// engines on a simulated card (tests/unit/fake-card.ts); tests/gpu/faults.test.ts kills a real sleeper's EngineCore.
import { describe, expect, it } from 'vitest';

import { ModelManager, VllmError } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { FakeCard, type FakeEngine, type FakeModel } from './fake-card.js';

const none = { configFile: false as const, env: {} };
const SHAPES: Record<string, FakeModel> = {
  a: { needMiB: 5_000, asleepMiB: 1_500 },
  b: { needMiB: 5_000, asleepMiB: 1_500 },
};

/** Two models that each fit beside the other asleep (8 GiB each under a 0.9 budget of 24 GiB): switches are wake-ups. */
async function manager(card: FakeCard): Promise<ModelManager> {
  const models = { a: { model: 'a', gpuMemoryGiB: 8 }, b: { model: 'b', gpuMemoryGiB: 8 } };
  const mgr = await ModelManager.create({ models, default: 'a', sleepBudgetGiB: 1000 }, { ...none, engineFactory: card.factory });
  await mgr.use('b');
  await mgr.use('a');
  expect(mgr.lastSwitch).toMatchObject({ to: 'a', kind: 'warm' });
  return mgr;
}

const fake = (mgr: ModelManager, name: string) => mgr.engineOf(name) as unknown as FakeEngine;

describe('ModelManager: a sleeping model whose process died', () => {
  // The first model (started alone) or the second (started beside the first asleep) dies: the model left for it is
  // measured at its sleep with the dead one still counted, and measured again once the dead one is found.
  for (const [victim, report] of [['b', 'ENGINE_DIED'], ['b', 'EngineDeadError'], ['a', 'ENGINE_DIED']] as const) {
    const other = victim === 'a' ? 'b' : 'a';
    it(`"${victim}" is started again by the next switch to it (its wake-up fails with ${report})`, async () => {
      const card = new FakeCard(24_576, SHAPES);
      const mgr = await manager(card);
      if (victim === 'a') await mgr.use('b');
      const dead = fake(mgr, victim);
      expect(dead.state).toBe('asleep');
      dead.die(report);
      const starts = card.attempts.length;

      expect(await mgr.generate('hi', { model: victim })).toBe(`${victim}: hi`);
      expect(mgr.lastSwitch).toMatchObject({ from: other, to: victim, kind: 'cold', left: 'slept', diedAsleep: true });
      expect(card.attempts.length).toBe(starts + 1);
      expect(fake(mgr, victim)).not.toBe(dead);
      expect(mgr.states).toEqual({ [victim]: 'awake', [other]: 'asleep' });
      // Nothing of the dead engine is counted, and the sleeper holds what it holds: the new cap and its figure.
      const memory = await mgr.memory();
      expect(memory.models[other]).toMatchObject({ state: 'asleep', cardMiB: 1_500 });
      expect(memory.card.reservedMiB).toBe(8_192 + 1_500);
      expect(card.peak).toBeLessThanOrEqual(0.9 * 24_576);
      // From then on, switches are wake-ups again.
      await mgr.use(other);
      await mgr.use(victim);
      expect(mgr.lastSwitch).toMatchObject({ to: victim, kind: 'warm' });
      await mgr.close();
      expect(card.used()).toBe(0);
    });
  }

  it('a wake-up that fails otherwise fails the switch; the model is closed and the next call starts it', async () => {
    const card = new FakeCard(24_576, SHAPES);
    const mgr = await manager(card);
    const b = fake(mgr, 'b');
    b.wakeFailure = new VllmError('CALL_FAILED', 'CUDA error: out of memory');
    const e = await rejection(mgr.generate('hi', { model: 'b' }));
    expect(e.code).toBe('CALL_FAILED');
    expect(b.state).toBe('closed');
    expect(mgr.states).toEqual({ a: 'asleep', b: 'unloaded' });
    expect(await mgr.generate('again', { model: 'b' })).toBe('b: again');
    expect(mgr.lastSwitch).toMatchObject({ to: 'b', kind: 'cold' });
    expect(mgr.lastSwitch!.diedAsleep).toBeUndefined();
    await mgr.close();
  });

  it('a call waiting for the dead sleeper is served by its new engine; calls to the model awake are not disturbed', async () => {
    const card = new FakeCard(24_576, SHAPES);
    const mgr = await manager(card);
    fake(mgr, 'b').die();
    const calls = [mgr.generate('1', { model: 'a' }), mgr.generate('2', { model: 'b' }), mgr.generate('3', { model: 'a' }), mgr.generate('4', { model: 'b' })];
    expect((await Promise.allSettled(calls)).map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['a: 1', 'b: 2', 'a: 3', 'b: 4']);
    await mgr.close();
  });
});
