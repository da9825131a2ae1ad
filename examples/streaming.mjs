#!/usr/bin/env node
// Streaming with cancellation: print deltas as they come, stop after 2 seconds.
// Usage: node examples/streaming.mjs [model]   (the CPU profile; drop it on a GPU)
import { cpuProfile, Engine } from 'vllm-node';

const model = process.argv[2] ?? new URL('../.models/smollm2-135m-instruct', import.meta.url).pathname;
const engine = await Engine.create({ model, ...cpuProfile() }, { configFile: false });
const controller = new AbortController();
setTimeout(() => controller.abort(), 2000);
try {
  for await (const delta of engine.chatStream([{ role: 'user', content: 'Write a short job ad for a Go engineer.' }], { maxTokens: 300, signal: controller.signal })) {
    process.stdout.write(delta);
  }
} catch (err) {
  if (err.code !== 'REQUEST_ABORTED') throw err;
  console.log('\n[aborted after 2 s; the request was removed from vLLM’s scheduler]');
}
await engine.close();
