// Streamed answers: text is held back only while it could still be (part of) a value, then released redacted.
import { escapeRegExp } from './detect/chars.ts';
import { delimiterCount } from './detect/columns.ts';
import { foldForRecognizers } from './detect/normalize.ts';
import { PASSPHRASE_STARTS } from './detect/secret.ts';
import { escapeView, JsonEscapeDecoder, type JsonLexState, lexJson, quoteBareFindings, snapToEscapes } from './json-stream.ts';
import { PseudonymVault } from './pseudonyms.ts';
import type { FindingTally, Redactor } from './redact.ts';
import { INSERT_INTO, MAX_TABLE_LINE, StreamedTable } from './stream-table.ts';
import type { PiiFinding } from './types.ts';

/** Released text kept as context for the next detection (context words, a value's start). */
const CONTEXT_CHARS = 64;
/** A row's first field is shorter than this: a line with no delimiter so far that is longer is not held as a row. */
const ROW_START_CHARS = 64;
/** A run of digit groups (`+41 (0)96 471 07 95`) is held back at most this far. */
const MAX_GROUP_TAIL = 64;
/** Nothing is held longer than this, whatever it looks like: a stream must keep moving. */
export const MAX_HOLD_CHARS = 4096;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\n' || c === '\t' || c === '\r';
}

/**
 * A token that may be one group of a value written with spaces: digits, `+44`, `(0)`, `WEST` or `3m02` of an IBAN.
 * (Lower-case letters alone, `west` of `gb82 west 1234…`, are a group only after an IBAN's start: `lowerLetterGroup`.)
 */
function isGroupLike(token: string): boolean {
  return token.length > 0 && token.length <= 12 && (/^[+(]?[\d().\-]*\d[\d().\-]*[,.:;]?$/.test(token) || /^[A-Z0-9]{1,4}$/.test(token) || /^(?=[a-zA-Z]*\d)[a-zA-Z0-9]{1,6}$/.test(token));
}

/**
 * Up to six letters, other than four capitals: a group of an IBAN written in lower case or grouped by 5 or 6 (`west`,
 * `mtlc`, `mmfiso`), or a word.
 */
function lowerLetterGroup(token: string): boolean {
  return /^[a-zA-Z]{1,6}$/.test(token) && !/^[A-Z]{1,4}$/.test(token);
}

/** An IBAN's first group, any case, grouped by 4 to 6: two letters and two digits (`de89`, `GB82`, `XK345`, `kw58rw`). */
const IBAN_START = /^[a-zA-Z]{2}\d{2}[a-zA-Z0-9]{0,2}$/;
/** The same at the end of a token. */
const IBAN_START_AT_END = new RegExp(IBAN_START.source.slice(1));

/** A character that may be part of a group (`+44`, `(0)89`, `WEST`); any other one ends a group before it. */
const GROUP_CHAR = /[A-Za-z0-9+().\-]/;

/**
 * Where a group begins inside `token` after a delimiter (`"4111` of `{"card":"4111`, `=GB82`, `„4111`), or -1.
 * A trailing `,.:;` belongs to the group, as in `isGroupLike`.
 */
function groupAfterDelimiter(token: string): number {
  let at = token.length - (/[,.:;]$/.test(token) ? 2 : 1);
  while (at >= 0 && GROUP_CHAR.test(token[at]!)) at--;
  if (at >= 0 && at < token.length - 1 && isGroupLike(token.slice(at + 1))) return at + 1;
  // An IBAN's start after `(`, `+`, `-` or `.` (`(DE89`, `IBAN+gb82`, `1.mt84`): those join a phone's groups, not an IBAN's.
  const start = token.search(IBAN_START_AT_END);
  return start > 0 && !/[a-zA-Z0-9]/.test(token[start - 1]!) ? start : -1;
}

/** Where the blanks that end at `at` begin, when they can part two groups (1–3 of them, one line break at most); else `at`. */
function blanksBefore(text: string, at: number): number {
  let i = at;
  let breaks = 0;
  while (i > 0 && at - i < 3 && isSpace(text[i - 1])) {
    if (text[i - 1] === '\n') breaks++;
    i--;
  }
  return i === at || breaks > 1 || (i > 0 && isSpace(text[i - 1])) ? at : i;
}

/**
 * Where the part of `pending` that must still be held begins: the last unfinished token (a value is never cut in
 * the middle) and, before it, digit groups that a value written with spaces may continue — the first of them may
 * follow a quote, `=`, `,`, `[`… with no space (`"4111 1111 `, `{"iban":"GB82 WEST `).
 */
export function holdFrom(pending: string): number {
  let cut = pending.length;
  while (cut > 0 && !isSpace(pending[cut - 1])) cut--;
  // Lower-case letter groups read so far: held only if an IBAN's first group comes before them.
  let tentative = cut;
  for (;;) {
    // Groups are parted by a space, or by up to three blanks with one line break at most (`DE89  3704`, `DE89\t3704`).
    const end = blanksBefore(pending, tentative);
    if (end === tentative || end === 0) break;
    let start = end;
    while (start > 0 && !isSpace(pending[start - 1])) start--;
    if (pending.length - start > MAX_GROUP_TAIL) {
      // A long token (JSON with no space, escaped a level down): only a group at its end can begin a value.
      const tail = Math.max(start, end - 24);
      const group = groupAfterDelimiter(pending.slice(tail, end));
      if (group > 0 && (tentative === cut || IBAN_START.test(pending.slice(tail + group, end)))) cut = tail + group;
      break;
    }
    const token = pending.slice(start, end);
    if (lowerLetterGroup(token)) {
      tentative = start;
      continue;
    }
    if (isGroupLike(token)) {
      // After a letter group, groups are held only up to an IBAN start (`mt84 malt 0110 0001 2345 mtlc`).
      const afterLetters = tentative !== cut;
      tentative = start;
      if (!afterLetters || IBAN_START.test(token)) cut = start;
      continue;
    }
    const group = groupAfterDelimiter(token);
    if (group !== -1 && (tentative === cut || IBAN_START.test(token.slice(group)))) cut = start + group;
    break;
  }
  return cut;
}

/** What a value's context may still add after it (the detector reads CONTEXT_AFTER characters on). */
const CONTEXT_AFTER_HELD = 24;
/** A number this long may be a phone, an SSN or a card whose context word comes after it (`536221234 is my SSN`). */
const MIN_HELD_DIGITS = 7;
/** A digit run with its separators (`+1 (415) 555-0132`, `536-22-1234`). */
const NUMBER_RUN = /[+(]?\d(?:[\d(). -]*\d)?/g;
/** A private key's header, or the start of one still arriving. */
const KEY_HEADER = /^-----BEGIN [A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----|^-----BEGIN [A-Z ]{0,40}-{0,4}$/;
/** Its END line, whole: until it is, the block may go on. */
const KEY_END = /-----END [A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
/**
 * A password word and what joins it to its value on one line (`My password: `, `the password is '`): a passphrase may
 * go on with spaces (`correct horse battery staple 42`), to the end of the line or its closing quote.
 */
const PASSPHRASE_START = passphraseStart();

/**
 * A password word the detector reads a passphrase after, then `:` or `=` (full-width too: the detector folds them), or
 * a verb, maybe an adverb or a participle and `to`, and an opening quote (escaped, in JSON): from the detector's own lists.
 */
function passphraseStart(): RegExp {
  const any = (items: readonly string[]) => [...items].sort((a, b) => b.length - a.length).map((item) => escapeRegExp(item).replace(/ /g, '\\s+')).join('|');
  const { words, unspaced, verbs, adverbs, participles, quotes } = PASSPHRASE_STARTS;
  const afterVerb = `(?:\\s+(?:${any(adverbs)}|(?:${any(participles)})\\s+to))?`;
  return new RegExp(`(?:(?<![\\p{L}\\p{N}_])(?:${any(words)})|${any(unspaced)})\\s*(?:[:=：＝]|\\s(?:${any(verbs)})${afterVerb}\\s+\\\\?[${quotes.join('')}])\\s*`, 'giu');
}
/**
 * A secret's name in an assignment and the opening quote of its value (`DB_PASSWORD="`, `export API_SECRET='`,
 * `api_key: "`, a long option's `--password "`): the detector reads a quoted value to its closing quote, blanks included (`"my long passphrase 2024"`),
 * where the stream released the words before the last one (an outside review of this session, F2). Escaped inside a JSON
 * string too, as a tool call writes a shell command (`{"cmd":"export DB_PASSWORD=\"…\""}`).
 */
const OPEN_QUOTED_SECRET = /(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|credentials?|auth)[\w.-]*(?:(?:\\?["'])?[ \t]*[:=][ \t]*|(?<=(?:^|\s)--[\w-]*)[ \t]+)(\\?["'`])/gi;
/** How far a passphrase is held waiting for the end of its line (the detector reads a prose value this far). */
const MAX_PASSPHRASE_HELD = 128;

/** A private key block is held this long waiting for its END line: the longest the detector reads one (RSA-8192 ~6.5 KB). */
export const MAX_KEY_HOLD_CHARS = 16 * 1024;

/** Where a private key block begins in `text` whose END line has not come yet, or -1. */
function openKeyBlock(text: string): number {
  const begin = text.lastIndexOf('-----BEGIN ');
  return begin !== -1 && KEY_HEADER.test(text.slice(begin, begin + 64)) && !KEY_END.test(text.slice(begin)) ? begin : -1;
}

/**
 * Where text must still be held because what comes next may make it (part of) a value: `text` is the released
 * context and the pending text, `offset` where the pending text starts; returns an index into the pending text
 * (its length when nothing is awaited). A paced stream otherwise released these before the context arrived, where
 * the same answer whole was redacted (an outside review): a number whose context word follows it
 * (`536221234 ` + `is my SSN`), a private key block before its END line, a passphrase before its line ends.
 */
export function awaitingContext(text: string, offset: number, keyBlock = openKeyBlock(text)): number {
  // A private key block (`keyBlock`, where it begins): held from its header until its END line (at most MAX_KEY_HOLD_CHARS).
  let hold = keyBlock === -1 ? text.length : keyBlock;
  // A long number near the end: held until CONTEXT_AFTER_HELD characters follow it.
  const from = Math.max(0, text.length - CONTEXT_AFTER_HELD - 48);
  NUMBER_RUN.lastIndex = from;
  for (let m = NUMBER_RUN.exec(text); m !== null; m = NUMBER_RUN.exec(text)) {
    const end = m.index + m[0].length;
    if (text.length - end >= CONTEXT_AFTER_HELD) continue;
    let digits = 0;
    for (let i = m.index; i < end && digits < MIN_HELD_DIGITS; i++) if (text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) digits++;
    if (digits >= MIN_HELD_DIGITS) {
      hold = Math.min(hold, m.index);
      break;
    }
  }
  // A passphrase after a password word, on the line still arriving.
  const line = text.lastIndexOf('\n') + 1;
  if (text.length - line > 4) {
    PASSPHRASE_START.lastIndex = line;
    let value = -1;
    for (let m = PASSPHRASE_START.exec(text); m !== null; m = PASSPHRASE_START.exec(text)) value = m.index + m[0].length;
    if (value !== -1 && text.length - value <= MAX_PASSPHRASE_HELD) hold = Math.min(hold, value);
    // A quoted value after a secret's name, its closing quote still to come: read whole to it, with its blanks.
    OPEN_QUOTED_SECRET.lastIndex = line;
    for (let m = OPEN_QUOTED_SECRET.exec(text); m !== null; m = OPEN_QUOTED_SECRET.exec(text)) {
      const start = m.index + m[0].length;
      if (text.indexOf(m[1]!, start) === -1 && text.length - start <= MAX_PASSPHRASE_HELD) {
        hold = Math.min(hold, start);
        break;
      }
    }
  }
  return Math.max(0, hold - offset);
}

/**
 * One text channel of a stream (a choice, a content block, a tool call's arguments). `push` takes the provider's
 * next delta and returns what may go to the agent now, redacted and with placeholders restored; `flush` releases
 * the rest when the channel ends. A JSON channel (tool-call arguments) is scanned with its `\uXXXX` escapes decoded
 * and its `\n`s read as line breaks; what it releases untouched goes out as the provider wrote it.
 */
export class StreamChannel {
  #released = '';
  #pending = '';
  /** The last CONTEXT_CHARS released characters (text channels, whose `#released` may be a table's row context). */
  #plain = '';
  readonly #table: StreamedTable | undefined;
  readonly #redactor: Redactor;
  readonly #vault: PseudonymVault;
  readonly #tally: FindingTally;
  readonly #escape: ((value: string) => string) | undefined;
  readonly #json: JsonEscapeDecoder | undefined;
  /** Where the JSON of a JSON channel stands at the start of what is pending (inside a string or not). */
  #lex: JsonLexState = 0;
  /** All that is pending is one token with no space in it (so far nothing could be released). */
  #oneToken = false;

  constructor(redactor: Redactor, vault: PseudonymVault, tally: FindingTally, escape?: (value: string) => string, json = false) {
    this.#redactor = redactor;
    this.#vault = vault;
    this.#tally = tally;
    this.#escape = escape;
    if (json) this.#json = new JsonEscapeDecoder();
    // (Tool-call arguments are JSON: their lines are `\n` escapes, not followed here.)
    this.#table = json ? undefined : new StreamedTable();
  }

  get holding(): number {
    return this.#pending.length;
  }

  push(delta: string): string {
    // One unfinished token so far, and the delta goes on with it: nothing can be released, so nothing is scanned
    // (a scan per delta of a long token was quadratic: 256 KB of `1:1:…` held the gateway 12 s).
    if (this.#oneToken && this.#pending.length + delta.length <= MAX_HOLD_CHARS && !/\s/.test(delta) && !this.#mayBreak(delta)) {
      this.#pending += this.#json ? this.#json.decode(delta) : delta;
      return '';
    }
    this.#pending += this.#json ? this.#json.decode(delta) : delta;
    const pending = this.#pending;
    const offset = this.#released.length;
    const whole = this.#released + pending;
    // JSON is read through its escapes (same length): `\n4111 ` holds the `4111` group, as a line break before it would.
    const view = this.#json ? escapeView(whole) : undefined;
    const read = view === undefined ? pending : view.slice(offset);
    // What may still be a value is judged on the text as the detector reads it (folded, same length): full-width
    // digits and letters and Unicode spaces part and make groups as ASCII ones do (`５５５５　５５５５ ` is held).
    const context = foldForRecognizers(view ?? whole);
    let cut = holdFrom(context.slice(offset));
    const partial = PseudonymVault.partialAt(pending);
    if (partial !== -1) cut = Math.min(cut, partial);
    const keyBlock = openKeyBlock(context);
    cut = Math.min(cut, awaitingContext(context, offset, keyBlock));
    // A custom recognizer's match whose context words may still come after it, read on the text as written.
    cut = Math.min(cut, Math.max(0, this.#redactor.awaitingContext(view ?? whole) - offset));
    if (this.#table) cut = Math.min(cut, this.#rowHold(pending));
    this.#oneToken = cut === 0 && !/\s/.test(read);
    // A private key block waits for its END line longer than anything else is held.
    const bound = keyBlock === -1 ? MAX_HOLD_CHARS : MAX_KEY_HOLD_CHARS;
    // Findings only hold more back: with nothing to release and room to hold, the scan waits for more text.
    if (cut <= 0 && pending.length <= bound) return '';
    const findings = view === undefined ? this.#redactor.detect(whole) : snapToEscapes(whole, this.#redactor.detect(view));
    // Never release part of a value, nor a value that reaches the end (it may go on).
    for (const finding of findings) {
      const start = finding.start - offset;
      const end = finding.end - offset;
      if (end <= 0) continue;
      if ((start < cut && end > cut) || end >= pending.length) cut = Math.min(cut, Math.max(0, start));
    }
    // Forced past the bound, half of it goes: the next forced release (and scan) waits for as much new text again.
    if (pending.length - cut > bound) cut = pending.length - bound / 2;
    cut = PseudonymVault.unsplit(pending, cut);
    if (this.#json) cut = this.#json.safeCut(cut);
    if (cut <= 0) return '';
    return this.#release(cut, findings, offset);
  }

  /**
   * Takes `delta` without scanning, when the next delta of this channel already arrived and will be pushed at once: one
   * scan then reads both (a scan has a fixed cost per call, ~1 µs, and a network read brings tens of deltas under load).
   * False when it must be pushed instead (a JSON channel, or past the hold bound).
   */
  hold(delta: string): boolean {
    if (this.#json || this.#pending.length + delta.length > MAX_HOLD_CHARS) return false;
    this.#pending += delta;
    this.#oneToken = false;
    return true;
  }

  /**
   * Whether `delta` may hold a line break or tab once a JSON channel's escapes are read (`\n`, `\t`, `\u000a`…, one
   * cut between this delta and the last): then it is not one token with what is pending. `\"` and `\\` are not.
   */
  #mayBreak(delta: string): boolean {
    return this.#json !== undefined && (/\\[nrtbfu]/.test(delta) || (this.#pending.endsWith('\\') && /^[nrtbfu]/.test(delta)));
  }

  flush(): string {
    const rest = this.#json?.rest() ?? '';
    if (this.#pending === '') return rest;
    const offset = this.#released.length;
    return this.#release(this.#pending.length, this.#detect(this.#released + this.#pending), offset) + rest;
  }

  /**
   * Where the row still arriving begins in `pending`, when it must be held until it ends (`StreamedTable.arrivingRow`);
   * `pending.length` when nothing is held for it.
   */
  #rowHold(pending: string): number {
    // The end of a row too long to keep as context, then rows: they wait until that end is released, and the header
    // is context again (released with it, they were read without it).
    if (this.#table!.inLongRow) {
      const firstBreak = pending.indexOf('\n');
      if (firstBreak !== -1 && firstBreak < pending.length - 1) return firstBreak + 1;
    }
    const lastBreak = pending.lastIndexOf('\n');
    let table = this.#table!;
    // Lines that end in what is pending count as the released ones do (a table may come in one delta).
    if (lastBreak !== -1) {
      table = table.copy();
      table.add(pending.slice(0, lastBreak + 1));
    }
    const lineStart = lastBreak + 1;
    if ((table.lineLength ?? Infinity) + pending.length - lineStart > MAX_TABLE_LINE) return pending.length;
    // An SQL insert's row: held until its line ends, as a table's; so is an insert's first line (its first row may share it).
    if (table.inStatement) {
      // (A row written a value per line: all its lines, until it closes.)
      const open = table.openRowFrom;
      return open === undefined ? lineStart : Math.max(0, Math.min(lineStart, open - this.#table!.added));
    }
    if ((lastBreak === -1 && table.lineHasInsert) || INSERT_INTO.test((lastBreak === -1 ? (table.lineText ?? '').slice(-12) : '') + pending.slice(lineStart))) return lineStart;
    const shape = table.arrivingRow;
    if (shape === undefined) return pending.length;
    const delimiters = table.lineDelimiters + delimiterCount(pending, lineStart, pending.length, shape.delimiter);
    // No delimiter in a line's first characters: prose after a table, not a row (a second outside review measured such
    // a line held to its end, up to a second of streaming).
    const lineLength = (lastBreak === -1 ? (table.lineLength ?? 0) : 0) + pending.length - lineStart;
    if (delimiters === 0 && lineLength > ROW_START_CHARS) return pending.length;
    return delimiters <= shape.count ? lineStart : pending.length;
  }

  /**
   * The released text kept as context once `segment` is released: the last CONTEXT_CHARS characters; inside a
   * delimited table or an SQL insert, the header or column list, the row before, and the row still arriving from its
   * start (the detector names a cell by its column's header: StreamedTable).
   */
  #contextAfter(segment: string): string {
    const table = this.#table!;
    table.add(segment);
    this.#plain = (this.#plain + segment).slice(-CONTEXT_CHARS);
    return table.rowContext() ?? this.#plain;
  }

  #detect(text: string): readonly PiiFinding[] {
    return this.#json ? snapToEscapes(text, this.#redactor.detect(escapeView(text))) : this.#redactor.detect(text);
  }

  #release(cut: number, findings: readonly PiiFinding[], offset: number): string {
    const segment = this.#pending.slice(0, cut);
    const local = [];
    for (const finding of findings) {
      const start = finding.start - offset;
      const end = finding.end - offset;
      if (end <= 0 || start >= cut) continue;
      // A value begun in text already released (a stream forced past MAX_HOLD_CHARS): act on what is left of it.
      local.push({ ...finding, start: Math.max(0, start), end: Math.min(cut, end) });
    }
    let redacted: string;
    if (this.#json && local.length > 0) {
      // A value outside a string (a number) is quoted first, so its placeholder is a JSON string.
      const quoted = quoteBareFindings(segment, local, this.#lex, (finding, value) => this.#redactor.rewrites(finding, value, 'output', this.#vault));
      redacted = this.#redactor.process(quoted.text, 'output', this.#vault, this.#tally, quoted.findings);
      if (quoted.text !== segment && redacted === quoted.text) redacted = segment;
    } else {
      redacted = this.#redactor.process(segment, 'output', this.#vault, this.#tally, local);
    }
    if (this.#json) this.#lex = lexJson(segment, this.#lex);
    const raw = this.#json?.take(cut);
    this.#released = this.#table ? this.#contextAfter(segment) : (this.#released + segment).slice(-CONTEXT_CHARS);
    this.#pending = this.#pending.slice(cut);
    // Decoded escapes go out decoded only where something was rewritten, or where a placeholder reads only decoded
    // (`<\u0045MAIL_ADDRESS_1>`): the rest as the provider wrote it.
    if (raw !== undefined && redacted === segment) return this.#vault.restoreEither(raw, segment, this.#escape);
    return this.#vault.restore(redacted, this.#escape);
  }
}
