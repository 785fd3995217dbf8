// Values in the forms an outside review (issue 20) found missed: typographic spaces between groups, full-width digits,
// cards in phone-like groupings, numbers under a CSV column header, more languages' phone words.
import { describe, expect, it } from 'vitest';
import { detectPii } from './index.ts';

const values = (text: string) => detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);

describe('typographic spaces and full-width digits', () => {
  it('reads no-break, narrow no-break, thin and figure spaces between groups as spaces, and redacts the whole value', () => {
    const text = 'Appelez-moi au +33\u202f6\u202f12\u202f34\u202f56\u202f78, carte 4111\u00a01111\u00a01111\u00a01111, IBAN DE89\u20093704\u20090044\u20090532\u20090130\u200900, tel 020\u20077946\u20070958';
    expect(values(text)).toEqual([
      ['PHONE_NUMBER', '+33\u202f6\u202f12\u202f34\u202f56\u202f78'],
      ['CREDIT_CARD', '4111\u00a01111\u00a01111\u00a01111'],
      ['IBAN_CODE', 'DE89\u20093704\u20090044\u20090532\u20090130\u200900'],
      ['PHONE_NUMBER', '020\u20077946\u20070958'],
    ]);
    // The country code is part of the value: `+81` with a no-break space before the rest.
    expect(values('+81\u00a090-1234-5678')).toEqual([['PHONE_NUMBER', '+81\u00a090-1234-5678']]);
  });
  it('reads full-width digits, plus and dash as ASCII', () => {
    expect(values('カード ４１１１ １１１１ １１１１ １１１１')).toEqual([['CREDIT_CARD', '４１１１ １１１１ １１１１ １１１１']]);
    expect(values('電話：０３－１２３４－５６７８')).toEqual([['PHONE_NUMBER', '０３－１２３４－５６７８']]);
    expect(values('＋８１ ９０－１２３４－５６７８')).toEqual([['PHONE_NUMBER', '＋８１ ９０－１２３４－５６７８']]);
  });
  it('still reads a thousands figure with no-break spaces as a price, not a phone', () => {
    expect(values('Total : 1\u202f234\u202f567,89\u00a0€')).toEqual([]);
  });
});
