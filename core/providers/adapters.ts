// The wire formats by name, and which one an endpoint path speaks.
import type { ApiFormat } from '../llm/types.ts';
import type { ApiAdapter } from './adapter.ts';
import { anthropicMessages } from './anthropic-messages.ts';
import { openaiChat } from './openai-chat.ts';
import { openaiResponses } from './openai-responses.ts';

export const adapters: Record<ApiFormat, ApiAdapter> = {
  'openai-chat': openaiChat,
  'openai-responses': openaiResponses,
  'anthropic-messages': anthropicMessages,
};

/** The adapter for a request path such as `/v1/chat/completions` or `/v1/messages`, if it is an LLM endpoint. */
export function adapterForPath(pathname: string): ApiAdapter | undefined {
  const path = pathname.replace(/\/+$/, '');
  if (path.endsWith('/chat/completions')) return openaiChat;
  if (path.endsWith('/responses')) return openaiResponses;
  if (path.endsWith('/messages')) return anthropicMessages;
  return undefined;
}
