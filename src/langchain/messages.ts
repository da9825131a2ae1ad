/** LangChain messages as chat messages for the model's own template, and model output as AI messages. */
import { AIMessage, AIMessageChunk, type BaseMessage, type ToolCall, type ToolCallChunk, type UsageMetadata } from '@langchain/core/messages';

import { VllmError } from '../errors.js';
import { renderToolCall, type ParsedToolCall } from '../integrations/tool-calls.js';
import type { ChatMessage, GenerationResult } from '../types.js';

const ROLES: Record<string, ChatMessage['role']> = { human: 'user', ai: 'assistant', system: 'system', developer: 'system', tool: 'tool' };

export function toChatMessages(messages: BaseMessage[]): ChatMessage[] {
  return messages.map((m) => {
    const type = m.getType();
    const role = ROLES[type] ?? (type === 'generic' ? String((m as unknown as { role: string }).role) : undefined);
    if (role === undefined) throw new VllmError('INVALID_REQUEST', `Expected human, ai, system or tool messages; received a "${type}" message`);
    let content = m.text;
    if (type === 'ai') {
      const calls = (m as AIMessage).tool_calls ?? [];
      content = [content, ...calls.map((c) => renderToolCall(c.name, c.args))].filter(Boolean).join('\n');
    }
    return { role, content };
  });
}

export function usageMetadata(result: Pick<GenerationResult, 'promptTokens' | 'outputTokens'>): UsageMetadata {
  return { input_tokens: result.promptTokens, output_tokens: result.outputTokens, total_tokens: result.promptTokens + result.outputTokens };
}

let callSeq = 0;
const callId = () => `call_${Date.now().toString(36)}_${(callSeq++).toString(36)}`;

export function toolCalls(calls: ParsedToolCall[]): ToolCall[] {
  return calls.map((c) => ({ type: 'tool_call', id: callId(), name: c.name, args: JSON.parse(c.arguments) as Record<string, unknown> }));
}

export function toolCallChunks(calls: ParsedToolCall[], first: number): ToolCallChunk[] {
  return calls.map((c, i) => ({ type: 'tool_call_chunk', id: callId(), name: c.name, args: c.arguments, index: first + i }));
}

export function aiMessage(text: string, calls: ParsedToolCall[], result: GenerationResult): AIMessage {
  const message = new AIMessage({
    content: text,
    tool_calls: toolCalls(calls),
    response_metadata: { finish_reason: calls.length > 0 ? 'tool_calls' : result.finishReason, model_provider: 'vllm-node' },
  });
  // Assigned, not passed: with the default message structure the field's type infers as `undefined` under
  // exactOptionalPropertyTypes, though LangChain reads it at run time.
  return Object.assign(message, { usage_metadata: usageMetadata(result) });
}

export function lastChunk(result: GenerationResult | undefined, calls: number): AIMessageChunk {
  const chunk = new AIMessageChunk({ content: '', response_metadata: { finish_reason: calls > 0 ? 'tool_calls' : (result?.finishReason ?? null), model_provider: 'vllm-node' } });
  return result ? Object.assign(chunk, { usage_metadata: usageMetadata(result) }) : chunk;
}
