// Turns a call's outcome into an HTTP answer in the agent's wire format (used by agent.fetch and the gateway).
import type { LlmCallOutput } from './call.ts';
import type { ApiFormat, LlmStreamChunk } from './llm/types.ts';
import { adapters } from './providers/adapters.ts';
import { encodeSseChunk } from './providers/sse.ts';
import { LlmError, type IronError } from './errors.ts';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | ReadableStream<Uint8Array>;
}

/**
 * An error in the provider's own format, so the agent's SDK raises its usual error class. A provider's
 * own error answer (a 429 with Retry-After, say) goes on unchanged.
 */
export function errorAnswer(format: ApiFormat, error: IronError): HttpAnswer {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-iron-error-code': error.code };
  if (error instanceof LlmError && error.upstreamStatus !== undefined && error.upstreamBody) {
    return { status: error.upstreamStatus, headers: { ...error.upstreamHeaders, ...headers }, body: error.upstreamBody };
  }
  return { status: error.status, headers, body: JSON.stringify(adapters[format].errorBody(error.status, error.code, wireMessage(error))) };
}

/** The message an agent's SDK shows: the code first, so it can be searched and matched. */
export function wireMessage(error: IronError): string {
  return `${error.code}: ${error.message}`;
}

export function outputAnswer(output: LlmCallOutput): HttpAnswer {
  if (output.type === 'response') return { status: 200, headers: output.headers, body: output.body };
  return { status: 200, headers: output.headers, body: output.chunks.pipeThrough(sseEncoder()) };
}

/** Chunks to SSE bytes: a chunk no plugin touched is written exactly as it was received. */
function sseEncoder(): TransformStream<LlmStreamChunk, Uint8Array> {
  const encoder = new TextEncoder();
  return new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(encoder.encode(encodeSseChunk(chunk)));
    },
  });
}
