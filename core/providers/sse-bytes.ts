// A stream's bytes cut into runs of whole SSE events: the runs no one needs to read, and the events that must be read
// (usage, finish, errors, the terminator), without decoding the rest. What a stream no plugin reads is passed on by.

const CLOSE_BRACE = 125;

/**
 * An event is read when it holds one of the keys `"usage"`, `"finish_reason"`, `"stop_reason"`, `"error"` with a
 * value other than `null` (or the value `"error"`): what the call's accounting takes from a stream. Inside a JSON
 * string a quote is escaped, so these bytes occur nowhere else. So is one naming an event the record reads
 * (`"message_stop"`, `"response.completed"`…: a content delta with a second `type` key is what JSON.parse makes of it,
 * an outside review found), and one with a `\u` escape (a provider key can hide in one: `sk\u002d…`).
 */

/** Where the buffer's complete events lie: runs `[start, end)`, each passed on as it is or read, and where the rest begins. */
export interface EventRuns {
  /** Flat triples: start, end, 1 when the run is one event to read (0: events to pass on unread). */
  runs: number[];
  /** Where the unfinished event (kept for the next bytes) begins. */
  rest: number;
}

/**
 * The bytes as a string of one character per byte (latin1): searched with the string functions V8 runs inline (a
 * Buffer's `indexOf` crosses into C++ on every call, and a stream's events took hundreds of calls), and its offsets
 * are the bytes' offsets.
 */
export function byteString(bytes: Buffer): string {
  return bytes.toString('latin1');
}

/** `text`'s UTF-8 bytes as a byte string (for secrets, searched in a stream's byte string). */
export function asByteString(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

const secretByteStrings = new WeakMap<readonly string[], string[]>();

/** A provider's secrets as byte strings, made once per provider (its list does not change), not once per stream. */
export function byteStringsOf(secrets: readonly string[]): string[] {
  let strings = secretByteStrings.get(secrets);
  if (!strings) secretByteStrings.set(secrets, (strings = secrets.map(asByteString)));
  return strings;
}

/**
 * Cuts a stream's bytes (as `byteString` gives them) into runs of whole events, framed by a blank line. An event is
 * passed on unread when it starts with one of `plain` (a format's content deltas, `data: {` …), its data ends with
 * `}`, and it holds none of the read keys with a value and none of `secrets` (byte strings); any other event is read
 * on its own. Returns undefined when the bytes hold a CR: CR-framed events are read by the text parser.
 */
export function eventRuns(bytes: string, plain: readonly string[], secrets: readonly string[]): EventRuns | undefined {
  if (bytes.indexOf('\r') !== -1) return undefined;
  const hits = readHits(bytes, secrets);
  const runs: number[] = [];
  let hit = 0;
  let at = 0;
  for (;;) {
    const blank = bytes.indexOf('\n\n', at);
    if (blank === -1) break;
    const end = blank + 2;
    while (hit < hits.length && hits[hit]! < at) hit++;
    const read = (hit < hits.length && hits[hit]! < end) || !isPlain(bytes, at, blank, plain);
    const last = runs.length - 3;
    if (!read && last >= 0 && runs[last + 2] === 0 && runs[last + 1] === at) runs[last + 1] = end;
    else runs.push(at, end, read ? 1 : 0);
    at = end;
  }
  return { runs, rest: at };
}

/**
 * Whether the event `[start, blank)` begins with one of `plain` and its data is one line ending with `}` (a comment on
 * one line is plain too; a second `data:` line is not: the decoder joins them, and reads what they make).
 */
function isPlain(bytes: string, start: number, blank: number, plain: readonly string[]): boolean {
  // A comment (`: keep-alive`) on one line: no data.
  if (bytes.charCodeAt(start) === 58 && bytes.indexOf('\n', start) === blank) return true;
  if (bytes.charCodeAt(blank - 1) !== CLOSE_BRACE) return false;
  for (const prefix of plain) if (bytes.startsWith(prefix, start)) return bytes.indexOf('\n', start + prefix.length) === blank;
  return false;
}

/**
 * A read key with a value other than `null`. (One pattern over the whole text: `indexOf` for each key, resumed after
 * each of a stream's many `"finish_reason":null`, cost three times as much.)
 */
const READ_KEY = /"(?:usage|finish_reason|stop_reason|error)"[ \t]*(?::(?![ \t]*null)|[^: \t])|"(?:message_(?:start|delta|stop)|response\.(?:completed|failed|incomplete))"|\\u/g;

/** Where the read keys with a value (not `null`) and the secrets occur, in order. */
function readHits(bytes: string, secrets: readonly string[]): number[] {
  const hits: number[] = [];
  READ_KEY.lastIndex = 0;
  for (let match = READ_KEY.exec(bytes); match !== null; match = READ_KEY.exec(bytes)) hits.push(match.index);
  for (const secret of secrets) {
    for (let at = bytes.indexOf(secret); at !== -1; at = bytes.indexOf(secret, at + secret.length)) hits.push(at);
  }
  return hits.length > 1 ? hits.sort((a, b) => a - b) : hits;
}
