// The common event of an OpenAI Chat stream, a text delta, read without parsing it: most of a streamed answer's events
// are `{"id":…,"choices":[{"index":0,"delta":{"content":"…"},"logprobs":null,"finish_reason":null}],…}`, and parsing
// each one into objects that nobody reads cost more CPU than the rest of the no-plugin stream path (bench/profile-gateway).
import type { LlmStreamChunk } from '../llm/types.ts';

/** A JSON string, exactly as JSON allows it (no raw control characters, only its escapes): what it matches parses. */
const STRING = String.raw`"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"`;
const INTEGER = String.raw`(?:0|[1-9]\d*)`;

/**
 * The whole event, field by field in the order OpenAI writes them (the optional ones as it adds them: service tier,
 * fingerprint, `usage: null` with include_usage, `obfuscation`). Anything else (a role, a refusal, logprobs, a tool
 * call, a finish reason, usage, whitespace, another order) is not matched and is parsed.
 */
const TEXT_DELTA = new RegExp(
  String.raw`^\{"id":(${STRING}),"object":"chat\.completion\.chunk","created":${INTEGER},"model":(${STRING})` +
    String.raw`(?:,"service_tier":${STRING})?(?:,"system_fingerprint":(?:${STRING}|null))?` +
    String.raw`,"choices":\[\{"index":(${INTEGER}),"delta":\{"content":(${STRING})\},"logprobs":null,"finish_reason":null\}\]` +
    String.raw`(?:,"usage":null)?(?:,"obfuscation":${STRING})?\}$`,
);

const UNREAD = Symbol('unread');

/**
 * A text-delta chunk whose `data` is parsed on first read (then it is the same object on every read). `data` is an own
 * enumerable property, so a copy (`{ ...chunk }`) carries it as a plain value, as with any other chunk.
 */
class ChatTextDelta implements LlmStreamChunk {
  declare data: unknown;
  raw: string;
  id: string;
  model: string;
  index: number;
  textDelta?: string;
  readonly #json: string;
  #parsed: unknown = UNREAD;

  // One accessor for every instance (a getter made per chunk cost as much as the parse it saves).
  static readonly #data: PropertyDescriptor = {
    get(this: ChatTextDelta): unknown {
      if (this.#parsed === UNREAD) this.#parsed = JSON.parse(this.#json);
      return this.#parsed;
    },
    set(this: ChatTextDelta, value: unknown) {
      this.#parsed = value;
    },
    enumerable: true,
    configurable: true,
  };

  constructor(json: string, raw: string, id: string, model: string, index: number) {
    Object.defineProperty(this, 'data', ChatTextDelta.#data);
    this.#json = json;
    this.raw = raw;
    this.id = id;
    this.model = model;
    this.index = index;
  }
}

/**
 * Whether `chunk` is such a text delta as it came: its data holds one choice's text and nothing else a plugin reads
 * (no logprobs, reasoning, tool call, refusal, finish or usage). A copy of it (a rewritten chunk) is not.
 */
export function isPlainTextDelta(chunk: LlmStreamChunk): boolean {
  return chunk instanceof ChatTextDelta;
}

/** A JSON string's value: its text between the quotes when it has no escape. */
function stringValue(json: string): string {
  return json.includes('\\') ? (JSON.parse(json) as string) : json.slice(1, -1);
}

/**
 * The chunk of a Chat text-delta event, or undefined when `data` is not one (the caller parses it). Its `data` is
 * parsed on first read, so a plugin that looks at it sees the same object as ever; the decoded fields are set now.
 */
export function readChatTextDelta(data: string, raw: string): LlmStreamChunk | undefined {
  // (The shortest such event is 149 characters: shorter ones are not tried.)
  if (data.length < 149) return undefined;
  const match = TEXT_DELTA.exec(data);
  if (!match) return undefined;
  const chunk = new ChatTextDelta(data, raw, stringValue(match[1]!), stringValue(match[2]!), Number(match[3]));
  const text = stringValue(match[4]!);
  if (text !== '') chunk.textDelta = text;
  return chunk;
}
