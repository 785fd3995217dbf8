// Overlapping readings of the same characters: an IBAN whose middle groups happen to form a Luhn-valid card number is
// an IBAN (outside review 4, F2: a card word nearby gave the card the higher score, so `IBAN_CODE: block` let it pass).
import { composeIBAN, countrySpecs, isValidIBAN } from 'ibantools';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../eval/seeded-random.ts';
import { luhnValid } from './checksums.ts';
import { createDetector, detectPii } from './index.ts';
import { resolveOverlaps } from './overlaps.ts';

const grouped = (iban: string) => iban.replace(/(.{4})(?=.)/g, '$1 ');

describe('an IBAN that holds a card-shaped number', () => {
  it('is one IBAN finding, whatever the words around it', () => {
    for (const iban of ['AT18 5725 1914 4014 9045', 'AE34 5815 6310 1534 1131 267', 'BA39 3513 7665 2947 3985']) {
      for (const text of [iban, `Pay to ${iban} today`, `Card payment to ${iban}.`, `{"iban":"${iban}"}`]) {
        const at = text.indexOf(iban);
        expect(detectPii(text), text).toEqual([{ type: 'IBAN_CODE', start: at, end: at + iban.length, score: 0.95 }]);
      }
    }
  });

  it('seeded: numeric-BBAN IBANs of every registry country whose digits hold a Luhn-valid 16-digit run are never read as a card', () => {
    const random = seededRandom(20);
    const countries = Object.entries(countrySpecs).filter(([, spec]) => spec.IBANRegistry && spec.bban_regexp && /^\^\[0-9\]\{\d+\}\$$/.test(spec.bban_regexp) && spec.chars);
    let checked = 0;
    for (let n = 0; n < 20_000 && checked < 300; n++) {
      const [code, spec] = countries[Math.floor(random() * countries.length)]!;
      let bban = '';
      for (let i = 0; i < spec.chars! - 4; i++) bban += String(Math.floor(random() * 10));
      const iban = composeIBAN({ countryCode: code, bban });
      if (!iban || !isValidIBAN(iban)) continue; // (national check digits, e.g. HU, are part of validity)
      const digits = iban.slice(4);
      let holdsCard = false;
      for (let i = 0; i + 16 <= digits.length; i++) if (/^[2-6]/.test(digits[i]!) && luhnValid(digits.slice(i, i + 16))) holdsCard = true;
      if (!holdsCard) continue;
      checked++;
      const text = `Please pay to ${grouped(iban)} by Friday, card on file.`;
      const found = detectPii(text);
      expect(found.map((f) => f.type), text).toEqual(['IBAN_CODE']);
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe('two readings of one phone, one inside the other', () => {
  it('keeps the whole number, whichever reading scored higher', () => {
    const phone = (findings: Array<{ start: number; end: number; score: number }>) => resolveOverlaps(findings.map((f) => ({ type: 'PHONE_NUMBER' as const, ...f })));
    expect(phone([{ start: 6, end: 23, score: 0.9 }, { start: 12, end: 23, score: 1 }])).toEqual([{ type: 'PHONE_NUMBER', start: 6, end: 23, score: 0.9 }]);
    expect(phone([{ start: 12, end: 23, score: 1 }, { start: 6, end: 23, score: 0.6 }])).toEqual([{ type: 'PHONE_NUMBER', start: 6, end: 23, score: 0.6 }]);
    // Overlapping without one holding the other: the higher score, as for any two findings.
    expect(phone([{ start: 0, end: 10, score: 0.6 }, { start: 5, end: 15, score: 0.9 }])).toEqual([{ type: 'PHONE_NUMBER', start: 5, end: 15, score: 0.9 }]);
    // With a configured region the groups after a slashed area code score 1: `089` is kept in the finding all the same.
    const text = 'Tel.: 089 / 12 34 56 78';
    expect(createDetector({ phoneRegions: ['DE'] }).detect(text).map((f) => text.slice(f.start, f.end))).toEqual(['089 / 12 34 56 78']);
  });
});
