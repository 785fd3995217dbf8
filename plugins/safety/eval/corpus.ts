// The evaluation corpora: Presidio's generated sentences (MIT, vendored in data/), the secret fixtures and the hard negatives.
import { readFileSync } from 'node:fs';
import type { LabeledText } from './score.ts';

interface PresidioRecord {
  full_text: string;
  spans: Array<{ entity_type: string; start_position: number; end_position: number }>;
}

/** Presidio's type names for what we call the same thing. */
const TYPE_ALIASES: Record<string, string> = { IBAN: 'IBAN_CODE', EMAIL: 'EMAIL_ADDRESS', PHONE: 'PHONE_NUMBER', SSN: 'US_SSN' };

export const PRESIDIO_FILES = ['generated_large.json', 'synth_dataset_v2.json'] as const;

export function loadPresidio(file: (typeof PRESIDIO_FILES)[number]): LabeledText[] {
  const records = JSON.parse(readFileSync(new URL(`./data/${file}`, import.meta.url), 'utf8')) as PresidioRecord[];
  return records.map((record) => ({
    text: record.full_text,
    spans: record.spans.map((span) => ({ type: TYPE_ALIASES[span.entity_type] ?? span.entity_type, start: span.start_position, end: span.end_position })),
  }));
}
