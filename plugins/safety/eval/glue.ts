// Values glued to punctuation and words, as the third outside review (issue 20, F2) built them: 16 values × 39
// prefixes and 22 suffixes (976 texts), and hard negatives for the glue the detector now reads (paths, ids, versions).
import type { LabeledText } from './score.ts';
import { luhnValid } from '../detect/checksums.ts';
import { seededGen } from './seeded-random.ts';

const VALUES: Record<string, string[]> = {
  CREDIT_CARD: ['4111111111111111', '4111 1111 1111 1111', '5500-0000-0000-0004', '378282246310005'],
  IBAN_CODE: ['DE89370400440532013000', 'GB82 WEST 1234 5698 7654 32'],
  EMAIL_ADDRESS: ['alice.smith@example.org'],
  PHONE_NUMBER: ['+44 20 7946 0958', '+14155552671'],
  US_SSN: ['536-22-1947'],
  IP_ADDRESS: ['10.20.30.40', '2001:4860:4860::8888', 'fe80::1ff:fe23:4567:890a'],
  SECRET: ['ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5', 'AKIAZ3MHLPQ7EXRT4WNB', 'sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3Za5Bc7De9Fg1Hj'],
};
const PREFIXES = ['', ' ', 'ref:', 'x:', 'id=', 'user_', 'user-', 'abc', '(', '[', '#', 'card:', 'IBAN:', 'mailto:', 'tel:', '/', '\u200b', '\u00a0', 'é', '中文', 'ref_', 'v', '=', '"', "'", '<', '>', '`', '*', '**', '|', ',', ';', '.', '..', '@', '+', '-', '_'];
const SUFFIXES = ['', '_x', '-x', 'abc', ')', ']', '.', ',', ';', ':', '/', '中文', '\u200b', '!', '?', '"', '>', '*', '|', '_', '-', '1'];

export interface GlueText extends LabeledText {
  /** False where the value is, by decision, another token: see `leftByDecision`. */
  meant: boolean;
  how: string;
}

/**
 * Glue that makes the value another token, by decision (the review counted these as misses too): a letter or digit
 * on either side (`abc4111…`, `v10.20.30.40`, `…00001` is another number); before a number, `.` (a decimal or a
 * version's tail), `-` (a minus sign) and, before a card, `+` (a phone's country code); `_` after an IPv4 address (a
 * package's version, `1.2.3.4_amd64`); an SSN's digits after `tel:` or `+` (a phone); `ref`/`id` right before a card's contiguous digits (an id: printed in a
 * card's groups it is a card).
 */
function leftByDecision(type: string, value: string, prefix: string, suffix: string): boolean {
  if (['abc', 'v'].includes(prefix) || ['abc', '1'].includes(suffix)) return true;
  const numeric = type === 'CREDIT_CARD' || type === 'US_SSN' || type === 'IP_ADDRESS';
  if (numeric && (prefix === '.' || prefix === '..')) return true;
  if ((type === 'CREDIT_CARD' || type === 'US_SSN') && prefix === '-') return true;
  if (type === 'US_SSN' && (prefix === '+' || prefix === 'tel:')) return true; // a phone: `tel:536-22-1947` is one
  if (type === 'CREDIT_CARD' && prefix === '+') return true;
  if (type === 'IP_ADDRESS' && !value.includes(':') && suffix.startsWith('_')) return true;
  return type === 'CREDIT_CARD' && /^\d+$/.test(value) && ['ref:', 'id=', 'ref_'].includes(prefix);
}

/** The review's 976 texts: each value after each prefix (alone on its line), and before each suffix (`see … end`). */
export function glueTexts(): GlueText[] {
  const texts: GlueText[] = [];
  for (const [type, values] of Object.entries(VALUES)) {
    for (const value of values) {
      for (const prefix of PREFIXES) {
        const text = `${prefix}${value}`;
        texts.push({ text, spans: [{ type, start: prefix.length, end: text.length }], meant: !leftByDecision(type, value, prefix, ''), how: `after ${JSON.stringify(prefix)}` });
      }
      for (const suffix of SUFFIXES) {
        const text = `see ${value}${suffix} end`;
        texts.push({ text, spans: [{ type, start: 4, end: 4 + value.length }], meant: !leftByDecision(type, value, '', suffix), how: `before ${JSON.stringify(suffix)}` });
      }
    }
  }
  return texts;
}

/**
 * What the glue rules must not read: ids, versions and hashes in URL paths and after `#`, `/`, `-`, `_` and a label's
 * `:`; numbers after `+` in markdown and code; seeded Luhn-invalid 16-digit runs and 17–19-digit snowflake ids in
 * paths.
 */
export function glueNegatives(): string[] {
  const { int, digits, hex } = seededGen(24);
  const notACard = () => {
    for (;;) {
      const d = digits(16);
      if (!luhnValid(d)) return d;
    }
  };
  const fixed = [
    'GET /v1/users/12345/ HTTP/1.1', 'https://example.com/v1/users/12345/orders/67890', 'see issue #1234 and PR #5678', 'fixed in #4111',
    'image sha256:9f86d081884c7d659a2feaeae8e4a1f6c4b5c0d1a3f0e1b2c3d4e5f60718293a', 'artifact build-20240101-1234567.tar.gz',
    '/releases/download/v2.4.1/app-2.4.1-linux-amd64.tar.gz', 'https://github.com/org/repo/commit/4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a',
    'https://example.com/blog/2024-01-15/post', '/archive/2024/01/15/1234567/', 'job-2024-11-25-1234567 finished', 'node-10-0-0-1 is ready',
    'user-20240101-1234567890 created', 'C++14 and C++17 support', 'g++-12 -O2 main.cc', 'score **+12.5%** this week', 'latency *+3 ms*',
    '`+1000000` rows', 'version 1.0.0+20240101 released', 'semver 2.3.1+build.4155552671', 'diff: +14 lines, -3 lines', '__+42__ points',
    'std::vector<int>::iterator it', 'at 12:30:45 UTC', 'mac:00:1a:2b:3c:4d:5e', 'time:10:20:30:40', 'urn:isbn:9780306406157',
    'net:2001:db8::/32', 'x:fe80::/10 is link-local', 'ref_12:30:45', 'logo@2x.png_old', 'task-sk-learn-classifier-v2', 'my-sk-abcdefghijklmnopqrstuvwxyz0123456789',
    'https://twitter.com/jack/status/1790123456789012345', 'https://discord.com/channels/381870553235193857/381870553235193859',
  ];
  const makers: Array<() => string> = [
    () => `https://shop.example/items/${notACard()}/reviews`,
    () => `GET /api/v2/orders/${notACard()} HTTP/1.1`,
    () => `user-${notACard()}`,
    () => `https://discord.com/channels/${digits(18)}/${digits(18)}`,
    () => `https://x.com/user/status/${digits(19)}`,
    () => `/v${int(1, 3)}/accounts/${digits(int(5, 12))}/`,
    () => `build-${int(2019, 2026)}${String(int(1, 12)).padStart(2, '0')}${String(int(1, 28)).padStart(2, '0')}-${digits(7)}`,
    () => `#${digits(int(3, 6))}`,
    () => `sha256:${hex(64)}`,
    () => `commit/${hex(40)}`,
  ];
  const out = [...fixed];
  for (let round = 0; round < 10; round++) for (const make of makers) out.push(make());
  return out;
}
