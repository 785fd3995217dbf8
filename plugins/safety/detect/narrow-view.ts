// The one-byte view the built-in recognizers scan. V8 runs a regex over a one-byte string markedly faster than over a
// two-byte one, and one curly quote, em dash or emoji makes a whole prompt two-byte. So every character beyond Latin-1
// that folding does not turn into ASCII stands in the view as one STAND_IN unit (offsets hold), and what needs the
// character itself (another script's letters, typographic quotes, context words in Cyrillic or CJK) asks `codeAt`,
// `realChar`, `realSlice` or `realIndexOf`, which read it from the text the view was made of.
import { foldCode, foldForRecognizers, isFoldable, scratchFor } from './normalize.ts';

/**
 * What a character beyond Latin-1 reads as in the view: U+0080, a C1 control that written text does not use. It is
 * no ASCII letter, digit, space or mark, as such a character is not, so the scans find the same candidates; a genuine
 * U+0080 in the text reads as itself either way.
 */
export const STAND_IN = 0x80;
const STAND_IN_CHAR = String.fromCharCode(STAND_IN);

/** A run of characters beyond Latin-1, or a foldable one: what the view writes other than the text's own low byte. */
const NOT_KEPT = /[^\x00-\x9f\xa1-\xac\xae-\xff]+/g;

/**
 * First characters of the needles `realIndexOf` is asked for (`ь` of `пароль`, `電` of `電話`): building the view
 * notes where each stands, so finding them reads that list, not the whole two-byte text again.
 */
const NOTED = new Uint8Array(0x10000);

/** Notes the first characters of `needles` (any beyond Latin-1) for `realIndexOf`. Call at module load. */
export function noteNeedles(needles: Iterable<string>): void {
  for (const needle of needles) if (needle.charCodeAt(0) > 0xff) NOTED[needle.charCodeAt(0)] = 1;
}

/** The view last built and where NOTED characters stand in it, in order. */
let builtView: string | undefined;
let builtMarks: number[] = [];

/**
 * `text` folded as `foldForRecognizers` does, with every other character beyond Latin-1 written as STAND_IN: a one-byte
 * string, the same string when there is nothing to write.
 * @example narrowForRecognizers('“4111\u00a01111”') // → '\x804111 1111\x80'
 */
export function narrowForRecognizers(text: string): string {
  NOT_KEPT.lastIndex = 0;
  let m = NOT_KEPT.exec(text);
  if (m === null) return text;
  // The low byte of each unit, then each run NOT_KEPT finds written over (a page of Cyrillic is a few runs).
  const bytes = scratchFor(text.length);
  bytes.write(text, 0, text.length, 'latin1');
  const marks: number[] = [];
  for (; m !== null; m = NOT_KEPT.exec(text)) {
    for (let i = m.index, end = i + m[0].length; i < end; i++) {
      const c = text.charCodeAt(i);
      if (isFoldable(c)) bytes[i] = foldCode(c);
      else {
        bytes[i] = STAND_IN;
        if (NOTED[c] === 1) marks.push(i);
      }
    }
  }
  const view = bytes.toString('latin1', 0, text.length);
  builtView = view;
  builtMarks = marks;
  return view;
}

let currentView: string | undefined;
let currentSource = '';
/** Where NOTED characters stand in the current view; undefined when it is no view narrowForRecognizers built. */
let currentMarks: number[] | undefined;

/**
 * Runs `read` with `view` known as the view of `source` (narrow, or the reference: folded, two-byte). Synchronous, like
 * the detector: nothing else reads in between.
 */
export function readingView<T>(view: string, source: string, read: () => T): T {
  const [view0, source0, marks0] = [currentView, currentSource, currentMarks];
  currentView = view;
  currentSource = source;
  currentMarks = view === builtView ? builtMarks : undefined;
  try {
    return read();
  } finally {
    currentView = view0;
    currentSource = source0;
    currentMarks = marks0;
  }
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
  return foldForRecognizers(currentSource.slice(start, end));
}

/**
 * `text.indexOf(needle, from)` as the text has it. A needle starting beyond Latin-1 (another script's word, whose first
 * character `noteNeedles` was told) is looked for where the view noted that character; no such needle holds a
 * foldable character.
 */
export function realIndexOf(text: string, needle: string, from = 0): number {
  const first = needle.charCodeAt(0);
  if (first <= 0xff || text !== currentView || currentMarks === undefined) return text.indexOf(needle, from);
  if (NOTED[first] !== 1) throw new Error(`narrow-view: realIndexOf needs noteNeedles(['${needle}']) first`);
  const marks = currentMarks;
  for (let lo = lowerBound(marks, from); lo < marks.length; lo++) {
    if (currentSource.startsWith(needle, marks[lo]!)) return marks[lo]!;
  }
  return -1;
}

/** The first index of sorted `values` whose value is at least `at`. */
function lowerBound(values: number[], at: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
