// The fast verdict must be libphonenumber-js's verdict: every region's example numbers of every type (from Google's
// libphonenumber, an independent source) and near misses of each, in several groupings, compared one by one.
import libphonenumber from 'google-libphonenumber';
import { isValidPhoneNumber } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { fastInternationalVerdict } from './phone-validity.ts';

function samples(): string[] {
  const util = libphonenumber.PhoneNumberUtil.getInstance();
  const { PhoneNumberType: Type, PhoneNumberFormat: Format } = libphonenumber;
  const types = [Type.FIXED_LINE, Type.MOBILE, Type.TOLL_FREE, Type.PREMIUM_RATE, Type.SHARED_COST, Type.VOIP, Type.PERSONAL_NUMBER, Type.PAGER, Type.UAN, Type.VOICEMAIL];
  const out: string[] = [];
  for (const region of util.getSupportedRegions()) {
    for (const type of types) {
      const example = util.getExampleNumberForType(region, type);
      if (!example) continue;
      const international = util.format(example, Format.INTERNATIONAL);
      const e164 = util.format(example, Format.E164);
      out.push(international, e164, international.replace(/ /g, '-'), international.replace(/ /g, '.'));
      // Near misses: a digit more, a digit less, the last and the first national digits changed, a national 0 after the code.
      const code = String(example.getCountryCode());
      const national = e164.slice(1 + code.length);
      out.push(`${e164}5`, e164.slice(0, -1), `${e164.slice(0, -1)}${(Number(e164.at(-1)) + 3) % 10}`);
      for (const d of '0123456789') out.push(`+${code} ${d}${national.slice(1)}`);
      out.push(`+${code} 0${national}`);
    }
  }
  // Calling codes that are none, non-geographic ones, and the shortest and longest numbers.
  out.push('+999 1234 5678', '+0 123 4567', '+800 1234 5678', '+882 1234 5678', '+1 2', '+44 1', '+1 201 555 0123 4567 8901');
  return out;
}

describe('fastInternationalVerdict', () => {
  const all = samples();
  it('gives libphonenumber-js its own verdict on every example number of every region, and on near misses of each', () => {
    const disagreements: string[] = [];
    let decided = 0;
    for (const value of all) {
      const fast = fastInternationalVerdict(value);
      if (fast === undefined) continue;
      decided++;
      if (fast !== isValidPhoneNumber(value)) disagreements.push(`${value}: fast ${fast}`);
    }
    expect(disagreements).toEqual([]);
    // It decides almost all of them itself (the rest go to the library: a national prefix after the code, +800 …).
    expect(decided / all.length).toBeGreaterThan(0.9);
    expect(all.length).toBeGreaterThan(10_000);
  });
  it('leaves to the library what it does not read itself', () => {
    expect(fastInternationalVerdict('+41 (0)96 471 07 95')).toBeUndefined();
    expect(fastInternationalVerdict('+44 020 7946 0958')).toBeUndefined();
    expect(fastInternationalVerdict('+800 1234 5678')).toBeUndefined();
    expect(fastInternationalVerdict('+44 20 7946 0958')).toBe(true);
    expect(fastInternationalVerdict('+44 20 7946 095')).toBe(false);
  });
});
