// Values written percent-encoded, as an outside reviewer sent them (URLSearchParams, encodeURIComponent, mailto:):
// found by detectPii and `iron scan` over the characters as written, with nothing else read into encoded text.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDetector, detectPii } from './index.ts';
import { percentDecoded } from './percent-encoded.ts';

const values = (text: string, findings = detectPii(text)) => findings.map((f) => [f.type, text.slice(f.start, f.end)]);

/** `email=bob%40example.com&card=4111+1111+1111+1111&phone=%2B44+20+7946+0958` */
const QUERY = new URLSearchParams({ email: 'bob@example.com', card: '4111 1111 1111 1111', phone: '+44 20 7946 0958' }).toString();
const PROMPT = `Fetch https://crm.example.com/lookup?${QUERY} and summarise.`;

describe('percent-encoded values', () => {
  it("finds each value of the reviewer's URLSearchParams query in prompt text, over its encoded characters", () => {
    expect(QUERY).toBe('email=bob%40example.com&card=4111+1111+1111+1111&phone=%2B44+20+7946+0958');
    expect(values(PROMPT)).toEqual([
      ['EMAIL_ADDRESS', 'bob%40example.com'],
      ['CREDIT_CARD', '4111+1111+1111+1111'],
      ['PHONE_NUMBER', '%2B44+20+7946+0958'],
    ]);
    expect(detectPii(PROMPT)[0]).toEqual({ type: 'EMAIL_ADDRESS', start: 43, end: 60, score: 0.95 });
  });

  it("finds the reviewer's other encodings: %20 between groups, mailto:, %2B and %3A", () => {
    expect(values('https://pay.example.com/check?card=4111%201111%201111%201111')).toEqual([['CREDIT_CARD', '4111%201111%201111%201111']]);
    expect(values('mailto:bob%40example.com')).toEqual([['EMAIL_ADDRESS', 'bob%40example.com']]);
    expect(values('?phone=%2B44%2020%207946%200958')).toEqual([['PHONE_NUMBER', '%2B44%2020%207946%200958']]);
    expect(values('%2B33%206%2012%2034%2056%2078')).toEqual([['PHONE_NUMBER', '%2B33%206%2012%2034%2056%2078']]);
    expect(values('2001%3Adb8%3A%3A1')).toEqual([['IP_ADDRESS', '2001%3Adb8%3A%3A1']]);
  });

  it('finds values in a path, a form body, an access-log line and under multi-byte UTF-8 escapes', () => {
    expect(values('GET /users/jos%C3%A9%40example.com/orders')).toEqual([['EMAIL_ADDRESS', 'jos%C3%A9%40example.com']]);
    expect(values('body: name=Ana&iban=DE89+3704+0044+0532+0130+00&ok=1')).toEqual([['IBAN_CODE', 'DE89+3704+0044+0532+0130+00']]);
    expect(values('10.1.2.3 - - [06/Dec/2026:10:00:00 +0000] "GET /lookup?ssn=536-22-1947&to=ana%40corp.io HTTP/1.1" 200 512')).toEqual([
      ['IP_ADDRESS', '10.1.2.3'],
      ['US_SSN', '536-22-1947'],
      ['EMAIL_ADDRESS', 'ana%40corp.io'],
    ]);
  });

  it('finds a value written plainly right after an escape, which glues it to what is before in the text as written', () => {
    expect(values('?q=card%3A4111111111111111')).toEqual([['CREDIT_CARD', '4111111111111111']]);
    expect(values('?q=note%0A4111111111111111')).toEqual([['CREDIT_CARD', '4111111111111111']]);
    expect(values('?q=host%3D10.20.30.40')).toEqual([['IP_ADDRESS', '10.20.30.40']]);
    expect(values('?q=ssn%3A536-22-1947')).toEqual([['US_SSN', '536-22-1947']]);
    expect(values('?q=iban%3ADE89370400440532013000')).toEqual([['IBAN_CODE', 'DE89370400440532013000']]);
  });

  it('reads a `+` as a space only in a query or a form body: in a path it stays a `+`', () => {
    expect(values('https://x.example/a/4111+1111+1111+1111/b')).toEqual([]);
    expect(values('https://x.example/a?c=4111+1111+1111+1111#4111+1111+1111+1111')).toEqual([['CREDIT_CARD', '4111+1111+1111+1111']]);
  });

  it('leaves encoded text that is not personal data alone, and never throws on invalid escapes or UTF-8', () => {
    for (const text of [
      'https://www.google.com/search?q=hello%20world&hl=en',
      'https://example.com/done?status=%E2%9C%93&utm_source=newsletter&utm_medium=email&utm_campaign=2026-03+launch',
      `https://api.example.com/v2/items?filter=${encodeURIComponent(JSON.stringify({ version: '1.2.3', since: '2026-03-01', build: 20260301 }))}`,
      'https://x.example/a?b=%2B12345678', 'Sale: 50% off, 20%-30% more. Is 2+2=4? ?a=1+2&b=3+4',
      'bad %E0%80 %ED%A0%80 %F4%90%80%80 %FF%FE %C3 %C3%28 %zz %4 %',
    ]) {
      expect(values(text), text).toEqual([]);
    }
  });

  it('runs the structured recognizers and the custom patterns on the decoded view: a ticket id in a URL is found as written', () => {
    const detector = createDetector({ recognizers: [{ type: 'TICKET', pattern: 'TCK-\\d{4}' }] });
    const text = '?t=TCK%2D1234&u=https%3A%2F%2Fx.io%2F%3Fref%3DTCK-9999 TCK-5678';
    expect(values(text, detector.detect(text))).toEqual([['TICKET', 'TCK%2D1234'], ['TICKET', 'TCK-9999'], ['TICKET', 'TCK-5678']]);
  });

  it('allows a value the allow-list names as it reads decoded', () => {
    const detector = createDetector({ allow: ['bob@example.com'] });
    expect(values(PROMPT, detector.detect(PROMPT)).map(([type]) => type)).toEqual(['CREDIT_CARD', 'PHONE_NUMBER']);
    expect(percentDecoded('%2B44+20%207946+0958')).toBe('+44 20 7946 0958');
    expect(percentDecoded('a%E0%80b')).toBe('a%E0%80b');
  });

  it('stays linear on hostile input: a megabyte of escapes, of query pairs, of `?` and of invalid escapes', () => {
    for (const unit of ['%41', '?a=1+2&', '%2B1+', '?', '?a=', '%C3', '%E2%9C', '%2', '+%20']) {
      const text = unit.repeat(Math.ceil(1_000_000 / unit.length));
      const t0 = performance.now();
      detectPii(text);
      // (The bench's hostile table measures them: well under 200 ms each; the bound here allows a loaded machine.)
      expect(performance.now() - t0, unit).toBeLessThan(2000);
    }
  });
});

describe('iron scan', () => {
  const cli = new URL('../../../core/cli/main.ts', import.meta.url).pathname;

  it("reports the reviewer's encoded values, as written, with their line and column", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'iron-scan-encoded-'));
    const input = `${PROMPT}\nmailto:bob%40example.com ?phone=%2B44%2020%207946%200958 2001%3Adb8%3A%3A1\n`;
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [cli, 'scan', '-', '--show-values'], { cwd, env: { PATH: process.env.PATH ?? '' } }, (error, out) => (error ? reject(error) : resolve(out)));
      child.stdin!.end(input);
    });
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line.type, line.value, line.line, line.column])).toEqual([
      ['EMAIL_ADDRESS', 'bob%40example.com', 1, 44],
      ['CREDIT_CARD', '4111+1111+1111+1111', 1, 67],
      ['PHONE_NUMBER', '%2B44+20+7946+0958', 1, 93],
      ['EMAIL_ADDRESS', 'bob%40example.com', 2, 8],
      ['PHONE_NUMBER', '%2B44%2020%207946%200958', 2, 33],
      ['IP_ADDRESS', '2001%3Adb8%3A%3A1', 2, 58],
    ]);
  });
});
