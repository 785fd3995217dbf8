// The provider-neutral model of an LLM call: what plugins read and rewrite, whatever wire format the agent speaks.

/** The wire formats Iron Cage understands. */
export type ApiFormat = 'openai-chat' | 'openai-responses' | 'anthropic-messages';

export type JsonObject = Record<string, unknown>;

/**
 * Token usage as the provider reports it. `inputTokens` includes cached tokens (read and write) and
 * `outputTokens` includes reasoning tokens, the way price catalogs expect them.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /** Of `cacheWriteTokens`, those written for an hour (Anthropic's `ttl: "1h"`, billed at twice the input price). */
  cacheWrite1hTokens?: number;
  /** Server-side web searches the provider ran and bills per search (Anthropic's `server_tool_use.web_search_requests`). */
  webSearches?: number;
}

export type Role = 'system' | 'user' | 'assistant' | 'tool';

/**
 * One piece of a message. `extra` keeps every wire field the model does not name, so a round trip
 * through parse and serialize changes nothing a plugin did not change.
 */
export type LlmPart =
  | { type: 'text'; text: string; extra?: JsonObject }
  | { type: 'reasoning'; text: string; extra?: JsonObject }
  | { type: 'tool-call'; id: string; name: string; arguments: string; extra?: JsonObject }
  | { type: 'tool-result'; toolCallId: string; content: LlmPart[]; isError?: boolean; shape?: ContentShape; extra?: JsonObject }
  /** Anything the neutral model does not interpret (images, files, audio…), kept as its wire JSON. */
  | { type: 'opaque'; value: unknown };

/**
 * How a content field was written on the wire (a plain string, a list of parts, `null`, or absent),
 * so an adapter writes it back the same way.
 */
export type ContentShape = 'string' | 'parts' | 'null' | 'none';

export interface LlmMessage {
  role: Role;
  parts: LlmPart[];
  shape?: ContentShape;
  /**
   * Where the message lives in the wire body when that is not the message list: `instructions` (Responses),
   * `system` (Anthropic), `input` (a Responses string input), or the Responses item type it came from.
   */
  origin?: string;
  /** Wire fields of the message object the model does not name (and how the adapter must write it back). */
  extra?: JsonObject;
}

export interface LlmRequest {
  format: ApiFormat;
  model: string;
  stream: boolean;
  /** The request's output cap (`max_tokens`, `max_completion_tokens`, `max_output_tokens`), if any. */
  maxOutputTokens?: number;
  /** System prompt(s) first, then the conversation, in order. */
  messages: LlmMessage[];
  /** Every other top-level field of the wire body, untouched. */
  extra: JsonObject;
}

export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'error' | 'other';

export interface LlmResponse {
  format: ApiFormat;
  id: string;
  model: string;
  /** The assistant's output: text, reasoning and tool calls. */
  parts: LlmPart[];
  finishReason: FinishReason;
  usage?: Usage;
  /** Every other top-level field of the wire body, untouched. */
  extra: JsonObject;
}

/**
 * One server-sent event of a streamed answer, with a neutral view of what it carries.
 * `raw` holds the exact bytes received; it is dropped when a plugin rewrites the chunk, and then the
 * chunk is written from `event` + `data`.
 */
export interface LlmStreamChunk {
  event?: string;
  /** The event's data: parsed JSON, or the literal string for non-JSON data such as `[DONE]`. */
  data: unknown;
  raw?: string;
  /** Output text this chunk adds (choice / content block `index`). */
  textDelta?: string;
  reasoningDelta?: string;
  toolCallDelta?: { id?: string; name?: string; argumentsDelta?: string };
  /** Which choice (OpenAI chat), content block (Anthropic) or output item (Responses) the delta belongs to. */
  index?: number;
  /** Usage known so far, cumulative: the last chunk carrying usage has the call's final figures. */
  usage?: Usage;
  finishReason?: FinishReason;
  /** Response id and model, on the chunks that carry them. */
  id?: string;
  model?: string;
  /** The stream's terminator (`[DONE]`, `message_stop`, `response.completed`). */
  done?: boolean;
  /** The provider reported an error inside the stream. */
  error?: { type?: string; message: string };
}

/** A server-sent event as it travels on the wire. */
export interface SseEvent {
  event?: string;
  data: string;
  /** Exact text of the event including its terminating blank line. */
  raw: string;
}

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
}

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens, cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens, reasoningTokens: a.reasoningTokens + b.reasoningTokens };
  const hour = (a.cacheWrite1hTokens ?? 0) + (b.cacheWrite1hTokens ?? 0);
  const searches = (a.webSearches ?? 0) + (b.webSearches ?? 0);
  if (hour > 0) sum.cacheWrite1hTokens = hour;
  if (searches > 0) sum.webSearches = searches;
  return sum;
}

/** `a − b`, never below zero. */
export function subtractUsage(a: Usage, b: Usage): Usage {
  const less = (x: number, y: number) => Math.max(0, x - y);
  const rest: Usage = { inputTokens: less(a.inputTokens, b.inputTokens), outputTokens: less(a.outputTokens, b.outputTokens), cacheReadTokens: less(a.cacheReadTokens, b.cacheReadTokens), cacheWriteTokens: less(a.cacheWriteTokens, b.cacheWriteTokens), reasoningTokens: less(a.reasoningTokens, b.reasoningTokens) };
  const hour = less(a.cacheWrite1hTokens ?? 0, b.cacheWrite1hTokens ?? 0);
  const searches = less(a.webSearches ?? 0, b.webSearches ?? 0);
  if (hour > 0) rest.cacheWrite1hTokens = hour;
  if (searches > 0) rest.webSearches = searches;
  return rest;
}

/** All text of a part list, tool calls' arguments and tool results included (for token estimates and scanning). */
export function partsText(parts: LlmPart[]): string {
  let out = '';
  for (const part of parts) {
    if (part.type === 'text' || part.type === 'reasoning') out += part.text;
    else if (part.type === 'tool-call') out += part.name + part.arguments;
    else if (part.type === 'tool-result') out += partsText(part.content);
  }
  return out;
}

/** The text of the assistant's answer (text parts only). */
export function responseText(response: LlmResponse): string {
  let out = '';
  for (const part of response.parts) if (part.type === 'text') out += part.text;
  return out;
}
