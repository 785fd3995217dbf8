// Outside review 3's glue test (F2): 16 values × 39 prefixes and 22 suffixes, and hard negatives for the glue now read.
import { describe, expect, it } from 'vitest';
import { createDetector } from '../detect/index.ts';
import { glueNegatives, glueTexts } from './glue.ts';
import { scoreFindings } from './score.ts';

const TYPES = ['CREDIT_CARD', 'IBAN_CODE', 'EMAIL_ADDRESS', 'PHONE_NUMBER', 'US_SSN', 'IP_ADDRESS', 'SECRET'];

describe('values glued to punctuation and words (outside review 3)', () => {
  const detector = createDetector();
  const texts = glueTexts();

  it('finds every value the glue does not make another token (877 of the 976), each as its own type', () => {
    const meant = texts.filter((text) => text.meant);
    expect(meant.length).toBe(877);
    const missed = meant.filter((text) => scoreFindings([text], (t) => detector.detect(t), TYPES).some((s) => s.found < s.gold));
    expect(missed.map((text) => `${text.spans[0]!.type} ${text.how}: ${JSON.stringify(text.text)}`)).toEqual([]);
  });

  it('flags none of the ids, versions, hashes and expressions in the same glue (paths, `#`, `-`, `_`, `+`, a label `:`)', () => {
    const negatives = glueNegatives();
    expect(negatives.length).toBe(135);
    expect(negatives.filter((text) => detector.detect(text).length > 0)).toEqual([]);
    const regional = createDetector({ phoneRegions: ['US', 'FR', 'DE'] });
    expect(negatives.filter((text) => regional.detect(text).length > 0)).toEqual([]);
  });
});
