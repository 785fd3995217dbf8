// Custom recognizers from YAML: a pattern, an optional validator, context words and a score.
import { isValidIBAN } from 'ibantools';
import { IronError, IRON_CONFIG_INVALID } from '../../../core/errors.ts';
import type { PiiFinding, Recognizer } from '../types.ts';
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
}

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
  const nested = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\})/;
  if (nested.test(pattern)) {
    throw new IronError(IRON_CONFIG_INVALID, `${where}: the pattern ${JSON.stringify(pattern)} repeats a group that itself repeats without bound (like (a+)+), which can take exponential time on hostile input. Bound the inner or outer repetition, e.g. (a+){1,4} or (a{1,20})+`);
  }
}

export function createCustomRecognizer(spec: CustomRecognizerSpec, where = 'safety.recognizers'): Recognizer {
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
  return (text: string, out: PiiFinding[]) => {
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      if (m[0] === '') {
        regex.lastIndex++;
        continue;
      }
      if (validate && !validate(m[0])) continue;
      const end = m.index + m[0].length;
      const score = words && hasContext(text, m.index, end, words) ? base + boost : base;
      out.push({ type: spec.type, start: m.index, end, score: Math.min(1, score) });
    }
  };
}
