// Prompts and answers in the shape of the GenAI conventions' gen_ai.input.messages / gen_ai.output.messages /
// gen_ai.system_instructions (JSON: messages of role + typed parts). Only used with `captureContent: true`.
import type { FinishReason, LlmMessage, LlmPart, LlmRequest, LlmResponse } from '../../core/llm/types.ts';

type Part = Record<string, unknown>;

/** The conventions' finish reasons (`tool_call`, `content_filter`), from the neutral model's. */
export function finishReasonOf(reason: FinishReason): string {
  if (reason === 'tool-calls') return 'tool_call';
  if (reason === 'content-filter') return 'content_filter';
  return reason;
}

function toolArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function partsOf(parts: LlmPart[]): Part[] {
  const out: Part[] = [];
  for (const part of parts) {
    if (part.type === 'text') out.push({ type: 'text', content: part.text });
    else if (part.type === 'reasoning') out.push({ type: 'reasoning', content: part.text });
    else if (part.type === 'tool-call') out.push({ type: 'tool_call', id: part.id, name: part.name, arguments: toolArguments(part.arguments) });
    else if (part.type === 'tool-result') {
      out.push({ type: 'tool_call_response', id: part.toolCallId, response: part.content.map((inner) => (inner.type === 'text' ? inner.text : '')).join('') });
    }
    // Images, files and audio are never copied into telemetry: their kind is enough.
    else out.push({ type: 'opaque' });
  }
  return out;
}

/** A system prompt given apart from the conversation (Anthropic `system`, Responses `instructions`). */
const separate = (message: LlmMessage) => message.role === 'system' && (message.origin === 'system' || message.origin === 'instructions');

export function inputContent(request: LlmRequest): { messages: string; system?: string } {
  const system = request.messages.filter(separate).flatMap((message) => partsOf(message.parts));
  const messages = request.messages.filter((message) => !separate(message)).map((message) => ({ role: message.role, parts: partsOf(message.parts) }));
  return { messages: JSON.stringify(messages), ...(system.length > 0 ? { system: JSON.stringify(system) } : {}) };
}

export function outputContent(response: LlmResponse): string {
  return JSON.stringify([{ role: 'assistant', parts: partsOf(response.parts), finish_reason: finishReasonOf(response.finishReason) }]);
}
