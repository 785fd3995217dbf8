// Hygiene checks for the hard-negative set: big enough, varied, deterministic, and truly free of PII and secrets.
import { createHash } from 'node:crypto';
import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HARD_NEGATIVE_CATEGORIES, HARD_NEGATIVES } from './hard-negatives.ts';
import type { HardNegative } from './hard-negatives.ts';

// These checks are written independently of the generator's own filter, so a bug there cannot hide here.

const digest = (set: HardNegative[]): string => createHash('sha256').update(JSON.stringify(set)).digest('hex');

/** Texts (with category) where `find` returns a non-empty match description. */
function offenders(find: (text: string) => string | null): string[] {
  const out: string[] = [];
  for (const { category, text } of HARD_NEGATIVES) {
    const hit = find(text);
    if (hit !== null) out.push(`[${category}] ${hit} in: ${text.slice(0, 160)}`);
  }
  return out;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Card-shaped digits: any 13–19 digit run starting with 2–6 that passes Luhn, where a run is a contiguous number or
 * any consecutive sub-sequence of digit groups joined by single spaces or hyphens ("4111 1111 ..." or "3456789-1234567").
 */
function cardLike(text: string): string | null {
  for (const m of text.matchAll(/(?<!\d)\d+(?:[ -]\d+)*/g)) {
    const groups = m[0].split(/[ -]/);
    for (let i = 0; i < groups.length; i++) {
      let run = '';
      for (let j = i; j < groups.length; j++) {
        run += groups[j];
        if (run.length > 19) break;
        if (run.length >= 13 && /^[2-6]/.test(run) && luhn(run)) return run;
      }
    }
  }
  return null;
}

/** Every place two letters and two digits start, try each 15–34 character prefix of what follows (spaces/hyphens dropped). */
function validIban(text: string): string | null {
  for (let i = 0; i + 4 <= text.length; i++) {
    if (!/^[A-Za-z]{2}\d{2}/.test(text.slice(i, i + 4))) continue;
    const tail = /^[A-Za-z0-9 -]*/.exec(text.slice(i, i + 60))![0];
    const compact = electronicFormatIBAN(tail) ?? '';
    for (let n = 15; n <= Math.min(34, compact.length); n++) {
      if (isValidIBAN(compact.slice(0, n))) return compact.slice(0, n);
    }
  }
  return null;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
// A version word (or "v", "@", "==") right before a dotted quad makes it a version, not an address.
const VERSION_WORD = /(version|build|assembly|release|firmware|\bv\s*$|@$|==$)/i;

function ipv4(text: string): string | null {
  for (const m of text.matchAll(/(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/g)) {
    if (m.slice(1, 5).some((o) => Number(o) > 255)) continue;
    if (VERSION_WORD.test(text.slice(Math.max(0, m.index - 12), m.index))) continue;
    return m[0];
  }
  return null;
}

function ipv6OrMac(text: string): string | null {
  const full = /(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])/i.exec(text);
  if (full) return full[0];
  // Compressed form with at least two groups, e.g. fe80::1 or 2001:db8::; plus the loopback ::1.
  const compressed = /(?<![\w:])[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?(?![\w:])/i.exec(text);
  if (compressed) return compressed[0];
  if (/(?<![\w:])::1(?![\w:])/.test(text)) return '::1';
  const mac = /(?<![\w:-])[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}(?![\w:-])/i.exec(text);
  return mac ? mac[0] : null;
}

/** ddd-dd-dddd (or spaced) that would pass the SSA structural rules, except the documented example numbers. */
const EXAMPLE_SSNS = new Set(['123456789', '078051120', '219099999']);
function ssn(text: string): string | null {
  for (const m of text.matchAll(/(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])/g)) {
    const [area, group, serial] = [m[1], m[3], m[4]];
    if (area === '000' || area === '666' || area.startsWith('9') || group === '00' || serial === '0000') continue;
    if (EXAMPLE_SSNS.has(area + group + serial)) continue;
    return m[0];
  }
  return null;
}

function phone(text: string): string | null {
  const nanp = /(?<![\w+])(?:\(\d{3}\)\s?|\d{3}[-. ])\d{3}[-. ]\d{4}(?!\w)/.exec(text);
  if (nanp) return nanp[0];
  const intl = /\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}/.exec(text);
  return intl ? intl[0] : null;
}

const SECRET_PATTERNS: RegExp[] = [
  /AKIA[0-9A-Z]{16}/, // AWS access key id
  /\bgh[pousr]_[A-Za-z0-9]{20,}/, // GitHub tokens
  /\bxox[abprs]-/, // Slack tokens
  /\bsk[-_](?:live|test|proj|ant)?[-_]?[A-Za-z0-9]{16,}/, // OpenAI/Stripe/Anthropic-style keys
  /\bAIza[0-9A-Za-z_-]{20,}/, // Google API keys
  /\beyJ[A-Za-z0-9_-]{8,}/, // JWTs / base64 JSON
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b(?:glpat|npm)_[A-Za-z0-9]{16,}/,
  /\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|client[_-]?secret)\b\s*[:=]/i,
  /\bAuthorization:\s*(?:Basic|Bearer)\b/i,
  /:\/\/[^\s/:@]+:[^\s/@]+@/, // credentials in a URL
];
const secret = (text: string): string | null => {
  for (const re of SECRET_PATTERNS) {
    const m = re.exec(text);
    if (m) return m[0];
  }
  return null;
};

describe('hard-negative set', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('has at least 400 texts and at least 20 per category, from known categories only', () => {
    expect(HARD_NEGATIVES.length).toBeGreaterThanOrEqual(400);
    const counts = new Map<string, number>();
    for (const { category } of HARD_NEGATIVES) counts.set(category, (counts.get(category) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...HARD_NEGATIVE_CATEGORIES].sort());
    for (const category of HARD_NEGATIVE_CATEGORIES) expect(counts.get(category), category).toBeGreaterThanOrEqual(20);
  });

  it('has only distinct, non-empty texts of at most a few dozen lines', () => {
    const texts = HARD_NEGATIVES.map((h) => h.text);
    expect(new Set(texts).size).toBe(texts.length);
    for (const text of texts) {
      expect(text.trim().length).toBeGreaterThan(0);
      expect(text.split('\n').length).toBeLessThanOrEqual(12);
    }
  });

  it('is deterministic: a fresh import (with Math.random unusable) yields the same set', async () => {
    const before = digest(HARD_NEGATIVES);
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('hard-negatives must not use Math.random');
    });
    vi.resetModules();
    const fresh = await import('./hard-negatives.ts');
    expect(fresh.HARD_NEGATIVES).not.toBe(HARD_NEGATIVES); // really re-evaluated
    expect(digest(fresh.HARD_NEGATIVES)).toBe(before);
  });

  it('contains no email addresses', () => {
    expect(offenders((t) => EMAIL.exec(t)?.[0] ?? null)).toEqual([]);
  });

  it('contains no IPv4 address unless a version word precedes it', () => {
    expect(offenders(ipv4)).toEqual([]);
  });

  it('contains no IPv6 or MAC address', () => {
    expect(offenders(ipv6OrMac)).toEqual([]);
  });

  it('contains no Luhn-valid 13–19 digit run starting with 2–6', () => {
    expect(offenders(cardLike)).toEqual([]);
  });

  it('contains no valid IBAN', () => {
    expect(offenders(validIban)).toEqual([]);
  });

  it('contains no structurally valid SSN other than the documented example numbers', () => {
    expect(offenders(ssn)).toEqual([]);
  });

  it('contains no phone-number formatting (NANP or +country)', () => {
    expect(offenders(phone)).toEqual([]);
  });

  it('contains no credential-shaped strings', () => {
    expect(offenders(secret)).toEqual([]);
  });

  it('the checks themselves catch what they should', () => {
    expect(cardLike('card 4111 1111 1111 1111 exp')).toBe('4111111111111111');
    expect(cardLike('order 112-3456789-1234567')).toBe('34567891234567'); // sub-run of an Amazon-style id
    expect(cardLike('order 112-3456789-1234568')).toBeNull();
    expect(cardLike('id 4111111111111112')).toBeNull(); // Luhn-invalid
    expect(validIban('pay to DE89 3704 0044 0532 0130 00 today')).toBe('DE89370400440532013000');
    expect(validIban('ISIN DE0007164600')).toBeNull();
    expect(ipv4('host 192.168.1.20 down')).toBe('192.168.1.20');
    expect(ipv4('FileVersion 10.0.1.1')).toBeNull();
    expect(ipv4('OID 1.3.6.1.2.1.1.3.0')).toBeNull();
    expect(ipv6OrMac('bind fe80::1%eth0')).toBe('fe80::1');
    expect(ipv6OrMac('std::vector and Vec::new')).toBeNull();
    expect(ssn('ssn 536-22-8137')).toBe('536-22-8137');
    expect(ssn('example 123-45-6789, invalid 666-12-3456')).toBeNull();
    expect(phone('call (555) 123-4567')).toBe('(555) 123-4567');
    expect(phone('+44 20 7946 0958')).not.toBeNull();
    expect(EMAIL.test('@types/node@24.10.1')).toBe(false);
    expect(secret('api_key = abc')).not.toBeNull();
  });
});
