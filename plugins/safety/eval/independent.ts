// An eval built from sources the detector was not written against: every region's example phone numbers from
// Google's libphonenumber (mobile and fixed line, international and national formats), the card networks' published
// test numbers in every printed grouping, an IBAN for every country in ibantools' registry, and token formats as
// their vendors document them — each placed into the layouts people paste into prompts: prose (English, French,
// German), JSON, CSV, TSV, markdown tables, YAML, logs, code and SQL; and an outside reviewer's hand-written corpus.
import { readFileSync } from 'node:fs';
import { composeIBAN, getCountrySpecifications, isValidIBAN } from 'ibantools';
import libphonenumber from 'google-libphonenumber';
import { luhnValid } from '../detect/checksums.ts';
import type { LabeledText } from './score.ts';
import { seededGen, seededRandom } from './seeded-random.ts';

export interface Source {
  name: string;
  texts: LabeledText[];
}

type Layout = (value: string) => string;

/** Layouts with a context word, for values that need one (a national phone number); `{}` marks the value. */
const PHONE_CONTEXTS = [
  'You can call me on {} after six.',
  '{"name": "Ana Silva", "phone": "{}", "city": "Lyon"}',
  'Appelez-moi au {} demain matin.',
  'Bitte rufen Sie mich unter {} an.',
  '2026-03-01T10:22:31Z INFO contact updated user=4411 tel={} status=ok',
  'customer:\n  name: Ana Silva\n  mobile: "{}"\n',
  '| id | name | phone |\n|---|---|---|\n| 17 | Ana Silva | {} |',
  "INSERT INTO contacts (id, name, phone) VALUES (17, 'Ana Silva', '{}');",
];

/** Layouts without a context word: what the value must be found in by its own shape. */
const ANY: Layout[] = [
  (v) => `Here it is: ${v}. Let me know if that works.`,
  (v) => `{"id": 1042, "value": "${v}", "ok": true}`,
  (v) => `1042,Ana Silva,ana@example.org,${v},2026-03-01`,
  (v) => `1042\tAna Silva\t${v}\tactive`,
  (v) => `| 1042 | Ana Silva | ${v} | active |`,
  (v) => `value: "${v}"\nowner: ana`,
  (v) => `[2026-03-01 10:22:31] INFO saved record 1042 value=${v} in 12 ms`,
  (v) => `const value = '${v}'; // from the form`,
  (v) => `INSERT INTO people VALUES (1042, 'Ana', '${v}', 'active');`,
  (v) => `["Ana Silva", "${v}", 1042]`,
  (v) => `Voici les données : ${v}, merci.`,
  (v) => `Die Daten lauten ${v}; danke.`,
];

function place(layout: string | Layout, value: string, type: string): LabeledText {
  const text = typeof layout === 'string' ? layout.replace('{}', value) : layout(value);
  const start = text.indexOf(value);
  return { text, spans: [{ type, start, end: start + value.length }] };
}

/** Every region's example numbers: international format anywhere, national format with a context word. */
function phones(): Source[] {
  const util = libphonenumber.PhoneNumberUtil.getInstance();
  const { PhoneNumberType: Type, PhoneNumberFormat: Format } = libphonenumber;
  const international: LabeledText[] = [];
  const national: LabeledText[] = [];
  let n = 0;
  for (const region of util.getSupportedRegions().sort()) {
    for (const type of [Type.MOBILE, Type.FIXED_LINE]) {
      const example = util.getExampleNumberForType(region, type);
      if (!example) continue;
      const intl = util.format(example, Format.INTERNATIONAL);
      const nat = util.format(example, Format.NATIONAL);
      international.push(place(ANY[n % ANY.length]!, intl, 'PHONE_NUMBER'));
      international.push(place(PHONE_CONTEXTS[n % PHONE_CONTEXTS.length]!, intl, 'PHONE_NUMBER'));
      national.push(place(PHONE_CONTEXTS[n % PHONE_CONTEXTS.length]!, nat, 'PHONE_NUMBER'));
      n++;
    }
  }
  return [
    { name: 'phones, international format, every region (libphonenumber examples)', texts: international },
    { name: 'phones, national format with a context word, every region', texts: national },
  ];
}

/** The networks' published test numbers (Stripe, Adyen, PayPal docs), contiguous and in their printed groupings. */
const TEST_CARDS = [
  '4242424242424242', '4000056655665556', '4111111111111111', '4012888888881881', '4917610000000000', '4000000760000002',
  '5555555555554444', '5200828282828210', '5105105105105100', '2223003122003222', '2223000048400011',
  '378282246310005', '371449635398431', '370000000000002',
  '6011111111111117', '6011000990139424', '6445644564456445',
  '3056930009020004', '36227206271667', '30569309025904',
  '3566002020360505', '3530111333300000',
  '6200000000000005', '6205500000000000004',
  // UnionPay's 81 BINs (Adyen's UnionPay test card) and Troy's 9792 (Turkey's network)
  '8171999927660000', '9792020000000001',
];

function grouped(card: string, style: 'plain' | 'spaces' | 'dashes'): string {
  if (style === 'plain') return card;
  const sep = style === 'spaces' ? ' ' : '-';
  const sizes = card.length === 15 ? [4, 6, 5] : card.length === 14 ? [4, 6, 4] : Array.from({ length: Math.ceil(card.length / 4) }, () => 4);
  const out: string[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(card.slice(at, at + size));
    at += size;
  }
  return out.filter((g) => g !== '').join(sep);
}

function cards(): Source {
  const texts: LabeledText[] = [];
  let n = 0;
  for (const card of TEST_CARDS) for (const style of ['plain', 'spaces', 'dashes'] as const) for (let k = 0; k < 2; k++) texts.push(place(ANY[n++ % ANY.length]!, grouped(card, style), 'CREDIT_CARD'));
  return { name: 'cards, networks’ published test numbers in every grouping', texts };
}

/** A BBAN matching the country's pattern (`^[0-9]{10}[A-Z0-9]{11}$`), from a seeded generator. */
function bbanFor(pattern: string, random: () => number): string {
  const pieces = [...pattern.matchAll(/\[([^\]]+)\]\{(\d+)\}/g)];
  let bban = '';
  for (const [, set, count] of pieces) {
    const chars = (set as string).replace('A-Z', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ').replace('a-z', 'abcdefghijklmnopqrstuvwxyz').replace('0-9', '0123456789');
    for (let i = 0; i < Number(count); i++) bban += chars[Math.floor(random() * chars.length)];
  }
  return bban;
}

/** An IBAN for every country in ibantools' registry: a BBAN of its pattern, check digits computed by ibantools. */
function ibans(): Source {
  const random = seededRandom(20);
  const texts: LabeledText[] = [];
  let n = 0;
  for (const [country, spec] of Object.entries(getCountrySpecifications()).sort()) {
    if (!spec.bban_regexp || !spec.IBANRegistry) continue;
    let iban: string | null = null;
    // Countries with a national check digit in the BBAN: draw until one passes it (ibantools checks it too).
    for (let tries = 0; tries < 5000 && !iban; tries++) {
      const candidate = composeIBAN({ countryCode: country, bban: bbanFor(spec.bban_regexp, random) });
      if (candidate && isValidIBAN(candidate)) iban = candidate;
    }
    if (!iban) continue;
    const printed = n % 2 === 0 ? iban : iban.replace(/(.{4})(?=.)/g, '$1 ');
    texts.push(place(ANY[n++ % ANY.length]!, printed, 'IBAN_CODE'));
  }
  return { name: 'IBANs, every country in the registry (ibantools specs)', texts };
}

/** Token formats as their vendors document them (fake values of the documented shape). */
const TOKENS = [
  'glpat-xK3mP9qR2sT5vW8yZ1aB',
  'AIzaSyD4kR8mP2qW9xT5vN7bL3cJ6hF1gS0aE2u',
  'hf_kR8mP2qW9xT5vN7bL3cJ6hF1gS0aE2uYtQw',
  'npm_kR8mP2qW9xT5vN7bL3cJ6hF1gS0aE2uYtQwZ',
  'rk_live_51HxK3mP9qR2sT5vW8yZ1aBcD3eF4gH5iJ6kL7mN8oP9qR0sT',
  'https://hooks.slack.com/services/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',
  'ghp_kR8mP2qW9xT5vN7bL3cJ6hF1gS0aE2uYtQw9',
  'sk_live_51HxK3mP9qR2sT5vW8yZ1aBcD3eF4gH5iJ6kL7mN8oP9qR0sT',
  'xoxb-2415389162-4827193820-kR8mP2qW9xT5vN7bL3cJ6hF1',
  'AKIA4HX2Q7MNB3KZ5WTP',
  // Slack app-level token (api.slack.com/authentication/token-types), Stripe webhook signing secret, SendGrid key
  'xapp-1-A04B7RJ0UAE-4785016293158-6e1f0b9c2d7a4e38b5c9f1d2a7e6b3c4d8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3',
  'whsec_kR8mP2qW9xT5vN7bL3cJ6hF1gS0aE2uY',
  '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',
  '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',
  'dop_v1_4f9a2c7e1b8d3f6a0c5e9b2d7f1a4c8e6b3d9f2a5c8e1b4d7f0a3c6e9b2d5f8a',
  'pypi-AgEIcHlwaS5vcmcCJDRmOWEyYzdlLTFiOGQtM2Y2YS0wYzVlLTliMmQ3ZjFhNGM4ZQACKlszLCJhYmMiXQ',
  'gsk_kR8mP2qW9xT5vN7bL3cJ6hF1gS0aE2uYtQwZ4nX7cV9bM3lK5jH8gF',
];

function tokens(): Source {
  const texts: LabeledText[] = [];
  let n = 0;
  for (const token of TOKENS) for (let k = 0; k < 4; k++) texts.push(place(ANY[n++ % ANY.length]!, token, 'SECRET'));
  texts.push(place((v) => `config:\n${v}\n`, '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----', 'SECRET'));
  return { name: 'tokens, vendors’ documented formats', texts };
}

export function independentSources(): Source[] {
  return [...phones(), cards(), ibans(), tokens(), ...outsideReviewSources(), ...outsideReview2Sources(), ...outsideReview3Sources()];
}

interface ReviewRecord {
  source: string;
  layout: string;
  text: string;
  spans: LabeledText['spans'];
}

function outsideReview(file = 'outside-review-20.jsonl'): ReviewRecord[] {
  return readFileSync(new URL(`./data/${file}`, import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ReviewRecord);
}

/**
 * An outside reviewer's hand-written corpus (issue 20; see data/README.md): 1,784 texts in eight languages and
 * fifteen layouts, values checked with libphonenumber, Luhn and ibantools. One source per entity it labels, each
 * text scored on that entity.
 */
export function outsideReviewSources(records = outsideReview(), name = 'outside review (issue 20), hand-written'): Source[] {
  const byType = new Map<string, LabeledText[]>();
  for (const record of records) {
    for (const type of new Set(record.spans.map((span) => span.type))) {
      let texts = byType.get(type);
      if (!texts) byType.set(type, (texts = []));
      texts.push({ text: record.text, spans: record.spans.filter((span) => span.type === type) });
    }
  }
  return [...byType].map(([type, texts]) => ({ name: `${name}: ${type}`, texts }));
}

/**
 * A second outside reviewer's hand-written corpus (issue 20, a black-box attack; see data/README.md): 347 texts with
 * values — phones of 57 regions in 16 languages, layouts from CSV to vCard, cards, IBANs, SSNs, e-mails, IPs, 36
 * vendors' token formats and prose passwords in 16 languages — and 123 hard negatives.
 */
export function outsideReview2Sources(): Source[] {
  return outsideReviewSources(outsideReview('outside-review-2-20.jsonl'), 'outside review 2 (issue 20)');
}

/**
 * A third outside reviewer's corpus (issue 20, a black-box attack on streams and `iron scan`; see data/README.md): 99
 * texts with 127 values in 16 languages and a dozen layouts, and 52 hard negatives.
 */
export function outsideReview3Sources(): Source[] {
  return outsideReviewSources(outsideReview('outside-review-3-20.jsonl'), 'outside review 3 (issue 20)');
}

/**
 * Outside reviewers' corpora scored apart from `independentSources` (below their bar when first scored, unseen): each
 * is held where it stands now by a floor per entity (what is still missed is listed in data/README.md) and by the hard
 * negatives it flags.
 * - Review 11 (a black-box attack from the README alone): 204 texts with 234 values — phones of 14 regions written the
 *   local way in sentences, cards, IBANs, SSNs, e-mails, IPs, vendor tokens and passwords in prose, configs and command
 *   lines, in nine languages — and 80 hard negatives (versions, hashes, UUIDs, prices, ISBNs, tracking numbers, Zoom ids).
 * - Review 13 (README, built CLI, the official `openai` client through the gateway): 199 texts with 215 values — contact
 *   records, signatures, JSON, the tokens of the tools agents call, passwords with symbols in `.env` lines, shell
 *   commands — and 67 hard negatives (signed amounts, product versions, counts of phone calls, build ids).
 * - Review 14 (review 13's fixes checked with new inputs): 117 texts with 125 values — passwords that start with
 *   brackets or look like calls, YAML list items and Dockerfile lines, long options, tokens in URLs, phones before
 *   addresses and under camelCase keys — and 60 hard negatives (code, minified JS, logs, counts under JSON keys).
 * - Review 15 (precision of the widened rules): 72 texts with values — Kubernetes env entries, Dockerfile `ENV X v`,
 *   dotted passwords, quoted passphrases, signatures in more languages — and 89 hard negatives (generic types, Rust and
 *   PHP paths, minified bundles, prose about hashing, metrics and CSV columns named after phones).
 * - Review 16 (README and built CLI, the gateway behind a logging proxy): 139 texts with 174 values — phones of 20
 *   regions with bracketed country codes and under SQL columns, passwords followed by other fields, "password for X",
 *   config formats (Maven, WordPress, .NET, Docker auth), password columns, 30 vendors' tokens — and 67 hard negatives
 *   (counts in thousands beside phone words, lottery draws, OAuth answers, ARNs).
 * - Review 17 (review 16's fixes checked with new inputs): 116 texts with 148 values — passwords before other fields,
 *   "password for <an address>", config formats, SQL and CSV password columns, new vendors' tokens — and 68 hard
 *   negatives (JSON schemas and form errors under password keys, i18n calls, HTML forms, ARNs, changelogs).
 * - Review 18 (the digit-run refactor checked from outside): 305 texts with 397 values — cards in every grouping and
 *   glued to every delimiter, SSNs, 29 countries' IBANs, IPv4/IPv6 with ports, 39 countries' `+` phones, phones before
 *   `24/7` or a second phone, `+44(0)20 …`, AWS keys in 19 layouts — and 119 hard negatives (versions, hashes, UUIDs,
 *   timestamps, ISBNs, coordinates, `phone_calls` keys, order numbers).
 */
export const SCORED_REVIEWS: ReadonlyArray<{ name: string; file: string; floors: Record<string, number>; negatives: number; flagged: readonly string[] }> = [
  { name: 'outside review 11 (issue 20)', file: 'outside-review-11-20.jsonl', floors: { PHONE_NUMBER: 71, SECRET: 76 }, negatives: 80, flagged: ['Dial-in: conference code 555 123 4567#'] },
  { name: 'outside review 13 (issue 20)', file: 'outside-review-13-20.jsonl', floors: { PHONE_NUMBER: 63, SECRET: 80, IBAN_CODE: 12 }, negatives: 67, flagged: [] },
  // (Its phones missed are national numbers before an address with no phone word: the README leaves them to a word or phoneRegions.)
  { name: 'outside review 14 (issue 20)', file: 'outside-review-14-20.jsonl', floors: { PHONE_NUMBER: 29 }, negatives: 60, flagged: [] },
  {
    name: 'outside review 15 (issue 20)',
    file: 'outside-review-15-20.jsonl',
    floors: { SECRET: 48, PHONE_NUMBER: 15 },
    negatives: 89,
    // Counts of 8 digits beside a phone word (`mobile: 48213377`): national numbers are written so in Denmark and
    // Norway, so a phone word makes them phones.
    flagged: [
      "sessions{platform=\"mobile\"} 12345678\nhttp_requests_total{device=\"phone\"} 4155550\n",
      "platform,users\nphone,48213377\ntablet,1234567\n",
      "mobile: 48213377\ndesktop: 12345678\ntablet: 87654321\n",
      "Mobile: 48213377 sessions\nDesktop: 12345678 sessions\nTablet: 87654321 sessions\n",
      "| platform | sessions |\n|----------|----------|\n| mobile   | 48213377 |\n| desktop  | 12345678 |\n",
      "Downloaded 48213377 bytes to mobile cache\n",
      "Call graph nodes: 48213377, edges: 123456789\n",
      "In Excel, cell B2 contains 12345678 and cell C2 contains =B2*2\n",
    ],
  },
  { name: 'outside review 16 (issue 20)', file: 'outside-review-16-20.jsonl', floors: { PHONE_NUMBER: 52, SECRET: 53 }, negatives: 67, flagged: [] },
  { name: 'outside review 17 (issue 20)', file: 'outside-review-17-20.jsonl', floors: { SECRET: 98 }, negatives: 68, flagged: [] },
  {
    name: 'outside review 18 (issue 20)',
    file: 'outside-review-18-20.jsonl',
    floors: { PHONE_NUMBER: 118, IP_ADDRESS: 37 },
    negatives: 119,
    flagged: [],
  },
];

/** A scored review's texts with values, one source per entity it labels. */
export function scoredReviewSources(review: (typeof SCORED_REVIEWS)[number]): Source[] {
  return outsideReviewSources(outsideReview(review.file), review.name);
}

/** A corpus's hard negatives (`source: "negative"`). */
export function reviewNegatives(file: string): string[] {
  return outsideReview(file)
    .filter((record) => record.source === 'negative')
    .map((record) => record.text);
}

/** Review 11's 80 hard negatives. */
export function outsideReview11Negatives(): string[] {
  return reviewNegatives('outside-review-11-20.jsonl');
}

/** That reviewer's 52 hard negatives: versions, SHAs, order and tracking numbers, EANs, MACs, CIDR networks, prices. */
export function outsideReview3Negatives(): string[] {
  return outsideReview('outside-review-3-20.jsonl')
    .filter((record) => record.source === 'negative')
    .map((record) => record.text);
}

/** That reviewer's 123 hard negatives: versions, hashes, IPv4 and IPv6 networks, order and tracking numbers, placeholders. */
export function outsideReview2Negatives(): string[] {
  return outsideReview('outside-review-2-20.jsonl')
    .filter((record) => record.source === 'negative')
    .map((record) => record.text);
}

/** The same reviewer's 149 hard negatives: versions, hashes, ids, tracking numbers, prices, `git@host:path` remotes. */
export function outsideReviewNegatives(): string[] {
  return outsideReview()
    .filter((record) => record.source === 'negative')
    .map((record) => record.text);
}

/** Numbers and ids that are none of the entities, in the same layouts (and seeded variants of each). */
export function independentHardNegatives(): string[] {
  const random = seededRandom(21);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
  const makers: Array<() => string> = [
    () => `v${1 + Math.floor(random() * 20)}.${Math.floor(random() * 40)}.${Math.floor(random() * 200)}`,
    () => hex(40),
    () => `ORD-${digits(8)}`,
    () => `978-${digits(1)}-${digits(2)}-${digits(6)}-${digits(1)}`,
    () => `${(random() * 180 - 90).toFixed(6)}, ${(random() * 360 - 180).toFixed(6)}`,
    // (Seeded too: a random UUID whose first group was all digits made the phoneRegions test flake.)
    () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(random() * 4)]}${hex(3)}-${hex(12)}`,
    () => `2026-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 10)}T10:${10 + Math.floor(random() * 50)}:00Z`,
    () => String(1_700_000_000 + Math.floor(random() * 100_000_000)),
    () => `${digits(3)},${digits(3)},${digits(3)}`,
    () => `${Math.floor(random() * 100)}.${digits(2)} EUR`,
    () => `build ${digits(7)}`,
    () => `sha256:${hex(64)}`,
  ];
  const out: string[] = [];
  // The layouts' own email is left out: only the number is under test.
  for (let round = 0; round < 3; round++) for (const make of makers) for (const layout of ANY) out.push(layout(make()).replace('ana@example.org', 'pending'));
  return out;
}

/**
 * Identifiers that glue numbers to words with `_` (`build_20240101_1234567890`, a Chat message's `name`), now that `_`
 * delimits a well-formed card, SSN or IP like a space: snake_case ids, Luhn-invalid 16-digit runs, versions written
 * with `_` or after one, hex ids, dates — in a name, a JSON field and a log line (seeded).
 */
export function identifierNegatives(): string[] {
  const { int, digits, hex, pick, str } = seededGen(22);
  /** A 16-digit run starting like a card (4, 51–55, 6011) whose Luhn check fails. */
  const notACard = () => {
    for (;;) {
      const d = (pick(['4', '5' + int(1, 5), '6011']) + str('0123456789', 16)).slice(0, 16);
      if (!luhnValid(d)) return d;
    }
  };
  const octet = () => int(0, 255);
  const words = ['build', 'job', 'run', 'user', 'agent', 'task', 'node', 'shard', 'batch', 'step'];
  const makers: Array<() => string> = [
    () => `build_${int(2019, 2026)}${String(int(1, 12)).padStart(2, '0')}${String(int(1, 28)).padStart(2, '0')}_${digits(10)}`,
    () => `${pick(words)}_${notACard()}`,
    () => `${pick(['order', 'invoice', 'tracking', 'ref'])}_${digits(16)}`,
    () => `v${int(1, 9)}_${int(0, 20)}_${int(0, 99)}_${int(0, 999)}`,
    () => `${pick(['release', 'build', 'v', 'version'])}_${octet()}.${octet()}.${octet()}.${octet()}`,
    () => `${pick(['libfoo', 'agent', 'setup', 'pkg'])}_${int(0, 30)}.${int(0, 99)}.${int(0, 255)}.${int(0, 255)}${pick(['.tar.gz', '.exe', '.zip', '_amd64.deb'])}`,
    () => `${pick(words)}_${hex(16)}`,
    () => `${pick(words)}_${digits(3)}_${digits(2)}_${digits(4)}`,
    () => `${pick(words)}_${digits(int(6, 12))}`,
    () => `${pick(words)}_${int(2019, 2026)}_${String(int(1, 12)).padStart(2, '0')}_${String(int(1, 28)).padStart(2, '0')}_${digits(6)}`,
    // SSN-shaped with an area never issued (000, 666, 9xx)
    () => `${pick(words)}_${pick(['000', '666', String(int(900, 999))])}-${digits(2)}-${digits(4)}`,
  ];
  const layouts: Layout[] = [(v) => v, (v) => `{"role": "user", "name": "${v}", "content": "done"}`, (v) => `2026-03-01T10:22:31Z INFO finished id=${v} in 12 ms`];
  const out: string[] = [];
  for (let round = 0; round < 4; round++) for (const make of makers) for (const layout of layouts) out.push(layout(make()));
  return out;
}

/**
 * JSON number arrays of ids under an `ids` key, three ids each, of the kinds such arrays hold: Twitter and Discord
 * snowflakes (made from times since 2014 and 2016), Instagram media ids, 64-bit trace ids, Facebook's 15-digit and
 * Shopify's 13–14-digit ids, Steam ids (seeded). `kind: 'random16'` gives random 16-digit ids instead, which are not
 * hard negatives: one in about twenty has a card's prefix and passes Luhn, and is read as a card (`run.ts` prints it).
 */
export function idArrayNegatives(kind?: 'random16'): string[] {
  const random = seededRandom(23);
  const between = (lo: bigint, hi: bigint) => lo + (BigInt(Math.floor(random() * 2 ** 52)) * (hi - lo)) / BigInt(2 ** 52);
  const ms = (year: number) => BigInt(Date.UTC(year, 0, 1));
  const snowflake = (from: number, epoch: bigint) => () => String(((between(ms(from), ms(2026)) - epoch) << 22n) + between(0n, 4194303n));
  const makers: Array<() => string> =
    kind === 'random16'
      ? [() => String(between(1000000000000000n, 9007199254740991n))]
      : [
          snowflake(2014, 1288834974657n),
          snowflake(2016, 1420070400000n),
          () => String(between(1000000000000000000n, 3999999999999999999n)),
          () => String(between(1n, 18446744073709551615n)),
          () => `1000${between(10000000000n, 99999999999n)}`,
          () => String(random() < 0.5 ? between(4000000000000n, 7999999999999n) : between(10000000000000n, 99999999999999n)),
          () => String(76561197960265728n + between(0n, 1000000000n)),
        ];
  const out: string[] = [];
  for (let round = 0; round < 20; round++) for (const make of makers) out.push(`{"ids":[${make()},${make()},${make()}]}`);
  return out;
}
