// ModelManager on the CPU engine with two real models (the tiny test model and the demo model): interleaved
// calls are each answered by the model they name, exactly as that model answers alone; a mixed burst costs one
// switch per model; a model that fails to load fails only its own calls; close() rejects what still waits; the card's
// memory budget does not apply on the CPU and says so.
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ModelManager, VllmError } from '../../src/index.js';
import { cpuOptions, requireModel, ROOT } from '../helpers/models.js';

const DEMO = requireModel(join(ROOT, '.models', 'smollm2-135m-instruct'));
const prompts = ['The capital of France is', 'Job title: Senior Go Engineer. Location:'];
const greedy = { maxTokens: 8, temperature: 0 } as const;

let models: ModelManager | undefined;
afterAll(async () => {
  await models?.close();
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof VllmError ? e.code : String(e)),
  );
}

describe('ModelManager (CPU engine, two real models)', () => {
  const reference: Record<string, string[]> = {};

  it('loads the default model, switches on demand, and tells unknown names apart', async () => {
    models = await ModelManager.create(
      {
        ...cpuOptions(),
        models: { tiny: {}, demo: { model: DEMO }, broken: { model: join(ROOT, '.models', 'no-such-model') } },
        default: 'tiny',
      },
      { configFile: false },
    );
    expect(models.current).toBe('tiny');
    expect(models.names).toEqual(['tiny', 'demo', 'broken']);
    expect(models.switches).toBe(1);
    reference.tiny = [];
    for (const p of prompts) reference.tiny.push(await models.generate(p, greedy));
    await models.use('demo');
    expect(models.current).toBe('demo');
    // The CPU backend has no sleep mode: the model left was closed.
    expect(models.states).toEqual({ tiny: 'unloaded', demo: 'awake', broken: 'unloaded' });
    expect(models.lastSwitch).toMatchObject({ from: 'tiny', to: 'demo', kind: 'cold', left: 'closed' });
    expect(models.lastSwitch!.leaveSeconds).toBeGreaterThanOrEqual(0);
    expect(models.lastSwitch!.enterSeconds).toBeGreaterThan(0);
    // Nothing to pin for a first sleep without sleep mode; asked directly, the engine says why.
    expect(models.lastSwitch!.sleepPrepared).toBeUndefined();
    expect(await models.engineOf('demo')!.prepareSleep()).toMatchObject({ applied: false, reason: expect.stringContaining('without sleep mode') });
    // No card on the CPU: the card's budget does not apply, says so, and changes no engine's options.
    expect(models.lastSwitch!.capMiB).toBeUndefined();
    const memory = await models.memory();
    expect(memory.card).toEqual({ applies: false, reason: expect.stringContaining('CPU backend has no card') });
    expect(memory.models).toEqual({
      tiny: { state: 'unloaded', cardMiB: null, capMiB: null, pinnedCpuMiB: 0, offloadCpuMiB: 0 },
      demo: { state: 'awake', cardMiB: null, capMiB: null, pinnedCpuMiB: 0, offloadCpuMiB: 0 },
      broken: { state: 'unloaded', cardMiB: null, capMiB: null, pinnedCpuMiB: 0, offloadCpuMiB: 0 },
    });
    expect(models.engineOf('demo')!.info.notes.filter((n) => n.reason?.startsWith('ModelManager'))).toEqual([]);
    reference.demo = [];
    for (const p of prompts) reference.demo.push(await models.generate(p, { ...greedy, model: 'demo' }));
    // Tokens through the manager: the named model's own tokenizer (no switch: it is current).
    const ids = await models.tokenize('Senior Go Engineer', { model: 'demo' });
    expect(ids).toEqual(await models.engineOf('demo')!.tokenize('Senior Go Engineer'));
    expect(await models.countTokens('Senior Go Engineer', { model: 'demo' })).toBe(ids.length);
    expect(await models.detokenize(ids, { model: 'demo' })).toContain('Go Engineer');
    expect(models.switches).toBe(2);
    const unknown = await models.generate('x', { model: 'nope' }).catch((e: unknown) => e as VllmError);
    expect(unknown).toBeInstanceOf(VllmError);
    expect((unknown as VllmError).code).toBe('UNKNOWN_MODEL');
    expect((unknown as VllmError).message).toContain('"tiny", "demo", "broken"');
  });

  it('a model that fails to load rejects only its own calls; the others are served', async () => {
    const bad = models!.generate('x', { model: 'broken', maxTokens: 2 });
    const good = models!.generate(prompts[0]!, { ...greedy, model: 'tiny' });
    expect(await codeOf(bad)).toBeDefined();
    expect(await good).toBe(reference.tiny![0]);
    expect(models!.current).toBe('tiny');
  });

  it('serves a mixed burst with one switch per model, each answer from the model it names', async () => {
    const before = models!.switches; // current: tiny
    const burst = ['demo', 'tiny', 'demo', 'tiny', 'demo', 'tiny'].map((name, i) => ({
      name,
      text: models!.generate(prompts[i % 2]!, { ...greedy, model: name }),
      i,
    }));
    for (const { name, text, i } of burst) expect(await text).toBe(reference[name]![i % 2]);
    // tiny (current, queue empty) is admitted first only for calls made before anything waits; here the first
    // call is demo's, so: switch to demo (all three demo calls), then back to tiny (its three calls).
    expect(models!.switches - before).toBe(2);
  });

  it('warmup() loads each named model once, answers a short generation on it, then makes the previous model current again', async () => {
    const before = models!.current;
    const other = before === 'tiny' ? 'demo' : 'tiny';
    const records = await models!.warmup([other]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ name: other, switchSeconds: expect.any(Number), startupSeconds: expect.any(Number), vllmVersion: expect.any(String) });
    expect(models!.current).toBe(before);
    expect((await codeOf(models!.warmup(['nope'])))).toBe('UNKNOWN_MODEL');
  });

  it('close() rejects calls still waiting for a model with ENGINE_CLOSED', async () => {
    const running = models!.generate('hello', { maxTokens: 64, temperature: 0, model: models!.current! });
    const other = models!.current === 'tiny' ? 'demo' : 'tiny';
    const waiting = models!.generate('hello', { maxTokens: 4, model: other });
    const closing = models!.close();
    expect(await codeOf(waiting)).toBe('ENGINE_CLOSED');
    await codeOf(running); // answered or ENGINE_CLOSED, never hangs
    await closing;
    expect(await codeOf(models!.generate('x'))).toBe('ENGINE_CLOSED');
  });
});
