// JSON text streamed a delta at a time (tool-call arguments): its `\uXXXX` escapes decoded as they arrive, so a value
// written `4111\u00a01111…` or `jos\u00e9@…` is found, and the raw text kept alongside for the parts left untouched.
import type { PiiFinding } from './types.ts';

/** One escape written differently in the decoded text: where (offset in the whole decoded text), and how long it was and is. */
interface Edit {
  at: number;
  rawLength: number;
  length: number;
}

const HEX4 = /^[0-9a-fA-F]{4}$/;
const SHORT: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

/**
 * How `\uXXXX` at `i` of `text` reads decoded, as `JSON.stringify` would write it (`\u00e9` → `é`, `\u000a` → `\n`,
 * `\u0022` → `\"`), with the raw length it covers; `undefined` when the text ends before the escape can be read (it
 * waits for the next delta), `null` when it stays as written (a lone surrogate, a control character, not hex).
 */
function decodeAt(text: string, i: number): { value: string; rawLength: number } | null | undefined {
  if (i + 6 > text.length) return undefined;
  const hex = text.slice(i + 2, i + 6);
  if (!HEX4.test(hex)) return null;
  const code = parseInt(hex, 16);
  if (code >= 0xd800 && code <= 0xdbff) {
    // A high surrogate is a character only with the low one that follows it.
    const next = text.slice(i + 6, i + 12);
    if (next.length < 6 && '\\u'.startsWith(next.slice(0, 2)) && /^[0-9a-fA-F]*$/.test(next.slice(2))) return undefined;
    const low = next.startsWith('\\u') && HEX4.test(next.slice(2)) ? parseInt(next.slice(2), 16) : -1;
    return low >= 0xdc00 && low <= 0xdfff ? { value: String.fromCharCode(code, low), rawLength: 12 } : null;
  }
  if (code >= 0xdc00 && code <= 0xdfff) return null;
  const short = SHORT[code];
  if (short !== undefined) return { value: short, rawLength: 6 };
  return code < 0x20 ? null : { value: String.fromCharCode(code), rawLength: 6 };
}

/**
 * How a run of `n` backslashes then `uXXXX` at `i` reads when it is an escape of JSON written inside JSON strings,
 * `n` = 2, 4, 8… for one, two, three levels down (`{"p":"{\"to\":\"bob\\u0040corp.io\"}"}`: arguments that carry
 * JSON). Only a character that needs no escape at any level is decoded (not `"`, `\`, controls, surrogates);
 * `undefined` when the text ends too soon to tell.
 */
function decodeNestedAt(text: string, i: number, n: number): { value: string; rawLength: number } | null | undefined {
  const hexAt = i + n + 1;
  if (hexAt + 4 > text.length) return /^[0-9a-fA-F]*$/.test(text.slice(hexAt)) ? undefined : null;
  const hex = text.slice(hexAt, hexAt + 4);
  if (!HEX4.test(hex)) return null;
  const code = parseInt(hex, 16);
  if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return null;
  return { value: String.fromCharCode(code), rawLength: n + 5 };
}

/** A run of backslashes longer than this at a delta's end is carried only in part (see `decode`). */
const MAX_CARRIED_RUN = 512;

/** How many backslashes run from `i`. */
function backslashRun(text: string, i: number): number {
  let n = 0;
  while (text.charCodeAt(i + n) === 92) n++;
  return n;
}

/**
 * The decoded side of a streamed JSON text. `decode` takes the provider's next delta and returns its text decoded
 * (an escape cut by the delta's end waits for the next one); `take` gives the raw text of the first `length`
 * decoded characters once they are released.
 */
export class JsonEscapeDecoder {
  #carry = '';
  #raw = '';
  /** Decoded characters read so far, and how many of them were released. */
  #length = 0;
  #start = 0;
  /** Every escape decoded, by its offset in the whole decoded text; those before `#next` are released. */
  #edits: Edit[] = [];
  #next = 0;

  decode(delta: string): string {
    let text = this.#carry + delta;
    this.#carry = '';
    let i = text.indexOf('\\');
    if (i === -1) return this.#append(text, text);
    let out = '';
    let last = 0;
    while (i !== -1) {
      // A run of backslashes before `u`: its last 2^k of them (k = 0, 1, 2… as the run allows) are an escape of JSON
      // written in JSON strings k levels down (`\u0040`, `\\u0040`, `\\\\u0040`), the ones before it escaped
      // backslashes. Before another character, an odd run's last one escapes it.
      const n = backslashRun(text, i);
      const after = text[i + n];
      const p = n & -n;
      const at = i + n - p;
      // (undefined: the text ends before the run or its escape can be read; null: no escape to decode here.)
      const decoded = after !== 'u' ? (after === undefined ? undefined : null) : p === 1 ? decodeAt(text, at) : decodeNestedAt(text, at, p);
      if (decoded === undefined) {
        // The run may go on in the next delta. Only its length modulo 256 decides what it escapes (no escape is read
        // more than eight levels down), so a long run's head goes on now: carried whole, a megabyte of backslashes in
        // small deltas was counted again at every delta.
        const keep = n > MAX_CARRIED_RUN ? (n % 256) + 256 : n;
        this.#carry = text.slice(i + n - keep);
        text = text.slice(0, i + n - keep);
        break;
      }
      if (!decoded) {
        i = text.indexOf('\\', i + n + (n % 2));
        continue;
      }
      i = at;
      out += text.slice(last, i);
      this.#edits.push({ at: this.#length + out.length, rawLength: decoded.rawLength, length: decoded.value.length });
      out += decoded.value;
      last = i + decoded.rawLength;
      i = text.indexOf('\\', last);
    }
    return this.#append(text, out + text.slice(last));
  }

  #append(raw: string, decoded: string): string {
    this.#raw += raw;
    this.#length += decoded.length;
    return decoded;
  }

  /** The raw text of the first `length` decoded characters (never cut inside an escape), now released. */
  take(length: number): string {
    const end = this.#start + length;
    let rawLength = length;
    let next = this.#next;
    for (; next < this.#edits.length && this.#edits[next]!.at < end; next++) rawLength += this.#edits[next]!.rawLength - this.#edits[next]!.length;
    const raw = this.#raw.slice(0, rawLength);
    this.#raw = this.#raw.slice(rawLength);
    this.#start = end;
    // Escapes are kept at their offset in the whole decoded text, so those left need no shifting; the list is
    // compacted once most of it is spent.
    if (next > 64 && next * 2 > this.#edits.length) {
      this.#edits = this.#edits.slice(next);
      next = 0;
    }
    this.#next = next;
    return raw;
  }

  /** Where the decoded text may be cut at or before `cut`: not inside a surrogate pair decoded from two escapes. */
  safeCut(cut: number): number {
    const end = this.#start + cut;
    for (let i = this.#next; i < this.#edits.length; i++) {
      const edit = this.#edits[i]!;
      if (edit.at >= end) break;
      if (edit.at + edit.length > end) return edit.at - this.#start;
    }
    return cut;
  }

  /** An escape the stream ended inside (the JSON was cut short): it goes out as it came. */
  rest(): string {
    const carry = this.#carry;
    this.#carry = '';
    return carry;
  }
}

/**
 * JSON text as the recognizers should read it, same length: `\n`, `\t` and the other escapes of control characters
 * become whitespace, so `"Card:\n4111 1111 1111 1111"` shows a card after a line break and not after the letter `n`.
 * The text itself when it has none.
 */
export function escapeView(text: string): string {
  if (!text.includes('\\')) return text;
  // (A line break's escape reads as one, `\n` → ` \n`: a value on a line of its own inside a JSON string is read so.)
  return text.replace(/\\(?:u[0-9a-fA-F]{4}|[\s\S])/g, (escape) => (isSeparator(escape) ? (escape === '\\n' || escape === '\\r' ? ' \n' : ' '.repeat(escape.length)) : escape));
}

/** `\n`, `\t`… and the `\uXXXX` that stay written (control characters, lone surrogates): no part of a value. */
function isSeparator(escape: string): boolean {
  if (escape.length === 2) return 'nrtbf'.includes(escape[1]!);
  const code = parseInt(escape.slice(2), 16);
  return code < 0x20 || (code >= 0xd800 && code <= 0xdfff);
}

/**
 * Findings moved off the inside of an escape (`\n` + `bob@…`, a value ending on a `\`): a replacement must take an
 * escape whole or leave it whole, or the JSON it lands in is no longer valid. A finding left empty is dropped.
 */
export function snapToEscapes(text: string, findings: readonly PiiFinding[]): readonly PiiFinding[] {
  if (findings.length === 0 || !text.includes('\\')) return findings;
  let out: PiiFinding[] | undefined;
  findings.forEach((finding, i) => {
    const start = afterEscape(text, finding.start);
    const end = beforeEscape(text, finding.end);
    if (start === finding.start && end === finding.end) {
      out?.push(finding);
      return;
    }
    out ??= findings.slice(0, i);
    if (start < end) out.push({ ...finding, start, end });
  });
  return out ?? findings;
}

/** The escape sequence `pos` lies strictly inside, as [start, end), or undefined. */
function escapeAround(text: string, pos: number): [number, number] | undefined {
  for (let back = 1; back <= 5 && pos - back >= 0; back++) {
    const at = pos - back;
    if (text[at] !== '\\') continue;
    let run = 0;
    while (at - run - 1 >= 0 && text[at - run - 1] === '\\') run++;
    if (run % 2 === 1) continue; // this backslash is the second of an escaped one
    const length = text[at + 1] === 'u' ? 6 : 2;
    return pos < at + length ? [at, at + length] : undefined;
  }
  return undefined;
}

function afterEscape(text: string, pos: number): number {
  return escapeAround(text, pos)?.[1] ?? pos;
}

function beforeEscape(text: string, pos: number): number {
  return escapeAround(text, pos)?.[0] ?? pos;
}

/** Where JSON text is: outside any string, inside one, or inside one right after a backslash. */
export type JsonLexState = 0 | 1 | 2;

/** The lexer state after `text[0, end)`, read from `state`. */
export function lexJson(text: string, state: JsonLexState, end = text.length): JsonLexState {
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (state === 2) state = 1;
    else if (c === 0x22) state = state === 0 ? 1 : 0;
    else if (c === 0x5c && state === 1) state = 2;
  }
  return state;
}

/**
 * A value outside any JSON string (a card written as the number 4111111111111111) is put in quotes before it is
 * rewritten, so its placeholder lands as a JSON string (`"[CREDIT_CARD]"`) and not as a bare word that breaks the
 * JSON. Only the findings `rewritten` says will change are quoted: a value left as it is keeps its type.
 * `state` is where the text begins (a stream's later segment may begin inside a string).
 */
export function quoteBareFindings(
  text: string,
  findings: readonly PiiFinding[],
  state: JsonLexState,
  rewritten: (finding: PiiFinding, value: string) => boolean,
): { text: string; findings: readonly PiiFinding[] } {
  let out = '';
  let last = 0;
  let lexed = 0;
  let shift = 0;
  const moved: PiiFinding[] = [];
  for (const finding of findings) {
    if (finding.start >= lexed) {
      state = lexJson(text.slice(lexed, finding.start), state);
      lexed = finding.start;
    }
    const value = text.slice(finding.start, finding.end);
    if (state !== 0 || finding.start < last || value.includes('"') || !rewritten(finding, value)) {
      moved.push(shift === 0 ? finding : { ...finding, start: finding.start + shift, end: finding.end + shift });
      continue;
    }
    out += `${text.slice(last, finding.start)}"${value}"`;
    last = finding.end;
    moved.push({ ...finding, start: finding.start + shift + 1, end: finding.end + shift + 1 });
    shift += 2;
  }
  return shift === 0 ? { text, findings } : { text: out + text.slice(last), findings: moved };
}
