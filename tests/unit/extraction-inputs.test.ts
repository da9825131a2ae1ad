// Issue 25, items 1 and 3 without an engine: the constraint options (regex, choice, grammar), extraction's input
// budget over a fake generator whose tokenizer is one token per character, z.enum as a choice, and the token calls
// of RemoteGenerator against a fake vLLM server and a fake server without /tokenize.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { extract, extractMany, type ChatBackend } from '../../src/extract.js';
import { RemoteGenerator, Router, VllmError, type ChatMessage, type SamplingOptions, type TextGenerator } from '../../src/index.js';
import { samplingPayload } from '../../src/sampling.js';
import { registerTokenAccess } from '../../src/tokens.js';
import type { GenerationResult } from '../../src/types.js';

const defaults = { maxTokens: 500, temperature: 0.1, topP: 0.9, frequencyPenalty: 0.1 };

function thrown(fn: () => unknown): VllmError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VllmError);
    return err as VllmError;
  }
  throw new Error('expected a VllmError');
}

async function rejected(p: Promise<unknown>): Promise<VllmError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(VllmError);
  return err as VllmError;
}

describe('constraints: regex, choice, grammar beside jsonSchema', () => {
  it('each goes into the payload under its vLLM name', () => {
    expect(samplingPayload(defaults, { regex: '[0-9]{3}' }).payload.regex).toBe('[0-9]{3}');
    expect(samplingPayload(defaults, { choice: ['remote', 'onsite'] }).payload.choice).toEqual(['remote', 'onsite']);
    expect(samplingPayload(defaults, { grammar: 'root ::= "yes" | "no"' }).payload.grammar).toBe('root ::= "yes" | "no"');
  });

  it('two constraints in one call: INVALID_OPTIONS naming both', () => {
    const err = thrown(() => samplingPayload(defaults, { jsonSchema: { type: 'string' }, regex: 'a+' }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toBe('Invalid options "jsonSchema" and "regex": a call takes one constraint on the output (jsonSchema, regex, choice or grammar)');
    expect(err.option).toBe('regex');
    expect(thrown(() => samplingPayload(defaults, { choice: ['a'], grammar: 'root ::= "a"' })).code).toBe('INVALID_OPTIONS');
  });

  it('bad values name the option; a misspelling gets the right name', () => {
    expect(thrown(() => samplingPayload(defaults, { choice: [] }))).toMatchObject({ code: 'INVALID_OPTIONS', option: 'choice' });
    expect(thrown(() => samplingPayload(defaults, { choice: ['a', ''] }))).toMatchObject({ code: 'INVALID_OPTIONS', option: 'choice.1' });
    expect(thrown(() => samplingPayload(defaults, { regex: '' }))).toMatchObject({ code: 'INVALID_OPTIONS', option: 'regex' });
    expect(thrown(() => samplingPayload(defaults, { grammar: 42 }))).toMatchObject({ code: 'INVALID_OPTIONS', option: 'grammar' });
    expect(thrown(() => samplingPayload(defaults, { regexp: 'a' })).message).toBe('Unknown option "regexp"; did you mean "regex"?');
  });
});

/** A generator whose tokenizer is one token per character, with a context of `context` tokens. */
function fakeGenerator(context: number | undefined, rawText = '{"title":"Go Engineer"}'): ChatBackend & { sent: { messages: ChatMessage[]; options: SamplingOptions }[] } {
  const sent: { messages: ChatMessage[]; options: SamplingOptions }[] = [];
  const g = {
    sent,
    async chatDetailed(messages: ChatMessage[], options: SamplingOptions = {}): Promise<GenerationResult> {
      sent.push({ messages, options });
      const text = typeof options.choice?.[0] === 'string' ? options.choice[0] : rawText;
      return { text, rawText: text, finishReason: 'stop', promptTokens: 0, outputTokens: 5, timings: null };
    },
  };
  registerTokenAccess(g, {
    tokenize: async (text) => [...text].map((c) => c.codePointAt(0)!),
    detokenize: async (ids) => String.fromCodePoint(...ids),
    // The template adds 10 tokens around the messages.
    countTokens: async (messages) => 10 + messages.reduce((n, m) => n + [...m.content].length, 0),
    contextLength: async () => context,
    defaultMaxTokens: 100,
  });
  return g;
}

const Job = z.object({ title: z.string() });

describe('maxInputTokens: the input is cut by tokens, never the instructions or the schema', () => {
  it('by default the input gets what the context leaves after the instructions, the schema and maxTokens', async () => {
    const g = fakeGenerator(1000);
    const posting = 'x'.repeat(5000);
    const truncations: unknown[] = [];
    const value = await extract(g, posting, Job, { maxTokens: 50, onTruncate: (t, i) => truncations.push([t, i]) });
    expect(value).toEqual({ title: 'Go Engineer' });
    const [system, user] = g.sent[0]!.messages;
    expect(system!.content).toContain('JSON Schema:\n{"type":"object"');
    const rest = 10 + [...system!.content].length;
    expect(user!.content).toBe('x'.repeat(1000 - rest - 50));
    expect(truncations).toEqual([[{ from: 5000, to: 1000 - rest - 50 }, 0]]);
    // The instructions are those of an uncut call.
    await extract(g, 'short', Job, { maxTokens: 50 });
    expect(g.sent[1]!.messages[0]).toEqual(system);
    expect(g.sent[1]!.messages[1]!.content).toBe('short');
  });

  it('maxInputTokens below that is the budget; maxTokens comes from the defaults when not given', async () => {
    const g = fakeGenerator(100_000);
    await extract(g, 'y'.repeat(300), Job, { maxInputTokens: 120 });
    expect(g.sent[0]!.messages[1]!.content).toBe('y'.repeat(120));
    const small = fakeGenerator(400);
    await extract(small, 'z'.repeat(1000), Job);
    const rest = 10 + [...small.sent[0]!.messages[0]!.content].length;
    expect(small.sent[0]!.messages[1]!.content).toHaveLength(400 - rest - 100);
  });

  it('extractMany cuts the too-long item instead of failing it, and says so in its outcome only', async () => {
    const g = fakeGenerator(600);
    const indexes: number[] = [];
    const outcomes = await extractMany(g, ['short one', 'w'.repeat(4000), 'another'], Job, { maxTokens: 20, onTruncate: (_, i) => indexes.push(i) });
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    expect(outcomes[0]).toEqual({ ok: true, value: { title: 'Go Engineer' } });
    expect(outcomes[1]!.truncated).toMatchObject({ from: 4000 });
    expect(outcomes[1]!.truncated!.to).toBeLessThan(600);
    expect(indexes).toEqual([1]);
  });

  it('a failed item still says it was cut', async () => {
    const g = fakeGenerator(600, '{"title":42}');
    const [outcome] = await extractMany(g, ['v'.repeat(2000)], Job, { maxTokens: 20 });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'OUTPUT_INVALID' }, truncated: { from: 2000 } });
  });

  it('a generator that throws a plain Error fails that item with CALL_FAILED, the error kept as its cause', async () => {
    const g = fakeGenerator(600);
    const broken = new Error('socket hang up');
    const failing = { ...g, chatDetailed: async (m: ChatMessage[], o?: SamplingOptions) => (m[1]!.content === 'bad' ? Promise.reject(broken) : g.chatDetailed(m, o)) };
    registerTokenAccess(failing, { tokenize: async () => [], detokenize: async () => '', countTokens: async () => 0, contextLength: async () => undefined, defaultMaxTokens: 100 });
    const outcomes = await extractMany(failing, ['good', 'bad'], Job, { maxTokens: 20 });
    expect(outcomes[0]).toEqual({ ok: true, value: { title: 'Go Engineer' } });
    expect(outcomes[1]).toMatchObject({ ok: false, error: { code: 'CALL_FAILED', message: 'socket hang up', cause: broken } });
  });

  it('instructions, schema and maxTokens that leave no room: PROMPT_TOO_LONG, whatever the input', async () => {
    const err = await rejected(extract(fakeGenerator(200), 'x', Job, { maxTokens: 150 }));
    expect(err.code).toBe('PROMPT_TOO_LONG');
    expect(err.message).toContain('maxTokens is 150');
  });

  it('a generator without token access: nothing cut, unless maxInputTokens asks (UNSUPPORTED_OPERATION)', async () => {
    const sent: string[] = [];
    const plain: ChatBackend = {
      async chatDetailed(messages) {
        sent.push(messages[1]!.content);
        return { text: '{"title":"a"}', rawText: '{"title":"a"}', finishReason: 'stop', promptTokens: 0, outputTokens: 1, timings: null };
      },
    };
    await extract(plain, 'q'.repeat(10_000), Job);
    expect(sent[0]).toHaveLength(10_000);
    expect(await extract(plain, 'q', Job, { maxInputTokens: 10 })).toEqual({ title: 'a' });
    const err = await rejected(extract(plain, 'q'.repeat(50), Job, { maxInputTokens: 10 }));
    expect(err).toMatchObject({ code: 'UNSUPPORTED_OPERATION', option: 'maxInputTokens' });
  });

  it('an unknown context length (a server that does not say) cuts only to maxInputTokens', async () => {
    const g = fakeGenerator(undefined);
    await extract(g, 'r'.repeat(50), Job);
    expect(g.sent[0]!.messages[1]!.content).toHaveLength(50);
    await extract(g, 'r'.repeat(50), Job, { maxInputTokens: 7 });
    expect(g.sent[1]!.messages[1]!.content).toBe('rrrrrrr');
  });

  it('bad extraction options are INVALID_OPTIONS before anything is sent', async () => {
    const g = fakeGenerator(1000);
    expect(await rejected(extract(g, 'x', Job, { maxInputTokens: 0 }))).toMatchObject({ code: 'INVALID_OPTIONS', option: 'maxInputTokens' });
    expect((await rejected(extract(g, 'x', Job, { maxInputToken: 5 } as never))).message).toBe('Unknown option "maxInputToken"; did you mean "maxInputTokens"?');
    expect(await rejected(extract(g, 'x', Job, { regex: 'a' }))).toMatchObject({ code: 'INVALID_OPTIONS', option: 'regex' });
    expect(await rejected(extract(g, 'x', Job, { onTruncate: 'yes' } as never))).toMatchObject({ code: 'INVALID_OPTIONS', option: 'onTruncate' });
    expect(await rejected(extractMany(g, ['x'], Job, { maxInputTokens: -1 }))).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(g.sent).toHaveLength(0);
  });
});

describe('extract of a z.enum uses choice', () => {
  it('the choices constrain decoding and are listed for the model; the output is the value as it is', async () => {
    const g = fakeGenerator(1000);
    const Mode = z.enum(['remote', 'onsite', 'hybrid']);
    expect(await extract(g, 'Work from anywhere', Mode)).toBe('remote');
    const { messages, options } = g.sent[0]!;
    expect(options.choice).toEqual(['remote', 'onsite', 'hybrid']);
    expect(options.jsonSchema).toBeUndefined();
    expect(messages[0]!.content).toContain('Choices: ["remote","onsite","hybrid"]');
  });

  it('an enum with non-string values keeps the JSON Schema', async () => {
    enum Level {
      Junior,
      Senior,
    }
    const g = fakeGenerator(1000, '1');
    expect(await extract(g, 'x', z.enum(Level))).toBe(Level.Senior);
    expect(g.sent[0]!.options.jsonSchema).toBeDefined();
  });
});

describe('RemoteGenerator: tokens through vLLM\'s /tokenize and /detokenize', () => {
  const requests: { url: string; body: Record<string, unknown> }[] = [];
  let vllm: Server;
  let plain: Server;
  let remote: RemoteGenerator;
  let openai: RemoteGenerator;

  const chatReply = (content: string) =>
    JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    let text = '';
    for await (const chunk of req) text += chunk;
    return JSON.parse(text) as Record<string, unknown>;
  }
  const listen = async (s: Server) => {
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    vllm = createServer(async (req, res) => {
      const body = await readBody(req);
      requests.push({ url: req.url!, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/tokenize') {
        const tokens = body.messages ? [1, 2, 3, 4, 5, 6] : [...String(body.prompt)].map((c) => c.charCodeAt(0));
        res.end(JSON.stringify({ count: tokens.length, max_model_len: 4096, tokens }));
      } else if (req.url === '/detokenize') {
        res.end(JSON.stringify({ prompt: String.fromCharCode(...(body.tokens as number[])) }));
      } else {
        res.end(chatReply(body.response_format ? '{"title":"Go Engineer"}' : '555-1234'));
      }
    });
    // An OpenAI-compatible endpoint without vLLM's tokenizer endpoints.
    plain = createServer(async (req, res) => {
      const body = await readBody(req);
      requests.push({ url: req.url!, body });
      if (req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(chatReply('{"title":"Go Engineer"}'));
    });
    remote = new RemoteGenerator({ baseURL: `${await listen(vllm)}/v1`, model: 'm' });
    openai = new RemoteGenerator({ baseURL: `${await listen(plain)}/v1`, model: 'm' });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => vllm.close(() => resolve()));
    await new Promise<void>((resolve) => plain.close(() => resolve()));
  });

  it('tokenize, detokenize and countTokens go to the server root, beside /v1', async () => {
    requests.length = 0;
    expect(await remote.tokenize('ab', { addSpecialTokens: false })).toEqual([97, 98]);
    expect(await remote.detokenize([97, 98])).toBe('ab');
    const messages = [{ role: 'user', content: 'hi' }];
    expect(await remote.countTokens(messages, { chatTemplate: '{{ x }}' })).toBe(6);
    expect(requests.map((r) => r.url)).toEqual(['/tokenize', '/detokenize', '/tokenize']);
    expect(requests[0]!.body).toEqual({ model: 'm', prompt: 'ab', add_special_tokens: false });
    expect(requests[2]!.body).toEqual({ model: 'm', messages, add_generation_prompt: true, chat_template: '{{ x }}' });
  });

  it('regex, choice and grammar travel as vLLM\'s structured_outputs', async () => {
    requests.length = 0;
    expect(await remote.chat([{ role: 'user', content: 'phone?' }], { regex: '[0-9]{3}-[0-9]{4}' })).toBe('555-1234');
    expect(requests[0]!.body).toMatchObject({ structured_outputs: { regex: '[0-9]{3}-[0-9]{4}' } });
    expect(requests[0]!.body.regex).toBeUndefined();
  });

  it("extraction against vLLM's server cuts a long input to what its max_model_len leaves", async () => {
    requests.length = 0;
    const truncations: unknown[] = [];
    expect(await remote.extract('k'.repeat(10_000), Job, { maxTokens: 100, onTruncate: (t) => truncations.push(t) })).toEqual({ title: 'Go Engineer' });
    // The fake server counts any chat as 6 tokens: 4096 - 6 - 100 are left for the input.
    expect(truncations).toEqual([{ from: 10_000, to: 3990 }]);
    const chat = requests.find((r) => r.url === '/v1/chat/completions')!;
    expect((chat.body.messages as ChatMessage[])[1]!.content).toBe('k'.repeat(3990));
  });

  it('an endpoint without /tokenize: UNSUPPORTED_OPERATION for the token calls; extraction cuts nothing there', async () => {
    for (const call of [() => openai.tokenize('x'), () => openai.detokenize([1]), () => openai.countTokens('x')]) {
      const err = await rejected(call());
      expect(err.code).toBe('UNSUPPORTED_OPERATION');
      expect(err.message).toContain("token counts need vLLM's server");
    }
    requests.length = 0;
    expect(await openai.extract('k'.repeat(10_000), Job)).toEqual({ title: 'Go Engineer' });
    const chat = requests.find((r) => r.url === '/v1/chat/completions')!;
    expect((chat.body.messages as ChatMessage[])[1]!.content).toHaveLength(10_000);
    // maxInputTokens: an input short enough to fit without counting passes; a longer one needs the tokenizer.
    expect(await openai.extract('x', Job, { maxInputTokens: 5 })).toEqual({ title: 'Go Engineer' });
    expect((await rejected(openai.extract('x'.repeat(50), Job, { maxInputTokens: 5 }))).code).toBe('UNSUPPORTED_OPERATION');
  });

  it('Router passes the token calls on, and says UNSUPPORTED_OPERATION for a generator without them', async () => {
    const bare = { close: async () => {} } as unknown as TextGenerator;
    expect(await new Router({ local: remote, remote }).tokenize('a')).toEqual([97]);
    expect((await rejected(new Router({ local: bare, remote, prefer: 'local' }).countTokens('a'))).code).toBe('UNSUPPORTED_OPERATION');
  });
});
