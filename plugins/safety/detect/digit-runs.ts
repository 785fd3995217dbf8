// Where a text's runs of ASCII digits stand: found in one pass per text read, for each recognizer that starts from a
// digit (cards, SSNs, IBANs, IP addresses, phones). Each of them scanned the whole text with a regex of its own for
// its first digit; now each looks at the runs, and tries its regex only at those whose length and neighbours its match
// needs (on 2 MB of mixed text those scans cost ~5.5 ms; this pass and the looks ~4, measured). A text dense with
// digit runs is scanned as before: there a regex call per run costs more than a scan.
import { isAsciiLetter, isDigit } from './chars.ts';
import { currentReading } from './narrow-view.ts';

/** A digit that starts a run. */
const RUN_START = /(?<![0-9])[0-9]/g;
/** More runs than one per DENSE characters (judged from MIN_JUDGED runs on): a text dense with digits (measured: the
 * index pays from one run per ~13 characters on, 2 MB of mixed text has one per 34, of number-dense text one per 17). */
const DENSE = 12;
const MIN_JUDGED = 4096;

export interface DigitRuns {
  /** Each run's `[start, end)`, in text order: run k is `at[2k]` to `at[2k + 1]`. */
  readonly at: Int32Array;
  /** How many of `at`'s numbers are the runs' (twice their count). */
  readonly length: number;
  /** A text dense with digit runs, whose runs are not listed: each recognizer scans it itself. */
  readonly dense: boolean;
}

const DENSE_RUNS: DigitRuns = { at: new Int32Array(0), length: 0, dense: true };
let lastText: string | undefined;
let lastReading = -1;
let lastRuns: DigitRuns = { at: new Int32Array(0), length: 0, dense: false };

/**
 * The digit runs of `text`: found once while one text is read (`readingView`), whichever recognizer asks first. (Found
 * again for each reading, though it is of the same text: a benchmark's repeated text is read as a new one.)
 */
export function digitRuns(text: string): DigitRuns {
  const reading = currentReading();
  if (reading !== lastReading || text !== lastText) {
    lastRuns = findRuns(text);
    lastText = text;
    lastReading = reading;
  }
  return lastRuns;
}

/**
 * The list's memory, reused from text to text (a fresh one per text, memory outside the heap, pushed the GC to run):
 * a text's runs are read before another's are asked for.
 */
let spare = new Int32Array(1024);

function findRuns(text: string): DigitRuns {
  // (A huge text's list is kept only until a small text comes.)
  if (spare.length > 1 << 20 && spare.length > text.length) spare = new Int32Array(1024);
  let at = spare;
  let length = 0;
  RUN_START.lastIndex = 0;
  while (RUN_START.test(text)) {
    const start = RUN_START.lastIndex - 1;
    let end = start + 1;
    while (end < text.length && isDigit(text.charCodeAt(end))) end++;
    // (Judged every 4,096 runs: a text of digits is given up on early.)
    if ((length & 8191) === 0 && length >> 1 >= MIN_JUDGED && (length >> 1) * DENSE > end) return DENSE_RUNS;
    if (length + 2 > at.length) {
      const bigger = new Int32Array(at.length * 2);
      bigger.set(at);
      at = spare = bigger;
    }
    at[length++] = start;
    at[length++] = end;
    RUN_START.lastIndex = end;
  }
  return (length >> 1) >= MIN_JUDGED && (length >> 1) * DENSE > text.length ? DENSE_RUNS : { at, length, dense: false };
}

/** What a pattern's match needs of the run it starts at, read before its regex is tried there. */
export interface RunNeeds {
  /** How many digits the run may have (31 stands for 31 or more). */
  lengths: readonly number[];
  /** How many it may have when one of `by` follows it (the first group and its separator). */
  separated?: { lengths: readonly number[]; by: string };
  /**
   * What it may follow: `apart` (see standsApart), `apart, not +`, `not alnum or .`, or a test of the characters before.
   */
  after: 'apart' | 'apart, not +' | 'not alnum or .' | ((text: string, start: number) => boolean);
}

/**
 * A regex that matches only from a run's first digit, and what its match needs of that run: `scan` finds the matches
 * its global form finds, in order, trying it only at the runs that have what it needs. (Those needs are data, read in
 * one loop: a function per pattern called from it was a call site of four targets, ~0.5 ms more on 2 MB, measured.)
 */
export class DigitPattern {
  readonly #sticky: RegExp;
  readonly #global: RegExp;
  /** Bit n: a run of n digits (31: of 31 or more) may start a match. */
  readonly #lengths: number;
  readonly #separatedLengths: number;
  readonly #separators = new Uint8Array(128);
  readonly #after: number;
  readonly #afterTest: ((text: string, start: number) => boolean) | undefined;

  constructor(pattern: RegExp, needs: RunNeeds) {
    this.#sticky = new RegExp(pattern.source, 'y');
    this.#global = new RegExp(pattern.source, 'g');
    const bits = (lengths: readonly number[]) => lengths.reduce((mask, n) => mask | (1 << Math.min(n, 31)), 0);
    this.#lengths = bits(needs.lengths);
    this.#separatedLengths = bits(needs.separated?.lengths ?? []);
    for (const c of needs.separated?.by ?? '') this.#separators[c.charCodeAt(0)] = 1;
    this.#after = typeof needs.after === 'function' ? AFTER_TEST : AFTER_KINDS.indexOf(needs.after);
    this.#afterTest = typeof needs.after === 'function' ? needs.after : undefined;
  }

  /** The matches in `text`: `next(from)` is the first that starts at `from` or later (`from` never decreasing). */
  scan(text: string): { next(from: number): RegExpExecArray | null } {
    const runs = digitRuns(text);
    let r = 0;
    return {
      next: (from: number): RegExpExecArray | null => {
        if (runs.dense) {
          this.#global.lastIndex = from;
          return this.#global.exec(text);
        }
        for (; r < runs.length; r += 2) {
          const start = runs.at[r]!;
          if (start < from || !this.#mayStart(text, start, runs.at[r + 1]!)) continue;
          this.#sticky.lastIndex = start;
          const m = this.#sticky.exec(text);
          if (m !== null) {
            r += 2;
            return m;
          }
        }
        return null;
      },
    };
  }

  #mayStart(text: string, start: number, end: number): boolean {
    const bit = 1 << Math.min(end - start, 31);
    if ((this.#lengths & bit) === 0) {
      const c = text.charCodeAt(end);
      if ((this.#separatedLengths & bit) === 0 || !(c < 128 && this.#separators[c] === 1)) return false;
    }
    switch (this.#after) {
      case 0:
        return standsApart(text, start);
      case 1:
        return standsApart(text, start, 43);
      case 2: {
        const before = text.charCodeAt(start - 1);
        return !(isAsciiLetter(before) || isDigit(before) || before === 46);
      }
      default:
        return this.#afterTest!(text, start);
    }
  }
}
const AFTER_KINDS = ['apart', 'apart, not +', 'not alnum or .'];
const AFTER_TEST = -1;

/**
 * The first run (its index in `runs.at`) that ends after `i`, from run `r` on (moving back first if `i` is before it):
 * for a scan that goes forward from digit to digit.
 */
export function runAtOrAfter(runs: DigitRuns, r: number, i: number): number {
  while (r > 0 && runs.at[r - 1]! > i) r -= 2;
  while (r < runs.length && runs.at[r + 1]! <= i) r += 2;
  return r;
}

/**
 * Whether the run at `start` stands apart from what is before it, as `(?<![A-Za-z0-9.]|(?<![A-Za-z])-)` reads: not
 * after a letter, digit or `.`, nor after a `-` that follows no letter (`-` continues a number, not a word). `also`:
 * one more character it may not follow (a card's `+`).
 */
export function standsApart(text: string, start: number, also = -1): boolean {
  const before = text.charCodeAt(start - 1);
  if (before === 45) return isAsciiLetter(text.charCodeAt(start - 2));
  return !(isAsciiLetter(before) || isDigit(before) || before === 46 || before === also);
}
