// The quality bars of the detector: F1 ≥ 0.95 per structured entity on every corpus, ≤ 1 false positive per 100 hard negatives.
import { describe, expect, it } from 'vitest';
import { createDetector } from '../detect/index.ts';
import { evaluate, STRUCTURED_EVAL_TYPES } from './evaluate.ts';

describe('PII evaluation', () => {
  const report = evaluate(createDetector());

  for (const corpus of report.corpora) {
    it(`${corpus.name}: F1 ≥ 0.95 for every entity it labels`, () => {
      const low = corpus.scores.filter((s) => s.gold > 0 && s.f1 < 0.95).map((s) => `${s.type} F1 ${s.f1.toFixed(3)} (P ${s.precision.toFixed(3)}, R ${s.recall.toFixed(3)})`);
      expect(low).toEqual([]);
    });
  }

  it('scores every structured entity on some corpus', () => {
    for (const type of STRUCTURED_EVAL_TYPES) expect(report.corpora.some((c) => c.scores.some((s) => s.type === type && s.gold > 0)), type).toBe(true);
  });

  it('flags at most 1 in 100 hard-negative texts', () => {
    expect(report.hardNegatives.texts).toBeGreaterThanOrEqual(400);
    expect(report.hardNegatives.per100, JSON.stringify(report.hardNegatives.examples)).toBeLessThanOrEqual(1);
  });
});
