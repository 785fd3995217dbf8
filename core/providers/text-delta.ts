// The common event of a stream, a text delta, read without parsing it. Most of a streamed answer's events are
// OpenAI Chat's `{"id":…,"choices":[{"index":0,"delta":{"content":"…"},"logprobs":null,"finish_reason":null}],…}` or
// Anthropic's `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"…"}}`, and parsing each
// one into objects nobody reads cost more CPU than the rest of the no-plugin stream path (bench/profile-gateway.ts).
import type { ApiFormat, LlmStreamChunk } from '../llm/types.ts';

/** A JSON string, exactly as JSON allows it (no raw control characters, only its escapes): what it matches parses. */
const STRING = String.raw`"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"`;
const INTEGER = String.raw`(?:0|[1-9]\d*)`;

/**
 * A whole Chat event, field by field in the order OpenAI writes them (the optional ones as it adds them: service
 * tier, fingerprint, `usage: null` with include_usage, `obfuscation`). Anything else (a role, a refusal, logprobs, a
 * tool call, a finish reason, usage, whitespace, another order) is not matched, and is parsed.
 */
const CHAT_TEXT_DELTA = new RegExp(
  String.raw`^\{"id":(${STRING}),"object":"chat\.completion\.chunk","created":${INTEGER},"model":(${STRING})` +
    String.raw`(?:,"service_tier":${STRING})?(?:,"system_fingerprint":(?:${STRING}|null))?` +
    String.raw`,"choices":\[\{"index":(${INTEGER}),"delta":\{"content":(${STRING})\},"logprobs":null,"finish_reason":null\}\]` +
    String.raw`(?:,"usage":null)?(?:,"obfuscation":${STRING})?\}$`,
);

/** A whole Anthropic text delta, as Anthropic writes it. */
const ANTHROPIC_TEXT_DELTA = new RegExp(String.raw`^\{"type":"content_block_delta","index":(${INTEGER}),"delta":\{"type":"text_delta","text":(${STRING})\}\}$`);

const UNREAD = Symbol('unread');

/**
 * A text-delta chunk whose `data` is parsed on first read (then it is the same object on every read). `data` is an own
 * enumerable property, so a copy (`{ ...chunk }`) carries it as a plain value, as with any other chunk.
 */
class PlainTextDelta implements LlmStreamChunk {
  declare data: unknown;
  raw: string;
  readonly #format: ApiFormat;
  readonly #json: string;
  #parsed: unknown = UNREAD;

  // One accessor for every instance (a getter made per chunk cost as much as the parse it saves).
  static readonly #data: PropertyDescriptor = {
    get(this: PlainTextDelta): unknown {
      if (this.#parsed === UNREAD) this.#parsed = JSON.parse(this.#json);
      return this.#parsed;
    },
    set(this: PlainTextDelta, value: unknown) {
      this.#parsed = value;
    },
    enumerable: true,
    configurable: true,
  };

  constructor(format: ApiFormat, json: string, raw: string) {
    Object.defineProperty(this, 'data', PlainTextDelta.#data);
    this.raw = raw;
    this.#format = format;
    this.#json = json;
  }

  static is(chunk: LlmStreamChunk, format: ApiFormat | undefined): boolean {
    return chunk instanceof PlainTextDelta && (format === undefined || chunk.#format === format);
  }
}

/**
 * Whether `chunk` is a text delta as it came (of `format`, when given): its data holds one choice's or block's text
 * and nothing else a plugin reads (no logprobs, reasoning, tool call, refusal, finish or usage). A copy is not.
 */
export function isPlainTextDelta(chunk: LlmStreamChunk, format?: ApiFormat): boolean {
  return PlainTextDelta.is(chunk, format);
}

/** A JSON string's value: its text between the quotes when it has no escape. */
function stringValue(json: string): string {
  return json.includes('\\') ? (JSON.parse(json) as string) : json.slice(1, -1);
}

/**
 * The end of a Chat text delta after its text, from the choice's close to the event's (read where the text ends: sticky).
 * With the shared start of a stream's deltas, it makes the whole-event pattern.
 */
const CHAT_TAIL = new RegExp(String.raw`\},"logprobs":null,"finish_reason":null\}\](?:,"usage":null)?(?:,"obfuscation":${STRING})?\}$`, 'y');

/** Whether `data` from `at` on is the end of a Chat text delta (CHAT_TAIL, read there). */
function chatTailAt(data: string, at: number): boolean {
  CHAT_TAIL.lastIndex = at;
  return CHAT_TAIL.test(data);
}

/** Where a Chat text delta's text begins: after this, which a JSON string cannot hold (its quotes are escaped). */
const CHAT_CONTENT_KEY = '"delta":{"content":';

/** A stream's text deltas share everything before their text (id, model, choice): that start, once read by the pattern. */
interface DeltaStart {
  prefix: string;
  id: string;
  model: string;
  index: number;
}

/**
 * Whether `text` begins with `prefix`. (`String.prototype.startsWith` with a prefix this long, on the slices the SSE
 * parser makes, took 0.2 µs, and 1 µs once V8 had run it a while: more than the whole-event pattern it was to save.)
 */
function startsWith(text: string, prefix: string): boolean {
  return text.length >= prefix.length && text.slice(0, prefix.length) === prefix;
}

/**
 * Where the text of `data` ends (its closing quote) when `data` begins with a stream's shared `prefix` and the JSON
 * string right after it is plain text: no escape, no control character. Otherwise -1 (the caller reads the event with
 * the whole pattern).
 */
function textAfter(data: string, prefix: string): number {
  if (!startsWith(data, prefix)) return -1;
  const open = prefix.length;
  if (data.charCodeAt(open) !== 34) return -1;
  const close = data.indexOf('"', open + 1);
  if (close === -1) return -1;
  for (let i = open + 1; i < close; i++) {
    const code = data.charCodeAt(i);
    if (code < 32 || code === 92) return -1;
  }
  return close;
}

/**
 * Reads a stream's text deltas. Its deltas all begin alike (`{"id":…,"choices":[{"index":0,"delta":{"content":`),
 * so once the whole-event pattern read one, the next ones that begin with the same text are read by comparing that
 * start, scanning their text and matching what follows it: what that accepts is exactly what the pattern accepts
 * (the start it validated, a JSON string without escapes, the pattern's own end), for a fraction of the work.
 */
export class ChatTextDeltas {
  #start: DeltaStart | undefined;

  /** The chunk of a Chat text-delta event, or undefined when `data` is not one (the caller parses it). */
  read(data: string, raw: string): LlmStreamChunk | undefined {
    const start = this.#start;
    const close = start === undefined ? -1 : textAfter(data, start.prefix);
    if (start !== undefined && close !== -1 && chatTailAt(data, close + 1)) {
      const open = start.prefix.length;
      const chunk: LlmStreamChunk = new PlainTextDelta('openai-chat', data, raw);
      chunk.id = start.id;
      chunk.model = start.model;
      chunk.index = start.index;
      if (close > open + 1) chunk.textDelta = data.slice(open + 1, close);
      return chunk;
    }
    const chunk = readChatTextDelta(data, raw);
    if (chunk !== undefined) this.#start = { prefix: data.slice(0, data.indexOf(CHAT_CONTENT_KEY) + CHAT_CONTENT_KEY.length), id: chunk.id!, model: chunk.model!, index: chunk.index! };
    return chunk;
  }
}

/**
 * The chunk of a Chat text-delta event, or undefined when `data` is not one (the caller parses it), with the fields
 * the Chat decoder sets on it; its `data` is parsed on first read.
 */
export function readChatTextDelta(data: string, raw: string): LlmStreamChunk | undefined {
  // (The shortest such event is 149 characters: shorter ones are not tried.)
  if (data.length < 149) return undefined;
  const match = CHAT_TEXT_DELTA.exec(data);
  if (!match) return undefined;
  const chunk: LlmStreamChunk = new PlainTextDelta('openai-chat', data, raw);
  chunk.id = stringValue(match[1]!);
  chunk.model = stringValue(match[2]!);
  chunk.index = Number(match[3]);
  const text = stringValue(match[4]!);
  if (text !== '') chunk.textDelta = text;
  return chunk;
}

/** The same for an Anthropic `content_block_delta` of text (its `event:` name kept, as the decoder keeps it). */
export function readAnthropicTextDelta(data: string, raw: string, event: string | undefined): LlmStreamChunk | undefined {
  if (data.length < 80) return undefined;
  const match = ANTHROPIC_TEXT_DELTA.exec(data);
  if (!match) return undefined;
  const chunk: LlmStreamChunk = new PlainTextDelta('anthropic-messages', data, raw);
  if (event !== undefined) chunk.event = event;
  chunk.index = Number(match[1]);
  chunk.textDelta = stringValue(match[2]!);
  return chunk;
}

/** Where an Anthropic text delta's text begins. */
const ANTHROPIC_TEXT_KEY = '"text_delta","text":';

/** The same for an Anthropic stream's text deltas (the start they share names the block: one per block). */
export class AnthropicTextDeltas {
  #prefix: string | undefined;
  #index = 0;

  read(data: string, raw: string, event: string | undefined): LlmStreamChunk | undefined {
    const prefix = this.#prefix;
    const close = prefix === undefined ? -1 : textAfter(data, prefix);
    // (What follows the text is the event's end, `}}`, and nothing else.)
    if (prefix !== undefined && close !== -1 && data.length === close + 3 && data.charCodeAt(close + 1) === 125 && data.charCodeAt(close + 2) === 125) {
      const chunk: LlmStreamChunk = new PlainTextDelta('anthropic-messages', data, raw);
      if (event !== undefined) chunk.event = event;
      chunk.index = this.#index;
      chunk.textDelta = data.slice(prefix.length + 1, close);
      return chunk;
    }
    const chunk = readAnthropicTextDelta(data, raw, event);
    if (chunk !== undefined) {
      this.#prefix = data.slice(0, data.indexOf(ANTHROPIC_TEXT_KEY) + ANTHROPIC_TEXT_KEY.length);
      this.#index = chunk.index!;
    }
    return chunk;
  }
}
