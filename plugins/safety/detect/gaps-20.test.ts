// Issue 20's gaps left by its second review: values glued to a word with `_`, an IP under a one-letter key, phones
// inside URLs, and national numbers that a configured phone region alone made phones (counts, ids, amounts).
import { describe, expect, it } from 'vitest';
import { createDetector, detectPii } from './index.ts';

const values = (text: string, findings = detectPii(text)) => findings.map((f) => [f.type, text.slice(f.start, f.end)]);

describe('a value glued to a word with `_` (an OpenAI Chat message `name` allows only letters, digits, `_` and `-`)', () => {
  it('finds a well-formed SSN, card or IP after `_`, as after a space', () => {
    expect(values('agent_536-22-1234')).toEqual([['US_SSN', '536-22-1234']]);
    expect(values('agent_536-22-1234_bot')).toEqual([['US_SSN', '536-22-1234']]);
    expect(values('card_4111111111111111')).toEqual([['CREDIT_CARD', '4111111111111111']]);
    expect(values('ip_10.1.2.3')).toEqual([['IP_ADDRESS', '10.1.2.3']]);
    expect(values('client_ip_192.168.1.20 connected')).toEqual([['IP_ADDRESS', '192.168.1.20']]);
  });

  it('reads an address with `_` in its local part whole (`_` is part of an address, RFC 5322)', () => {
    expect(values('user_jane.doe@example.com')).toEqual([['EMAIL_ADDRESS', 'user_jane.doe@example.com']]);
  });

  it('does not make identifiers into values: Luhn-invalid or said-to-be-other numbers, versions, dates, hex and snake_case ids', () => {
    for (const text of [
      'build_20240101_1234567890', 'order_4111111111111112', 'order_4111111111111111', 'v1_2_3_4', 'v_1.2.3.4', 'release_1.2.3.4',
      'pkg_1.2.3.4_amd64.deb', 'setup_10.0.0.1.exe', 'libfoo_1.2.3.4.tar.gz', 'job_536_22_1234', 'run_2024_11_25_1234567',
      'id_4f3a2b1c0d9e8f7a', 'trace_1234567890123456789', 'user_4155550123', 'tmp_0612345678', 'row_123-45-6789', 'snap_000-12-3456',
    ]) {
      expect(values(text), text).toEqual([]);
    }
  });
});

describe('a card inside a JSON number array under an ids key', () => {
  it("finds a major network's Luhn-valid 16 digits there, wherever it stands in the array", () => {
    expect(values('{"ids":[4111111111111111,42]}')).toEqual([['CREDIT_CARD', '4111111111111111']]);
    expect(values('{"ids": [42, 5555555555554444]}')).toEqual([['CREDIT_CARD', '5555555555554444']]);
    expect(values('{"cards":[4111111111111111,4242424242424242]}')).toEqual([['CREDIT_CARD', '4111111111111111'], ['CREDIT_CARD', '4242424242424242']]);
  });

  it('reads every other element of such an array as an id, however far from the key (snowflakes, 64-bit, 13- and 19-digit ids)', () => {
    for (const text of [
      '{"ids":[748186383174573991,508299003288275718,860595254312337459]}', '{"ids":[7932890318964260864,14118950235292041215,3966562246733070336]}',
      '{"ids":[7308491602539,4108358417637,4511289623565]}', '{"order_ids":[4111111111111111,42]}', '{"id":4111111111111111}', '{"ids":[378282246310005, 42]}',
    ]) {
      expect(values(text), text).toEqual([]);
    }
  });
});

describe('an IP address under a one-letter key', () => {
  it('finds `{"v":"203.0.113.7"}`: only `v` right before the number says version (`v1.2.3.4`, `v 1.2.3.4`, `v. 1.2.3.4`)', () => {
    expect(values('{"v":"203.0.113.7"}')).toEqual([['IP_ADDRESS', '203.0.113.7']]);
    expect(values('v=203.0.113.7')).toEqual([['IP_ADDRESS', '203.0.113.7']]);
    for (const text of ['v1.2.3.4', 'v 1.2.3.4', 'V. 10.0.0.1', 'ships as v 4.2.0.17 today', '{"version":"1.2.3.4"}']) expect(values(text), text).toEqual([]);
  });
});

describe('phones inside URLs', () => {
  it('finds wa.me links, tel: and sms: links and a `+` written as %2B in a query', () => {
    expect(values('https://wa.me/33612345678')).toEqual([['PHONE_NUMBER', '33612345678']]);
    expect(values('https://wa.me/4915123456789?text=hi')).toEqual([['PHONE_NUMBER', '4915123456789']]);
    expect(values('tel:+33612345678')).toEqual([['PHONE_NUMBER', '+33612345678']]);
    expect(values('sms:+4915123456789')).toEqual([['PHONE_NUMBER', '+4915123456789']]);
    expect(values('https://x.com/call?phone=%2B14155550123')).toEqual([['PHONE_NUMBER', '%2B14155550123']]);
    expect(values('https://crm.example.com/lookup?phone=%2b33612345678&x=1')).toEqual([['PHONE_NUMBER', '%2b33612345678']]);
    expect(values('?phone=+14155550123')).toEqual([['PHONE_NUMBER', '+14155550123']]);
  });

  it('leaves version and path numbers, invalid numbers and other encoded text alone', () => {
    for (const text of [
      'https://wa.me/12345', 'https://wa.me/00000000000', 'https://api.example.com/v2/orders/33612345678', 'https://example.com/releases/v1.2.3/4155550123',
      'https://x.com/search?q=%2B1', 'https://x.com/a?b=%2B12345678', 'https://x.com/a%2B33612345678b', 'https://wa.me/33612345678abc',
    ]) {
      expect(values(text), text).toEqual([]);
    }
  });
});

describe('safety.phoneRegions: a national number valid in a region is a phone only when it is written like one', () => {
  const detector = createDetector({ phoneRegions: ['US', 'FR', 'DE'] });
  const regional = (text: string) => values(text, detector.detect(text));

  it('still finds national numbers written with their trunk prefix or grouping, or labelled', () => {
    expect(regional('1042,Ana Silva,01 42 72 46 15,2026-03-01')).toEqual([['PHONE_NUMBER', '01 42 72 46 15']]);
    expect(regional('Ana Silva 0612345678 Lyon')).toEqual([['PHONE_NUMBER', '0612345678']]);
    expect(regional('Ana: 030 1234567')).toEqual([['PHONE_NUMBER', '030 1234567']]);
    expect(regional('Ana Silva (415) 555-0132')).toEqual([['PHONE_NUMBER', '(415) 555-0132']]);
    expect(regional('Ana Silva 415.555.0132')).toEqual([['PHONE_NUMBER', '415.555.0132']]);
    expect(regional('mobile 4155550123')).toEqual([['PHONE_NUMBER', '4155550123']]);
  });

  it('does not report counts, amounts, ids, versions, dates, decimals or ISBNs that happen to be valid there', () => {
    for (const text of [
      'we shipped 4155550123 units', 'resourceVersion: "48213377"', 'FileVersion 15.9.150.147', 'Bump zod from 12.13.30 to 13.0.0',
      'net=8577446', 'Montant : 7 544 881,20 €', 'SELECT * FROM events WHERE id IN (18455418315, 90713557761, 503393228287, 379873157);',
      '1042,Ana Silva,pending,593,984,174,2026-03-01', 'weights = [0.855, 0.48574, 0.952394]', 'Lottery numbers 4 8 15 16 23 42',
      'FedEx 7712 3456 7890', 'In 1999 2000 people came', 'Fibonacci: 1 1 2 3 5 8 13 21 34 55 89 144 233', 'CAS 7732-18-5 (water)',
      'The publisher switched to the 979 prefix: 979-54-6747-527-0.', 'Here it is: 1733539928. Let me know if that works.',
    ]) {
      expect(regional(text), text).toEqual([]);
    }
  });
});
