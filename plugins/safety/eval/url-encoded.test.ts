// The independent eval's values percent-encoded into URLs (an outside review found 263 of 492 missed), and URLs whose
// encoded text is no personal data.
import { describe, expect, it } from 'vitest';
import { createDetector } from '../detect/index.ts';
import { scoreFindings } from './score.ts';
import { URL_ENCODED_TYPES, urlEncodedNegatives, urlEncodedTexts } from './url-encoded.ts';

describe('values percent-encoded in URLs', () => {
  const detector = createDetector();
  const texts = urlEncodedTexts();

  for (const [name, subset] of [['every value', texts], ['the values encoding changed', texts.filter((text) => text.changed)]] as const) {
    it(`${name}: precision and recall ≥ 0.98 per entity; ≥ 0.95 in each layout`, () => {
      expect(subset.length).toBeGreaterThan(3000);
      const score = (list: typeof subset) => scoreFindings(list, (text) => detector.detect(text), URL_ENCODED_TYPES);
      for (const entity of score(subset)) {
        expect(entity.gold, entity.type).toBeGreaterThan(5);
        expect(entity.precision, entity.type).toBeGreaterThanOrEqual(0.98);
        expect(entity.recall, entity.type).toBeGreaterThanOrEqual(0.98);
      }
      // (A 19-digit UnionPay number in a path is missed written plainly too: 75 of 78 cards there.)
      const layouts = [...new Set(subset.map((text) => text.layout))];
      expect(layouts).toEqual(['query (URLSearchParams)', 'query (encodeURIComponent)', 'path (encodeURIComponent)', 'access log']);
      for (const layout of layouts) {
        for (const entity of score(subset.filter((text) => text.layout === layout))) {
          if (entity.gold < 20) continue;
          expect(entity.precision, `${layout} ${entity.type}`).toBeGreaterThanOrEqual(0.95);
          expect(entity.recall, `${layout} ${entity.type}`).toBeGreaterThanOrEqual(0.95);
        }
      }
    });
  }

  it('flags none of the URLs whose encoded text is no personal data (searches, ✓, utm tags, JSON of versions and dates)', () => {
    const negatives = urlEncodedNegatives();
    expect(negatives.length).toBe(20);
    expect(negatives.filter((text) => detector.detect(text).length > 0)).toEqual([]);
    const regional = createDetector({ phoneRegions: ['US', 'FR', 'DE'] });
    expect(negatives.filter((text) => regional.detect(text).length > 0)).toEqual([]);
  });
});
