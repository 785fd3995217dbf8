// The detector on data it was not written against (libphonenumber's example numbers for every region, the card
// networks' test numbers, an IBAN per registry country, vendors' token formats, in prose, JSON, CSV, TSV, tables,
// YAML, logs, code and SQL), and hard negatives in the same layouts.
import { describe, expect, it } from 'vitest';
import { createDetector } from '../detect/index.ts';
import { HARD_NEGATIVES } from './hard-negatives.ts';
import { identifierNegatives, idArrayNegatives, independentHardNegatives, independentSources, outsideReview11Negatives, reviewNegatives, SCORED_REVIEWS, scoredReviewSources, outsideReview2Negatives, outsideReview3Negatives, outsideReviewNegatives } from './independent.ts';
import { scoreFindings } from './score.ts';

describe('independent-source eval', () => {
  const detector = createDetector();
  for (const source of independentSources()) {
    const type = source.texts[0]!.spans[0]!.type;
    // National numbers need a context word and come in every grouping a country uses: the bar is lower there.
    const bar = source.name.startsWith('phones, national') ? 0.95 : 0.98;
    it(`${source.name}: precision and recall ≥ ${bar}`, () => {
      const [score] = scoreFindings(source.texts, (text) => detector.detect(text), [type]);
      // (The second and third outside reviews' corpora are small: 10 SSNs, 16 IPs; 4 SSNs, 11 IPs.)
      expect(score!.gold).toBeGreaterThan(source.name.startsWith('outside review 3') ? 3 : source.name.startsWith('outside review 2') ? 8 : 30);
      expect(score!.precision).toBeGreaterThanOrEqual(bar);
      expect(score!.recall).toBeGreaterThanOrEqual(bar);
    });
  }

  // Scored apart (below the bar above when first scored): held where each stands now, so it cannot slip back. What is
  // still missed is listed in data/README.md.
  for (const review of SCORED_REVIEWS) {
    for (const source of scoredReviewSources(review)) {
      const type = source.texts[0]!.spans[0]!.type;
      it(`${source.name}: precision 1, and every value found but the misses data/README.md lists`, () => {
        const [score] = scoreFindings(source.texts, (text) => detector.detect(text), [type]);
        expect(score!.precision).toBe(1);
        expect(score!.found).toBeGreaterThanOrEqual(review.floors[type] ?? score!.gold);
      });
    }
    it(`flags ${review.flagged.length} of ${review.name}'s ${review.negatives} hard negatives${review.flagged.length ? `: ${review.flagged.join(', ')}` : ''}`, () => {
      const texts = reviewNegatives(review.file);
      expect(texts.length).toBe(review.negatives);
      expect(texts.filter((text) => detector.detect(text).length > 0)).toEqual(review.flagged);
    });
  }

  it('flags at most 1 in 100 hard negatives (versions, hashes, order numbers, ISBNs, coordinates, UUIDs, timestamps) in the same layouts', () => {
    const texts = independentHardNegatives();
    expect(texts.length).toBeGreaterThan(300);
    const flagged = texts.filter((text) => detector.detect(text).length > 0);
    expect(flagged.length / texts.length, flagged.slice(0, 5).join('\n')).toBeLessThanOrEqual(0.01);
  });

  // Each set of hard negatives, with its size: none flagged.
  const sets: Array<[string, () => string[], number]> = [
    ["the outside review's hard negatives (git remotes, CIDR networks, SIRET, IMEI, tracking numbers…)", outsideReviewNegatives, 149],
    ["the second outside review's hard negatives (IPv4 and IPv6 networks, versions, order numbers, placeholders…)", outsideReview2Negatives, 123],
    ["the third outside review's hard negatives (git SHAs, EANs, UPS tracking, MACs, CIDR, AssemblyVersion…)", outsideReview3Negatives, 52],
    ['the identifiers that glue numbers with `_` (snake_case ids, Luhn-invalid runs, versions, hex ids)', identifierNegatives, 132],
    ['the id arrays (snowflakes, trace, Facebook, Shopify and Steam ids under an ids key)', idArrayNegatives, 140],
  ];
  for (const [name, negatives, size] of sets) {
    it(`flags none of ${name}`, () => {
      const texts = negatives();
      expect(texts.length).toBe(size);
      expect(texts.filter((text) => detector.detect(text).length > 0)).toEqual([]);
    });
  }

  it('with safety.phoneRegions [US, FR, DE], flags none of the hard negatives (counts, ids, versions, dates valid there as numbers)', () => {
    const regional = createDetector({ phoneRegions: ['US', 'FR', 'DE'] });
    const texts = [...HARD_NEGATIVES.map((n) => n.text), ...independentHardNegatives(), ...outsideReviewNegatives(), ...outsideReview2Negatives(), ...outsideReview3Negatives(), ...identifierNegatives(), ...idArrayNegatives()];
    expect(texts.length).toBe(1778);
    expect(texts.filter((text) => regional.detect(text).length > 0)).toEqual([]);
  });

  it('with safety.phoneRegions of regions whose trunk prefix is not 0 (Spain, Portugal, Italy: none; Russia: 8), flags one hard negative, as without regions', () => {
    const regional = createDetector({ phoneRegions: ['ES', 'PT', 'CN', 'RU', 'IT'] });
    const texts = [...HARD_NEGATIVES.map((n) => n.text), ...independentHardNegatives(), ...outsideReviewNegatives(), ...outsideReview2Negatives(), ...outsideReview3Negatives(), ...identifierNegatives(), ...idArrayNegatives(), ...outsideReview11Negatives()];
    expect(texts.filter((text) => regional.detect(text).length > 0)).toEqual(['Dial-in: conference code 555 123 4567#']);
  });

  it('safety.phoneRegions finds national numbers written as a region without a trunk 0 writes them (outside review 11)', () => {
    const found = (regions: string[], text: string) => createDetector({ phoneRegions: regions as never }).detect(text).map((f) => text.slice(f.start, f.end));
    expect(found(['ES'], 'Madrid: 91 123 45 67')).toEqual(['91 123 45 67']);
    expect(found(['RU'], 'Прошу 8 903 123-45-67 или')).toEqual(['8 903 123-45-67']);
    expect(found(['RU'], 'см. 8-916-123-45-67')).toEqual(['8-916-123-45-67']);
    expect(found([], 'Madrid: 91 123 45 67')).toEqual([]);
    // Not a standard's number and a year, thousands, an SSN's shape, nor one region's shape with another's validity.
    // Nor after a word that says what else it is, in the region's language (outside review 12).
    for (const [regions, text] of [[['RU'], 'ISO 8601 2024'], [['PT'], 'c = 299 792 458 m/s'], [['ES'], 'test 666-12-3456'], [['ES', 'CN'], 'via_upstream 1534 289 87 85'], [['ES'], 'Pedido n.º 91 123 45 67'], [['ES'], 'Facturamos 612 34 56 78 unidades'], [['IT'], 'Fattura 02 1234 5678 del 2024'], [['PT'], 'Encomenda 21 123 45 67']] as const) {
      expect(found([...regions], text), text).toEqual([]);
    }
  });

  it('safety.phoneRegions finds national numbers of those regions without a context word, and refuses unknown regions', () => {
    const text = '1042,Ana Silva,01 42 72 46 15,2026-03-01';
    expect(createDetector().detect(text).filter((f) => f.type === 'PHONE_NUMBER')).toEqual([]);
    expect(createDetector({ phoneRegions: ['FR'] }).detect(text)).toMatchObject([{ type: 'PHONE_NUMBER', start: 15, end: 29 }]);
    expect(() => createDetector({ phoneRegions: ['XX'] })).toThrow(/safety\.phoneRegions: "XX" is not a region/);
  });
});
