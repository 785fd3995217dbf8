// A stream's bytes cut into runs of whole SSE events: the runs no one needs to read, and the events that must be read
// (usage, finish, errors, the terminator), without decoding the rest. What a stream no plugin reads is passed on by.

const CLOSE_BRACE = 125;
const QUOTE = 34;
const COLON = 58;
const SPACE = 32;
const TAB = 9;

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
  if (bytes.charCodeAt(start) === COLON && bytes.indexOf('\n', start) === blank) return true;
  if (bytes.charCodeAt(blank - 1) !== CLOSE_BRACE) return false;
  for (const prefix of plain) if (bytes.startsWith(prefix, start)) return bytes.indexOf('\n', start + prefix.length) === blank;
  return false;
}

/**
 * A read key with a value other than `null` (or a string value equal to a read key's name), a name of an event the
 * record reads, or a `\u` escape. The reference is one pattern, `READ_KEY_REFERENCE` in the tests:
 *   "(usage|finish_reason|stop_reason|error)"[ \t]*(:(?![ \t]*null)|[^: \t])
 *   | "(message_(start|delta|stop)|response.(completed|failed|incomplete))" | \u
 * run as it is, it tried its alternatives at every quote of the stream (a JSON event has dozens): 14 µs of the 20 that
 * cutting the bench's 15 KB stream took (12 now, on one core; under load the change is within the noise). Here a
 * shorter pattern finds candidates: `_reason"` whose value is not `null` (a stream's every delta has
 * `"finish_reason":null`, rejected by the pattern itself; the quote is not taken, as it may open the next name), and
 * the openings of the other names; each candidate is then checked in full (`isReadHit`), so an event holds a hit
 * exactly when it holds one of the reference's (the tests compare the two on random events).
 */
const CANDIDATE = /_reason(?="(?![ \t]*:[ \t]*null))|"(?:usage|error|message_|response\.)|\\u/g;

/** The first position from `at` that is not a space or tab. */
function afterBlanks(bytes: string, at: number): number {
  while (bytes.charCodeAt(at) === SPACE || bytes.charCodeAt(at) === TAB) at++;
  return at;
}

/**
 * After a quoted name ending at `end` (its closing quote is `end - 1`): a colon followed by anything but `null`, or
 * a character other than a colon or blank (the name was a value: `"type":"error"`).
 */
function hasValue(bytes: string, end: number): boolean {
  const next = afterBlanks(bytes, end);
  if (next >= bytes.length) return false;
  if (bytes.charCodeAt(next) !== COLON) return true;
  return !bytes.startsWith('null', afterBlanks(bytes, next + 1));
}

/** Whether the candidate found at `at` (its first character) is one of the reference pattern's hits. */
function isReadHit(bytes: string, at: number): boolean {
  switch (bytes.charCodeAt(at)) {
    case 95: // `_reason"`, value not null (the pattern checked): a hit when the name is finish_reason or stop_reason.
      return (bytes.startsWith('"finish', at - 7) || bytes.startsWith('"stop', at - 5)) && hasValue(bytes, at + 8);
    case 92: // `\u`
      return true;
    default: {
      // `"usage`, `"error`, `"message_`, `"response.`: the whole quoted name.
      const second = bytes.charCodeAt(at + 1);
      if (second === 117 || second === 101) return bytes.charCodeAt(at + 6) === QUOTE && hasValue(bytes, at + 7); // "usage", "error"
      if (second === 109) return bytes.startsWith('start"', at + 9) || bytes.startsWith('delta"', at + 9) || bytes.startsWith('stop"', at + 9);
      return bytes.startsWith('completed"', at + 10) || bytes.startsWith('failed"', at + 10) || bytes.startsWith('incomplete"', at + 10);
    }
  }
}

/** Where the read keys with a value (not `null`) and the secrets occur, in order. */
function readHits(bytes: string, secrets: readonly string[]): number[] {
  const hits: number[] = [];
  CANDIDATE.lastIndex = 0;
  for (let match = CANDIDATE.exec(bytes); match !== null; match = CANDIDATE.exec(bytes)) {
    if (isReadHit(bytes, match.index)) hits.push(match.index);
  }
  for (const secret of secrets) {
    for (let at = bytes.indexOf(secret); at !== -1; at = bytes.indexOf(secret, at + secret.length)) hits.push(at);
  }
  return hits.length > 1 ? hits.sort((a, b) => a - b) : hits;
}

/** For the tests: the read hits' positions (secrets none). */
export const readHitsForTests = (bytes: string): number[] => readHits(bytes, []);
