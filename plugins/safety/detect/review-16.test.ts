// Outside review 16 (phones and SSNs): a country code in brackets (F1), the first row of a SQL insert under a phone
// column (F2), counts in thousands next to a phone word and a draw's numbers (F3), and rarer forms (F4): a slash
// after a German mobile's prefix, a trunk `0` apart from its area code, Mexico's old mobile `1`, the Swiss and Swedish
// phone words, an SSN written with dots.
import { describe, expect, it } from 'vitest';
import { detectPii } from './index.ts';

const values = (text: string) => detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);

describe('a country code in brackets starts the number (F1)', () => {
  it.each([
    ['Business card: (+44) 7911 284530', '(+44) 7911 284530'],
    ['Kontakt über (+49) 176 2245 8813, gerne per SMS.', '(+49) 176 2245 8813'],
    ['(+33) 6 12 48 77 31', '(+33) 6 12 48 77 31'],
    ['(+61) 412 845 307', '(+61) 412 845 307'],
    ['Hubungi kami di (+62) 812-3456-7890 untuk pemesanan.', '(+62) 812-3456-7890'],
    ['Tel: (+44) 7911 284530', '(+44) 7911 284530'],
    ['Tel: (+44) (0)20 7946 0958', '(+44) (0)20 7946 0958'],
    ['(+44)7911284530', '(+44)7911284530'],
  ])('%s', (text, phone) => {
    expect(values(text)).toEqual([['PHONE_NUMBER', phone]]);
  });

  it('validates it as a `+` number: a code no country has, or a signed figure, is none without a phone word', () => {
    expect(values('(+99) 123 456 789')).toEqual([]);
    expect(values('Growth (+12) 345 678 units')).toEqual([]);
    expect(values('Revenue (+3.1%) and (+12%)')).toEqual([]);
    expect(values('Contact (+44 20 7946 0958)')).toEqual([['PHONE_NUMBER', '+44 20 7946 0958']]);
  });
});

describe('every row of a SQL insert under a phone column, the first too (F2)', () => {
  it.each([
    ["INSERT INTO t (id, phone) VALUES (1,'06 12 48 77 31'),(2,'06 12 48 77 32');", ['06 12 48 77 31', '06 12 48 77 32']],
    ["INSERT INTO leads (ref, mobile) VALUES (1,'0423 118 902'),(2,'0423 118 903');", ['0423 118 902', '0423 118 903']],
    ["INSERT INTO t (id, phone)\nVALUES (1,'06 12 48 77 31'),\n(2,'06 12 48 77 32');", ['06 12 48 77 31', '06 12 48 77 32']],
    ["INSERT INTO t (\n  id,\n  phone\n) VALUES\n  (1,'06 12 48 77 31'),\n  (2,'06 12 48 77 32');", ['06 12 48 77 31', '06 12 48 77 32']],
  ])('%s', (text, phones) => {
    expect(values(text)).toEqual(phones.map((phone) => ['PHONE_NUMBER', phone]));
  });

  it('not under another column, nor one that counts calls', () => {
    expect(values("INSERT INTO t (id, order_no) VALUES (1,'06 12 48 77 31'),(2,'06 12 48 77 32');")).toEqual([]);
    expect(values("INSERT INTO stats (id, phone_calls) VALUES (1,'12 345 678'),(2,'12 345 679');")).toEqual([]);
  });
});

describe('counts in thousands next to a phone word are no phones (F3)', () => {
  it.each([
    'Mobile subscriptions reached 45 120 000 in 2023.',
    'Called 12 345 678 times by the scheduler last month',
    'fax machines sold: 12 450 000 units worldwide',
    'mobile CPU benchmark: 1 523 412 points',
    'Handy-Verträge 2023: 12 450 000',
    'calls handled: 1 245 678',
    'Called 1.523.412 times',
    'Mobile subscriptions: 12 450 000',
    'Winning numbers: 04 12 23 37 45 + 09',
  ])('%s', (text) => {
    expect(values(text)).toEqual([]);
  });

  it.each([
    // Phones written in that shape: Latvia's 2-3-3, Spain's and Poland's 3-3-3, a round one after its label, a row.
    ['Mobile: 21 234 567', '21 234 567'],
    ['Telefon: 912 345 678', '912 345 678'],
    ['Llámame al 612 345 678', '612 345 678'],
    ['Call 612 345 678 today', '612 345 678'],
    ['Mobile: 612 345 000', '612 345 000'],
    ['name,phone\nAna,21 234 000', '21 234 000'],
    ['Winning ticket? Call 06 12 48 77 31', '06 12 48 77 31'],
  ])('still finds %s', (text, phone) => {
    expect(values(text)).toEqual([['PHONE_NUMBER', phone]]);
  });
});

describe('rarer forms (F4)', () => {
  it.each([
    ['Mobil: 0176/22458813', '0176/22458813'],
    ['Mobil 0176 / 22458813', '0176 / 22458813'],
    ['Tel. 0 30 / 27 59 44 12', '0 30 / 27 59 44 12'],
    ['Whats de la tienda: +52 1 55 2941 8820', '+52 1 55 2941 8820'],
    ['+521 55 2941 8820', '+521 55 2941 8820'],
    ['Natel 079 412 33 80', '079 412 33 80'],
    ['tfn 031-711 24 80', '031-711 24 80'],
    ['Tfn: 08-123 456 78', '08-123 456 78'],
  ])('%s', (text, phone) => {
    expect(values(text)).toEqual([['PHONE_NUMBER', phone]]);
  });

  it('an Australian tax file number is still no phone', () => {
    expect(values('TFN 123 456 782')).toEqual([]);
  });

  it('a dotted SSN right after an SSN word; dotted digits without one are versions and addresses', () => {
    expect(values('SSN 412.55.0873 on the intake form')).toEqual([['US_SSN', '412.55.0873']]);
    expect(values('ssn=412.55.0873.')).toEqual([['US_SSN', '412.55.0873']]);
    expect(values('Version 412.55.0873')).toEqual([]);
    expect(values('build 412.55.0873 of the SSN tool')).toEqual([]);
    expect(values('SSN 412.55.0873.1')).toEqual([]);
    expect(values('SSN 666.12.3456')).toEqual([]);
  });
});
