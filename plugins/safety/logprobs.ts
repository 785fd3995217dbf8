// Logprobs under the safety plugin: they cannot be redacted token by token (a value spans several tokens, and
// `top_logprobs` list the alternatives the model weighed), so they are not asked for and never passed back.
import type { ApiFormat, JsonObject, LlmStreamChunk } from '../../core/llm/types.ts';
import { isPlainTextDelta } from '../../core/providers/text-delta.ts';

/** The Responses `include` entry that asks for output text logprobs. */
const INCLUDE_LOGPROBS = 'message.output_text.logprobs';

/**
 * The request's fields without what asks for logprobs (Chat `logprobs`/`top_logprobs`, Responses `top_logprobs` and
 * the `include` entry), and the names of those that asked (for the warning). The same object when there is none.
 */
export function withoutLogprobRequest(format: ApiFormat, extra: JsonObject): { extra: JsonObject; asked: string[] } {
  if (format === 'anthropic-messages') return { extra, asked: [] };
  const asked: string[] = [];
  let out = extra;
  const drop = (key: string, asks: boolean) => {
    if (!(key in out)) return;
    if (asks) asked.push(key);
    const { [key]: _dropped, ...rest } = out;
    out = rest;
  };
  if (format === 'openai-chat') drop('logprobs', extra.logprobs !== false && extra.logprobs !== null);
  drop('top_logprobs', extra.top_logprobs !== null && extra.top_logprobs !== 0);
  if (format === 'openai-responses' && Array.isArray(extra.include) && extra.include.includes(INCLUDE_LOGPROBS)) {
    asked.push(`include: ${INCLUDE_LOGPROBS}`);
    out = { ...out, include: extra.include.filter((entry) => entry !== INCLUDE_LOGPROBS) };
  }
  return { extra: out, asked };
}

/** `logprobs` emptied as when none were asked for: Chat writes `null`, Responses `[]`. */
function emptied(logprobs: unknown): unknown {
  if (Array.isArray(logprobs)) return logprobs.length === 0 ? logprobs : [];
  // (A number or a flag is a setting echoed back, `top_logprobs: 0` in a Responses answer: not token data.)
  return logprobs === null || logprobs === undefined || typeof logprobs === 'number' || typeof logprobs === 'boolean' ? logprobs : null;
}

/** `items` with `at(item)` applied to each, the same array when none changed. */
function mapSame<T>(items: T[], at: (item: T) => T): T[] {
  let out: T[] | undefined;
  items.forEach((item, i) => {
    const next = at(item);
    if (next !== item) (out ??= [...items])[i] = next;
  });
  return out ?? items;
}

/** `object` with `key` set to `at(object[key])`, the same object when that changed nothing. */
function withField(object: unknown, key: string, at: (value: unknown) => unknown): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object) || !(key in object)) return object;
  const value = (object as JsonObject)[key];
  const next = at(value);
  return next === value ? object : { ...(object as JsonObject), [key]: next };
}

const inList = (at: (item: unknown) => unknown) => (value: unknown) => (Array.isArray(value) ? mapSame(value, at) : value);

/** `object` without its `logprobs` and a `top_logprobs` beside them (where some providers put them, an outside review found). */
const emptiedHere = (object: unknown) => withField(withField(object, 'logprobs', emptied), 'top_logprobs', emptied);

/** A Chat choice: its own logprobs, and any its message or delta carries (a non-standard place some servers use). */
const chatChoice = (choice: unknown) => withField(withField(emptiedHere(choice), 'message', emptiedHere), 'delta', emptiedHere);

/** A Responses output item (a message's text parts carry logprobs). */
const outputItem = (item: unknown) => withField(item, 'content', inList(emptiedHere));

/** A Responses output text part's fields (the neutral part's `extra`) without logprobs. */
export function partWithoutLogprobs(extra: JsonObject): JsonObject {
  return emptiedHere(extra) as JsonObject;
}

/**
 * An answer's top-level fields, or a streamed event's data, without logprobs: Chat's choices, Responses' output text
 * parts (in `output`, an event's `part`, `item` or `response`, and the text events' own `logprobs`). The same value
 * when there were none, as a provider may send them unasked.
 */
export function withoutLogprobs(format: ApiFormat, data: unknown): unknown {
  if (format === 'openai-chat') return withField(data, 'choices', inList(chatChoice));
  if (format !== 'openai-responses') return data;
  let out = withField(data, 'output', inList(outputItem));
  out = emptiedHere(out);
  out = withField(out, 'part', emptiedHere);
  out = withField(out, 'item', outputItem);
  return withField(out, 'response', (response) => withField(response, 'output', inList(outputItem)));
}

/** A stream chunk without logprobs (written again from its data when it had some). */
export function chunkWithoutLogprobs(format: ApiFormat, chunk: LlmStreamChunk): LlmStreamChunk {
  // Most events (Anthropic's, Responses' without logprobs, Chat's text deltas) say nothing of them: not walked.
  if (isPlainTextDelta(chunk) || (chunk.raw !== undefined && !chunk.raw.includes('logprobs'))) return chunk;
  const data = withoutLogprobs(format, chunk.data);
  if (data === chunk.data) return chunk;
  const { raw: _raw, ...rest } = chunk;
  return { ...rest, data };
}
