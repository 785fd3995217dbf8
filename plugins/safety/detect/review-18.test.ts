// Outside review 18's phone classes: a phone followed past a blank by digits that are not its own, two phones in a
// row, `+44(0)…`, keys that measure, order numbers, an SSN after a phone.
import { describe, expect, it } from 'vitest';
import { detectPii } from './index.ts';

const found = (text: string) => detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);

describe('outside review 18', () => {
  it.each([
    ['+44 20 7946 0958 24/7', '+44 20 7946 0958'],
    ['Hotline +44 20 7946 0958 (24h)', '+44 20 7946 0958'],
    ['+1 415 555 2671 (9am-5pm PT)', '+1 415 555 2671'],
    ['Call 415-555-2671 24/7', '415-555-2671'],
    ['Tel.: 030 901820 (24h)', '030 901820'],
    ['phone (415) 555-2671 9am-5pm', '(415) 555-2671'],
    ['Call 415-555-2671 7 days a week', '415-555-2671'],
    ['Call us 1-800-555-0199 24 hours', '1-800-555-0199'],
    ['+44(0)20 7946 0958', '+44(0)20 7946 0958'],
    ['M: +44(0)7911 123456', '+44(0)7911 123456'],
    ['+33(0)6 12 34 56 78', '+33(0)6 12 34 56 78'],
  ])('finds the phone in %j', (text, phone) => {
    expect(found(text)).toEqual([['PHONE_NUMBER', phone]]);
  });

  it('finds both of two phones in a row, and an SSN after a phone as an SSN', () => {
    expect(found('Phones: 415-555-2671 415-555-2672')).toEqual([['PHONE_NUMBER', '415-555-2671'], ['PHONE_NUMBER', '415-555-2672']]);
    expect(found('call (415) 555-2671 (415) 555-2672')).toEqual([['PHONE_NUMBER', '(415) 555-2671'], ['PHONE_NUMBER', '(415) 555-2672']]);
    expect(found('phone: 415-555-2671 536-22-1947')).toEqual([['PHONE_NUMBER', '415-555-2671'], ['US_SSN', '536-22-1947']]);
  });

  it('keeps French numbers whole, a slashed German one, a +1 with its area code in brackets', () => {
    expect(found('appelez le 06 12 34 56 78 merci')).toEqual([['PHONE_NUMBER', '06 12 34 56 78']]);
    expect(found('Tel +49 30/12345678')).toEqual([['PHONE_NUMBER', '+49 30/12345678']]);
    expect(found('+1 (415) 555-2671')).toEqual([['PHONE_NUMBER', '+1 (415) 555-2671']]);
  });

  it('reads no phone under a key that measures, and no card after an order number', () => {
    for (const text of ['| metric | value |\n|---|---|\n| calls | 4155552671 |', '{"phone_calls": 4155552671}', 'phone_calls=4155552671', '{"phone_ext": 4155552671}', 'callCount: 4155552671', 'Order number: 4111111111111111', '{"orderNumber":"4111111111111111"}']) {
      expect(found(text), text).toEqual([]);
    }
    expect(found('{"phone": 4155552671}')).toEqual([['PHONE_NUMBER', '4155552671']]);
    expect(found('| name | phone |\n|---|---|\n| Ana | 4155552671 |')).toEqual([['PHONE_NUMBER', '4155552671']]);
    expect(found('card 4111111111111111')).toEqual([['CREDIT_CARD', '4111111111111111']]);
  });
});
