// Record and replay with real vLLM output: the AI SDK provider over a RecordingGenerator of the run's shared engine
// writes what vLLM answered; the same calls through the provider over a ReplayGenerator of that file, with no
// engine behind it, get the same text, deltas, usage and finish reasons; a call that was not recorded fails.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as ai from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createVllm } from '../../src/ai-sdk/index.js';
import { RecordingGenerator, ReplayGenerator, sharedEngineCount } from '../../src/testing/index.js';
import { cpuEngine } from '../helpers/shared-engine.js';

const Job = z.object({ remote: z.boolean(), level: z.enum(['junior', 'senior']), title: z.string().max(12) });
const ask = { prompt: 'Title of: Senior Go Engineer, Remote', maxOutputTokens: 12, temperature: 0 };
const sampled = { system: 'You extract job titles.', prompt: 'Data Engineer, Oslo', maxOutputTokens: 16, temperature: 0.8, seed: 7 };
const structured = { prompt: 'Extract the job: Junior Rust developer, remote', output: ai.Output.object({ schema: Job }), maxOutputTokens: 60, temperature: 0 };

async function streamed(model: ai.LanguageModel) {
  const result = ai.streamText({ model, ...sampled });
  const deltas: string[] = [];
  for await (const d of result.textStream) deltas.push(d);
  return { deltas, usage: await result.usage, finishReason: await result.finishReason };
}

describe('record real vLLM output, replay it through the AI SDK provider', () => {
  it('generateText, streamText and structured output answer the same from the recording alone; a new call is REPLAY_MISS', async () => {
    const engine = await cpuEngine();
    // Every file of this project got this one engine: the run holds one.
    expect(sharedEngineCount()).toBe(1);
    const file = join(mkdtempSync(join(tmpdir(), 'vllm-node-recording-')), 'ai-sdk.jsonl');

    const live = createVllm(new RecordingGenerator(engine, file))('tiny');
    const text = await ai.generateText({ model: live, ...ask });
    const stream = await streamed(live);
    const object = await ai.generateText({ model: live, ...structured });
    expect(stream.deltas.length).toBeGreaterThan(1);
    expect(Job.safeParse(object.output).success).toBe(true);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.slice(1).map((l) => (JSON.parse(l) as { method: string }).method)).toEqual(['chatDetailed', 'chatStream', 'chatDetailed']);

    const replay = createVllm(new ReplayGenerator(file))('tiny');
    const textAgain = await ai.generateText({ model: replay, ...ask });
    expect({ text: textAgain.text, usage: textAgain.usage, finishReason: textAgain.finishReason }).toEqual({ text: text.text, usage: text.usage, finishReason: text.finishReason });
    expect(await streamed(replay)).toEqual(stream);
    expect((await ai.generateText({ model: replay, ...structured })).output).toEqual(object.output);

    await expect(ai.generateText({ model: replay, ...ask, prompt: 'Title of: Junior Go Engineer' })).rejects.toMatchObject({
      code: 'REPLAY_MISS',
      message: expect.stringContaining('"content":"Title of: Junior Go Engineer"'),
    });
  });
});
