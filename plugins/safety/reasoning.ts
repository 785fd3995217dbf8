// The reasoning a streamed chunk adds, read and rewritten in each wire format: Anthropic `thinking_delta`, the
// OpenAI-compatible `reasoning_content` / `reasoning` deltas, Responses `reasoning_text` and `reasoning_summary_text`.
import type { ApiFormat, JsonObject, LlmStreamChunk } from '../../core/llm/types.ts';
import { isPlainTextDelta } from '../../core/providers/text-delta.ts';

const RESPONSES_REASONING = new Set(['response.reasoning_text.delta', 'response.reasoning_summary_text.delta']);
/** Chat's reasoning fields: vLLM and DeepSeek write `reasoning_content`, OpenRouter and Ollama `reasoning`. */
const CHAT_REASONING = ['reasoning_content', 'reasoning'] as const;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function chatDelta(data: JsonObject): JsonObject | undefined {
  const choice = Array.isArray(data.choices) ? data.choices[0] : undefined;
  return isObject(choice) && isObject(choice.delta) ? choice.delta : undefined;
}

/** The reasoning text `chunk` adds, or undefined when it adds none. */
export function reasoningDelta(format: ApiFormat, chunk: LlmStreamChunk): string | undefined {
  if (isPlainTextDelta(chunk)) return undefined;
  const data = chunk.data;
  if (!isObject(data)) return undefined;
  if (format === 'anthropic-messages') {
    if (isObject(data.delta) && data.delta.type === 'thinking_delta' && typeof data.delta.thinking === 'string') return data.delta.thinking || undefined;
    const block = data.content_block;
    if (data.type === 'content_block_start' && isObject(block) && block.type === 'thinking' && typeof block.thinking === 'string') return block.thinking || undefined;
    return undefined;
  }
  if (format === 'openai-responses') return typeof data.type === 'string' && RESPONSES_REASONING.has(data.type) && typeof data.delta === 'string' ? data.delta || undefined : undefined;
  const delta = chatDelta(data);
  if (!delta) return undefined;
  for (const key of CHAT_REASONING) if (typeof delta[key] === 'string' && delta[key] !== '') return delta[key] as string;
  return undefined;
}

/**
 * Which part of a Responses reasoning item a chunk belongs to (`:summary:0`, `:content:0`), '' in other formats or
 * for other events: the summary and the reasoning text stream in their own event types, so each is its own channel.
 */
export function reasoningPart(format: ApiFormat, chunk: LlmStreamChunk): string {
  const data = chunk.data;
  if (format !== 'openai-responses' || !isObject(data) || typeof data.type !== 'string') return '';
  if (data.type.startsWith('response.reasoning_summary_')) return `:summary:${typeof data.summary_index === 'number' ? data.summary_index : 0}`;
  if (data.type.startsWith('response.reasoning_text.')) return `:content:${typeof data.content_index === 'number' ? data.content_index : 0}`;
  return '';
}

/** A copy of a reasoning chunk whose reasoning is `text`; its `raw` is dropped so it is written again. */
export function withReasoning(format: ApiFormat, chunk: LlmStreamChunk, text: string): LlmStreamChunk {
  const { raw: _raw, ...rest } = chunk;
  const out: LlmStreamChunk = { ...rest, reasoningDelta: text };
  const data = chunk.data;
  if (!isObject(data)) return out;
  if (format === 'anthropic-messages') {
    if (data.type === 'content_block_start' && isObject(data.content_block)) out.data = { ...data, content_block: { ...data.content_block, thinking: text } };
    else out.data = { ...data, delta: { ...(isObject(data.delta) ? data.delta : { type: 'thinking_delta' }), thinking: text } };
  } else if (format === 'openai-responses') {
    out.data = { ...data, delta: text };
  } else {
    const choices = data.choices as unknown[];
    const choice = choices[0] as JsonObject;
    const delta = { ...(choice.delta as JsonObject) };
    // Both fields, when a provider sends both, carry the same text: neither may keep the original.
    for (const key of CHAT_REASONING) if (typeof delta[key] === 'string') delta[key] = text;
    out.data = { ...data, choices: [{ ...choice, delta }, ...choices.slice(1)] };
  }
  return out;
}
