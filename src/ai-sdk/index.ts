/**
 * `vllm-node/ai-sdk`: a Vercel AI SDK provider over any vllm-node TextGenerator (an Engine, a Router...).
 *
 * ```ts
 * import { generateText } from 'ai';
 * import { createVllm } from 'vllm-node/ai-sdk';
 * const vllm = createVllm(await Engine.create({ model }));
 * const { text } = await generateText({ model: vllm('qwen3'), prompt: 'Hello' });
 * ```
 */
import { NoSuchModelError, type EmbeddingModelV3, type ImageModelV3, type ProviderV3 } from '@ai-sdk/provider';

import type { TextGenerator } from '../generator.js';
import { VllmChatLanguageModel } from './model.js';

export { VllmChatLanguageModel } from './model.js';
export { VllmProviderOptionsSchema, type VllmProviderOptions } from './call-options.js';

export interface VllmProviderSettings {
  /** The `provider` name models report (default "vllm"); provider options are always read from `providerOptions.vllm`. */
  name?: string;
}

export interface VllmProvider extends ProviderV3 {
  /** The model id is a label for the AI SDK's telemetry: the generator's loaded model answers every id. */
  (modelId?: string): VllmChatLanguageModel;
  languageModel(modelId: string): VllmChatLanguageModel;
  embeddingModel(modelId: string): EmbeddingModelV3;
  imageModel(modelId: string): ImageModelV3;
}

export function createVllm(generator: TextGenerator, settings: VllmProviderSettings = {}): VllmProvider {
  const name = settings.name ?? 'vllm';
  const languageModel = (modelId = 'default') => new VllmChatLanguageModel(generator, modelId, name);
  const noSuch = (modelType: 'embeddingModel' | 'imageModel') => (modelId: string): never => {
    throw new NoSuchModelError({ modelId, modelType, message: `vllm-node serves chat/text models only; no ${modelType} "${modelId}"` });
  };
  return Object.assign((modelId?: string) => languageModel(modelId), {
    specificationVersion: 'v3' as const,
    languageModel,
    embeddingModel: noSuch('embeddingModel'),
    imageModel: noSuch('imageModel'),
  });
}
