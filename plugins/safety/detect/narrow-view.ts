// The one-byte view the built-in recognizers scan. V8 runs a regex over a one-byte string markedly faster than over a
// two-byte one, and one curly quote, em dash or emoji makes a whole prompt two-byte. So every character beyond Latin-1
// that folding does not turn into ASCII stands in the view as one STAND_IN unit (offsets hold), and what needs the
// character itself (another script's letters, typographic quotes, context words in Cyrillic or CJK) asks `codeAt`,
// `realChar`, `realSlice` or `realIndexOf`, which read it from the text the view was made of.
import { foldCode, foldForRecognizers, hasDigitDash, isDigitDashAt, isFoldable, scratchFor } from './normalize.ts';

/**
 * What a character beyond Latin-1 reads as in the view: U+0080, a C1 control that written text does not use. It is
 * no ASCII letter, digit, space or mark, as such a character is not, so the scans find the same candidates; a genuine
 * U+0080 in the text reads as itself either way.
 */
export const STAND_IN = 0x80;
const STAND_IN_CHAR = String.fromCharCode(STAND_IN);

/**
 * First characters of the needles `realIndexOf` is asked for (`ь` of `пароль`, `電` of `電話`), each with a slot:
 * building the view notes where each stands, so finding them reads that list, not the whole two-byte text again.
 */
const SLOT = new Uint8Array(0x10000);
let slots = 0;

/** Notes the first characters of `needles` (any beyond Latin-1) for `realIndexOf`. Call at module load. */
export function noteNeedles(needles: Iterable<string>): void {
  for (const needle of needles) {
    const first = needle.charCodeAt(0);
    if (first <= 0xff || SLOT[first] !== 0) continue;
    if (slots === 255) throw new Error('narrow-view: more than 255 needle characters');
    SLOT[first] = ++slots;
  }
}

/** Where noted characters stand in a view, by slot: slot s's positions are `at[start[s] .. start[s + 1])`, ascending. */
interface Marks {
  at: Int32Array;
  start: Int32Array;
}
const NO_MARKS: Marks = { at: new Int32Array(0), start: new Int32Array(257) };

/** The view last built and its marks. */
let builtView: string | undefined;
let builtMarks = NO_MARKS;
/** Noted characters found while building, in text order (reused: a page of Cyrillic notes a million). */
let notedAt = new Int32Array(1024);
let notedSlot = new Uint8Array(1024);

/**
 * `text` folded as `foldForRecognizers` does, with every other character beyond Latin-1 written as STAND_IN: a one-byte
 * string, the same string when there is nothing to write.
 * @example narrowForRecognizers('“4111\u00a01111”') // → '\x804111 1111\x80'
 */
export function narrowForRecognizers(text: string): string {
  // A copy of the units (charCodeAt on the text, a rope as often as not, cost several times more), read eight at a
  // time for one the view writes: a regex pass for them cost more. Made and read a chunk at a time, while it is in the
  // cache: the copy of 2 MB made whole then read cost twice as much inside the detector, measured.
  const n = text.length;
  const scratch = scratchFor(n * 3 + 2);
  const units = new Uint16Array(scratch.buffer, scratch.byteOffset, n);
  // (allocUnsafeSlow's buffer: its own memory, at offset 0, so its words are aligned.)
  const words = new Uint32Array(scratch.buffer, scratch.byteOffset, n >> 1);
  // The low byte of each unit, then each unit to write written over.
  const bytes = scratch.subarray(n * 2 + 2, n * 3 + 2);
  noted = 0;
  let written = false;
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK);
    // (One unit more: whether a dash folds depends on the unit after it.)
    const piece = text.slice(from, Math.min(n, to + 1));
    scratch.write(piece, from * 2, piece.length * 2, 'utf16le');
    bytes.write(piece, from, to - from, 'latin1');
    if (writeUnits(units, words, from, to, bytes)) written = true;
  }
  if (!written) return text;
  const view = bytes.toString('latin1', 0, n);
  builtView = view;
  builtMarks = noted === 0 ? NO_MARKS : marksBySlot(noted);
  return view;
}

/** Units copied and read at a time (a multiple of 8). */
const CHUNK = 16 * 1024;

/**
 * Whether one of the two units in 32-bit word `w` may be one the view writes: one beyond Latin-1 (a bit of the high
 * byte), or one of U+0080–U+00BF (bit 7 without bit 6), where the Latin-1 ones that fold are (U+0085, U+00A0, U+00AD).
 * Accented letters (U+00C0–U+00FF) are passed over: text dense with them read as fast as ASCII.
 */
function mayWrite(w: number): number {
  return (w & 0xff00ff00) | (w & ~(w << 1) & 0x00800080);
}

/**
 * Writes each unit of `[from, to)` (`from` a multiple of 8) that the view writes (beyond Latin-1, or foldable); whether
 * there was one. Eight units at a time (four of `words`, the same memory) are passed over while none may be one.
 */
function writeUnits(units: Uint16Array, words: Uint32Array, from: number, to: number, bytes: Buffer): boolean {
  let written = false;
  const blocks = Math.min(to >> 1, words.length) & ~3;
  for (let w = from >> 1; w < blocks; w += 4) {
    if ((mayWrite(words[w]!) | mayWrite(words[w + 1]!) | mayWrite(words[w + 2]!) | mayWrite(words[w + 3]!)) === 0) continue;
    for (let k = w * 2; k < w * 2 + 8; k++) if (markUnit(bytes, k, units[k]!, units)) written = true;
  }
  // (The units past the last whole block of eight.)
  for (let i = Math.max(from, blocks * 2); i < to; i++) if (markUnit(bytes, i, units[i]!, units)) written = true;
  return written;
}

/** How many noted characters the view being built holds so far. */
let noted = 0;

/** Writes unit `c` at `i` of the view being built: folded, or a stand-in (noted when a needle starts with it); or not. */
function markUnit(bytes: Buffer, i: number, c: number, units: Uint16Array): boolean {
  if (c <= 0xff && !isFoldable(c)) return false;
  if (isFoldable(c)) bytes[i] = foldCode(c);
  else if (isDigitDashAt(units, i)) bytes[i] = 45;
  else {
    bytes[i] = STAND_IN;
    const slot = SLOT[c]!;
    if (slot !== 0) {
      if (noted === notedAt.length) [notedAt, notedSlot] = [grown(notedAt), grown(notedSlot)];
      notedAt[noted] = i;
      notedSlot[noted++] = slot;
    }
  }
  return true;
}

/** The first `count` noted positions grouped by slot (a counting sort: each slot's stay in text order). */
function marksBySlot(count: number): Marks {
  const start = new Int32Array(257);
  for (let k = 0; k < count; k++) start[notedSlot[k]! + 1]!++;
  for (let s = 1; s < 257; s++) start[s]! += start[s - 1]!;
  const next = start.slice();
  const at = new Int32Array(count);
  for (let k = 0; k < count; k++) at[next[notedSlot[k]!]!++] = notedAt[k]!;
  return { at, start };
}

function grown<T extends Int32Array | Uint8Array>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}

let currentView: string | undefined;
let currentSource = '';
/** Where noted characters stand in the current view; undefined when it is no view narrowForRecognizers built. */
let currentMarks: Marks | undefined;

/**
 * Runs `read` with `view` known as the view of `source` (narrow, or the reference: folded, two-byte). Synchronous, like
 * the detector: nothing else reads in between.
 */
export function readingView<T>(view: string, source: string, read: () => T): T {
  readings++;
  const [view0, source0, marks0] = [currentView, currentSource, currentMarks];
  currentView = view;
  currentSource = source;
  currentMarks = view === builtView ? builtMarks : undefined;
  cursors.fill(0);
  try {
    return read();
  } finally {
    currentView = view0;
    currentSource = source0;
    currentMarks = marks0;
  }
}

/** How many readings `readingView` has begun: what is found of a text once per reading (its digit runs) is kept by it. */
let readings = 0;
export function currentReading(): number {
  return readings;
}

/** The code unit at `i` as the text has it (folded): `text.charCodeAt(i)`, unless that is a stand-in of the view. */
export function codeAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c !== STAND_IN || text !== currentView ? c : currentSource.charCodeAt(i);
}

/** `text[i]` as the text has it (folded), or '' past its end. */
export function realChar(text: string, i: number): string {
  return i >= 0 && i < text.length ? String.fromCharCode(codeAt(text, i)) : '';
}

/** `text.slice(start, end)` as the text has it (folded), stand-ins of the view replaced by their characters. */
export function realSlice(text: string, start: number, end?: number): string {
  const slice = text.slice(start, end);
  if (slice.indexOf(STAND_IN_CHAR) === -1 || text !== currentView) return slice;
  const source = currentSource.slice(start, end);
  // (A dash between digits the view folded shows there as `-`: with none, folding the slice alone reads the same.)
  if (slice.indexOf('-') === -1 || !hasDigitDash(source)) return foldForRecognizers(source);
  // (A dash between digits folds by its neighbours, which may lie outside the slice: the view's own units, each
  // stand-in replaced by the character it stands for — which never folds.)
  const from = start < 0 ? Math.max(0, text.length + start) : Math.min(start, text.length);
  let real = '';
  let last = 0;
  for (let k = slice.indexOf(STAND_IN_CHAR); k !== -1; k = slice.indexOf(STAND_IN_CHAR, k + 1)) {
    real += slice.slice(last, k) + currentSource[from + k]!;
    last = k + 1;
  }
  return real + slice.slice(last);
}

/**
 * `text.indexOf(needle, from)` as the text has it. A needle starting beyond Latin-1 (another script's word, whose first
 * character `noteNeedles` was told) is looked for where the view noted that character; no such needle holds a
 * foldable character.
 */
export function realIndexOf(text: string, needle: string, from = 0): number {
  const first = needle.charCodeAt(0);
  if (first <= 0xff || text !== currentView || currentMarks === undefined) return text.indexOf(needle, from);
  const slot = SLOT[first]!;
  if (slot === 0) throw new Error(`narrow-view: realIndexOf needs noteNeedles(['${needle}']) first`);
  const { at } = currentMarks;
  const first0 = currentMarks.start[slot]!;
  const end = currentMarks.start[slot + 1]!;
  // Callers walk forward (`from` past the last hit): go on from where the last call of this slot stopped, so a page
  // of `ь` costs one pass, not a search per hit.
  let lo = Math.max(cursors[slot]!, first0);
  if (lo > first0 && at[lo - 1]! >= from) lo = lowerBound(at, first0, end, from);
  else while (lo < end && at[lo]! < from) lo++;
  for (; lo < end; lo++) {
    if (currentSource.startsWith(needle, at[lo]!)) {
      cursors[slot] = lo;
      return at[lo]!;
    }
  }
  cursors[slot] = lo;
  return -1;
}

/** Per slot, where in its marks the last `realIndexOf` stopped. */
const cursors = new Int32Array(256);

/** The first index in `[lo, hi)` of sorted `values` whose value is at least `at`. */
function lowerBound(values: Int32Array, lo: number, hi: number, at: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
