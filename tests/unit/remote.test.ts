// RemoteGenerator's request bodies, against a local fake OpenAI-compatible endpoint (no model, no vLLM).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RemoteGenerator } from '../../src/index.js';

const bodies: Record<string, unknown>[] = [];
let server: Server;
let remote: RemoteGenerator;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text) as Record<string, unknown>;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    bodies.push(body);
    // Like vLLM's server with a reasoning parser: the reasoning beside the answer when the template thinks.
    const thinks = (body.chat_template_kwargs as { enable_thinking?: boolean } | undefined)?.enable_thinking === true;
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (thinks) res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { reasoning: 'A title.' }, finish_reason: null }] })}\n\n`);
      for (const text of ['Go ', 'Engineer']) {
        res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'x',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: body.response_format ? '"Go Engineer"' : 'Go Engineer', ...(thinks ? { reasoning_content: 'A title.' } : {}) },
            finish_reason: 'stop',
            // As OpenAI's API (and vllm serve) answer `logprobs: true, top_logprobs: N`: token text, no ids.
            ...(body.logprobs === true
              ? { logprobs: { content: (body.response_format ? ['"', 'Go', ' Engineer', '"'] : ['Go', ' Engineer']).map((token, i) => ({ token, logprob: i === 1 ? -0.5 : -0.01, bytes: null, top_logprobs: body.top_logprobs ? [{ token, logprob: -0.01, bytes: null }] : [] })) } }
              : {}),
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  remote = new RemoteGenerator({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, model: 'm' });
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('RemoteGenerator chat with chatTemplate', () => {
  const messages = [{ role: 'user', content: 'Title of: Go Engineer, Remote?' }];
  const chatTemplate = '{% for m in messages %}{{ m.content }}{% endfor %}';

  it('chatStream sends chat_template (vLLM extension) instead of rejecting it as a sampling option', async () => {
    bodies.length = 0;
    const deltas: string[] = [];
    for await (const d of remote.chatStream(messages, { chatTemplate, maxTokens: 5 })) deltas.push(d);
    expect(deltas.join('')).toBe('Go Engineer');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ chat_template: chatTemplate, max_tokens: 5, stream: true, messages });
  });

  it('chatDetailed sends the same body, without streaming', async () => {
    bodies.length = 0;
    const r = await remote.chatDetailed(messages, { chatTemplate, maxTokens: 5 });
    expect(r).toMatchObject({ text: 'Go Engineer', finishReason: 'stop', outputTokens: 2 });
    expect(bodies[0]).toMatchObject({ chat_template: chatTemplate, max_tokens: 5, messages });
    expect(bodies[0]!.stream).toBe(false);
  });
});

describe('RemoteGenerator and options it cannot return', () => {
  it('n is refused with INVALID_OPTIONS naming the option, before any request is sent', async () => {
    bodies.length = 0;
    const err = await remote.generateDetailed('x', { n: 2 }).catch((e: unknown) => e as { code?: string; option?: string });
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS', option: 'n' });
    expect(bodies).toHaveLength(0);
  });
});

describe('RemoteGenerator and log-probabilities', () => {
  const messages = [{ role: 'user', content: 'Title of: Go Engineer, Remote?' }];

  it("chat asks in OpenAI's shape (logprobs: true, top_logprobs) and returns them as the engine does, token ids -1", async () => {
    bodies.length = 0;
    const r = await remote.chatDetailed(messages, { logprobs: 1 });
    expect(bodies[0]).toMatchObject({ logprobs: true, top_logprobs: 1 });
    expect(r.logprobs).toEqual([
      { token: 'Go', tokenId: -1, logprob: -0.01, top: [{ token: 'Go', tokenId: -1, logprob: -0.01 }] },
      { token: ' Engineer', tokenId: -1, logprob: -0.5, top: [{ token: ' Engineer', tokenId: -1, logprob: -0.01 }] },
    ]);
  });

  it('extractDetailed over the endpoint: each field with its confidence and span', async () => {
    const { z } = await import('zod');
    const { value, fields } = await remote.extractDetailed('Go Engineer, Remote', z.string());
    expect(value).toBe('Go Engineer');
    expect(fields.$).toMatchObject({ value: 'Go Engineer', confidence: Math.exp(-0.5), span: { start: 0, end: 11 } });
  });
});

describe('RemoteGenerator and thinking models', () => {
  const messages = [{ role: 'user', content: 'Title of: Go Engineer, Remote?' }];

  it('thinking and chatTemplateKwargs go as vLLM\'s chat_template_kwargs; the reasoning comes back apart, whole and streamed', async () => {
    bodies.length = 0;
    const r = await remote.chatDetailed(messages, { thinking: true, chatTemplateKwargs: { custom: 1 } });
    expect(bodies[0]!.chat_template_kwargs).toEqual({ custom: 1, enable_thinking: true, thinking: true });
    expect(r).toMatchObject({ text: 'Go Engineer', reasoning: 'A title.' });
    const thoughts: string[] = [];
    let finished: { reasoning?: string } | undefined;
    const deltas: string[] = [];
    for await (const d of remote.chatStream(messages, { thinking: true, onReasoning: (t) => thoughts.push(t), onFinish: (f) => (finished = f) })) deltas.push(d);
    expect(deltas.join('')).toBe('Go Engineer');
    expect(thoughts).toEqual(['A title.']);
    expect(finished?.reasoning).toBe('A title.');
    expect(bodies[1]).not.toHaveProperty('onReasoning');
  });

  it("countTokens sends the template variables chat() would (vLLM's /tokenize takes chat_template_kwargs)", async () => {
    bodies.length = 0;
    await remote.countTokens(messages, { thinking: false }).catch(() => undefined); // the fake has no /tokenize answer
    expect(bodies[0]).toMatchObject({ messages, chat_template_kwargs: { enable_thinking: false, thinking: false } });
  });

  it("an onReasoning that throws reaches the caller as thrown, not as the endpoint's failure", async () => {
    const boom = new Error('caller bug');
    const read = async () => {
      for await (const _ of remote.chatStream(messages, { thinking: true, onReasoning: () => { throw boom; } })) void _;
    };
    await expect(read()).rejects.toBe(boom);
  });

  it('a text prompt refuses template variables (INVALID_OPTIONS) before any request', async () => {
    bodies.length = 0;
    await expect(remote.generate('x', { thinking: false })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', option: 'thinking' });
    await expect(remote.generate('x', { chatTemplateKwargs: { a: 1 } })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', option: 'chatTemplateKwargs' });
    expect(bodies).toHaveLength(0);
  });

  it("extraction's own thinking-off default is not sent (OpenAI-compatible services other than vLLM refuse the field); the caller's is", async () => {
    const { z } = await import('zod');
    bodies.length = 0;
    const chats = () => bodies.filter((b) => b.messages !== undefined); // the fake also answers the context-length probe
    expect(await remote.extract('Go Engineer, Remote', z.string())).toBe('Go Engineer');
    expect(chats()[0]).not.toHaveProperty('chat_template_kwargs');
    await remote.extract('Go Engineer, Remote', z.string(), { thinking: false });
    expect(chats()[1]!.chat_template_kwargs).toEqual({ enable_thinking: false, thinking: false });
  });
});
