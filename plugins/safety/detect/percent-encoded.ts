// Values written percent-encoded, as URLs and form bodies carry them (`?email=bob%40example.com`,
// `?card=4111+1111+1111+1111`): each URL-ish run holding escapes is decoded with an offset map, the structured
// recognizers read the decoded run, and what they find is reported over the characters of the text as written.
import { isValidPhoneNumber } from 'libphonenumber-js';
import type { PiiFinding, Recognizer } from '../types.ts';
import { userInfoRole } from './email.ts';
import { foldForRecognizers } from './normalize.ts';
import { codeAt, realSlice } from './narrow-view.ts';

/**
 * Where a decoded view may start: an escape (`%40`), a query (`?name=`) or a form body's next pair (`&name=`). The
 * lookahead stops at the first character outside `[\w.~-]`, so two of its scans never overlap: linear.
 */
const TRIGGER = /%[0-9A-Fa-f]{2}|[?&](?=[\w.~-]+=)/g;

/** Characters of the text kept on each side of a decoded run, unchanged, so context words (`phone:`) are read too. */
const MARGIN = 32;

/** The characters a URL is written with (RFC 3986's unreserved, reserved and `%`); code units from U+00A0 on (IRIs). */
const URL_ASCII = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%#[]") URL_ASCII[c.charCodeAt(0)] = 1;

function isUrlChar(c: number): boolean {
  return c < 128 ? URL_ASCII[c] === 1 : c >= 0xa0 && c !== 0x2028 && c !== 0x2029;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The byte an escape at `at` stands for (`%4A` → 0x4a), or -1 when there is no valid escape there. */
function escapedByte(text: string, at: number, end: number): number {
  if (at + 2 >= end || text.charCodeAt(at) !== 37) return -1;
  const high = hexValue(text.charCodeAt(at + 1));
  const low = hexValue(text.charCodeAt(at + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

/** `name=value&…` from the first character: a form body, where `+` is a space as in a query. */
const FORM_START = /^[\w.~[\]-]+=[^&\s]*&/;

interface Run {
  start: number;
  end: number;
}

/** The runs of URL characters holding an escape, or a `+` in their query: the only ones whose decoding differs. */
function encodedRuns(text: string): Run[] {
  const runs: Run[] = [];
  TRIGGER.lastIndex = 0;
  for (let m = TRIGGER.exec(text); m !== null; m = TRIGGER.exec(text)) {
    let start = m.index;
    while (start > 0 && isUrlChar(codeAt(text, start - 1))) start--;
    let end = m.index + 1;
    while (end < text.length && isUrlChar(codeAt(text, end))) end++;
    if (changesWhenDecoded(text, start, end)) runs.push({ start, end });
    TRIGGER.lastIndex = end;
  }
  return runs;
}

function changesWhenDecoded(text: string, start: number, end: number): boolean {
  let query = isFormBody(text, start, end);
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 && escapedByte(text, i, end) >= 0) return true;
    if (c === 63) query = true;
    else if (c === 35) query = false;
    else if (c === 43 && query) return true;
  }
  return false;
}

function isFormBody(text: string, start: number, end: number): boolean {
  return FORM_START.test(realSlice(text, start, Math.min(end, start + 256)));
}

/** How many bytes follow a UTF-8 lead byte, and the range its first continuation byte must be in (no overlong forms, no surrogates). */
function utf8Shape(lead: number): [count: number, low: number, high: number] | undefined {
  if (lead >= 0xc2 && lead <= 0xdf) return [1, 0x80, 0xbf];
  if (lead === 0xe0) return [2, 0xa0, 0xbf];
  if (lead === 0xed) return [2, 0x80, 0x9f];
  if (lead >= 0xe1 && lead <= 0xef) return [2, 0x80, 0xbf];
  if (lead === 0xf0) return [3, 0x90, 0xbf];
  if (lead >= 0xf1 && lead <= 0xf3) return [3, 0x80, 0xbf];
  if (lead === 0xf4) return [3, 0x80, 0x8f];
  return undefined;
}

/**
 * A stretch of text as the recognizers read it, decoded: `view[k]` was written at `from[k]` up to `to[k]`, and
 * `decoded[k]` counts the view's characters before `k` that differ from what was written. Code units go into typed
 * arrays, one string made at the end: a part per character made a megabyte of `?a=1+2&` cost ~300 ms.
 */
class DecodedView {
  readonly #units: Uint16Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly decoded: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.#units = new Uint16Array(capacity);
    this.from = new Int32Array(capacity);
    this.to = new Int32Array(capacity);
    this.decoded = new Int32Array(capacity + 1);
  }

  /** `text[start, end)` unchanged. */
  copy(text: string, start: number, end: number): void {
    for (let i = start; i < end; i++) this.#push(codeAt(text, i), i, i + 1, 0);
  }

  /** One character (two units beyond the BMP), written as `text[start, end)`. */
  add(code: number, start: number, end: number): void {
    if (code > 0xffff) {
      this.#push(0xd800 + ((code - 0x10000) >> 10), start, end, 1);
      this.#push(0xdc00 + ((code - 0x10000) & 0x3ff), start, end, 1);
    } else this.#push(code, start, end, 1);
  }

  #push(unit: number, start: number, end: number, changed: number): void {
    const k = this.length++;
    this.#units[k] = unit;
    this.from[k] = start;
    this.to[k] = end;
    this.decoded[k + 1] = this.decoded[k]! + changed;
  }

  text(): string {
    return Buffer.from(this.#units.buffer, this.#units.byteOffset, this.length * 2).toString('utf16le');
  }
}

/**
 * Whether the view's `[start, end)` covers a decoded character or has one right beside it: the recognizers found
 * everything else in the text as written already, but not a value glued to an escape there (`/011%2015-2345-6789`).
 */
function touchesDecoded(view: DecodedView, start: number, end: number): boolean {
  const { decoded } = view;
  return decoded[Math.min(end + 1, view.length)]! - decoded[Math.max(start - 1, 0)]! > 0;
}

/** Decodes `text[start, end)` into `view`: escapes as UTF-8 (an invalid sequence stays as written), `+` in a query as a space. */
function decodeRun(text: string, start: number, end: number, view: DecodedView, query = isFormBody(text, start, end)): void {
  let plain = start;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 63) query = true;
    else if (c === 35) query = false;
    if (c === 43 && query) {
      view.copy(text, plain, i);
      view.add(32, i, i + 1);
      plain = ++i;
      continue;
    }
    const byte = c === 37 ? escapedByte(text, i, end) : -1;
    if (byte < 0) {
      i++;
      continue;
    }
    const length = utf8Length(text, i, end, byte);
    if (length === 0) {
      i += 3; // not UTF-8: left as written
      continue;
    }
    view.copy(text, plain, i);
    view.add(utf8Code(text, i, length, byte), i, i + 3 * length);
    plain = i += 3 * length;
  }
  view.copy(text, plain, end);
}

/** How many escapes from `at` make one UTF-8 character (1 to 4), or 0 when they make none. */
function utf8Length(text: string, at: number, end: number, lead: number): number {
  if (lead < 0x80) return 1;
  const shape = utf8Shape(lead);
  if (!shape) return 0;
  const [count, low, high] = shape;
  for (let n = 1; n <= count; n++) {
    const byte = escapedByte(text, at + 3 * n, end);
    if (n === 1 ? byte < low || byte > high : byte < 0x80 || byte > 0xbf) return 0;
  }
  return count + 1;
}

function utf8Code(text: string, at: number, length: number, lead: number): number {
  if (length === 1) return lead;
  let code = lead & (0xff >> (length + 1));
  for (let n = 1; n < length; n++) code = code * 64 + (escapedByte(text, at + 3 * n, at + 3 * n + 3) & 0x3f);
  return code;
}

/**
 * Appends to `out` what `recognizers` find in the percent-decoded runs of `text` (URLs, form bodies, `mailto:`
 * links), in the offsets of `text`: `bob%40example.com` is one EMAIL_ADDRESS over its 17 characters. Only findings
 * that cover a decoded character or touch one are reported; the rest the recognizers found in `text` itself.
 * @example findPercentEncoded('?to=bob%40example.com', [findEmails], out) // out: [{ type: 'EMAIL_ADDRESS', start: 4, end: 21, … }]
 */
export function findPercentEncoded(text: string, recognizers: readonly Recognizer[], out: PiiFinding[]): void {
  // Most prompts hold none: one scan each for the characters a trigger starts with.
  if (text.indexOf('%') === -1 && text.indexOf('?') === -1 && text.indexOf('&') === -1) return;
  findDecoded(text, recognizers, out, 1, (start, end) => [start, end]);
}

/** How many times a value may have been encoded: `%252540` is `@` encoded three times (a `?next=` URL in a `?next=`). */
const MAX_LEVELS = 3;

/** An escape of `%` before two hex digits (`%2540`): what decodes to another escape. */
const ESCAPED_ESCAPE = /%25[0-9A-Fa-f]{2}/;

/**
 * What stands between two views in the text the recognizers read in one pass: a line of NULs longer than any context
 * window (CONTEXT_BEFORE), with a line break on each side, so no value, context word, table header or assignment is
 * read across it.
 */
const VIEW_SEPARATOR = `\n${'\u0000'.repeat(64)}\n`;

/**
 * Reads the decoded runs of `text` (a level of decoding), reporting in the offsets of the text as written through
 * `origin`; a view that still holds escapes it made (`bob%2540example.com` → `bob%40example.com`) is read again.
 * Every view of a level is read in one pass of the recognizers, joined by VIEW_SEPARATOR: a pass per view cost each
 * recognizer's fixed work (thirty-odd secret scans) a few hundred times on 2 MB of mixed text, ~5 % of the detector.
 */
function findDecoded(text: string, recognizers: readonly Recognizer[], out: PiiFinding[], level: number, origin: (start: number, end: number) => [number, number]): void {
  const runs = encodedRuns(text);
  if (runs.length === 0) return;
  const views: Array<{ view: DecodedView; at: number; first: number; last: number }> = [];
  let at = 0;
  for (let r = 0; r < runs.length; ) {
    // Runs close together share one view, so the margins are read once.
    const from = Math.max(0, runs[r]!.start - MARGIN);
    let last = r;
    while (last + 1 < runs.length && runs[last + 1]!.start - MARGIN <= runs[last]!.end + MARGIN) last++;
    const to = Math.min(text.length, runs[last]!.end + MARGIN);
    const view = new DecodedView(to - from);
    let copied = from;
    for (let k = r; k <= last; k++) {
      view.copy(text, copied, runs[k]!.start);
      decodeRun(text, runs[k]!.start, runs[k]!.end, view);
      copied = runs[k]!.end;
    }
    view.copy(text, copied, to);
    views.push({ view, at, first: r, last });
    at += view.length + VIEW_SEPARATOR.length;
    r = last + 1;
  }
  const joined = foldForRecognizers(views.map(({ view }) => view.text()).join(VIEW_SEPARATOR));
  const found: PiiFinding[] = [];
  for (const recognize of recognizers) recognize(joined, found);
  dropSplitEscapes(joined, found);
  let v = 0;
  for (const finding of found.sort((a, b) => a.start - b.start)) {
    while (v + 1 < views.length && views[v + 1]!.at <= finding.start) v++;
    const { view, at: offset } = views[v]!;
    const [start, end] = [finding.start - offset, finding.end - offset];
    if (end > view.length || !touchesDecoded(view, start, end)) continue;
    const decoded = joined.slice(offset, offset + view.length);
    // An escape glues what follows to the URL (`?b=%2B12345678`): a `+` number there is a phone when libphonenumber
    // says it is one, as the phone recognizer's own reading of `%2B` asks.
    if (finding.type === 'PHONE_NUMBER' && decoded.charCodeAt(start) === 43 && !isValidPhoneNumber(decoded.slice(start, end))) continue;
    if (finding.type === 'EMAIL_ADDRESS' && endsUserInfo(text, view, decoded, { ...finding, start, end })) continue;
    const [outStart, outEnd] = origin(view.from[start]!, view.to[end - 1]!);
    out.push({ ...finding, start: outStart, end: outEnd });
  }
  if (level >= MAX_LEVELS) return;
  for (const { view, at: offset, first, last } of views) {
    if (!ESCAPED_ESCAPE.test(text.slice(runs[first]!.start, runs[last]!.end))) continue;
    findDecoded(joined.slice(offset, offset + view.length), recognizers, out, level + 1, (start, end) => origin(view.from[start]!, view.to[end - 1]!));
  }
}

/** Whether `at` is after an escape's `%` and before its end (`%2|2`, `%|22` is not). */
function insideEscape(text: string, at: number): boolean {
  return (at >= 1 && escapedByte(text, at - 1, text.length) >= 0) || (at >= 2 && escapedByte(text, at - 2, text.length) >= 0);
}

/**
 * Drops from `found` (the recognizers' findings in `text` as written) those that start or end inside an escape: in
 * `?q=%22v%22%3A%221.2.3.4%22` the `22` of `%22` is no digit of an IP address (`221.2.3.4`), and a placeholder there
 * would break the escape. The decoded view reads what comes after the escape.
 */
export function dropSplitEscapes(text: string, found: PiiFinding[]): void {
  if (text.indexOf('%') === -1) return;
  let kept = 0;
  for (const finding of found) if (!insideEscape(text, finding.start) && !insideEscape(text, finding.end)) found[kept++] = finding;
  found.length = kept;
}

/**
 * Whether the address the view found has its `@` written as is where it ends a URL's user info or is in its password:
 * `admin:Pa%3Ass%2Fw0rd@db.example.com` decodes to a `/` the URL does not hold, so `w0rd@db.example.com` is no
 * address, and the password is one SECRET in the text as written.
 */
function endsUserInfo(text: string, view: DecodedView, decoded: string, finding: PiiFinding): boolean {
  const at = decoded.lastIndexOf('@', finding.end - 1);
  if (at < finding.start || view.decoded[at + 1]! > view.decoded[at]!) return false;
  const role = userInfoRole(text, view.from[at]!);
  return role === 'delimiter' || role === 'password';
}

/**
 * `value` with its escapes decoded and `+` read as a space, as a query value reads: what an allow-list names.
 * @example percentDecoded('bob%40example.com') // → 'bob@example.com'
 */
export function percentDecoded(value: string): string {
  if (!value.includes('%') && !value.includes('+')) return value;
  const view = new DecodedView(value.length);
  decodeRun(value, 0, value.length, view, true);
  return view.text();
}
