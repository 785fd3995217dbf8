import { countrySpecs, isValidIBAN } from 'ibantools';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../eval/seeded-random.ts';
import { findIbans } from './iban.ts';
import type { PiiFinding } from '../types.ts';

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const COUNTRIES = Object.keys(countrySpecs).filter((code) => countrySpecs[code]?.chars && countrySpecs[code]?.bban_regexp);

/** The check digits that make `iban`'s mod-97 remainder 1 (as ibantools computes them). */
function checkDigits(iban: string): number {
  let rest = 0;
  for (const ch of `${iban.slice(4)}${iban.slice(0, 2)}00`) {
    const c = ch.charCodeAt(0);
    rest = c <= 57 ? (rest * 10 + c - 48) % 97 : (rest * 100 + c - 55) % 97;
  }
  return 98 - rest;
}

describe('findIbans', () => {
  it('accepts exactly what ibantools.isValidIBAN accepts, on random IBANs of every country (seeded)', () => {
    const random = seededRandom(13616);
    let valid = 0;
    for (let run = 0; run < 20_000; run++) {
      const country = COUNTRIES[Math.floor(random() * COUNTRIES.length)]!;
      const length = countrySpecs[country]!.chars!;
      let iban = `${country}00`;
      for (let k = 4; k < length; k++) iban += random() < 0.8 ? String(Math.floor(random() * 10)) : ALNUM[Math.floor(random() * 36)];
      // Half with the check digits that pass mod-97, some of those 97 off (01 for 98, 99 for 02: the remainder is 1,
      // the digits are not ones ISO issues); the rest random.
      const right = checkDigits(iban);
      const check = random() < 0.5 ? (random() < 0.1 ? (right + 97) % 100 : right) : Math.floor(random() * 100);
      iban = `${country}${String(check).padStart(2, '0')}${iban.slice(4)}`;
      const found: PiiFinding[] = [];
      findIbans(`IBAN ${iban} `, found);
      const expected = isValidIBAN(iban);
      if (expected) valid++;
      expect(found.length === 1 && found[0]!.start === 5 && found[0]!.end === 5 + iban.length, iban).toBe(expected);
    }
    // (Most random BBANs break their country's format, and national check digits refuse more: both kinds are here.)
    expect(valid).toBeGreaterThan(500);
  });

  it('refuses check digits 00, 01 and 99 even where the remainder is 1, as ibantools does (seeded)', () => {
    const random = seededRandom(97);
    const tried: string[] = [];
    for (let run = 0; run < 200_000 && tried.length < 12; run++) {
      // Valid BBANs of a country whose format is digits only, until their check digits are 02, 97 or 98.
      const country = ['DE', 'FR', 'ES', 'IT', 'NL', 'BE', 'PL'][run % 7]!;
      if (/[A-Z]/.test(countrySpecs[country]!.bban_regexp!.replace(/\[dA-Z]/g, ''))) continue;
      let iban = `${country}00`;
      for (let k = 4; k < countrySpecs[country]!.chars!; k++) iban += String(Math.floor(random() * 10));
      const right = checkDigits(iban);
      const valid = `${country}${String(right).padStart(2, '0')}${iban.slice(4)}`;
      if (![2, 97, 98].includes(right) || !isValidIBAN(valid)) continue;
      const other = `${country}${String(right === 2 ? 99 : right - 97).padStart(2, '0')}${iban.slice(4)}`;
      expect(isValidIBAN(other)).toBe(false);
      const found: PiiFinding[] = [];
      findIbans(`IBAN ${other} and ${valid}`, found);
      expect(found.map((f) => f.start), other).toEqual([5 + other.length + 5]);
      tried.push(other);
    }
    expect(tried.length).toBe(12);
  });
});
