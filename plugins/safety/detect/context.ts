// Context words: the words around a candidate that make it more (or less) likely to be what it looks like.
import { codeAt, realSlice, STAND_IN } from './narrow-view.ts';

/** How far around a candidate context words are looked for, in UTF-16 units. */
export const CONTEXT_BEFORE = 48;
export const CONTEXT_AFTER = 24;

/** ASCII and Latin letters with accents (`téléphone`, `móvil`, `Straße`), so a context word is read whole. */
function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7);
}

/** Whether `text` has a letter of isAsciiLetter's at `i` (a stand-in of the narrow view is asked what it stands for). */
function letterAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === STAND_IN ? isAsciiLetter(codeAt(text, i)) : isAsciiLetter(c);
}

/**
 * Calls `visit` with each lower-cased (Latin) word in `[from, to)`, and where it ends, until it returns true. A word cut
 * by the window's left edge is skipped; one cut by its right edge is read up to it. Allocation-light: it runs per
 * candidate.
 */
function someWord(text: string, from: number, to: number, visit: (word: string, end: number) => boolean, lengths: WordLengths = ANY_LENGTH, starts?: WordStarts): boolean {
  let i = Math.max(0, from);
  const end = Math.min(text.length, to);
  // A word cut by the window's left edge is not a word.
  if (i > 0) while (i < end && letterAt(text, i) && letterAt(text, i - 1)) i++;
  while (i < end) {
    // (Inline: a call per character doubled this loop's time.)
    let c = text.charCodeAt(i);
    if (c === STAND_IN) c = codeAt(text, i);
    if (!isAsciiLetter(c)) {
      i++;
      continue;
    }
    const start = i;
    let standIns = text.charCodeAt(start) === STAND_IN;
    for (i++; i < end; i++) {
      c = text.charCodeAt(i);
      if (c === STAND_IN) {
        c = codeAt(text, i);
        standIns = true;
      }
      if (!isAsciiLetter(c)) break;
    }
    // (A word no listed word could be is not cut out and lower-cased: those strings are most of the cost.)
    if (i - start >= lengths.min && i - start <= lengths.max && (starts === undefined || starts.may(text, start, i)) && visit((standIns ? realSlice(text, start, i) : text.slice(start, i)).toLowerCase(), i)) return true;
  }
  return false;
}

/**
 * `someWord` from the right: the same words of `[from, to)`, nearest to `to` first, so a look for the nearest word of a
 * set stops at it.
 */
export function someWordBackward(text: string, from: number, to: number, visit: (word: string, end: number, start: number) => boolean, lengths: WordLengths = ANY_LENGTH, starts?: WordStarts): boolean {
  const floor = Math.max(0, from);
  let i = Math.min(text.length, to);
  while (i > floor) {
    if (!letterAt(text, i - 1)) {
      i--;
      continue;
    }
    const end = i;
    for (i--; i > floor && letterAt(text, i - 1); i--);
    // A word cut by the window's left edge is not a word, and no other word is left of it.
    if (i === floor && floor > 0 && letterAt(text, floor - 1)) return false;
    if (end - i >= lengths.min && end - i <= lengths.max && (starts === undefined || starts.may(text, i, end)) && visit(realSlice(text, i, end).toLowerCase(), end, i)) return true;
  }
  return false;
}

/** The lengths of the words a set of context words can match, suffixes included. */
export interface WordLengths {
  min: number;
  max: number;
}

const ANY_LENGTH: WordLengths = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** The lengths any of `sets` can match: for one walk over the words that asks several sets. */
export function lengthsOfAny(...sets: readonly ContextWords[]): WordLengths {
  return { min: Math.min(...sets.map((set) => set.lengths.min)), max: Math.max(...sets.map((set) => set.lengths.max)) };
}

/**
 * The first two letters (lower-cased ASCII) that the words a set can match start with: a word of the text starting
 * with two others is none of them, and is not cut out and lower-cased to be looked up (those strings are most of the
 * cost of a look at the words around a candidate, measured). A word starting otherwise than with two ASCII letters
 * may be one (`téléphone`; a listed word with a character beyond ASCII there matches only such words).
 */
export class WordStarts {
  readonly #pairs = new Uint8Array(26 * 26);
  /** A word with an ASCII capital after its first letter may be one (a camelCase key's last word: `billingTel`). */
  #camel = false;

  /** The starts of `words` (lower-cased) and of the forms `ContextWords.has` reads (`m` → `ms`, `med`, `ming`). */
  static of(words: Iterable<string>, camel = false): WordStarts {
    const starts = new WordStarts();
    starts.#camel = camel;
    for (const word of words) {
      const seconds = word.length === 1 ? 'sei' : word.slice(1, 2);
      for (const second of seconds) starts.#add(word.charCodeAt(0), second.charCodeAt(0));
    }
    return starts;
  }

  /** The starts any of `sets` can match. */
  static ofAny(...sets: readonly WordStarts[]): WordStarts {
    const any = new WordStarts();
    for (const set of sets) {
      for (let k = 0; k < any.#pairs.length; k++) any.#pairs[k]! |= set.#pairs[k]!;
      any.#camel ||= set.#camel;
    }
    return any;
  }

  #add(first: number, second: number): void {
    const a = first - 97;
    const b = second - 97;
    if (a >= 0 && a < 26 && b >= 0 && b < 26) this.#pairs[a * 26 + b] = 1;
  }

  /** Whether the word `text[start, end)` may be one of the set's (false only when it cannot be). */
  may(text: string, start: number, end: number): boolean {
    // (`| 32` lower-cases ASCII letters and takes no other character into a-z.)
    const a = (text.charCodeAt(start) | 32) - 97;
    const b = (text.charCodeAt(start + 1) | 32) - 97;
    if (!(a >= 0 && a < 26 && b >= 0 && b < 26) || end - start < 2 || this.#pairs[a * 26 + b] === 1) return true;
    if (this.#camel) for (let i = start + 1; i < end; i++) if (text.charCodeAt(i) >= 65 && text.charCodeAt(i) <= 90) return true;
    return false;
  }
}

/** The lower-cased words within the window around `[start, end)`, not counting the candidate itself. */
export function wordsAround(text: string, start: number, end: number, before = CONTEXT_BEFORE, after = CONTEXT_AFTER): string[] {
  const words: string[] = [];
  someWord(text, start - before, start, (word) => void words.push(word) as unknown as boolean);
  someWord(text, end, end + after, (word) => void words.push(word) as unknown as boolean);
  return words;
}

/** True when any of `words` is near the candidate: up to `before` characters before it or `after` after it. */
export function hasContext(text: string, start: number, end: number, words: ContextWords, before = CONTEXT_BEFORE, after = CONTEXT_AFTER): boolean {
  const has = (word: string, wordEnd: number) => words.hasAt(text, word, wordEnd);
  return someWord(text, start - before, start, has, words.lengths, words.starts) || someWord(text, end, end + after, has, words.lengths, words.starts);
}

/** The lower-cased Latin word starting at `from` past one blank or hyphen (`Tel Aviv`, `Tel-Aviv` → `aviv`), or ''. */
function nextWord(text: string, from: number): string {
  const c = text.charCodeAt(from);
  if (c !== 32 && c !== 45 && c !== 95) return ''; // (`_` too: a key's words, `phone_calls`)
  let end = from + 1;
  while (end < text.length && end - from <= 16 && letterAt(text, end)) end++;
  return realSlice(text, from + 1, end).toLowerCase();
}

/**
 * True when `[from, to)` holds a letter or any non-ASCII character (a word of any script): when it does not, no context
 * word can be near, and one short scan saves the word look-ups (a list of a hundred thousand numbers has no words).
 */
export function lettersWithin(text: string, from: number, to: number): boolean {
  const end = Math.min(text.length, to);
  for (let i = Math.max(0, from); i < end; i++) {
    const c = text.charCodeAt(i) | 32;
    if ((c >= 97 && c <= 122) || c > 127) return true;
  }
  return false;
}

export interface ContextWordsOptions {
  /** Words that name something else when this word follows: `{ tel: ['aviv'] }` (`Tel Aviv` is a city, not a phone label). */
  notBefore?: Record<string, readonly string[]>;
  /** Words that count only as written in capitals: `EIN` (an employer id), not German `ein` ("a"). */
  capitalsOnly?: Iterable<string>;
  /** Forms of the words that do not count (`calls`, a count of calls, where `call` labels a number). */
  except?: Iterable<string>;
  /** Words that count at the end of a camelCase key too (`billingTel`, `emergencyPhone`; not `hotel`). */
  camelSuffixes?: Iterable<string>;
}

/** Whether `text[from..to]` (both included) holds an ASCII capital. */
function capitalBetween(text: string, from: number, to: number): boolean {
  for (let i = Math.max(0, from); i <= to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** A set of context words that also matches simple plurals and verb forms (`phones`, `calling`). */
export class ContextWords {
  readonly #words: Set<string>;
  readonly #notBefore: Map<string, readonly string[]>;
  readonly #capitals: Set<string>;
  readonly #except: Set<string>;
  readonly #camelSuffixes: string[];
  /** The shortest and longest word that can match, suffixes included. */
  readonly lengths: WordLengths;
  /** The two letters a word that can match starts with (the forms `has` reads start as their word does). */
  readonly starts: WordStarts;
  constructor(words: Iterable<string>, options: ContextWordsOptions = {}) {
    this.#words = new Set([...words].map((word) => word.toLowerCase()));
    this.#notBefore = new Map(Object.entries(options.notBefore ?? {}));
    this.#capitals = new Set([...(options.capitalsOnly ?? [])].map((word) => word.toLowerCase()));
    this.#except = new Set(options.except ?? []);
    this.#camelSuffixes = [...(options.camelSuffixes ?? [])];
    const sizes = [...this.#words, ...this.#capitals].map((word) => word.length);
    // (A camelCase key is longer than its last word: `emergencyContactTel`.)
    this.lengths = { min: Math.min(...sizes), max: Math.max(...sizes, options.camelSuffixes ? 29 : 0) + 3 };
    this.starts = WordStarts.of([...this.#words, ...this.#capitals], this.#camelSuffixes.length > 0);
  }
  /** `has`, for the word (lower-cased) that ends at `end` in `text`: as written there, and before what follows it. */
  hasAt(text: string, word: string, end: number): boolean {
    if (this.has(word) && !this.#except.has(word)) {
      const followers = this.#notBefore.get(word);
      return followers === undefined || !followers.includes(nextWord(text, end));
    }
    // (Most words have no capital in their last six letters: no suffix to try.)
    if (this.#camelSuffixes.length > 0 && capitalBetween(text, end - 6, end - 3)) {
      for (const suffix of this.#camelSuffixes) {
        const at = end - suffix.length;
        if (word.length > suffix.length && word.endsWith(suffix) && text.charCodeAt(at) >= 65 && text.charCodeAt(at) <= 90 && text.charCodeAt(at - 1) >= 97) return true;
      }
    }
    if (this.#capitals.size === 0 || !this.#capitals.has(word)) return false;
    for (let i = end - word.length; i < end; i++) if (text.charCodeAt(i) >= 97) return false;
    return true;
  }
  has(word: string): boolean {
    if (this.#words.has(word)) return true;
    // (Only a word that ends like a plural or a verb form is cut: most do not, and the cut strings are the cost.)
    const last = word.charCodeAt(word.length - 1);
    if (last === 115) return this.#words.has(word.slice(0, -1)) || (word.endsWith('es') && this.#words.has(word.slice(0, -2))); // s, es
    if (last === 103) return word.endsWith('ing') && this.#words.has(word.slice(0, -3));
    if (last === 100) return word.endsWith('ed') && this.#words.has(word.slice(0, -2));
    return false;
  }
}
