#!/usr/bin/env node
// The job-posting extraction of examples/demo.mjs, written as a LangChain.js user writes it: a prompt template
// piped into the model's withStructuredOutput, run as a batch; then a streamed answer. The model is the
// in-process engine (no server, no network). Default: the CPU and the small local model built by scripts/setup.sh.
// On a GPU host: DEMO_MODEL=/models/qwen3-4b-instruct DEMO_GPU=1 node examples/langchain.mjs
import { readFileSync } from 'node:fs';

import { ChatPromptTemplate } from '@langchain/core/prompts';
import { cpuProfile, Engine } from 'vllm-node';
import { ChatVllm } from 'vllm-node/langchain';
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
  const llm = new ChatVllm({ engine, temperature: 0, maxTokens: 120 });

  // 1. Typed extraction: prompt | model.withStructuredOutput(Job), batched (vLLM batches the concurrent calls).
  const prompt = ChatPromptTemplate.fromMessages([
    ['system', 'Extract the job posting as JSON.'],
    ['human', '{posting}'],
  ]);
  const extractor = prompt.pipe(llm.withStructuredOutput(Job));
  const jobs = await extractor.batch(postings.map((posting) => ({ posting })), { maxConcurrency: postings.length }, { returnExceptions: true });
  for (const [i, job] of jobs.entries()) console.log(JSON.stringify(job instanceof Error ? { posting: i, error: job.message } : { posting: i, ...job }));

  // 2. Streaming with an abort signal; usage_metadata comes from vLLM's own token counts.
  let last;
  for await (const chunk of await llm.stream(`Summarise in one line: ${postings[0]}`, { signal: AbortSignal.timeout(30_000), maxTokens: 60 })) {
    process.stdout.write(chunk.text);
    last = last ? last.concat(chunk) : chunk;
  }
  console.log(`\n[usage: ${JSON.stringify(last?.usage_metadata)}; prompt tokens by the model's tokenizer: ${await llm.getNumTokens(postings[0])}]`);
} finally {
  await engine.close();
}
