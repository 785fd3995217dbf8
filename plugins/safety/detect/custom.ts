// Custom recognizers from YAML: a pattern, an optional validator, context words and a score, run with a time bound.
import { isValidIBAN } from 'ibantools';
import { RE2JS } from 're2js';
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
 * Text is matched in windows, with a look at the clock between two. On V8's engine one `exec` looks at most 2,048
 * characters, so a pattern that backtracks polynomially (`\w+@` on a long word) costs at most one window's worth
 * between two looks. RE2's engine is linear whatever the pattern, so its windows are 32 KB: a match of up to 16 KB
 * (a certificate, a key block, a delimited blob) is found whole, and the slowest pattern on it (`(\w+\s?)+$`, ~0.4 µs a
 * character in re2js) still looks at the clock every ~13 ms.
 */
interface Windows {
  window: number;
  /** Matches start in the first `step` characters of a window; the rest is the view past them. */
  step: number;
}
const NATIVE_WINDOWS: Windows = { window: 2048, step: 1024 };
const LINEAR_WINDOWS: Windows = { window: 32_768, step: 16_384 };
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

/** One search: the first match at or after `from` in `view`, as offsets into it. */
type Search = (view: string, from: number) => { start: number; end: number } | undefined;

/** A repetition that can take many lengths: unbounded, or bounded above 16 (`\d{1,1000}`). */
const WIDE_REPEAT = 16;

/** The wide repetitions of a pattern read by `bareOf`. */
function wideRepeats(bare: string): string[] {
  return (bare.match(/[+*]|\{\d+,\d*\}/g) ?? []).filter((q) => q === '+' || q === '*' || q.endsWith(',}') || Number(q.slice(q.indexOf(',') + 1, -1)) > WIDE_REPEAT);
}

/** `pattern` with each escape and character class written as as many `x`s as it is long: its offsets hold. */
function bareOf(pattern: string): string {
  return pattern.replace(/\\./g, 'xx').replace(/\[(?:[^\]\\]|\\.)*\]/g, (all) => 'x'.repeat(all.length));
}

/**
 * Whether a pattern could backtrack more than linearly in V8's engine: a repeated group (`(a?){25}`, `(\d+-)+`), or
 * two or more parts that repeat over a wide range (`.*.*X`, `\d{1,999}\d{1,999}X`). Such patterns run on RE2's
 * linear-time engine (re2js), where no input makes them slow; the others on V8's, several times faster for them.
 */
export function needsLinearEngine(pattern: string): boolean {
  const bare = bareOf(pattern);
  if (/\)(?:[+*]|\{\d+(?:,\d*)?\})/.test(bare)) return true;
  return wideRepeats(bare).length >= 2;
}

/**
 * Whether a match of `pattern` can be longer than V8's window and must end in something after its wide repeat
 * (`BEGIN[A-Z0-9]{100,}END`, `-----BEGIN CERT-----[\s\S]+?-----END CERT-----`): cut at a window's end, such a match
 * is no match at all, so it runs on RE2's engine, when RE2 can read it. (One that can end anywhere, `\d+`,
 * `[A-Z]{2}\d+`, is found in pieces that cover it whole; it stays on V8's engine, 10–60× faster for it than RE2's.)
 */
export function endsAfterWideRepeat(pattern: string): boolean {
  const bare = bareOf(pattern);
  let end = -1;
  for (const m of bare.matchAll(/[+*]|\{\d+,\d*\}/g)) if (wideRepeats(m[0]).length > 0) end = m.index + m[0].length;
  if (end < 0) return false;
  if (bare[end] === '?') end++;
  // What follows, less what needs no character after it: anchors, word boundaries, lookbehinds and negative lookaheads
  // (`(?!\d)` holds at a window's end), brackets, alternations. A positive lookahead, `(?=END)`, needs its text.
  const rest = pattern.slice(end).replace(/\(\?(?:<[=!]|!)(?:[^()\\]|\\.)*\)/g, '').replace(/\(\?:/g, '(').replace(/\\[bB]|[()^$|]/g, '');
  return rest.length > 0;
}

/** A JavaScript pattern in RE2's syntax: `\uXXXX` is `\x{XXXX}` there. */
function toRe2Syntax(pattern: string): string {
  return pattern.replace(/(\\+)u(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{4}))/g, (all, slashes: string, braced?: string, plain?: string) =>
    slashes.length % 2 === 1 ? `${slashes}x{${braced ?? plain}}` : all,
  );
}

/** `spec`'s pattern compiled by RE2 (re2js), or the reason RE2 cannot read it (a lookahead, a backreference). */
function compileLinear(spec: CustomRecognizerSpec): RE2JS | Error {
  const flags = spec.flags ?? '';
  try {
    return RE2JS.compile(toRe2Syntax(spec.pattern), RE2JS.LOOKBEHINDS | (flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) | (flags.includes('m') ? RE2JS.MULTILINE : 0) | (flags.includes('s') ? RE2JS.DOTALL : 0));
  } catch (error) {
    return error as Error;
  }
}

/** Whether RE2 can run `spec`'s pattern (it has no lookahead or backreference). */
export function linearEngineReads(spec: CustomRecognizerSpec): boolean {
  return !(compileLinear(spec) instanceof Error);
}

function linearSearch(spec: CustomRecognizerSpec, where: string): Search {
  const re = compileLinear(spec);
  if (re instanceof Error) {
    throw new IronError(IRON_CONFIG_INVALID, `${where}: the pattern ${JSON.stringify(spec.pattern)} repeats a group or has several parts that repeat without bound, so it runs on a linear-time engine (prompts are hostile input: in a backtracking engine such a pattern can stall every call), and that engine cannot run it: ${re.message.replace(/^error parsing regexp: /, '')}. Backreferences and lookaheads are not available there: rewrite the pattern without them, or bound its repetitions.`);
  }
  let matcher: ReturnType<RE2JS['matcher']> | undefined;
  let matched = '';
  return (view, from) => {
    if (matcher === undefined || view !== matched) {
      matcher = re.matcher(view);
      matched = view;
    }
    return matcher.find(from) ? { start: matcher.start(), end: matcher.end() } : undefined;
  };
}

function nativeSearch(spec: CustomRecognizerSpec, where: string): Search {
  let regex: RegExp;
  try {
    regex = new RegExp(spec.pattern, `${(spec.flags ?? '').replace(/[gy]/g, '')}g`);
  } catch (error) {
    throw new IronError(IRON_CONFIG_INVALID, `${where}: ${JSON.stringify(spec.pattern)} is not a valid regular expression: ${(error as Error).message}`);
  }
  return (view, from) => {
    regex.lastIndex = from;
    const m = regex.exec(view);
    return m === null ? undefined : { start: m.index, end: m.index + m[0].length };
  };
}

/**
 * Compiles a spec into a recognizer. Matching runs in windows (see `Windows`) and checks the clock between them: once
 * `timeBudgetMs` has passed, the rest of the text is reported as one finding of the recognizer's type, so its action
 * covers what was not searched, and `onLimit` is told. A pattern that could backtrack runs on a linear-time engine, so
 * a window always ends; so does one whose long matches end in something after the repeat (`endsAfterWideRepeat`), when
 * RE2 reads it (else `safetyConfigWarnings` says that its matches longer than about 2,000 characters are not found).
 */
/** A custom recognizer's score without context, and what a context word near it adds (the spec's, else the defaults). */
export function customScores(spec: CustomRecognizerSpec): { base: number; boost: number } {
  return { base: spec.score ?? 0.6, boost: spec.contextBoost ?? 0.35 };
}

export function createCustomRecognizer(spec: CustomRecognizerSpec, where = 'safety.recognizers', onLimit?: (limit: ScanLimit) => void): Recognizer {
  try {
    new RegExp(spec.pattern, (spec.flags ?? '').replace(/[gy]/g, ''));
  } catch (error) {
    throw new IronError(IRON_CONFIG_INVALID, `${where}: ${JSON.stringify(spec.pattern)} is not a valid regular expression: ${(error as Error).message}`);
  }
  const linear = needsLinearEngine(spec.pattern) || (endsAfterWideRepeat(spec.pattern) && linearEngineReads(spec));
  const search = linear ? linearSearch(spec, where) : nativeSearch(spec, where);
  const windows = linear ? LINEAR_WINDOWS : NATIVE_WINDOWS;
  const validate = spec.validator ? VALIDATORS[spec.validator] : undefined;
  const words = spec.context?.length ? new ContextWords(spec.context) : undefined;
  const { base, boost } = customScores(spec);
  const budget = spec.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  return (text: string, out: PiiFinding[]) => {
    const started = text.length > windows.window ? performance.now() : 0;
    let searched = 0; // where the next search starts: the end of the last match
    for (let s = 0; s < text.length; ) {
      if (s > 0 && performance.now() - started >= budget) {
        const rest = Math.max(s, searched);
        out.push({ type: spec.type, start: rest, end: text.length, score: 1 });
        onLimit?.({ type: spec.type, scannedChars: rest, textChars: text.length, timeBudgetMs: budget });
        return;
      }
      const from = Math.max(0, s - BEHIND);
      const to = Math.min(text.length, s + windows.window);
      const last = to === text.length;
      const view = from === 0 && last ? text : text.slice(from, to);
      const stepEnd = last ? text.length : s + windows.step;
      let next = stepEnd;
      let at = Math.max(s, searched) - from;
      for (let m = at <= view.length ? search(view, at) : undefined; m !== undefined; m = at <= view.length ? search(view, at) : undefined) {
        const start = from + m.start;
        if (start >= stepEnd) break; // the next window has it, with more text after it in view
        if (m.end === m.start) {
          at = m.start + 1;
          continue;
        }
        const end = from + m.end;
        if (!last && end > to - AHEAD && start > s) {
          next = start; // may go on past the window, or a lookahead may see differently: search again from here
          break;
        }
        searched = end;
        at = m.end;
        const value = text.slice(start, end);
        if (validate && !validate(value)) continue;
        const score = words && hasContext(text, start, end, words) ? base + boost : base;
        out.push({ type: spec.type, start, end, score: Math.min(1, score) });
      }
      s = next;
    }
  };
}
