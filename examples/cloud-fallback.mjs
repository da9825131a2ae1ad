#!/usr/bin/env node
// Local first, cloud endpoint on local failure: the hybrid strategy.
// Usage: OPENAI_BASE_URL=http://host:8000/v1 OPENAI_MODEL=name node examples/cloud-fallback.mjs [local-model]
import { Engine, RemoteGenerator, Router } from 'vllm-node';

const router = new Router({
  local: () => Engine.create({ model: process.argv[2] ?? process.env.DEFAULT_MODEL_PATH }),
  remote: new RemoteGenerator({ baseURL: process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:8000/v1', model: process.env.OPENAI_MODEL ?? 'default' }),
  onFallback: (err) => console.error(`local engine unavailable (${err.code}): using the endpoint`),
});
console.log(await router.generate('Extract job title from: Software Engineer - Remote', { maxTokens: 20 }));
await router.close();
