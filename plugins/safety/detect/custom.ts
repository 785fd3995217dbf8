// Custom recognizers from YAML: a pattern, an optional validator, context words and a score, run with a time bound.
import { isValidIBAN } from 'ibantools';
import { IronError, IRON_CONFIG_INVALID } from '../../../core/errors.ts';
import type { PiiFinding, Recognizer, ScanLimit } from '../types.ts';
import { digitsOf, luhnValid } from './checksums.ts';
import { ContextWords, hasContext } from './context.ts';

export interface CustomRecognizerSpec {
  /** The entity type findings get, e.g. EMPLOYEE_ID. */
  type: string;
  /** A JavaScript regular expression (without slashes). */
  pattern: string;
  flags?: string;
  /** A check the match must pass: `luhn` (digits), `iban`, or none. */
  validator?: 'luhn' | 'iban';
  /** Words near the match that raise its score by `contextBoost`. */
  context?: string[];
  /** Score without context. Default 0.6. */
  score?: number;
  /** Added when a context word is near. Default 0.35. */
  contextBoost?: number;
  /** Matching stops after this long per text, and the rest of the text becomes one finding (fail closed). Default 50. */
  timeBudgetMs?: number;
}

const DEFAULT_TIME_BUDGET_MS = 50;
/**
 * Text is matched in windows: one `exec` then looks at most this far, so a pattern that backtracks polynomially
 * (`\w+@` on a long word) costs at most one window's worth between two looks at the clock.
 */
const WINDOW = 2048;
/** Matches start in the first half of a window; the second half is the view past them. */
const STEP = WINDOW / 2;
/** Text before the window kept in view, for `\b`, `^` with `m` and lookbehinds. */
const BEHIND = 64;
/** A match ending this close to a cut window end is searched again from its start, with the text after it in view. */
const AHEAD = 64;

const VALIDATORS: Record<NonNullable<CustomRecognizerSpec['validator']>, (value: string) => boolean> = {
  luhn: (value) => {
    const digits = digitsOf(value);
    return digits.length >= 2 && luhnValid(digits);
  },
  iban: (value) => isValidIBAN(value.replace(/[\s-]/g, '').toUpperCase()),
};

/**
 * Refuses patterns that can backtrack exponentially: a group with an unbounded quantifier inside that is
 * itself repeated without bound, like `(a+)+` or `(\w*\s?)*`. Prompts are attacker-controlled text.
 */
export function assertSafePattern(pattern: string, where: string): void {
  const refuse = (why: string, fix: string): never => {
    throw new IronError(IRON_CONFIG_INVALID, `${where}: the pattern ${JSON.stringify(pattern)} ${why}, which can take exponential or high-polynomial time on hostile input (a prompt of 30 characters can stall a call for seconds). ${fix}`);
  };
  // A group that repeats many times (bounded or not) around something that repeats without bound: (.*a){12}X.
  if (/\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\})(?:[^()\\]|\\.)*\)(?:\{(?:[2-9]|\d{2,})(?:,\d*)?\})/.test(pattern)) {
    refuse('repeats a group several times around a part that itself repeats without bound (like (.*a){12})', 'Bound the inner repetition, e.g. (.{0,20}a){12}.');
  }
  // Alternatives inside an unbounded repetition: overlapping branches, like (a|a)* or (\w|\d)+, backtrack exponentially.
  if (/\((?:\?:)?(?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\})/.test(pattern)) {
    refuse('repeats a group of alternatives without bound (like (a|a)* or (\\w|\\d)+)', 'Use a character class ([ab]+) or bound the repetition, e.g. (foo|bar){1,4}.');
  }
  // Three or more unbounded repetitions: a*a*a*c and .*.*.*=X try every way to split the text between them.
  const unbounded = pattern.replace(/\\./g, 'x').replace(/\[(?:[^\]\\]|\\.)*\]/g, 'x').match(/[+*](?!\?)|\{\d+,\}/g) ?? [];
  if (unbounded.length >= 3) {
    refuse(`has ${unbounded.length} parts that repeat without bound`, 'Bound them ({0,64} rather than *), or keep at most two.');
  }
  const nested = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\})/;
  if (nested.test(pattern)) {
    throw new IronError(IRON_CONFIG_INVALID, `${where}: the pattern ${JSON.stringify(pattern)} repeats a group that itself repeats without bound (like (a+)+), which can take exponential time on hostile input. Bound the inner or outer repetition, e.g. (a+){1,4} or (a{1,20})+`);
  }
}

/**
 * Compiles a spec into a recognizer. Matching runs in windows of 2,048 characters (a match longer than about 2,000
 * characters is cut at a window's end) and checks the clock between windows: once `timeBudgetMs` has passed, the
 * rest of the text is reported as one finding of the recognizer's type, so its action covers what was not searched,
 * and `onLimit` is told.
 */
export function createCustomRecognizer(spec: CustomRecognizerSpec, where = 'safety.recognizers', onLimit?: (limit: ScanLimit) => void): Recognizer {
  assertSafePattern(spec.pattern, where);
  let regex: RegExp;
  try {
    regex = new RegExp(spec.pattern, `${(spec.flags ?? '').replace(/[gy]/g, '')}g`);
  } catch (error) {
    throw new IronError(IRON_CONFIG_INVALID, `${where}: ${JSON.stringify(spec.pattern)} is not a valid regular expression: ${(error as Error).message}`);
  }
  const validate = spec.validator ? VALIDATORS[spec.validator] : undefined;
  const words = spec.context?.length ? new ContextWords(spec.context) : undefined;
  const base = spec.score ?? 0.6;
  const boost = spec.contextBoost ?? 0.35;
  const budget = spec.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  return (text: string, out: PiiFinding[]) => {
    const started = text.length > WINDOW ? performance.now() : 0;
    let searched = 0; // where the next search starts: the end of the last match
    for (let s = 0; s < text.length; ) {
      if (s > 0 && performance.now() - started >= budget) {
        const rest = Math.max(s, searched);
        out.push({ type: spec.type, start: rest, end: text.length, score: 1 });
        onLimit?.({ type: spec.type, scannedChars: rest, textChars: text.length, timeBudgetMs: budget });
        return;
      }
      const from = Math.max(0, s - BEHIND);
      const to = Math.min(text.length, s + WINDOW);
      const last = to === text.length;
      const view = from === 0 && last ? text : text.slice(from, to);
      const stepEnd = last ? text.length : s + STEP;
      let next = stepEnd;
      regex.lastIndex = Math.max(s, searched) - from;
      for (let m = regex.exec(view); m !== null; m = regex.exec(view)) {
        const start = from + m.index;
        if (start >= stepEnd) break; // the next window has it, with more text after it in view
        if (m[0] === '') {
          regex.lastIndex++;
          continue;
        }
        const end = start + m[0].length;
        if (!last && end > to - AHEAD && start > s) {
          next = start; // may go on past the window, or a lookahead may see differently: search again from here
          break;
        }
        searched = end;
        if (validate && !validate(m[0])) continue;
        const score = words && hasContext(text, start, end, words) ? base + boost : base;
        out.push({ type: spec.type, start, end, score: Math.min(1, score) });
      }
      s = next;
    }
  };
}
