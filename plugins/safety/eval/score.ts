// Precision, recall and F1 per entity type, from labeled spans and detector findings.
import type { PiiFinding } from '../types.ts';

export interface LabeledSpan {
  type: string;
  start: number;
  end: number;
}

export interface LabeledText {
  text: string;
  spans: LabeledSpan[];
}

export interface EntityScore {
  type: string;
  gold: number;
  found: number;
  predicted: number;
  correct: number;
  precision: number;
  recall: number;
  f1: number;
}

function overlap(a: { start: number; end: number }, b: { start: number; end: number }): number {
  return Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
}

/** A finding matches a gold span of its type when it covers at least half of it. */
function matches(finding: PiiFinding, gold: LabeledSpan): boolean {
  return finding.type === gold.type && overlap(finding, gold) * 2 >= gold.end - gold.start;
}

/**
 * Scores `types` over the corpus: a gold span is found when a finding of its type covers half of it; a finding
 * is correct when it matches some gold span of its type. Findings of types not in `types` are ignored.
 */
export function scoreFindings(corpus: ReadonlyArray<LabeledText>, findingsOf: (text: string) => PiiFinding[], types: readonly string[]): EntityScore[] {
  const tally = new Map(types.map((type) => [type, { gold: 0, found: 0, predicted: 0, correct: 0 }]));
  for (const { text, spans } of corpus) {
    const findings = findingsOf(text);
    for (const gold of spans) {
      const t = tally.get(gold.type);
      if (!t) continue;
      t.gold++;
      if (findings.some((f) => matches(f, gold))) t.found++;
    }
    for (const finding of findings) {
      const t = tally.get(finding.type);
      if (!t) continue;
      t.predicted++;
      if (spans.some((gold) => matches(finding, gold))) t.correct++;
    }
  }
  return types.map((type) => {
    const t = tally.get(type)!;
    const precision = t.predicted === 0 ? 1 : t.correct / t.predicted;
    const recall = t.gold === 0 ? 1 : t.found / t.gold;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { type, ...t, precision, recall, f1 };
  });
}
