// RecordingGenerator and ReplayGenerator over a fake generator (no engine): every TextGenerator call recorded
// and answered again from the file, streams as streams, errors with their codes, a call not recorded a
// REPLAY_MISS naming it; the AI SDK provider and the LangChain adapter over both.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HumanMessage } from '@langchain/core/messages';
import * as ai from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createVllm } from '../../src/ai-sdk/index.js';
import { extract, extractMany, type ExtractManyOptions, type ExtractOptions } from '../../src/extract.js';
import { VllmError, type ChatCallOptions, type ChatMessage, type GenerationResult, type SamplingOptions, type TextGenerator } from '../../src/index.js';
import { ChatVllm } from '../../src/langchain/index.js';
import { RecordingGenerator, ReplayGenerator } from '../../src/testing/index.js';
import { replayError } from '../../src/testing/recording.js';
import { rejection } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vllm-node-replay-'));
let files = 0;
const newFile = () => join(dir, `recording-${++files}.jsonl`);

/**
 * Answers depend on the input, the options and how often the same call was made (like sampling without a seed),
 * so a replay that mixed calls up or reused the wrong repeat would show.
 */
class FakeGenerator implements TextGenerator {
  calls = 0;
  readonly #repeats = new Map<string, number>();

  #text(input: string, options: SamplingOptions | undefined): string {
    const key = `${input}|${options?.temperature ?? 1}|${options?.maxTokens ?? 16}`;
    const repeat = this.#repeats.get(key) ?? 0;
    this.#repeats.set(key, repeat + 1);
    if (input.includes('fail')) throw new VllmError('INVALID_REQUEST', `cannot answer "${input}"`, { option: 'prompt' });
    if (options?.jsonSchema) return input.includes('bad json') ? '{"title": ' : JSON.stringify({ title: input.slice(0, 12), n: repeat });
    return ` ${input.split('').reverse().join('')} #${repeat} t=${options?.temperature ?? 1} `;
  }
  #result(input: string, options: SamplingOptions | undefined): GenerationResult {
    const rawText = this.#text(input, options);
    return { text: rawText.trim(), rawText, finishReason: 'stop', promptTokens: input.length, outputTokens: rawText.length, timings: null };
  }
  async generate(prompt: string, options?: SamplingOptions) {
    return (await this.generateDetailed(prompt, options)).text;
  }
  async generateDetailed(prompt: string, options?: SamplingOptions) {
    this.calls += 1;
    await new Promise((r) => setTimeout(r, (prompt.length % 3) * 5)); // concurrent calls finish out of order
    return this.#result(prompt, options);
  }
  async *stream(prompt: string, options?: SamplingOptions) {
    this.calls += 1;
    const text = this.#text(prompt, options);
    for (const word of text.match(/[\s\S]{1,4}/g) ?? []) {
      if (options?.signal?.aborted) throw new VllmError('REQUEST_ABORTED', 'the request was aborted');
      await new Promise((r) => setImmediate(r));
      yield word;
    }
  }
  async chat(messages: ChatMessage[], options?: ChatCallOptions) {
    return (await this.chatDetailed(messages, options)).text;
  }
  async chatDetailed(messages: ChatMessage[], options?: ChatCallOptions) {
    this.calls += 1;
    return this.#result(messages.at(-1)!.content, options);
  }
  async *chatStream(messages: ChatMessage[], options?: ChatCallOptions) {
    const { onFinish, ...rest } = options ?? {};
    const result = this.#result(messages.at(-1)!.content, rest);
    this.calls += 1;
    for (const word of result.rawText.match(/[\s\S]{1,4}/g) ?? []) yield word;
    onFinish?.(result);
  }
  extract<S extends z.ZodType>(input: string, schema: S, options?: ExtractOptions) {
    return extract(this, input, schema, options);
  }
  extractMany<S extends z.ZodType>(inputs: readonly string[], schema: S, options?: ExtractManyOptions) {
    return extractMany(this, inputs, schema, options);
  }
  async health() {
    return true;
  }
  async close() {}
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const d of it) out.push(d);
  return out;
}

const Job = z.object({ title: z.string(), n: z.number() });
const messages: ChatMessage[] = [
  { role: 'system', content: 'You extract job titles.' },
  { role: 'user', content: 'Senior Go Engineer' },
];

/** One call of every kind; the same script runs against the recorder and the replay. */
async function script(g: TextGenerator) {
  let finished: GenerationResult | undefined;
  const out = {
    generate: await g.generate('hello', { maxTokens: 4, temperature: 0 }),
    detailed: await g.generateDetailed('hello', { temperature: 0, maxTokens: 4 }),
    stream: await collect(g.stream('a streamed answer', { maxTokens: 8 })),
    chat: await g.chat(messages, { temperature: 0.5 }),
    chatDetailed: await g.chatDetailed(messages),
    chatStream: await collect(g.chatStream(messages, { temperature: 0, onFinish: (r) => (finished = r) })),
    finished: undefined as GenerationResult | undefined,
    extract: await g.extract('Data Analyst, Oslo', Job, { temperature: 0 }),
    many: (await g.extractMany(['Nurse', 'bad json', 'Welder'], Job, { temperature: 0 })).map((o) => (o.ok ? o.value : o.error.code)),
    error: ((await g.generate('please fail', { maxTokens: 2 }).catch((e: unknown) => e)) as VllmError).code,
  };
  out.finished = finished;
  return out;
}

describe('RecordingGenerator → ReplayGenerator', () => {
  it('every call is recorded with its answer, and replayed the same from the file alone', async () => {
    const file = newFile();
    const fake = new FakeGenerator();
    const recorded = await script(new RecordingGenerator(fake, file));
    expect(recorded.error).toBe('INVALID_REQUEST');
    expect(recorded.many).toEqual([{ title: 'Nurse', n: 0 }, 'OUTPUT_INVALID', { title: 'Welder', n: 0 }]);
    expect(recorded.finished?.rawText).toBe(recorded.chatStream.join(''));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ format: 'vllm-node-recording', version: 1 });
    expect(lines.slice(1).map((l) => l.method)).toEqual(['generate', 'generateDetailed', 'stream', 'chat', 'chatDetailed', 'chatStream', 'extract', 'extractMany', 'generate']);
    // A stream is its deltas; the schema is its JSON Schema; a callback is not data.
    expect(lines[3]).toMatchObject({ answer: { deltas: recorded.stream, end: 'done' } });
    expect(lines[7]).toMatchObject({ inputs: ['Data Analyst, Oslo', { type: 'object', required: ['title', 'n'] }], options: { temperature: 0 } });
    expect(lines[6]).toMatchObject({ options: { temperature: 0 }, answer: { result: { rawText: recorded.chatStream.join('') } } });

    const calls = fake.calls;
    const replayed = await script(new ReplayGenerator(file));
    expect(replayed).toEqual(recorded);
    expect(fake.calls).toBe(calls); // the replay never reached the fake
  });

  it('a call is known by its method, inputs and options: key order, signals and callbacks do not matter', async () => {
    const file = newFile();
    const recorder = new RecordingGenerator(new FakeGenerator(), file);
    const answer = await recorder.generate('order', { temperature: 0, maxTokens: 3, stop: ['x'] });
    const replay = new ReplayGenerator(file);
    expect(await replay.generate('order', { stop: ['x'], maxTokens: 3, temperature: 0, signal: new AbortController().signal })).toBe(answer);
  });

  it('a call it has not seen rejects with REPLAY_MISS naming the call and the nearest recorded ones', async () => {
    const file = newFile();
    await new RecordingGenerator(new FakeGenerator(), file).generate('seen', { temperature: 0 });
    const replay = new ReplayGenerator(file);
    const other = await rejection(replay.generate('seen', { temperature: 0.7 }));
    expect(other.code).toBe('REPLAY_MISS');
    expect(other.message).toBe(
      `No recorded answer for generate("seen", {"temperature":0.7}) in ${file} (1 calls recorded); the same generate call was recorded with other options: {"temperature":0}. Record the test again with RecordingGenerator.`,
    );
    expect((await rejection(replay.generateDetailed('seen', { temperature: 0 }))).code).toBe('REPLAY_MISS');
    const stream = await rejection(collect(replay.chatStream([{ role: 'user', content: 'never asked' }])));
    expect(stream.code).toBe('REPLAY_MISS');
    expect(stream.message).toContain('chatStream([{"content":"never asked","role":"user"}], {})');
  });

  it('a repeated call gets the answers recorded for its repeats, in call order, also when they finished out of order', async () => {
    const file = newFile();
    const recorder = new RecordingGenerator(new FakeGenerator(), file);
    const prompts = ['same', 'same', 'a longer one', 'same'];
    const recorded = await Promise.all(prompts.map((p) => recorder.generate(p)));
    expect(new Set(recorded).size).toBe(4);
    const replay = new ReplayGenerator(file);
    expect(await Promise.all(prompts.map((p) => replay.generate(p)))).toEqual(recorded);
    // Past the recorded repeats: the last answer again.
    expect(await replay.generate('same')).toBe(recorded[3]);
  });

  it('streams replay as streams: one delta at a time, an abort stops them, an early stop is recorded as such', async () => {
    const file = newFile();
    const recorder = new RecordingGenerator(new FakeGenerator(), file);
    const full = await collect(recorder.stream('one two three four five six'));
    for await (const _ of recorder.stream('left early after two', { temperature: 0 })) break;
    const replay = new ReplayGenerator(file);

    const seen: string[] = [];
    const controller = new AbortController();
    const err = await (async () => {
      for await (const d of replay.stream('one two three four five six', { signal: controller.signal })) {
        seen.push(d);
        if (seen.length === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect((err as VllmError).code).toBe('REQUEST_ABORTED');
    expect(seen).toEqual(full.slice(0, 2));
    expect((await rejection(replay.generate('x', { signal: AbortSignal.abort() }))).code).toBe('REQUEST_ABORTED');

    // Recorded after one delta (the consumer left): the same consumer replays; reading on is a REPLAY_MISS.
    for await (const d of replay.stream('left early after two', { temperature: 0 })) {
      expect(d).toBe(' owt');
      break;
    }
    const more = await rejection(collect(replay.stream('left early after two', { temperature: 0 })));
    expect(more.message).toMatch(/stops after 1 deltas: its consumer stopped reading there/);
  });

  it('errors come back with their code and details (OUTPUT_INVALID with its raw text); extractMany replays its outcomes and progress', async () => {
    const file = newFile();
    const recorder = new RecordingGenerator(new FakeGenerator(), file);
    const first = await rejection(recorder.chat([{ role: 'user', content: 'fail here' }]));
    const bad = await rejection(recorder.extract('bad json', Job));
    const replay = new ReplayGenerator(file);
    const again = await rejection(replay.chat([{ role: 'user', content: 'fail here' }]));
    expect({ code: again.code, message: again.message, option: again.option }).toEqual({ code: first.code, message: first.message, option: 'prompt' });
    const badAgain = await rejection(replay.extract('bad json', Job));
    expect(badAgain.code).toBe('OUTPUT_INVALID');
    expect(badAgain.rawText).toBe('{"title": ');
    expect(badAgain.message).toBe(bad.message);

    await recorder.extractMany(['Cook', 'bad json'], Job);
    const progress: string[] = [];
    const outcomes = await new ReplayGenerator(file).extractMany(['Cook', 'bad json'], Job, { onProgress: (d, t) => progress.push(`${d}/${t}`) });
    expect(outcomes[0]).toEqual({ ok: true, value: { title: 'Cook', n: 0 } });
    expect(outcomes[1]!.ok ? undefined : outcomes[1]!.error).toBeInstanceOf(VllmError);
    expect(progress).toEqual(['1/2', '2/2']);
  });

  it('a recorded code this version does not know comes back as CALL_FAILED, the recorded code in the message', () => {
    const e = replayError({ name: 'VllmError', code: 'SOME_NEWER_CODE', message: 'it broke' });
    expect(e).toBeInstanceOf(VllmError);
    expect({ code: (e as VllmError).code, message: e.message }).toEqual({ code: 'CALL_FAILED', message: 'it broke (recorded as SOME_NEWER_CODE)' });
  });

  it('close: the recorder closes what it wraps; a closed replay rejects with ENGINE_CLOSED', async () => {
    const file = newFile();
    let closed = false;
    const fake = Object.assign(new FakeGenerator(), { close: async () => void (closed = true) });
    await new RecordingGenerator(fake, file).close();
    expect(closed).toBe(true);
    const replay = new ReplayGenerator(file);
    expect(await replay.health()).toBe(true);
    await replay.close();
    expect(await replay.health()).toBe(false);
    expect((await rejection(replay.generate('x'))).code).toBe('ENGINE_CLOSED');
  });

  it('a file that is not a recording is INVALID_OPTIONS naming it', () => {
    expect(() => new ReplayGenerator(join(dir, 'missing.jsonl'))).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', option: 'file' }));
    const other = join(dir, 'other.jsonl');
    writeFileSync(other, '{"hello":1}\n');
    expect(() => new ReplayGenerator(other)).toThrow(/its first line is \{"hello":1\}, not the header/);
  });
});

describe('the adapters over a recording', () => {
  it('the AI SDK provider: generateText and streamText replay what they recorded, usage and finish reason included', async () => {
    const file = newFile();
    const call = { prompt: 'Title of: Go Engineer', maxOutputTokens: 8, temperature: 0 };
    const recorder = createVllm(new RecordingGenerator(new FakeGenerator(), file));
    const text = await ai.generateText({ model: recorder('fake'), ...call });
    const streamed = ai.streamText({ model: recorder('fake'), ...call });
    const streamedText = await streamed.text;
    const usage = await streamed.usage;

    const replay = createVllm(new ReplayGenerator(file));
    const again = await ai.generateText({ model: replay('fake'), ...call });
    expect(again.text).toBe(text.text);
    expect(again.usage).toEqual(text.usage);
    const s = ai.streamText({ model: replay('fake'), ...call });
    const deltas: string[] = [];
    for await (const d of s.textStream) deltas.push(d);
    expect(deltas.join('')).toBe(streamedText);
    expect(deltas.length).toBeGreaterThan(1);
    expect(await s.usage).toEqual(usage);
    expect(await s.finishReason).toBe('stop');
  });

  it('LangChain: invoke replays; another question is a REPLAY_MISS', async () => {
    const file = newFile();
    const recorded = new ChatVllm({ engine: new RecordingGenerator(new FakeGenerator(), file), temperature: 0 });
    const reply = await recorded.invoke([new HumanMessage('Title of: Rust Engineer')]);
    const replayed = new ChatVllm({ engine: new ReplayGenerator(file), temperature: 0 });
    expect((await replayed.invoke([new HumanMessage('Title of: Rust Engineer')])).content).toBe(reply.content);
    await expect(replayed.invoke([new HumanMessage('something else')])).rejects.toMatchObject({ code: 'REPLAY_MISS' });
  });
});
