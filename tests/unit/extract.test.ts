// The one extraction implementation (src/extract.ts), over a fake chat backend: what the CLI's `extract` and
// Engine/RemoteGenerator.extract share — constrained decoding, the truncation check, schema validation.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { extract, extractWith, fromJsonSchema, type ChatBackend } from '../../src/extract.js';
import { VllmError } from '../../src/index.js';
import type { GenerationResult } from '../../src/types.js';

function backend(rawText: string, finishReason = 'stop'): ChatBackend & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    async chatDetailed(messages, options) {
      calls.push({ messages, options });
      return { text: rawText.trim(), rawText, finishReason, promptTokens: 1, outputTokens: 7, timings: null } satisfies GenerationResult;
    },
  };
}

async function rejected(p: Promise<unknown>): Promise<VllmError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(VllmError);
  return err as VllmError;
}

const fileSchema = {
  type: 'object',
  properties: { title: { type: 'string', description: 'job title only' }, remote: { type: 'boolean' } },
  required: ['title', 'remote'],
};

describe('extractWith (the CLI path: a JSON Schema file)', () => {
  it('passes the JSON Schema to the backend unchanged and returns the validated value', async () => {
    const b = backend('{"title":"Go Engineer","remote":true}');
    const value = await extractWith(b, 'Go Engineer, Remote', fromJsonSchema(fileSchema), fileSchema, { maxTokens: 50 });
    expect(value).toEqual({ title: 'Go Engineer', remote: true });
    expect((b.calls[0] as { options: { jsonSchema: unknown; maxTokens: number } }).options).toMatchObject({ jsonSchema: fileSchema, maxTokens: 50 });
  });

  it('output cut off at maxTokens: OUTPUT_INVALID naming maxTokens, rawText attached', async () => {
    const err = await rejected(extractWith(backend('{"title":"Go Eng', 'length'), 'x', fromJsonSchema(fileSchema), fileSchema));
    expect(err.code).toBe('OUTPUT_INVALID');
    expect(err.message).toContain('cut off at maxTokens');
    expect(err.rawText).toBe('{"title":"Go Eng');
  });

  it('output that does not match the schema: OUTPUT_INVALID naming the key', async () => {
    const err = await rejected(extractWith(backend('{"title":"Go Engineer","remote":"yes"}'), 'x', fromJsonSchema(fileSchema), fileSchema));
    expect(err.code).toBe('OUTPUT_INVALID');
    expect(err.message).toContain('at "remote"');
  });

  it('a JSON Schema zod cannot convert: INVALID_OPTIONS', () => {
    expect(() => fromJsonSchema({ type: 'no-such-type' })).toThrow(VllmError);
    try {
      fromJsonSchema({ type: 'no-such-type' });
    } catch (err) {
      expect((err as VllmError).code).toBe('INVALID_OPTIONS');
    }
  });

  it('draft-7 definitions/$ref are understood', async () => {
    const schema = { type: 'object', properties: { a: { $ref: '#/definitions/s' } }, required: ['a'], definitions: { s: { type: 'string' } } };
    expect(await extractWith(backend('{"a":"x"}'), 'x', fromJsonSchema(schema), schema)).toEqual({ a: 'x' });
  });
});

describe('extract (zod schema) goes through the same path', () => {
  it('sends the converted JSON Schema and applies the truncation check', async () => {
    const Job = z.object({ title: z.string() });
    const b = backend('{"title":"Go Engineer"}');
    expect(await extract(b, 'x', Job)).toEqual({ title: 'Go Engineer' });
    expect((b.calls[0] as { options: { jsonSchema: { properties: unknown } } }).options.jsonSchema.properties).toEqual({ title: { type: 'string' } });
    expect((await rejected(extract(backend('{"ti', 'length'), 'x', Job))).code).toBe('OUTPUT_INVALID');
  });
});
