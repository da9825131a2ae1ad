/** AI SDK prompts (LanguageModelV3Prompt) as chat messages for the model's own chat template. */
import type { LanguageModelV3Prompt, LanguageModelV3ToolResultOutput, SharedV3Warning } from '@ai-sdk/provider';

import type { ChatMessage } from '../types.js';
import { renderToolCall } from '../integrations/tool-calls.js';

export function toChatMessages(prompt: LanguageModelV3Prompt): { messages: ChatMessage[]; warnings: SharedV3Warning[] } {
  const messages: ChatMessage[] = [];
  const warnings: SharedV3Warning[] = [];
  const skipped = new Set<string>();
  const skip = (feature: string) => {
    if (skipped.has(feature)) return;
    skipped.add(feature);
    warnings.push({ type: 'unsupported', feature, details: 'vllm-node chat models take text only; this part was left out of the prompt' });
  };
  for (const message of prompt) {
    switch (message.role) {
      case 'system':
        messages.push({ role: 'system', content: message.content });
        break;
      case 'user': {
        const texts: string[] = [];
        for (const part of message.content) {
          if (part.type === 'text') texts.push(part.text);
          else skip(`${part.type} parts (${part.mediaType})`);
        }
        messages.push({ role: 'user', content: texts.join('\n') });
        break;
      }
      case 'assistant': {
        const texts: string[] = [];
        for (const part of message.content) {
          if (part.type === 'text') texts.push(part.text);
          else if (part.type === 'tool-call') texts.push(renderToolCall(part.toolName, part.input));
          else if (part.type === 'reasoning') skip('reasoning parts in assistant messages');
          else if (part.type === 'file') skip(`file parts (${part.mediaType})`);
          else skip(`${part.type} parts in assistant messages`);
        }
        messages.push({ role: 'assistant', content: texts.join('\n') });
        break;
      }
      case 'tool':
        for (const part of message.content) {
          if (part.type === 'tool-result') messages.push({ role: 'tool', content: toolOutputText(part.output) });
          else skip(`${part.type} parts`);
        }
        break;
    }
  }
  return { messages, warnings };
}

/** A tool result as the text the template puts in `<tool_response>`. */
export function toolOutputText(output: LanguageModelV3ToolResultOutput): string {
  switch (output.type) {
    case 'text':
    case 'error-text':
      return output.value;
    case 'json':
    case 'error-json':
      return JSON.stringify(output.value);
    case 'execution-denied':
      return `Tool execution denied${output.reason ? `: ${output.reason}` : ''}`;
    case 'content':
      return output.value.map((p) => (p.type === 'text' ? p.text : `[${p.type}]`)).join('\n');
    default:
      return JSON.stringify(output);
  }
}
