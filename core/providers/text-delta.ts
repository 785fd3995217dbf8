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
