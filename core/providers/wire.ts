// Small helpers the wire-format adapters share: shape checks with errors that name the field, and usage maths.
import { IronError, LlmError, IRON_BAD_REQUEST, IRON_UPSTREAM_INVALID } from '../errors.ts';
import type { ContentShape, FinishReason, JsonObject, LlmPart, LlmStreamChunk, Usage } from '../llm/types.ts';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** A request field has the wrong shape: the client must fix its body. */
export function badRequest(path: string, expected: string, got: unknown): IronError {
  return new IronError(IRON_BAD_REQUEST, `${path}: expected ${expected}, got ${describe(got)}`, { details: { path } });
}

/** A provider's answer has the wrong shape. */
export function badAnswer(path: string, expected: string, got: unknown): LlmError {
  return new LlmError(IRON_UPSTREAM_INVALID, `the provider's answer is not valid: ${path}: expected ${expected}, got ${describe(got)}`, { details: { path } });
}

export function omit(object: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(object)) if (!keys.includes(key)) out[key] = object[key];
  return out;
}

/** `extra` only when it has keys, so parts stay small and deep-equal to what a plugin writes. */
export function withExtra<T extends object>(value: T, extra: JsonObject): T & { extra?: JsonObject } {
  return Object.keys(extra).length > 0 ? { ...value, extra } : value;
}

export function shapeOf(content: unknown): ContentShape {
  if (content === undefined) return 'none';
  if (content === null) return 'null';
  return typeof content === 'string' ? 'string' : 'parts';
}

/**
 * Parses a content field that may be a string or a list of typed parts. `textTypes` are the part types
 * that carry `text` (`text`, `input_text`, `output_text`); everything else stays opaque.
 */
export function parseContent(content: unknown, path: string, textTypes: readonly string[], fail = badRequest): LlmPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw fail(path, 'a string or an array of content parts', content);
  return content.map((part, i): LlmPart => {
    if (!isObject(part)) throw fail(`${path}[${i}]`, 'a content part object', part);
    if (typeof part.type === 'string' && textTypes.includes(part.type)) {
      if (typeof part.text !== 'string') throw fail(`${path}[${i}].text`, 'a string', part.text);
      return withExtra({ type: 'text' as const, text: part.text }, omit(part, ['text']));
    }
    return { type: 'opaque', value: part };
  });
}

/** Writes parts back as a content field of the given shape; `textType` is the part type for new text parts. */
export function writeContent(parts: LlmPart[], shape: ContentShape | undefined, textType: string): unknown {
  const onlyText = parts.every((part) => part.type === 'text');
  if ((shape === 'null' || shape === 'none') && parts.length === 0) return shape === 'null' ? null : undefined;
  if (shape === 'string' && onlyText) return parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return parts.map((part) => writePart(part, textType));
}

export function writePart(part: LlmPart, textType: string): unknown {
  switch (part.type) {
    case 'text':
      return { type: textType, ...part.extra, text: part.text };
    case 'opaque':
      return part.value;
    case 'reasoning':
      return { type: textType, ...part.extra, text: part.text };
    default:
      return { type: textType, text: '' };
  }
}

/** Sets `key` on `body` to `value`, or removes it when `value` is undefined. */
export function setOrDelete(body: JsonObject, key: string, value: unknown): void {
  if (value === undefined) delete body[key];
  else body[key] = value;
}

export function finiteCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

export function sameUsage(a: Usage | undefined, b: Usage | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.inputTokens === b.inputTokens &&
    a.outputTokens === b.outputTokens &&
    a.cacheReadTokens === b.cacheReadTokens &&
    a.cacheWriteTokens === b.cacheWriteTokens &&
    a.reasoningTokens === b.reasoningTokens
  );
}

/** Reads the output cap the request names, whichever of the format's fields carries it. */
/** `stream`: a boolean or absent. Anything else ("yes", 1) is the caller's mistake, answered 400, never sent on. */
export function readStream(body: JsonObject): boolean {
  const value = body.stream;
  if (value === undefined || value === null || typeof value === 'boolean') return value === true;
  throw badRequest('stream', 'true or false', value);
}

export function readMaxTokens(body: JsonObject, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw badRequest(key, 'a positive integer', value);
    return value;
  }
  return undefined;
}

/** Writes the output cap back into the field the request used (or the format's default field). */
export function writeMaxTokens(body: JsonObject, keys: readonly string[], value: number | undefined): void {
  const used = keys.find((key) => body[key] !== undefined && body[key] !== null);
  if (value === undefined) {
    for (const key of keys) delete body[key];
    return;
  }
  body[used ?? keys[keys.length - 1]] = value;
}

/** Splits text into word-sized pieces for realistic simulated streams. */
export function streamPieces(text: string): string[] {
  const pieces = text.match(/\S+\s*|\s+/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i += 3) out.push(pieces.slice(i, i + 3).join(''));
  return out.length > 0 ? out : [''];
}

export function chunkOf(data: unknown, event?: string): LlmStreamChunk {
  return event === undefined ? { data } : { event, data };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export type FinishMap = Record<string, FinishReason>;

export function mapFinish(map: FinishMap, value: unknown): FinishReason {
  return typeof value === 'string' ? (map[value] ?? 'other') : 'other';
}

/** The wire value for a finish reason: the original when it still means the same, else the canonical one. */
export function writeFinish(map: FinishMap, reason: FinishReason, original: unknown): string {
  if (typeof original === 'string' && map[original] === reason) return original;
  const canonical = Object.entries(map).find(([, value]) => value === reason);
  return canonical ? canonical[0] : (Object.keys(map)[0] ?? 'stop');
}

export function parseJsonData(data: string): unknown {
  if (data === '' || data === '[DONE]') return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
