/** AI SDK call options as vllm-node chat options; whatever is not honoured becomes a warning. */
import type { LanguageModelV3CallOptions, LanguageModelV3FinishReason, LanguageModelV3Usage, SharedV3Warning } from '@ai-sdk/provider';
import { z } from 'zod';

import type { ChatCallOptions } from '../generator.js';
import { forcedToolCallSchema } from '../integrations/tool-calls.js';
import { SamplingOptionsSchema } from '../options.js';
import type { ChatTool, GenerationResult } from '../types.js';

/** `providerOptions.vllm`: the vLLM options the AI SDK has no call option for. Unknown keys are errors. */
export const VllmProviderOptionsSchema = SamplingOptionsSchema.pick({ ignoreEos: true, jsonSchema: true, thinking: true, chatTemplateKwargs: true }).extend({
  chatTemplate: z.string().optional().describe('A Jinja chat template for models without one.'),
});
export type VllmProviderOptions = z.infer<typeof VllmProviderOptionsSchema>;

/** How the output is read: plain text with optional `<tool_call>` blocks, or one JSON tool call (forced). */
export type ToolMode = 'none' | 'auto' | 'forced';

export interface MappedCall {
  options: ChatCallOptions;
  toolMode: ToolMode;
  warnings: SharedV3Warning[];
}

export function mapCallOptions(call: LanguageModelV3CallOptions, vllm: VllmProviderOptions | undefined): MappedCall {
  const warnings: SharedV3Warning[] = [];
  const options: ChatCallOptions = {};
  if (call.maxOutputTokens !== undefined) options.maxTokens = call.maxOutputTokens;
  if (call.temperature !== undefined) options.temperature = call.temperature;
  if (call.topP !== undefined) options.topP = call.topP;
  if (call.topK !== undefined) options.topK = call.topK;
  if (call.frequencyPenalty !== undefined) options.frequencyPenalty = call.frequencyPenalty;
  if (call.presencePenalty !== undefined) options.presencePenalty = call.presencePenalty;
  if (call.seed !== undefined) options.seed = call.seed;
  if (call.stopSequences !== undefined && call.stopSequences.length > 0) options.stop = call.stopSequences;
  if (call.abortSignal !== undefined) options.signal = call.abortSignal;
  // The AI SDK adds its own user-agent to every call; other headers are the caller's and go nowhere.
  const headers = Object.entries(call.headers ?? {}).filter(([k, v]) => v !== undefined && k.toLowerCase() !== 'user-agent');
  if (headers.length > 0) {
    warnings.push({ type: 'unsupported', feature: 'headers', details: `an in-process engine has no HTTP request (${headers.map(([k]) => k).join(', ')})` });
  }
  if (call.includeRawChunks) warnings.push({ type: 'unsupported', feature: 'includeRawChunks', details: 'the engine streams text deltas only' });

  if (vllm?.ignoreEos !== undefined) options.ignoreEos = vllm.ignoreEos;
  if (vllm?.chatTemplate !== undefined) options.chatTemplate = vllm.chatTemplate;
  if (vllm?.thinking !== undefined) options.thinking = vllm.thinking;
  if (vllm?.chatTemplateKwargs !== undefined) options.chatTemplateKwargs = vllm.chatTemplateKwargs;

  let jsonSchema: Record<string, unknown> | undefined = vllm?.jsonSchema;
  if (call.responseFormat?.type === 'json') {
    if (jsonSchema !== undefined) {
      warnings.push({ type: 'other', message: 'providerOptions.vllm.jsonSchema overrides responseFormat' });
    } else if (call.responseFormat.schema !== undefined) {
      jsonSchema = call.responseFormat.schema as Record<string, unknown>;
    } else {
      // No schema: any JSON value, still through structured outputs.
      jsonSchema = {};
    }
  }

  const { tools, toolMode, schema, warnings: toolWarnings } = mapTools(call);
  warnings.push(...toolWarnings);
  if (tools.length > 0) options.tools = tools;
  if (schema !== undefined) {
    if (jsonSchema !== undefined) {
      warnings.push({ type: 'unsupported', feature: 'responseFormat together with a forced tool call', details: 'the tool call schema constrains the output' });
    }
    jsonSchema = schema;
  }
  if (jsonSchema !== undefined) options.jsonSchema = jsonSchema;
  return { options, toolMode, warnings };
}

function mapTools(call: LanguageModelV3CallOptions): { tools: ChatTool[]; toolMode: ToolMode; schema?: Record<string, unknown>; warnings: SharedV3Warning[] } {
  const warnings: SharedV3Warning[] = [];
  const tools: ChatTool[] = [];
  for (const tool of call.tools ?? []) {
    if (tool.type !== 'function') {
      warnings.push({ type: 'unsupported', feature: `provider-defined tool ${tool.id}`, details: 'only function tools run on a local model' });
      continue;
    }
    // `$schema` says nothing to the model; it only costs prompt tokens.
    const { $schema: _draft, ...parameters } = tool.inputSchema as Record<string, unknown>;
    const fn: ChatTool['function'] = { name: tool.name, parameters };
    if (tool.description !== undefined) fn.description = tool.description;
    tools.push({ type: 'function', function: fn });
  }
  const choice = call.toolChoice ?? { type: 'auto' };
  if (tools.length === 0 || choice.type === 'none') return { tools: [], toolMode: 'none', warnings };
  if (choice.type === 'auto') return { tools, toolMode: 'auto', warnings };
  const forced = choice.type === 'tool' ? tools.filter((t) => t.function.name === choice.toolName) : tools;
  if (forced.length === 0) {
    warnings.push({ type: 'unsupported', feature: `toolChoice ${choice.type === 'tool' ? choice.toolName : ''}`, details: 'no function tool of that name; the model chooses freely' });
    return { tools, toolMode: 'auto', warnings };
  }
  return { tools, toolMode: 'forced', schema: forcedToolCallSchema(forced), warnings };
}

/**
 * vLLM's finish reason in the AI SDK's terms. A forced tool call is complete once its JSON parses, even when vLLM
 * stopped on the length limit (the grammar lets whitespace follow the closed object), so it is 'tool-calls': the
 * AI SDK runs tools only then.
 */
export function mapFinishReason(raw: string | null, toolCalls: number, mode: ToolMode): LanguageModelV3FinishReason {
  const rawReason = raw ?? undefined;
  if (toolCalls > 0 && (raw === 'stop' || raw === null || mode === 'forced')) return { unified: 'tool-calls', raw: rawReason };
  switch (raw) {
    case 'stop':
      return { unified: 'stop', raw: rawReason };
    case 'length':
      return { unified: 'length', raw: rawReason };
    default:
      return { unified: 'other', raw: rawReason };
  }
}

export function mapUsage(result: Pick<GenerationResult, 'promptTokens' | 'outputTokens'> | undefined): LanguageModelV3Usage {
  return {
    inputTokens: { total: result?.promptTokens, noCache: result?.promptTokens, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: result?.outputTokens, text: result?.outputTokens, reasoning: undefined },
  };
}
