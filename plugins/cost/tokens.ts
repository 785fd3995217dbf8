// Token counts: a cheap upper bound for reservations, and gpt-tokenizer's exact o200k count where it matters.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { LlmMessage, LlmPart, LlmRequest } from '../../core/llm/types.ts';

/** Per-message framing tokens (role markers and separators), as the OpenAI cookbook counts them. */
const MESSAGE_OVERHEAD = 4;
const REPLY_PRIMING = 3;
/** Images, audio and files are billed by their own rules; this bounds one such part. */
const OPAQUE_PART_TOKENS = 2_000;

function partText(part: LlmPart): string {
  switch (part.type) {
    case 'text':
    case 'reasoning':
      return part.text;
    case 'tool-call':
      return part.name + part.arguments;
    case 'tool-result':
      return part.content.map(partText).join('');
    default:
      return '';
  }
}

function opaqueParts(parts: LlmPart[]): number {
  let count = 0;
  for (const part of parts) {
    if (part.type === 'opaque') count += 1;
    else if (part.type === 'tool-result') count += opaqueParts(part.content);
  }
  return count;
}

function messageText(message: LlmMessage): string {
  return message.parts.map(partText).join('');
}

/** Tool definitions and structured-output schemas are sent with the prompt and billed as input. */
function definitionsText(request: LlmRequest): string {
  const { tools, functions, response_format: responseFormat, text } = request.extra as Record<string, unknown>;
  return [tools, functions, responseFormat, text].filter((v) => v !== undefined).map((v) => JSON.stringify(v)).join('');
}

/**
 * A bound no tokenizer can exceed: a byte-level BPE token is at least one UTF-8 byte. Costs microseconds
 * even for long prompts, so it is what reservations use while the budget has room.
 */
export function inputTokensUpperBound(request: LlmRequest): number {
  let tokens = REPLY_PRIMING + Buffer.byteLength(definitionsText(request));
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD + Buffer.byteLength(messageText(message)) + opaqueParts(message.parts) * OPAQUE_PART_TOKENS;
  }
  return tokens;
}

/** The o200k count of the prompt (exact for current OpenAI models, an estimate for others). */
export function inputTokensCounted(request: LlmRequest): number {
  let tokens = REPLY_PRIMING + countText(definitionsText(request));
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD + countText(messageText(message)) + opaqueParts(message.parts) * OPAQUE_PART_TOKENS;
  }
  return tokens;
}

export function countText(text: string): number {
  return text === '' ? 0 : countTokens(text);
}
