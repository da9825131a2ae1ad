// Issue 25, items 1, 3 and 7 against the real vLLM CPU engine (the run's shared engine): tokens, extraction's input
// budget, the regex / choice / grammar constraints, a constraint vLLM cannot compile, and the CLI's bad input.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

import { VllmError, type ChatMessage, type Engine } from '../../src/index.js';
import { requireModel, ROOT } from '../helpers/models.js';
import { cpuEngine } from '../helpers/shared-engine.js';

let engine: Engine;

beforeAll(async () => {
  engine = await cpuEngine();
});

async function rejected(p: Promise<unknown>): Promise<VllmError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(VllmError);
  return err as VllmError;
}

// Varied words, so that the tokenizer does not merge the posting into a few long tokens.
const WORDS = 'senior backend engineer remote berlin salary equity python kubernetes team growth benefits visa'.split(' ');
const posting = (words: number) => Array.from({ length: words }, (_, i) => `${WORDS[(i * 7) % WORDS.length]}${i % 10}`).join(' ');

describe('tokens', () => {
  it('tokenize / detokenize round trip; countTokens of a text is the promptTokens generate() reports', async () => {
    const text = 'Senior Go Engineer — Berlin, €70k (remote ok) 🚀';
    const ids = await engine.tokenize(text);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0)).toBe(true);
    expect(await engine.detokenize(ids)).toBe(text);
    const count = await engine.countTokens(text);
    expect(count).toBe(ids.length);
    expect((await engine.generateDetailed(text, { maxTokens: 1 })).promptTokens).toBe(count);
  });

  it('countTokens of messages is the promptTokens chat() reports (the chat template, as chat renders it)', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Extract the job title.' },
      { role: 'user', content: 'Data Analyst at Northwind, London' },
    ];
    const count = await engine.countTokens(messages);
    const text = messages.map((m) => m.content).join('');
    expect(count).toBeGreaterThan((await engine.tokenize(text, { addSpecialTokens: false })).length);
    expect((await engine.chatDetailed(messages, { maxTokens: 1 })).promptTokens).toBe(count);
    const tools = [{ type: 'function' as const, function: { name: 'get_salary', parameters: { type: 'object', properties: {} } } }];
    const withTools = await engine.countTokens(messages, { tools });
    expect(withTools).toBeGreaterThan(count);
    expect((await engine.chatDetailed(messages, { maxTokens: 1, tools })).promptTokens).toBe(withTools);
  });

  it('bad input is typed: a non-string, ids outside the vocabulary, chat options on a text', async () => {
    expect((await rejected(engine.tokenize(42 as never))).code).toBe('INVALID_REQUEST');
    expect((await rejected(engine.detokenize([1, -2]))).code).toBe('INVALID_REQUEST');
    const err = await rejected(engine.detokenize([10_000_000]));
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.message).toContain('outside the vocabulary');
    expect((await rejected(engine.countTokens('x', { chatTemplate: 'x' }))).code).toBe('INVALID_OPTIONS');
    expect((await rejected(engine.tokenize('x', { addSpecialToken: true } as never))).message).toContain('did you mean "addSpecialTokens"?');
  });
});

describe('extraction input budget', () => {
  const Job = z.object({ title: z.string().min(1).max(24), remote: z.boolean() });
  const maxTokens = 60;

  it('a posting longer than the context is cut by tokens; the instructions and the schema are kept whole', async () => {
    const spy = vi.spyOn(engine, 'chatDetailed');
    try {
      await engine.extract('Go Engineer, remote', Job, { maxTokens, temperature: 0 });
      const long = posting(2000);
      const truncations: { from: number; to: number }[] = [];
      const job = await engine.extract(long, Job, { maxTokens, temperature: 0, onTruncate: (t) => truncations.push(t) });
      expect(Job.safeParse(job).success).toBe(true);
      const [short, cut] = spy.mock.calls.map((c) => c[0]);
      expect(cut![0]).toEqual(short![0]); // the system message: instructions and schema, unchanged
      expect(cut![0]!.content).toContain('JSON Schema:');
      expect(long.startsWith(cut![1]!.content)).toBe(true);
      expect(truncations).toHaveLength(1);
      const { from, to } = truncations[0]!;
      expect(from).toBe((await engine.tokenize(long, { addSpecialTokens: false })).length);
      expect(to).toBe((await engine.tokenize(cut![1]!.content, { addSpecialTokens: false })).length);
      // The prompt and the output fit the context, with little of it left unused.
      const prompt = await engine.countTokens(cut!);
      expect(prompt + maxTokens).toBeLessThanOrEqual(engine.info.maxModelLen);
      expect(prompt + maxTokens).toBeGreaterThan(engine.info.maxModelLen - 16);
    } finally {
      spy.mockRestore();
    }
  });

  it('maxInputTokens cuts further', async () => {
    const truncations: { from: number; to: number }[] = [];
    await engine.extract(posting(300), Job, { maxTokens, temperature: 0, maxInputTokens: 50, onTruncate: (t) => truncations.push(t) });
    expect(truncations[0]!.to).toBeLessThanOrEqual(50);
    expect(truncations[0]!.to).toBeGreaterThan(40);
  });

  it('extractMany: the too-long item is cut, not failed, and its outcome says so; the others are untouched', async () => {
    const outcomes = await engine.extractMany(['Data Analyst, London', posting(3000), 'Nurse, Boston, onsite'], Job, { maxTokens, temperature: 0 });
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    expect(outcomes[0]!.truncated).toBeUndefined();
    expect(outcomes[2]!.truncated).toBeUndefined();
    expect(outcomes[1]!.truncated!.from).toBeGreaterThan(engine.info.maxModelLen);
    expect(outcomes[1]!.truncated!.to).toBeLessThan(engine.info.maxModelLen);
  });

  it('without the budget the same posting is PROMPT_TOO_LONG (what the cut avoids)', async () => {
    const err = await rejected(engine.chat([{ role: 'user', content: posting(3000) }], { maxTokens: 5 }));
    expect(err.code).toBe('PROMPT_TOO_LONG');
  });
});

describe('constraints: regex, choice, grammar', () => {
  const seeds = [1, 2, 3, 4];

  it('regex holds', async () => {
    const outs = await Promise.all(seeds.map((seed) => engine.generate('Phone number:', { regex: '[0-9]{3}-[0-9]{4}', maxTokens: 20, temperature: 1, seed })));
    for (const out of outs) expect(out).toMatch(/^[0-9]{3}-[0-9]{4}$/);
  });

  it('choice holds, and extract of a z.enum uses it', async () => {
    const choice = ['remote', 'onsite', 'hybrid'];
    const outs = await Promise.all(seeds.map((seed) => engine.chat([{ role: 'user', content: 'Where is the job?' }], { choice, maxTokens: 10, temperature: 1, seed })));
    for (const out of outs) expect(choice).toContain(out);
    const Mode = z.enum(['remote', 'onsite', 'hybrid']);
    expect(Mode.options).toContain(await engine.extract('Work from anywhere in the EU', Mode, { maxTokens: 10, temperature: 0 }));
  });

  it('jsonSchema output is compact JSON: no whitespace between tokens (the engine-wide disable_any_whitespace)', async () => {
    // No string fields, so a compact grammar leaves no place for whitespace at all; sampled at temperature 1.
    const jsonSchema = { type: 'object', properties: { years: { type: 'integer' }, remote: { type: 'boolean' }, levels: { type: 'array', items: { type: 'integer' } } }, required: ['years', 'remote', 'levels'], additionalProperties: false };
    const outs = await Promise.all(seeds.map((seed) => engine.generate('Job as JSON:', { jsonSchema, maxTokens: 40, temperature: 1, seed })));
    // With free whitespace this tiny model answers "{" and spends its budget on whitespace (trimmed away).
    for (const out of outs) expect(out).toMatch(/^\{"years":\S*$/);
  });

  it('grammar holds', async () => {
    const outs = await Promise.all(seeds.map((seed) => engine.generate('Remote?', { grammar: 'root ::= "yes" | "no"', maxTokens: 5, temperature: 1, seed })));
    for (const out of outs) expect(['yes', 'no']).toContain(out);
  });

  it('a regex or grammar vLLM cannot compile is INVALID_REQUEST for that call alone; a concurrent request completes', async () => {
    const running = engine.generateDetailed('Keep going:', { maxTokens: 16, ignoreEos: true });
    const [badRegex, badGrammar] = await Promise.all([rejected(engine.generate('x', { regex: '(unclosed', maxTokens: 5 })), rejected(engine.generate('x', { grammar: 'root ::= (', maxTokens: 5 }))]);
    expect(badRegex.code).toBe('INVALID_REQUEST');
    expect(badRegex.message).toContain('regex');
    expect(badGrammar.code).toBe('INVALID_REQUEST');
    expect((await running).outputTokens).toBe(16);
    expect(engine.state).toBe('ready');
    expect(await engine.generate('Still here:', { maxTokens: 3 })).toBeTypeOf('string');
  });

  it('two constraints in one call: INVALID_OPTIONS before anything is sent', async () => {
    const err = await rejected(engine.generate('x', { regex: 'a', choice: ['a'] }));
    expect(err.code).toBe('INVALID_OPTIONS');
  });
});

describe('CLI bad input: one line and a non-zero exit, before the engine starts', () => {
  const CLI = join(ROOT, 'dist', 'cli', 'main.js');

  async function cli(args: string[]): Promise<{ code: number | null; stderr: string; seconds: number }> {
    const t = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => {}); // it may exit before reading its input (EPIPE): the exit code and stderr tell
    child.stdin.end('"Senior Go Engineer"\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, stderr, seconds: (performance.now() - t) / 1000 };
  }

  it('generate --max-tokens -5', async () => {
    const r = await cli(['generate', '--cpu', '--model', requireModel(), '--max-tokens', '-5']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['INVALID_OPTIONS: Invalid option --max-tokens: Too small: expected number to be >0, received -5 of type number']);
    expect(r.seconds).toBeLessThan(15); // no engine start (~20 s)
  });

  it('extract --schema missing.json', async () => {
    const r = await cli(['extract', '--cpu', '--model', requireModel(), '--schema', 'missing.json']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['INVALID_OPTIONS: Invalid option --schema: cannot read missing.json (no such file)']);
  });

  it('a missing --input file, a --temperature that is not a number, --max-input-tokens 0', async () => {
    const model = requireModel();
    const cases: [string[], string][] = [
      [['generate', '--cpu', '--model', model, '--input', 'nope.jsonl'], 'INVALID_OPTIONS: Invalid option --input: cannot read nope.jsonl (no such file)'],
      [['chat', '--cpu', '--model', model, '--temperature', 'hot'], 'INVALID_OPTIONS: Invalid option --temperature: expected a number, received "hot"'],
      [['extract', '--cpu', '--model', model, '--schema', join(ROOT, 'package.json'), '--max-input-tokens', '0'], 'INVALID_OPTIONS: Invalid option --max-input-tokens: Too small: expected number to be >0, received 0 of type number'],
    ];
    for (const [args, line] of cases) {
      const r = await cli(args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([line]);
    }
  });
});
