// `npm run eval:pii [-- --no-person]`: prints the detector's accuracy per corpus and entity, the hard-negative rate,
// the scores on independent sources, and PERSON's own precision and recall (opt-in, so scored apart; ~10 s).
import { createDetector } from '../detect/index.ts';
import { loadPersonRecognizer } from '../detect/person.ts';
import { loadPresidio, PRESIDIO_FILES } from './corpus.ts';
import { evaluate } from './evaluate.ts';
import { HARD_NEGATIVES } from './hard-negatives.ts';

const detector = createDetector();
const started = performance.now();
const report = evaluate(detector);
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
const { SCORED_REVIEWS, scoredReviewSources, reviewNegatives: negativesOf } = await import('./independent.ts');
for (const review of SCORED_REVIEWS) {
  console.log(`\n${review.name}, scored apart: unseen when first scored, and below the bar of the sources above`);
  const table: Record<string, Record<string, string | number>> = {};
  for (const source of scoredReviewSources(review)) {
    const type = source.texts[0]!.spans[0]!.type;
    const [score] = scoreFindings(source.texts, (text) => detector.detect(text), [type]);
    table[source.name] = { entity: type, texts: source.texts.length, gold: score!.gold, found: score!.found, precision: pct(score!.precision), recall: pct(score!.recall) };
  }
  console.table(table);
  const negatives = negativesOf(review.file);
  const flagged = negatives.filter((text) => detector.detect(text).length > 0);
  console.log(`${review.name}'s hard negatives: ${flagged.length} of ${negatives.length} flagged`);
  for (const text of flagged) console.log(`  ${JSON.stringify(text)}: ${detector.detect(text).map((f) => `${f.type} ${JSON.stringify(text.slice(f.start, f.end))}`).join(', ')}`);
}
const { independentHardNegatives } = await import('./independent.ts');
const negatives = independentHardNegatives();
const flaggedNegatives = negatives.filter((text) => detector.detect(text).length > 0);
console.log(`independent hard negatives in the same layouts: ${flaggedNegatives.length} of ${negatives.length} flagged`);
const { outsideReviewNegatives } = await import('./independent.ts');
const reviewNegatives = outsideReviewNegatives();
const flaggedReview = reviewNegatives.filter((text) => detector.detect(text).length > 0);
console.log(`outside review's hard negatives: ${flaggedReview.length} of ${reviewNegatives.length} flagged`);
for (const text of flaggedReview) console.log(`  ${JSON.stringify(text)}: ${detector.detect(text).map((f) => `${f.type} ${JSON.stringify(text.slice(f.start, f.end))}`).join(', ')}`);
const { outsideReview2Negatives } = await import('./independent.ts');
const review2Negatives = outsideReview2Negatives();
const flaggedReview2 = review2Negatives.filter((text) => detector.detect(text).length > 0);
console.log(`outside review 2's hard negatives: ${flaggedReview2.length} of ${review2Negatives.length} flagged`);
for (const text of flaggedReview2) console.log(`  ${JSON.stringify(text)}: ${detector.detect(text).map((f) => `${f.type} ${JSON.stringify(text.slice(f.start, f.end))}`).join(', ')}`);
const { outsideReview3Negatives } = await import('./independent.ts');
const review3Negatives = outsideReview3Negatives();
const flaggedReview3 = review3Negatives.filter((text) => detector.detect(text).length > 0);
console.log(`outside review 3's hard negatives: ${flaggedReview3.length} of ${review3Negatives.length} flagged`);
for (const text of flaggedReview3) console.log(`  ${JSON.stringify(text)}: ${detector.detect(text).map((f) => `${f.type} ${JSON.stringify(text.slice(f.start, f.end))}`).join(', ')}`);
const { identifierNegatives } = await import('./independent.ts');
const identifiers = identifierNegatives();
const flaggedIdentifiers = identifiers.filter((text) => detector.detect(text).length > 0);
console.log(`identifiers glued with _ (snake_case ids, Luhn-invalid runs, versions): ${flaggedIdentifiers.length} of ${identifiers.length} flagged`);
for (const text of flaggedIdentifiers) console.log(`  ${JSON.stringify(text)}`);
const { idArrayNegatives } = await import('./independent.ts');
const idArrays = idArrayNegatives();
const flaggedIdArrays = idArrays.filter((text) => detector.detect(text).length > 0);
console.log(`id arrays under an ids key (snowflakes, trace, Facebook, Shopify, Steam ids): ${flaggedIdArrays.length} of ${idArrays.length} flagged`);
for (const text of flaggedIdArrays) console.log(`  ${JSON.stringify(text)}`);
const random16 = idArrayNegatives('random16');
console.log(`  (not a hard negative: arrays of three random 16-digit ids, where a card's prefix and Luhn make a card: ${random16.filter((text) => detector.detect(text).length > 0).length} of ${random16.length})`);
const { glueTexts, glueNegatives } = await import('./glue.ts');
const glue = glueTexts();
const glueTypes = [...new Set(glue.map((text) => text.spans[0]!.type))];
const glueFound = (texts: typeof glue) => scoreFindings(texts, (text) => detector.detect(text), glueTypes).reduce((sum, s) => sum + s.found, 0);
const glueMeant = glue.filter((text) => text.meant);
console.log(`outside review 3, values glued to punctuation and words: ${glueFound(glue)} of ${glue.length} found (${pct(glueFound(glue) / glue.length)}); of the ${glueMeant.length} not glued into another token by decision: ${glueFound(glueMeant)}`);
const glueFlagged = glueNegatives().filter((text) => detector.detect(text).length > 0);
console.log(`glue hard negatives (ids, versions, hashes in paths and after # - _ +): ${glueFlagged.length} of ${glueNegatives().length} flagged`);
for (const text of glueFlagged) console.log(`  ${JSON.stringify(text)}`);
const { urlEncodedTexts, urlEncodedNegatives, URL_ENCODED_TYPES } = await import('./url-encoded.ts');
const encoded = urlEncodedTexts();
const encodedRows: Record<string, Record<string, string | number>> = {};
for (const [name, texts] of [['', encoded], [', encoding changed it', encoded.filter((text) => text.changed)]] as const) {
  for (const score of scoreFindings(texts, (text) => detector.detect(text), URL_ENCODED_TYPES)) {
    encodedRows[`${score.type}${name}`] = { gold: score.gold, found: score.found, predicted: score.predicted, precision: pct(score.precision), recall: pct(score.recall) };
  }
}
console.log(`\nindependent values percent-encoded in URLs (query by URLSearchParams and encodeURIComponent, path, access log; ${encoded.length} texts)`);
console.table(encodedRows);
const encodedFlagged = urlEncodedNegatives().filter((text) => detector.detect(text).length > 0);
console.log(`URLs with encoded text that is no personal data (searches, ✓, utm tags, JSON of versions and dates): ${encodedFlagged.length} of ${urlEncodedNegatives().length} flagged`);
for (const text of encodedFlagged) console.log(`  ${JSON.stringify(text)}`);
// With default phone regions, a national number valid there needs no context word: the same negatives again.
const regional = createDetector({ phoneRegions: ['US', 'FR', 'DE'] });
const allNegatives = [...HARD_NEGATIVES.map((n) => n.text), ...negatives, ...reviewNegatives, ...review2Negatives, ...identifiers, ...idArrays, ...glueNegatives()];
const flaggedRegional = allNegatives.filter((text) => regional.detect(text).length > 0);
console.log(`every hard negative with phoneRegions [US, FR, DE]: ${flaggedRegional.length} of ${allNegatives.length} flagged`);
for (const text of flaggedRegional.slice(0, 20)) console.log(`  ${JSON.stringify(text.slice(0, 120))}: ${regional.detect(text).map((f) => `${f.type} ${JSON.stringify(text.slice(f.start, f.end))}`).join(', ')}`);

// PERSON is off by default and much slower: scored on its own, over whole texts (no size or time bound).
if (!process.argv.includes('--no-person')) {
  const person = await loadPersonRecognizer({ maxChars: 1_000_000, timeBudgetMs: 10_000 });
  const names = createDetector({ entities: ['PERSON'], person });
  const personRows: Record<string, Record<string, string | number>> = {};
  for (const file of PRESIDIO_FILES) {
    const [score] = scoreFindings(loadPresidio(file), (text) => names.detect(text), ['PERSON']);
    personRows[file] = { gold: score!.gold, found: score!.found, predicted: score!.predicted, correct: score!.correct, precision: pct(score!.precision), recall: pct(score!.recall), F1: score!.f1.toFixed(3) };
  }
  console.log('\nPERSON (opt-in: entities.PERSON), Presidio sets');
  console.table(personRows);
  // Not on the independent negatives: their CSV and table rows hold names on purpose ("1042,Ana Silva,…").
  const flagged = HARD_NEGATIVES.filter(({ text }) => names.detect(text).length > 0).length;
  console.log(`PERSON on the hard negatives (technical texts, no names): ${flagged} of ${HARD_NEGATIVES.length} flagged`);
}
