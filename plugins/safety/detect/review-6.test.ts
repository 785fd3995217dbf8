// Outside review 6 (black-box, `iron scan` and detectPii): access-log status codes read as phones (A), UnionPay's 81
// and Troy's cards missed (B), a city, company ids and a UPC column read as phones (C), the unspecified address (D),
// and `089/1234567` under a SQL column list or a notebook's table header (E).
import { describe, expect, it } from 'vitest';
import { createDetector, detectPii } from './index.ts';

const values = (text: string, detect: (text: string) => ReturnType<typeof detectPii> = detectPii) => detect(text).map((f) => [f.type, text.slice(f.start, f.end)]);
const regional = createDetector({ phoneRegions: ['US', 'FR', 'DE'] });

describe('access-log lines (A)', () => {
  const clients = ['198.51.100.23', '203.0.113.7', '10.1.2.3', '2001:db8:85a3::8a2e:370:7334'];
  const paths = ['/contact', '/phone', '/call', '/api/mobile/config', '/checkout?card_number=redacted', '/contact-us?ref=footer', '/sms/send', '/v1/orders/4821', '/'];
  const requests = (path: string) => [`GET ${path} HTTP/1.1`, `POST ${path} HTTP/1.0`, `GET ${path} HTTP/2.0`, `GET ${path} HTTP/2`];
  const statuses = [100, 101, 200, 204, 206, 301, 304, 400, 404, 408, 429, 499, 500, 502, 504];
  const sizes = ['-', '0', '7', '42', '512', '5123', '48213', '351292', '1234567'];
  const agents = ['curl/8.0', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1'];
  /** Combined, common, and nginx's main format with `$http_x_forwarded_for`; and the `"-"` of a request that never came. */
  function lines(): Array<{ text: string; client: string }> {
    const out: Array<{ text: string; client: string }> = [];
    let n = 0;
    for (const path of paths) {
      for (const request of requests(path)) {
        for (const status of statuses) {
          const client = clients[n % clients.length]!;
          const size = sizes[n % sizes.length]!;
          const agent = agents[n % agents.length]!;
          const time = `[12/Mar/2024:10:${String(n % 60).padStart(2, '0')}:32 +0000]`;
          const formats = [
            `${client} - - ${time} "${request}" ${status} ${size} "-" "${agent}"`,
            `${client} - - ${time} "${request}" ${status} ${size}`,
            `${client} - - ${time} "${request}" ${status} ${size} "https://www.example.com/contact" "${agent}" "-"`,
          ];
          out.push(...formats.map((text) => ({ text, client })));
          n++;
        }
      }
    }
    for (const status of [400, 408]) out.push({ text: `198.51.100.23 - - [12/Mar/2024:10:15:35 +0000] "-" ${status} 150 "-" "-"`, client: '198.51.100.23' });
    return out;
  }

  it("finds only the client's address in PII-free lines, whatever the path, status and size", () => {
    const all = lines();
    expect(all.length).toBe(1622);
    for (const detect of [detectPii, (text: string) => regional.detect(text)]) {
      const wrong = all.filter(({ text, client }) => JSON.stringify(values(text, detect)) !== JSON.stringify([['IP_ADDRESS', client]]));
      expect(wrong.map(({ text }) => `${text}: ${JSON.stringify(values(text, detect))}`)).toEqual([]);
    }
  });

  it('reads the reported line as an address and no phone', () => {
    expect(values('198.51.100.23 - - [12/Mar/2024:10:15:32 +0000] "GET /contact HTTP/1.1" 200 5123 "-" "curl/8.0"')).toEqual([['IP_ADDRESS', '198.51.100.23']]);
  });

  it('still finds a phone in the request or after the status', () => {
    expect(values('10.1.2.3 - - [12/Mar/2024:10:15:32 +0000] "GET /contact?phone=%2B14155550123 HTTP/1.1" 200 5123')).toEqual([
      ['IP_ADDRESS', '10.1.2.3'],
      ['PHONE_NUMBER', '%2B14155550123'],
    ]);
    expect(values('Status "ok" 415 555 0132 is my phone')).toEqual([['PHONE_NUMBER', '415 555 0132']]);
  });
});

describe("UnionPay's 81 BINs and Troy (B)", () => {
  it("finds Adyen's UnionPay test card and a Troy card in every grouping", () => {
    for (const card of ['8171 9999 2766 0000', '9792 0200 0000 0001']) {
      for (const written of [card, card.replaceAll(' ', ''), card.replaceAll(' ', '-')]) {
        expect(values(`Here it is: ${written}. Thanks`), written).toEqual([['CREDIT_CARD', written]]);
      }
    }
  });

  it('keeps to their lengths: 16–19 digits for UnionPay, 16 for Troy; and to their ranges', () => {
    expect(values('card 8171 9999 0000 0000 021')).toEqual([['CREDIT_CARD', '8171 9999 0000 0000 021']]);
    // Luhn-valid, but 15 digits (Troy) and 81 outside UnionPay's 8100–8171
    expect(values('card 979202000000009').filter(([type]) => type === 'CREDIT_CARD')).toEqual([]);
    expect(values('card 8172999927660008').filter(([type]) => type === 'CREDIT_CARD')).toEqual([]);
    expect(values('card 9792990000000008').filter(([type]) => type === 'CREDIT_CARD')).toEqual([]);
  });
});

describe('a city, company ids and a product-code column are no phones (C)', () => {
  it('does not read `Tel Aviv` as a phone label, nor a room range as a phone', () => {
    expect(values('Tel Aviv office opens 2024; room 301-305')).toEqual([]);
    expect(values('Tel Aviv-Yafo had 467 875 residents at the last count.')).toEqual([]);
    expect(values('Tel Aviv office: 03-123-4567')).toEqual([['PHONE_NUMBER', '03-123-4567']]);
    expect(values('tel 467 875')).toEqual([['PHONE_NUMBER', '467 875']]);
    expect(values('customer:\n  mobile: "211-234"\n')).toEqual([['PHONE_NUMBER', '211-234']]);
  });

  it('does not read SIRET, SIREN, EIN or a Steuernummer after "numéro", "number" or "Nr." as a phone', () => {
    expect(values('Numéro SIRET 732 829 320 00074')).toEqual([]);
    expect(values('Numéro SIREN 732 829 320')).toEqual([]);
    expect(values('Employer Identification Number (EIN) 12-3456789')).toEqual([]);
    expect(values('Steuer-Nr. 21 815 08150')).toEqual([]);
    // German `ein` ("a") and Polish `nie` ("not") are no ids' names
    expect(values('Rufen Sie ein Taxi unter 0511 123456')).toEqual([['PHONE_NUMBER', '0511 123456']]);
    expect(values('Jeśli nie odbieram, zadzwoń na 601 234 567')).toEqual([['PHONE_NUMBER', '601 234 567']]);
  });

  it('with phoneRegions, does not read a UPC column of a markdown table as phones, however far from its header', () => {
    const rows = ['| A-1 | 036000291452 | 3 | 19.99 |', '| A-2 | 012993441012 | 12 | 4.50 |', '| A-3 | 042100005264 | 1 | 129.00 |', '| A-4 | 070847811169 | 6 | 2.25 |'];
    expect(values(`| sku | upc | qty | price |\n|-----|-----|-----|-------|\n${rows.join('\n')}`, (text) => regional.detect(text))).toEqual([]);
    expect(values(`| sku | phone | qty |\n|---|---|---|\n| A-1 | 030 1234567 | 3 |\n| A-2 | 030 1234568 | 3 |\n| A-3 | 030 1234569 | 3 |`, (text) => regional.detect(text))).toEqual([
      ['PHONE_NUMBER', '030 1234567'],
      ['PHONE_NUMBER', '030 1234568'],
      ['PHONE_NUMBER', '030 1234569'],
    ]);
  });
});

describe('the unspecified address (D)', () => {
  it('does not report 0.0.0.0 or 0:0:0:0:0:0:0:0; reports loopback 127.0.0.1 as before', () => {
    expect(values('listen 0.0.0.0:8080; upstream 127.0.0.1:3000')).toEqual([['IP_ADDRESS', '127.0.0.1']]);
    expect(values('bind 0:0:0:0:0:0:0:0 port 80')).toEqual([]);
    expect(values('ip 0.0.0.1 and ::ffff:0.0.0.1')).toEqual([
      ['IP_ADDRESS', '0.0.0.1'],
      ['IP_ADDRESS', '::ffff:0.0.0.1'],
    ]);
  });
});

describe('`089/1234567` under a column named phone (E)', () => {
  it('finds it in a SQL insert whose column list names it', () => {
    const text = "INSERT INTO customers (id, name, phone, created_at) VALUES (42, 'Maria Silva', '089/1234567', '2024-01-02');";
    expect(values(text)).toEqual([['PHONE_NUMBER', '089/1234567']]);
    expect(values(text.replace('phone', 'code'))).toEqual([]);
  });

  it("finds it in a notebook's printout of a table (pandas), in every row", () => {
    const table = '   id          name        phone\n0  42   Maria Silva  089/1234567\n1  43  Jan Kowalski  030/9876543\n2  44     Ana Silva  0511/123456';
    expect(values(table)).toEqual([
      ['PHONE_NUMBER', '089/1234567'],
      ['PHONE_NUMBER', '030/9876543'],
      ['PHONE_NUMBER', '0511/123456'],
    ]);
    expect(values(table.replace('phone', ' path'))).toEqual([]);
    // The other forms too, past the reach of the header's word
    const spaced = ['   id   name        phone', ...Array.from({ length: 6 }, (_, i) => `${i}  ${40 + i}  Maria  089 123456${i}`)].join('\n');
    expect(values(spaced).length).toBe(6);
  });

  it('finds it in CSV and markdown tables under a phone header, every row', () => {
    expect(values('id,name,phone\n1,Ana,089/1234567\n2,Bob,030/9876543\n3,Cy,0511/123456').map(([, value]) => value)).toEqual(['089/1234567', '030/9876543', '0511/123456']);
    expect(values('|    |   id | name        | phone       |\n|---:|-----:|:------------|:------------|\n|  0 |   42 | Maria Silva | 089/1234567 |')).toEqual([['PHONE_NUMBER', '089/1234567']]);
  });
});
