// JSON text streamed a delta at a time (tool-call arguments): its `\uXXXX` escapes decoded as they arrive, so a value
// written `4111\u00a01111…` or `jos\u00e9@…` is found, and the raw text kept alongside for the parts left untouched.
import type { PiiFinding } from './types.ts';

/** One escape written differently in the decoded text: where (decoded offset), and how long it was and is. */
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
 * The decoded side of a streamed JSON text. `decode` takes the provider's next delta and returns its text decoded
 * (an escape cut by the delta's end waits for the next one); `take` gives the raw text of the first `length`
 * decoded characters once they are released.
 */
export class JsonEscapeDecoder {
  #carry = '';
  #raw = '';
  #length = 0;
  #edits: Edit[] = [];

  decode(delta: string): string {
    let text = this.#carry + delta;
    this.#carry = '';
    let i = text.indexOf('\\');
    if (i === -1) return this.#append(text, text);
    let out = '';
    let last = 0;
    while (i !== -1) {
      if (i + 1 >= text.length || (text[i + 1] === 'u' && decodeAt(text, i) === undefined)) {
        this.#carry = text.slice(i);
        text = text.slice(0, i);
        break;
      }
      const decoded = text[i + 1] === 'u' ? decodeAt(text, i) : null;
      if (!decoded) {
        i = text.indexOf('\\', i + 2);
        continue;
      }
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
    let rawLength = length;
    let count = 0;
    for (const edit of this.#edits) {
      if (edit.at >= length) break;
      rawLength += edit.rawLength - edit.length;
      count++;
    }
    const raw = this.#raw.slice(0, rawLength);
    this.#raw = this.#raw.slice(rawLength);
    this.#length -= length;
    this.#edits = count === 0 ? this.#edits : this.#edits.slice(count).map((edit) => ({ ...edit, at: edit.at - length }));
    return raw;
  }

  /** Where the decoded text may be cut at or before `cut`: not inside a surrogate pair decoded from two escapes. */
  safeCut(cut: number): number {
    for (const edit of this.#edits) {
      if (edit.at >= cut) break;
      if (edit.at + edit.length > cut) return edit.at;
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
  return text.replace(/\\(?:u[0-9a-fA-F]{4}|[\s\S])/g, (escape) => (isSeparator(escape) ? ' '.repeat(escape.length) : escape));
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
export function snapToEscapes(text: string, findings: PiiFinding[]): PiiFinding[] {
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
