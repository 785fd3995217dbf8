// The evaluation: per-entity precision/recall/F1 on each labeled corpus, and false positives on the hard negatives.
import type { PiiDetector } from '../detect/index.ts';
import { loadPresidio, PRESIDIO_FILES } from './corpus.ts';
import { HARD_NEGATIVES } from './hard-negatives.ts';
import { scoreFindings, type EntityScore } from './score.ts';
import { SECRET_FIXTURES, SECRET_NEGATIVES } from './secret-fixtures.ts';

/** The entity types with a quality bar (F1 ≥ 0.95). */
export const STRUCTURED_EVAL_TYPES = ['EMAIL_ADDRESS', 'PHONE_NUMBER', 'CREDIT_CARD', 'US_SSN', 'IBAN_CODE', 'IP_ADDRESS'] as const;

export interface EvalReport {
  corpora: Array<{ name: string; texts: number; scores: EntityScore[] }>;
  hardNegatives: { texts: number; flagged: number; per100: number; examples: Array<{ category: string; type: string; value: string }> };
}

export function evaluate(detector: PiiDetector, options: { person?: boolean } = {}): EvalReport {
  const types: string[] = [...STRUCTURED_EVAL_TYPES, ...(options.person ? ['PERSON'] : [])];
  const corpora: EvalReport['corpora'] = PRESIDIO_FILES.map((file) => {
    const corpus = loadPresidio(file);
    return { name: file, texts: corpus.length, scores: scoreFindings(corpus, (text) => detector.detect(text), types) };
  });
  const secrets = [...SECRET_FIXTURES, ...SECRET_NEGATIVES.map((text) => ({ text, spans: [] }))];
  corpora.push({ name: 'secret-fixtures', texts: secrets.length, scores: scoreFindings(secrets, (text) => detector.detect(text), ['SECRET']) });
  const examples: EvalReport['hardNegatives']['examples'] = [];
  let flagged = 0;
  for (const { category, text } of HARD_NEGATIVES) {
    const findings = detector.detect(text);
    if (findings.length === 0) continue;
    flagged++;
    for (const f of findings) examples.push({ category, type: f.type, value: text.slice(f.start, f.end) });
  }
  return { corpora, hardNegatives: { texts: HARD_NEGATIVES.length, flagged, per100: (flagged * 100) / HARD_NEGATIVES.length, examples } };
}
