// The independent eval's values (libphonenumber's example numbers, the networks' test cards, ibantools' IBANs, vendors'
// token formats) percent-encoded the ways software writes them into URLs: a query by URLSearchParams and by
// encodeURIComponent, a path segment, an access-log line. An outside review found 263 of 492 such values missed.
import { independentSources } from './independent.ts';
import type { LabeledText } from './score.ts';

/** The types of the values placed (the access log's client address is labelled, not scored). */
export const URL_ENCODED_TYPES = ['PHONE_NUMBER', 'CREDIT_CARD', 'IBAN_CODE', 'SECRET'];

/** A query key that names the value's kind, as an API would: half the values get one, half a neutral `value`. */
const KEYS: Record<string, string> = { PHONE_NUMBER: 'phone', CREDIT_CARD: 'card', IBAN_CODE: 'iban', EMAIL_ADDRESS: 'email', SECRET: 'token', IP_ADDRESS: 'ip' };

/** The client address every access-log line starts with: a value too, labelled as one. */
const CLIENT_IP = '203.0.113.7';

type UrlLayout = (key: string, value: string) => string;

/** Each layout returns the text; the value is in it encoded as `encoded(value)` says. */
const LAYOUTS: Array<{ name: string; encoded: (value: string) => string; text: UrlLayout }> = [
  {
    name: 'query (URLSearchParams)',
    encoded: (value) => new URLSearchParams({ v: value }).toString().slice(2),
    text: (key, value) => `Fetch https://crm.example.com/lookup?id=1042&${new URLSearchParams({ [key]: value })}&lang=en and summarise.`,
  },
  {
    name: 'query (encodeURIComponent)',
    encoded: encodeURIComponent,
    text: (key, value) => `const url = \`https://api.example.com/v1/search?${key}=${encodeURIComponent(value)}&page=2\`;`,
  },
  {
    name: 'path (encodeURIComponent)',
    encoded: encodeURIComponent,
    text: (key, value) => `GET https://api.example.com/v1/${key}s/${encodeURIComponent(value)}/details`,
  },
  {
    name: 'access log',
    encoded: encodeURIComponent,
    text: (key, value) => `${CLIENT_IP} - - [06/Dec/2026:10:22:31 +0000] "GET /lookup?${key}=${encodeURIComponent(value)}&src=web HTTP/1.1" 200 512 "-" "Mozilla/5.0"`,
  },
];

/** The values of the independent sources (not the outside reviews' own corpora), each with its type and source. */
function independentValues(): Array<{ type: string; value: string; source: string }> {
  const out: Array<{ type: string; value: string; source: string }> = [];
  const seen = new Set<string>();
  for (const source of independentSources()) {
    if (source.name.startsWith('outside review')) continue;
    for (const { text, spans } of source.texts) {
      for (const span of spans) {
        const value = text.slice(span.start, span.end);
        if (seen.has(`${span.type}\u0000${value}`)) continue;
        seen.add(`${span.type}\u0000${value}`);
        out.push({ type: span.type, value, source: source.name });
      }
    }
  }
  return out;
}

export interface UrlEncodedText extends LabeledText {
  layout: string;
  /** Whether encoding changed the value (`+44 20…` → `%2B44%2020…`; a contiguous card stays as it was). */
  changed: boolean;
}

/** Every independent value in every layout, labelled over its encoded characters. */
export function urlEncodedTexts(): UrlEncodedText[] {
  const texts: UrlEncodedText[] = [];
  independentValues().forEach(({ type, value, source }, n) => {
    // A national number needs its context word (as in the independent eval): always under `phone`, never in a path
    // (`/v1/phones/077%20123456/` is missed written plainly too: a path segment is no phone word for the recognizer).
    const national = source.startsWith('phones, national');
    const key = n % 2 === 0 || national ? (KEYS[type] ?? 'value') : 'value';
    for (const layout of LAYOUTS) {
      if (national && layout.name.startsWith('path')) continue;
      const text = layout.text(key, value);
      const encoded = layout.encoded(value);
      const start = text.indexOf(`=${encoded}`) >= 0 ? text.indexOf(`=${encoded}`) + 1 : text.indexOf(`/${encoded}/`) + 1;
      const spans = [{ type, start, end: start + encoded.length }];
      if (text.startsWith(CLIENT_IP)) spans.unshift({ type: 'IP_ADDRESS', start: 0, end: CLIENT_IP.length });
      texts.push({ text, spans, layout: layout.name, changed: encoded !== value });
    }
  });
  return texts;
}

/** URLs whose encoded parts are not personal data: searches, check marks, campaign tags, JSON of versions and dates. */
export function urlEncodedNegatives(): string[] {
  const json = (value: unknown) => encodeURIComponent(JSON.stringify(value));
  return [
    'https://www.google.com/search?q=hello%20world&hl=en',
    'https://www.google.com/search?q=how+to+read+a+stack+trace&oq=how+to+read',
    'https://example.com/done?status=%E2%9C%93&msg=Saved%20%E2%9C%94',
    'https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=2026-03+spring+launch&utm_content=cta%2Bbanner',
    `https://api.example.com/v2/items?filter=${json({ version: '1.2.3', since: '2026-03-01', build: 20260301 })}`,
    `https://api.example.com/v2/releases?q=${json({ versions: ['10.4.2', '10.4.3-rc.1'], date: '2026-12-06T10:22:31Z' })}`,
    'https://docs.example.com/guide%20(v2).pdf#page=12',
    'https://example.com/wiki/Caf%C3%A9_au_lait?action=edit&section=3',
    'https://maps.example.com/?ll=48.8584%2C2.2945&z=17',
    'https://example.com/search?q=%22order%20%23104233%22&sort=date',
    'https://cdn.example.com/img/photo%401x.png?w=1280&h=720',
    'https://example.com/files/report%202026-03-01%20final%20v3.docx',
    'curl -X POST -d "name=Ana+Silva&qty=12&sku=AB-1042&total=199%2C90" https://shop.example.com/orders',
    '10.0.0.1 - - [06/Dec/2026:10:22:31 +0000] "GET /search?q=build%2012.4.1&page=3 HTTP/1.1" 200 5123'.replace('10.0.0.1', '-'),
    'https://ci.example.com/job/main/1042/artifact/dist%2Fapp-1.2.3.tar.gz',
    'https://example.com/callback?state=a8Fk29dX&redirect_uri=https%3A%2F%2Fapp.example.com%2Fauth%2Fdone',
    'https://example.com/calc?expr=2%2B2%3D4&x=1+2+3',
    'https://example.com/t?ts=2026-12-06T10%3A22%3A31Z&tz=%2B01%3A00',
    'https://example.com/p?sizes=10%2C20%2C40&ratio=16%3A9&rev=%23a1b2c3',
    'https://example.com/q?sha=3f786850e387550fdab836ed7e6dc881de23001b&ver=v1.2.3%2Bbuild.45',
  ];
}
