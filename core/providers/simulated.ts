// The offline provider: deterministic answers with realistic usage, in every format, streamed or not.
import { randomUUID } from 'node:crypto';
import type { LlmCallContext, LlmResult } from '../context.ts';
import type { LlmRequest, LlmResponse, LlmStreamChunk, Usage } from '../llm/types.ts';
import { partsText } from '../llm/types.ts';
import type { ApiAdapter } from './adapter.ts';
import { encodeSseChunk } from './sse.ts';

/** A rough, deterministic token estimate: about four characters a token, plus per-message framing. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function lastUserText(request: LlmRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i];
    if (message.role === 'user') return partsText(message.parts);
  }
  return '';
}

/** The answer the simulated provider gives to a request (exported for tests that assert exact text). */
export function simulatedAnswer(request: LlmRequest): { text: string; usage: Usage; finishReason: 'stop' | 'length' } {
  const question = lastUserText(request).replace(/\s+/g, ' ').trim();
  const quoted = question.length > 80 ? `${question.slice(0, 77)}...` : question;
  let text = `Simulated answer to "${quoted}". This reply comes from Iron Cage's offline provider: set OPENAI_API_KEY or ANTHROPIC_API_KEY to reach a real model.`;
  let finishReason: 'stop' | 'length' = 'stop';
  if (request.maxOutputTokens !== undefined && estimateTokens(text) > request.maxOutputTokens) {
    text = text.slice(0, Math.max(0, request.maxOutputTokens * 4));
    finishReason = 'length';
  }
  const inputTokens = request.messages.reduce((sum, message) => sum + 4 + estimateTokens(partsText(message.parts)), 3);
  const usage: Usage = { inputTokens, outputTokens: estimateTokens(text), cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
  return { text, usage, finishReason };
}



export async function sendSimulated(adapter: ApiAdapter, request: LlmRequest, _ctx: LlmCallContext): Promise<LlmResult> {
  const answer = simulatedAnswer(request);
  const response: LlmResponse = {
    format: adapter.format,
    id: `sim-${randomUUID().slice(0, 8)}`,
    model: request.model,
    parts: [{ type: 'text', text: answer.text }],
    finishReason: answer.finishReason,
    usage: answer.usage,
    extra: {},
  };
  // Build the wire body once so the answer is exactly what this format's real API would send.
  const wire = adapter.serializeResponse(response);
  if (!request.stream) return { type: 'response', response: adapter.parseResponse(wire) };
  const includeUsage = (request.extra.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  return { type: 'stream', chunks: replay(adapter, adapter.encodeStream(adapter.parseResponse(wire), { includeUsage })) };
}

async function* replay(adapter: ApiAdapter, chunks: LlmStreamChunk[]): AsyncGenerator<LlmStreamChunk> {
  const decode = adapter.createStreamDecoder();
  for (const chunk of chunks) {
    const raw = encodeSseChunk(chunk);
    yield decode({ ...(chunk.event ? { event: chunk.event } : {}), data: typeof chunk.data === 'string' ? chunk.data : JSON.stringify(chunk.data), raw });
  }
}
