// What the recognizers read: typographic spaces, dashes, zero-width characters and full-width digits folded to ASCII, one UTF-16 unit for
// one, so every offset found in the folded text is the same offset in the original.

/**
 * No-break space (U+00A0), the Unicode spaces U+2000–U+200A (figure, thin, hair…), narrow no-break space (U+202F,
 * French typography), medium mathematical space (U+205F), ideographic space (U+3000), Ogham space mark (U+1680), line
 * and paragraph separators (U+2028, U+2029): written between the groups of phone, card and account numbers as often as
 * a plain space, and whitespace to every regex. Hyphen, non-breaking hyphen and figure dash
 * (U+2010–U+2012), the en dash (U+2013: `+44–20–7946–0958`, `536–22–1947`) and the full-width forms of `+`, `-` and the
 * digits (`＋８１ ９０－１２３４－５６７８`). Zero-width and invisible characters — zero-width space, non-joiner and joiner
 * (U+200B–U+200D), word joiner (U+2060), the byte-order mark (U+FEFF) and the soft hyphen (U+00AD) — read as a space: one
 * between groups (`4111\u200b1111\u200b1111\u200b1111`) no longer hides the value, or cuts a phone short and leaves a
 * group in clear (`+44 20 7946\u200b0958` was found as `+44 20 7946`). So do the marks an outside review found hiding
 * values as well (copied from Arabic and Hebrew apps, `4111\u200e1111…`): the direction marks U+200E, U+200F and
 * U+202A–U+202E, the invisible operators U+2061–U+2064, the Mongolian vowel separator U+180E, the combining grapheme
 * joiner U+034F and the next-line control U+0085. The minus sign (U+2212: `536−22−1234`) reads as `-`, and every
 * full-width form of ASCII (U+FF01–U+FF5E: `password：x`, `ｐａｓｓｗｏｒｄ＝x`) as that character, as NFKC reads them.
 */
const SPACES: ReadonlyArray<readonly [number, number]> = [
  [0x85, 0x85], [0xa0, 0xa0], [0xad, 0xad], [0x34f, 0x34f], [0x1680, 0x1680], [0x180e, 0x180e], [0x2000, 0x200f],
  [0x2028, 0x202f], [0x205f, 0x2064], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
const DASHES: ReadonlyArray<readonly [number, number]> = [[0x2010, 0x2013], [0x2212, 0x2212]];
const FULL_WIDTH = [0xff01, 0xff5e] as const;

/** Per code unit, its ASCII form when it folds, else 0: the one table the regex, `isFoldable` and `foldCode` read. */
const FOLDED = new Uint8Array(0x10000);
for (const [from, to] of SPACES) FOLDED.fill(32, from, to + 1);
for (const [from, to] of DASHES) FOLDED.fill(45, from, to + 1);
for (let c = FULL_WIDTH[0]; c <= FULL_WIDTH[1]; c++) FOLDED[c] = c - 0xfee0;

const hex = (c: number) => `\\u${c.toString(16).padStart(4, '0')}`;
const FOLDABLE = new RegExp(`[${[...SPACES, ...DASHES, FULL_WIDTH].map(([from, to]) => (from === to ? hex(from) : `${hex(from)}-${hex(to)}`)).join('')}]`);
const FOLDABLE_ALL = new RegExp(FOLDABLE.source, 'g');

/** The ASCII form of a FOLDABLE code unit. */
export function foldCode(code: number): number {
  return FOLDED[code]!;
}

/**
 * `text` with those characters replaced by their ASCII forms; the same string (no copy) when it has none.
 * @example foldForRecognizers('carte 4111\u00a01111\u00a01111\u00a01111') // → 'carte 4111 1111 1111 1111'
 */
export function foldForRecognizers(text: string): string {
  const first = FOLDABLE.exec(text);
  // (A dash between digits is known only by what stands around it: a text may have one to fold and nothing else.)
  const digitDashes = DIGIT_DASH.test(text);
  if (first === null && !digitDashes) return text;
  // One copy of the code units, each foldable one written in place where the regex finds it: on 2 MB of mixed text
  // with 275 of them, ~1 ms/MB, where slicing around each and joining cost ~6 (and made a rope the first read
  // flattened). Many (a hostile megabyte of full-width digits): one pass over the rest, without a call per character.
  const buffer = scratchFor(text.length * 2);
  buffer.write(text, 0, 'utf16le');
  const units = new Uint16Array(buffer.buffer, buffer.byteOffset, text.length);
  if (first !== null) {
    FOLDABLE_ALL.lastIndex = first.index;
    for (let m = FOLDABLE_ALL.exec(text), n = 0; m !== null; m = FOLDABLE_ALL.exec(text), n++) {
      if (n === MAX_MATCHES) {
        foldUnits(units, m.index);
        break;
      }
      units[m.index] = foldCode(units[m.index]!);
    }
  }
  const dashed = digitDashes && writeDigitDashes(text, units);
  return first === null && !dashed ? text : buffer.toString('utf16le', 0, text.length * 2);
}

/** Writes `-` over each of `text`'s DIGIT_DASHES between digits in `units` (its code units); whether there was one. */
function writeDigitDashes(text: string, units: Uint16Array): boolean {
  let any = false;
  DIGIT_DASH_BETWEEN.lastIndex = 0;
  for (let m = DIGIT_DASH_BETWEEN.exec(text); m !== null; m = DIGIT_DASH_BETWEEN.exec(text)) {
    units[m.index] = 45;
    any = true;
  }
  return any;
}

const MAX_MATCHES = 256;

/**
 * One buffer, reused: a fresh one per text touched fresh pages and, being memory outside the heap, pushed the GC to run
 * (~0.7 ms/MB of the fold, measured). The detector is synchronous, so no two texts share it at once.
 */
let scratch = Buffer.alloc(0);
export function scratchFor(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(Math.max(bytes, scratch.length * 2, 64 * 1024));
  // A huge text keeps its buffer only until a small one comes.
  else if (scratch.length > 16 * 1024 * 1024 && bytes < scratch.length / 8) scratch = Buffer.allocUnsafeSlow(Math.max(bytes, 64 * 1024));
  return scratch;
}

function foldUnits(units: Uint16Array, from: number): void {
  for (let i = from; i < units.length; i++) {
    const folded = FOLDED[units[i]!]!;
    if (folded !== 0) units[i] = folded;
  }
}

/** Whether `c` is one of FOLDABLE's. */
export function isFoldable(c: number): boolean {
  return FOLDED[c] !== 0;
}

/**
 * Dash-like marks people type between digit groups that are no dash elsewhere: the em dash and the horizontal bar
 * (`536—22—1234`; between words, a clause's dash), and Japanese IMEs' long-vowel mark, full and half width
 * (`03ー1234ー5678`; inside a word, a long vowel). Between two digits (ASCII or full-width) they read as `-`, so
 * whether one folds depends on its neighbours: `foldForRecognizers` and the narrow view both ask `isDigitDashAt`.
 */
const DIGIT_DASHES = '\u2014\u2015\u30fc\uff70';
const DIGIT_DASH = new RegExp(`[${DIGIT_DASHES}]`);
const DIGIT_DASH_BETWEEN = new RegExp(`(?<=[0-9\uff10-\uff19])[${DIGIT_DASHES}](?=[0-9\uff10-\uff19])`, 'g');

function isDigitDash(c: number): boolean {
  return c === 0x2014 || c === 0x2015 || c === 0x30fc || c === 0xff70;
}

function isAnyDigit(c: number | undefined): boolean {
  return c !== undefined && ((c >= 48 && c <= 57) || (c >= 0xff10 && c <= 0xff19));
}

/** Whether unit `i` of `units` (a text's code units) is one of DIGIT_DASHES between two digits: it reads as `-`. */
export function isDigitDashAt(units: ArrayLike<number>, i: number): boolean {
  return isDigitDash(units[i]!) && isAnyDigit(units[i - 1]) && isAnyDigit(units[i + 1]);
}

/** Whether `text` has a character of DIGIT_DASHES anywhere (then a slice of it may not fold on its own). */
export function hasDigitDash(text: string): boolean {
  return DIGIT_DASH.test(text);
}
