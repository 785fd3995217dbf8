// The contract every wire format implements: parse and write requests, answers, stream events and errors.
import type { ApiFormat, JsonObject, LlmRequest, LlmResponse, LlmStreamChunk, SseEvent } from '../llm/types.ts';

/** Turns the SSE events of one streamed answer into neutral chunks; keeps the state a format needs (usage so far). */
export type StreamDecoder = (event: SseEvent) => LlmStreamChunk;

export interface ApiAdapter {
  readonly format: ApiFormat;
  /** Endpoint path below the provider's base URL, e.g. `/chat/completions` (base URLs end in `/v1`). */
  readonly path: string;

  /** Parse a client's request body. Throws `IronError(IRON_BAD_REQUEST)` naming the field when the shape is wrong. */
  parseRequest(body: unknown): LlmRequest;
  /** Write a request back to this format's wire body. `serializeRequest(parseRequest(b))` deep-equals `b`. */
  serializeRequest(request: LlmRequest): JsonObject;

  /** Parse a provider's non-streamed answer. Throws `LlmError` when the body is not a valid answer. */
  parseResponse(body: unknown): LlmResponse;
  /** Write an answer back to this format's wire body. `serializeResponse(parseResponse(b))` deep-equals `b`. */
  serializeResponse(response: LlmResponse): JsonObject;

  /** A fresh decoder for one stream. */
  createStreamDecoder(): StreamDecoder;
  /** A copy of a text-delta chunk whose output text is `text` (its `raw` is dropped so it is re-encoded). */
  withChunkText(chunk: LlmStreamChunk, text: string): LlmStreamChunk;
  /** A copy of a tool-call-arguments chunk whose arguments delta is `text` (its `raw` is dropped). */
  withChunkArguments(chunk: LlmStreamChunk, text: string): LlmStreamChunk;
  /** The complete event sequence this format streams for `response` (used by the simulated provider). */
  encodeStream(response: LlmResponse, options?: { includeUsage?: boolean }): LlmStreamChunk[];

  /** An error body in this provider's format, e.g. OpenAI `{ error: { message, type, code } }`. */
  errorBody(status: number, code: string, message: string): JsonObject;
  /** The in-stream error event this format uses, for errors after the first chunk was sent. */
  streamErrorChunk(code: string, message: string): LlmStreamChunk;
  /** The header that carries the client's credential (`authorization` or `x-api-key`). */
  readonly credentialHeader: 'authorization' | 'x-api-key';
  /**
   * How this format's content events begin (text and tool-call deltas): a stream no plugin reads passes them on
   * without decoding them, unless they hold usage, a finish or an error. Every other event is read.
   */
  readonly plainStreamEvents: readonly string[];
}
