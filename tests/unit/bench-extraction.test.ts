// bench/postings.mjs and bench/extraction-report.mjs: the extraction benchmark's generated postings (deterministic
// for a seed, within their length, each with fields its text states), the scoring of an answer against those
// fields, and the verdict on issue 25's targets. Pure functions: no engine.
import { describe, expect, it } from 'vitest';

import { verdict } from '../../bench/extraction-report.mjs';
import { estimateTokens, FIELDS, fieldRight, posting, PostingSchema, postings, scoreAnswer, summarizeScores } from '../../bench/postings.mjs';

describe('postings', () => {
  it('are the same for the same seed, and differ with another seed', () => {
    const a = postings(24, { seed: 7 });
    expect(postings(24, { seed: 7 })).toEqual(a);
    expect(posting(5, { seed: 7 })).toEqual(a[5]);
    const b = postings(24, { seed: 8 });
    expect(b.map((p) => p.text)).not.toEqual(a.map((p) => p.text));
  });

  it('stay within the requested length and vary over it', () => {
    const ps = postings(128, { minTokens: 300, maxTokens: 1500 });
    const lens = ps.map((p) => estimateTokens(p.text));
    expect(Math.min(...lens)).toBeGreaterThanOrEqual(300);
    expect(Math.max(...lens)).toBeLessThanOrEqual(1500);
    expect(Math.max(...lens) - Math.min(...lens)).toBeGreaterThan(800);
    expect(new Set(ps.map((p) => p.text)).size).toBe(128);
  });

  it('carry expected fields that follow the schema and that the text states', () => {
    const ps = postings(64);
    for (const p of ps) {
      expect(PostingSchema.safeParse(p.expected).success).toBe(true);
      for (const s of [p.expected.title, p.expected.company, p.expected.location, ...p.expected.skills]) expect(p.text).toContain(s);
      expect(p.expected.salary.max).toBeGreaterThan(p.expected.salary.min);
    }
    const kinds = (f: 'workMode' | 'seniority' | 'employmentType') => new Set(ps.map((p) => p.expected[f])).size;
    expect(kinds('workMode')).toBe(3);
    expect(kinds('seniority')).toBe(4);
    expect(kinds('employmentType')).toBeGreaterThanOrEqual(3);
  });

  it('has 8 fields', () => {
    expect(FIELDS).toEqual(['title', 'company', 'location', 'workMode', 'seniority', 'employmentType', 'salary', 'skills']);
  });
});

describe('scoring', () => {
  const { expected } = posting(3);

  it('scores the expected fields, as value or as JSON text, 8 of 8', () => {
    const full = { parsed: true, valid: true, right: 8, total: 8 };
    expect(scoreAnswer(expected, { value: expected })).toMatchObject(full);
    expect(scoreAnswer(expected, { text: JSON.stringify(expected) })).toMatchObject(full);
  });

  it('compares text without case or punctuation, a location with its country, skills as a set', () => {
    expect(fieldRight('title', ` ${expected.title.toUpperCase()}.`, expected.title)).toBe(true);
    expect(fieldRight('location', `${expected.location}, Somewhere`, expected.location)).toBe(true);
    expect(fieldRight('location', 'Elsewhere', expected.location)).toBe(false);
    expect(fieldRight('skills', [...expected.skills].reverse().map((s) => s.toLowerCase()), expected.skills)).toBe(true);
    expect(fieldRight('skills', expected.skills.slice(1), expected.skills)).toBe(false);
    expect(fieldRight('skills', [...expected.skills, 'COBOL'], expected.skills)).toBe(false);
    expect(fieldRight('salary', { ...expected.salary }, expected.salary)).toBe(true);
    expect(fieldRight('salary', { ...expected.salary, max: expected.salary.max + 1 }, expected.salary)).toBe(false);
    expect(fieldRight('title', undefined, expected.title)).toBe(false);
  });

  it('counts wrong fields, and schema-invalid or unparsable answers', () => {
    const wrong = { ...expected, company: 'Nobody', workMode: expected.workMode === 'remote' ? 'onsite' : 'remote' };
    const s = scoreAnswer(expected, { text: JSON.stringify(wrong) });
    expect(s).toMatchObject({ parsed: true, valid: true, right: 6 });
    expect(s.fields.company).toBe(false);
    expect(s.fields.workMode).toBe(false);
    const { skills: _, ...noSkills } = expected;
    expect(scoreAnswer(expected, { text: JSON.stringify(noSkills) })).toMatchObject({ parsed: true, valid: false, right: 7 });
    expect(scoreAnswer(expected, { text: '{"title": ' })).toMatchObject({ parsed: false, valid: false, right: 0 });
    expect(scoreAnswer(expected, { error: 'OUTPUT_INVALID' })).toMatchObject({ parsed: false, valid: false, right: 0 });
    expect(scoreAnswer(expected, { text: '[1, 2]' })).toMatchObject({ parsed: true, valid: false, right: 0 });
  });

  it('summarizes as fractions', () => {
    const scores = [scoreAnswer(expected, { value: expected }), scoreAnswer(expected, { text: JSON.stringify({ ...expected, title: 'x' }) }), scoreAnswer(expected, { text: 'no' })];
    const sum = summarizeScores(scores);
    expect(sum).toMatchObject({ n: 3, parsed: 2 / 3, valid: 2 / 3, exact: 1 / 3 });
    expect(sum.fields).toBeCloseTo((1 + 7 / 8 + 0) / 3, 12);
    expect(sum.perField.title).toBeCloseTo(1 / 3, 12);
    expect(sum.perField.company).toBeCloseTo(2 / 3, 12);
    expect(summarizeScores([])).toMatchObject({ n: 0, parsed: 0, fields: 0 });
  });
});

describe('the targets', () => {
  const q = (ratio: number, lo: number, hi: number, resolved = true) => ({ ratio, lo, hi, resolved, reason: resolved ? '' : '3 rounds < 10' });
  it('meets or misses only on a resolved interval wholly on one side', () => {
    expect(verdict(q(1.4, 1.36, 1.44), 1.3)).toMatch(/meets/);
    expect(verdict(q(1.2, 1.17, 1.23), 1.3)).toMatch(/misses/);
    expect(verdict(q(1.0, 0.98, 1.02), 1.0)).toMatch(/straddles/);
    expect(verdict(q(2, 1.9, 2.1, false), 1.3)).toMatch(/^not resolved \(3 rounds < 10\)/);
    expect(verdict(q(1, 0.99, 1.01))).toBe('resolved');
  });
});
