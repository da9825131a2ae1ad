// Issue 25, item 5 against the real vLLM CPU engine (the run's shared engine, the tiny model with random weights):
// extractDetailed's fields come from vLLM's own token logprobs, spans point at the value in the input, and
// escalation sends only the items below the threshold to the second generator. The tiny model's answers are
// arbitrary, so the assertions hold for any answer the schema allows.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { extractDetailed, extractManyDetailed, type DetailedOutcome, type Engine, type EscalationTarget } from '../../src/index.js';
import { cpuEngine } from '../helpers/shared-engine.js';

let engine: Engine;

beforeAll(async () => {
  engine = await cpuEngine();
});

const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ');

// Every value the schema allows occurs in the input: whatever the model picks is grounded.
const CITIES = ['Paris', 'Berlin', 'New York'] as const;
const Job = z.object({ city: z.enum(CITIES), remote: z.boolean(), tags: z.array(z.enum(['go', 'sql'])).max(2) });
const input = 'Go and SQL developer. Offices in PARIS, Berlin and new   york; remote possible.';

describe('extractDetailed on the engine', () => {
  it('one field per leaf of the value, a confidence in (0, 1] from the logprobs, spans at the value', async () => {
    const { value, fields } = await extractDetailed(engine, input, Job, { maxTokens: 60, temperature: 0 });
    const leaves = ['$.city', '$.remote', ...(value.tags.length ? value.tags.map((_, i) => `$.tags[${i}]`) : ['$.tags'])];
    expect(Object.keys(fields).sort()).toEqual(leaves.sort());
    for (const f of Object.values(fields)) {
      expect(f.confidence).toBeGreaterThan(0);
      expect(f.confidence).toBeLessThanOrEqual(1);
    }
    expect(fields['$.city']!.value).toBe(value.city);
    const span = fields['$.city']!.span!;
    expect(norm(input.slice(span.start, span.end))).toBe(norm(value.city));
    for (const [i, tag] of value.tags.entries()) {
      const s = fields[`$.tags[${i}]`]!.span!;
      expect(input.slice(s.start, s.end).toLowerCase()).toBe(tag);
    }
    expect(fields['$.remote']).toMatchObject({ value: value.remote, span: null });
  });

  it('a z.enum (decoded as a choice) is one field, $, grounded in the input', async () => {
    const { value, fields } = await engine.extractDetailed(input, z.enum(CITIES), { maxTokens: 10, temperature: 0 });
    expect(Object.keys(fields)).toEqual(['$']);
    const span = fields.$!.span!;
    expect(norm(input.slice(span.start, span.end))).toBe(norm(value));
  });
});

describe('escalation', () => {
  it('calls the second generator only for the items with a field below the threshold, and says which', async () => {
    const inputs = ['Remote job in Paris', 'Berlin office, go', 'New York, SQL, onsite', 'Paris or Berlin', 'go go go'];
    const sent: string[][] = [];
    const second: EscalationTarget = {
      extractMany: (items, schema, options) => {
        sent.push([...items]);
        return engine.extractMany(items, schema, options);
      },
    };
    // The threshold between the items' lowest confidences, so that some go and some stay (with grounding off: the
    // schema's values are not all in every input).
    const base = await engine.extractManyDetailed(inputs, Job, { maxTokens: 60, temperature: 0 });
    const lowest = base.map((o) => (o.ok ? Math.min(...Object.values(o.fields!).map((f) => f.confidence)) : 0));
    const below = [...lowest].sort((a, b) => a - b)[Math.floor(inputs.length / 2)]!;

    const escalate = { below, to: second, ungrounded: false };
    // Whatever the first pass answered this time: the items sent are exactly those it scored below the threshold.
    const check = (out: DetailedOutcome<unknown>[]) => {
      const picked = out.flatMap((o, i) => (o.escalated ? [i] : []));
      const expected = out.flatMap((o, i) => {
        const first = o.escalated ? o.first! : o;
        return !first.ok || Object.values(first.fields!).some((f) => f.confidence < below) ? [i] : [];
      });
      expect(picked).toEqual(expected);
      expect(sent).toEqual(picked.length ? [picked.map((i) => inputs[i])] : []);
      for (const o of out) {
        expect(o.generator).toBe(o.escalated ? second : engine);
        if (o.escalated) expect(o).toMatchObject({ ok: true, fields: null, first: { escalated: false, generator: engine } });
        else if (o.ok) expect(Object.values(o.fields!).every((f) => f.confidence >= below)).toBe(true);
      }
    };
    check(await extractManyDetailed(engine, inputs, Job, { maxTokens: 60, temperature: 0, escalate }));
    // extractMany takes escalate as well (the same pass).
    sent.length = 0;
    check((await engine.extractMany(inputs, Job, { maxTokens: 60, temperature: 0, escalate })) as DetailedOutcome<unknown>[]);
  });
});
