#!/usr/bin/env node
// The job-posting extraction of examples/demo.mjs, written as a Vercel AI SDK user writes it: generateText with
// Output.object, a streamed summary, and a tool call. The model is the in-process engine (no server, no network).
// Default: the CPU and the small local model built by scripts/setup.sh.
// On a GPU host: DEMO_MODEL=/models/qwen3-4b-instruct DEMO_GPU=1 node examples/ai-sdk.mjs
import { readFileSync } from 'node:fs';

import { generateText, Output, stepCountIs, streamText, tool } from 'ai';
import { cpuProfile, Engine } from 'vllm-node';
import { createVllm } from 'vllm-node/ai-sdk';
import { z } from 'zod';

const model = process.env.DEMO_MODEL ?? new URL('../.models/smollm2-135m-instruct', import.meta.url).pathname;
const postings = JSON.parse(readFileSync(new URL('job-postings.json', import.meta.url), 'utf8'));
const cpu = cpuProfile({ maxModelLen: 2048 });

const Job = z.object({
  title: z.string().describe('job title only, without location or salary'),
  company: z.string().describe('hiring company, or "unknown"'),
  location: z.string().describe('city and country, or "Remote"'),
  remote: z.boolean(),
});

const engine = await Engine.create({ model, ...(process.env.DEMO_GPU ? {} : cpu) }, { configFile: false });
try {
  const vllm = createVllm(engine);

  // 1. Typed extraction: every posting at once (vLLM batches the concurrent calls).
  const jobs = await Promise.all(
    postings.map((posting) =>
      generateText({
        model: vllm('job-extractor'),
        system: 'Extract the job posting as JSON.',
        prompt: posting,
        output: Output.object({ schema: Job }),
        temperature: 0,
        maxOutputTokens: 120,
      }).then(
        (r) => ({ ok: true, job: r.output, tokens: r.usage.outputTokens }),
        (err) => ({ ok: false, error: err.message }),
      ),
    ),
  );
  for (const [i, r] of jobs.entries()) console.log(JSON.stringify({ posting: i, ...r }));

  // 2. Streaming, with the abort signal the AI SDK passes down (aborting removes the request from vLLM).
  const summary = streamText({ model: vllm('job-extractor'), prompt: `Summarise in one line: ${postings[0]}`, maxOutputTokens: 60, abortSignal: AbortSignal.timeout(30_000) });
  for await (const delta of summary.textStream) process.stdout.write(delta);
  console.log(`\n[${(await summary.usage).outputTokens} tokens, ${await summary.finishReason}]`);

  // 3. A tool call (Qwen3's <tool_call> format; toolChoice "required" is enforced with structured outputs).
  const salaries = { 'Acme Cloud': '$150k-$180k' };
  const { toolResults } = await generateText({
    model: vllm('job-extractor'),
    prompt: `What does Acme Cloud pay? ${postings[0]}`,
    tools: {
      salaryOf: tool({
        description: 'Salary band of a company',
        inputSchema: z.object({ company: z.string() }),
        execute: async ({ company }) => salaries[company] ?? 'unknown',
      }),
    },
    toolChoice: 'required',
    stopWhen: stepCountIs(1),
    maxOutputTokens: 60,
    temperature: 0,
  });
  console.log('tool results:', JSON.stringify(toolResults.map((r) => ({ input: r.input, output: r.output }))));
} finally {
  await engine.close();
}
