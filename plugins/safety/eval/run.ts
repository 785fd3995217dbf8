// `npm run eval:pii [-- --person]`: prints the detector's accuracy per corpus and entity, and the hard-negative rate.
import { createDetector } from '../detect/index.ts';
import { loadPersonRecognizer } from '../detect/person.ts';
import { evaluate } from './evaluate.ts';

const withPerson = process.argv.includes('--person');
const person = withPerson ? await loadPersonRecognizer({ maxChars: 1_000_000, timeBudgetMs: 10_000 }) : undefined;
const detector = createDetector(person ? { person } : {});
const started = performance.now();
const report = evaluate(detector, { person: withPerson });
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

for (const corpus of report.corpora) {
  console.log(`\n${corpus.name} (${corpus.texts} texts)`);
  console.table(
    Object.fromEntries(
      corpus.scores.map((s) => [s.type, { gold: s.gold, found: s.found, predicted: s.predicted, correct: s.correct, precision: pct(s.precision), recall: pct(s.recall), F1: s.f1.toFixed(3) }]),
    ),
  );
}
const { hardNegatives } = report;
console.log(`\nhard negatives: ${hardNegatives.flagged} of ${hardNegatives.texts} texts flagged (${hardNegatives.per100.toFixed(2)} per 100; bar: ≤ 1)`);
for (const example of hardNegatives.examples) console.log(`  ${example.category}: ${example.type} ${JSON.stringify(example.value)}`);
console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);

// Independent sources: data the detector was not written against.
const { independentSources } = await import('./independent.ts');
const { scoreFindings } = await import('./score.ts');
console.log('\nIndependent sources');
const rows: Record<string, Record<string, string | number>> = {};
for (const source of independentSources()) {
  const type = source.texts[0]!.spans[0]!.type;
  const [score] = scoreFindings(source.texts, (text) => detector.detect(text), [type]);
  rows[source.name] = { entity: type, texts: source.texts.length, precision: pct(score!.precision), recall: pct(score!.recall) };
}
console.table(rows);
const { independentHardNegatives } = await import('./independent.ts');
const negatives = independentHardNegatives();
const flaggedNegatives = negatives.filter((text) => detector.detect(text).length > 0);
console.log(`independent hard negatives in the same layouts: ${flaggedNegatives.length} of ${negatives.length} flagged`);
