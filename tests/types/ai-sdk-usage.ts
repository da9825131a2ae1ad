// Compiled against each `ai` major with that major's own @ai-sdk/provider types (tsconfig.ai6.json,
// tsconfig.ai7.json), as a user's project resolves them: the provider's model must be its LanguageModel.
import type { LanguageModelV3, ProviderV3 } from '@ai-sdk/provider';
import { generateText, Output, streamText, tool, type LanguageModel } from 'ai';
import { z } from 'zod';

import { createVllm } from '../../src/ai-sdk/index.js';
import type { TextGenerator } from '../../src/index.js';

export function usage(generator: TextGenerator) {
  const vllm = createVllm(generator);
  const model: LanguageModel = vllm('any-id');
  const v3: LanguageModelV3 = vllm.languageModel('any-id');
  const provider: ProviderV3 = vllm;
  const Job = z.object({ title: z.string() });
  const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => city });
  return [
    model,
    v3,
    provider,
    generateText({ model, prompt: 'x', tools: { weather }, toolChoice: 'required' }),
    streamText({ model: vllm.languageModel('a'), prompt: 'x', output: Output.object({ schema: Job }) }),
  ];
}
