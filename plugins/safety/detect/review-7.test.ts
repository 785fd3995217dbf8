// Outside review 7 (black-box, detectPii): an e-mail as a URL's user name (2), passwords holding escapes (3), spans
// inside an escape (4), double-encoded values (5), a token with a `.` after `access_token=` (6), and a URL password
// running on over the next query parameter (7).
import { describe, expect, it } from 'vitest';
import { detectPii } from './index.ts';

const values = (text: string) => detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);

describe('an e-mail as a URL user name (2)', () => {
  it.each([
    // (Passwords under 4 characters are samples, as in any URL.)
    ['ftp://bob.smith%40example.com:pw@ftp.example.org/file.csv', 'bob.smith%40example.com', undefined],
    ['https://bob%40example.com:pw@x.io/i.png', 'bob%40example.com', undefined],
    ['https://bob.smith%40example.com:Xk9!mQ2zR@x.io/i.png', 'bob.smith%40example.com', 'Xk9!mQ2zR'],
    ['smtp://alice.jones%40gmail.com:app-pass-1234@smtp.gmail.com:587', 'alice.jones%40gmail.com', 'app-pass-1234'],
    ['mongodb+srv://alice.jones%40corp.com:S3cretPass99@cluster0.mongodb.net/db', 'alice.jones%40corp.com', 'S3cretPass99'],
    ['imaps://alice.jones%40gmail.com@imap.gmail.com:993/INBOX', 'alice.jones%40gmail.com', undefined],
    ['https://bob.smith@example.com:pw@x.io/i.png', 'bob.smith@example.com', undefined],
    ['https://bob.smith@example.com:Xk9mQ2zR@x.io/i.png', 'bob.smith@example.com', 'Xk9mQ2zR'],
  ])('%s', (text, address, password) => {
    const found = values(text);
    expect(found).toContainEqual(['EMAIL_ADDRESS', address]);
    if (password) expect(found).toContainEqual(['SECRET', password]);
    // The host is no address's domain: nothing found reaches past the user info.
    const host = text.lastIndexOf('@');
    for (const f of detectPii(text)) expect(f.end).toBeLessThanOrEqual(host);
  });

  it('still finds an address after the user info, and none in plain credentials', () => {
    expect(values('postgres://app:p4ssw0rd@db.internal.example.com/app')).toEqual([['SECRET', 'p4ssw0rd']]);
    expect(values('redis://cache@cache.example.com:6379')).toEqual([]);
    expect(values('https://x.io/?to=bob%40example.com')).toEqual([['EMAIL_ADDRESS', 'bob%40example.com']]);
  });
});

describe('URL passwords with escapes before a domain host (3)', () => {
  it.each([
    ['https://admin:S3cr3tP%40ss@db.internal.example.com:5432/app', 'S3cr3tP%40ss'],
    ['https://admin:Pa%3Ass%2Fw0rd@db.internal.example.com:5432/app', 'Pa%3Ass%2Fw0rd'],
    ['https://admin:correct%20horse%209@db.internal.example.com:5432/app', 'correct%20horse%209'],
  ])('%s', (text, password) => {
    expect(values(text)).toEqual([['SECRET', password]]);
  });

  it('before an IP host', () => {
    expect(values('redis://:S3cr3tP%40ss@10.0.0.9:6379/0')).toEqual([['SECRET', 'S3cr3tP%40ss'], ['IP_ADDRESS', '10.0.0.9']]);
  });
});

describe('no span starts or ends inside an escape (4)', () => {
  it.each([
    'https://example.com/a?q=%22v%22%3A%221.2.3.4%22',
    'https://example.com/a?q=%201.168.0.1',
    'https://x.io/i.png?q=%7B%22ip%22%3A%2210.1.2.3%22%2C%22n%22%3A%221.2.3.4%22%7D',
    'fetch https://x.io/?host=%201.168.0.1',
  ])('%s', (text) => {
    const escapes = [...text.matchAll(/%[0-9A-Fa-f]{2}/g)].map((m) => m.index);
    for (const f of detectPii(text)) {
      for (const at of escapes) {
        expect(f.start <= at || f.start >= at + 3, `${f.type} starts inside the escape at ${at}`).toBe(true);
        expect(f.end <= at || f.end >= at + 3, `${f.type} ends inside the escape at ${at}`).toBe(true);
      }
    }
  });

  it('reads the value after the escape', () => {
    expect(values('https://example.com/a?q=%201.168.0.1')).toEqual([['IP_ADDRESS', '1.168.0.1']]);
    expect(values('https://x.io/i.png?q=%7B%22ip%22%3A%2210.1.2.3%22%7D')).toEqual([['IP_ADDRESS', '10.1.2.3']]);
  });
});

describe('a URL password ends before the next parameter (7)', () => {
  it.each([
    ['https://x.io/?password=Tr0ub4dor&3&x=1', 'Tr0ub4dor&3'],
    ['https://x.io/?password=Tr0ub4dor&3&redirect_uri=%2Fhome', 'Tr0ub4dor&3'],
    ['https://x.io/?pw=Xk9mQ2zR&lang=en', 'Xk9mQ2zR'],
  ])('%s', (text, password) => {
    expect(values(text)).toContainEqual(['SECRET', password]);
  });

  it('a value too short to be read as a password alone is not read with the next parameter', () => {
    // (`a&b&c` is under the 6 characters a password value needs, as `?password=abcde` is.)
    expect(values('https://x.io/?password=a&b&c&d=1')).toEqual(values('https://x.io/?password=abcde&d=1'));
    expect(values('https://x.io/?password=a&b&c&d=1')).toEqual([]);
  });
});

describe('a token with a dot after token= (6)', () => {
  const token = 'ya29.a0AfH6SMBx3jK9Lq2mN8pR5tV7wY0zA1bC4dE6fG';
  it.each([
    `https://x.io/cb?access_token=${token}&expires_in=3599`,
    `https://x.io/#access_token=${token}`,
    `https://x.io/cb?token=${token}&state=abc`,
  ])('%s', (text) => {
    expect(values(text)).toContainEqual(['SECRET', token]);
  });
});

describe('double-encoded values (5)', () => {
  it.each([
    ['https://x.io/s?email=bob%2540example.com', 'EMAIL_ADDRESS', 'bob%2540example.com'],
    ['https://x.io/s?card=4111%25201111%25201111%25201111', 'CREDIT_CARD', '4111%25201111%25201111%25201111'],
    ['https://x.io/s?next=%2Fc%3Femail%3Dbob.smith%2540example.com', 'EMAIL_ADDRESS', 'bob.smith%2540example.com'],
    ['https://pay.io/?c=4111%25201111%25201111%25201111', 'CREDIT_CARD', '4111%25201111%25201111%25201111'],
    ['https://x.io/s?email=bob%252540example.com', 'EMAIL_ADDRESS', 'bob%252540example.com'],
  ])('%s', (text, type, value) => {
    expect(values(text)).toContainEqual([type, value]);
  });
});
