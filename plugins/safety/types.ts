// What the detector finds: entity types (named as in Microsoft Presidio) and findings with UTF-16 offsets.

/** The built-in entity types. Custom recognizers add their own names (UPPER_SNAKE_CASE). */
export const ENTITY_TYPES = ['EMAIL_ADDRESS', 'PHONE_NUMBER', 'CREDIT_CARD', 'US_SSN', 'IBAN_CODE', 'IP_ADDRESS', 'SECRET', 'PERSON'] as const;
export type BuiltinEntityType = (typeof ENTITY_TYPES)[number];
export type EntityType = BuiltinEntityType | (string & {});

/** One finding: `text.slice(start, end)` is the value. `score` is in 0..1. */
export interface PiiFinding {
  type: EntityType;
  start: number;
  end: number;
  score: number;
}

/**
 * A recognizer appends what it finds in `text` to `out`. It must run in time linear in `text.length`
 * (no regex that can backtrack over the whole input): prompts are attacker-controlled.
 */
export type Recognizer = (text: string, out: PiiFinding[]) => void;

/**
 * A bounded recognizer (PERSON, a custom pattern) stopped before the end of a text: `scannedChars` of `textChars`
 * were searched when its time budget ran out (or, for PERSON, its `maxChars`).
 */
export interface ScanLimit {
  type: string;
  scannedChars: number;
  textChars: number;
  timeBudgetMs: number;
}
