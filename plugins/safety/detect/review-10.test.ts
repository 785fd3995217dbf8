// Outside review 10 (black-box, text beyond ASCII and Latin-1): an ellipsis after a password (F1), CJK corner brackets
// and curly quotes after CJK password words (F2), a URL password before a host of another script (F3), full-width
// `：` and `＝` (F4), Greek written without accents (F5), invisible direction marks inside values (F6), the minus sign
// as a group separator (F7), mismatched quotes (F8) and password and phone words of more languages (F11).
import { describe, expect, it } from 'vitest';
import { detectPii } from './index.ts';

const values = (text: string) => detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);

describe('passwords next to typographic and CJK punctuation', () => {
  it.each([
    // F1: phones and word processors type `…` for `...`.
    ['my password is Hunt3r!x9…', 'Hunt3r!x9'],
    ['пароль: Hunt3r!x9…', 'Hunt3r!x9'],
    ['token: Hunt3r!x9Zq…', 'Hunt3r!x9Zq'],
    // F2: 「」 and “” are how these languages quote a value.
    ['パスワードは「Hunt3r!x9」です', 'Hunt3r!x9'],
    ['パスワード：『Hunt3r!x9』', 'Hunt3r!x9'],
    ['密码是“Hunt3r!x9”', 'Hunt3r!x9'],
    ['密码：「Hunt3r!x9」', 'Hunt3r!x9'],
    ['비밀번호는 “Hunt3r!x9”입니다', 'Hunt3r!x9'],
    // F4: full-width separators, and full-width letters.
    ['password：Hunt3r!x9', 'Hunt3r!x9'],
    ['пароль：Hunt3r!x9', 'Hunt3r!x9'],
    ['ｐａｓｓｗｏｒｄ＝Hunt3r!x9', 'Hunt3r!x9'],
    // F5: Greek capitals are written without accents, and so is much Greek typed on a Latin keyboard.
    ['ΚΩΔΙΚΟΣ: Hunt3r!x9', 'Hunt3r!x9'],
    ['κωδικος: Hunt3r!x9', 'Hunt3r!x9'],
    ['ο κωδικος είναι Hunt3r!x9', 'Hunt3r!x9'],
    // F8: mismatched quotes.
    ['my password is “Hunt3r!x9"', 'Hunt3r!x9'],
    ['пароль: «X7v!k2Lq"', 'X7v!k2Lq'],
    ['Мой пароль: "X7v!k2Lq»', 'X7v!k2Lq'],
    // F11: password words of more languages.
    ['токен: Hunt3r!x9Q', 'Hunt3r!x9Q'],
    ['סיסמה: Hunt3r!x9', 'Hunt3r!x9'],
    ['पासवर्ड: Hunt3r!x9', 'Hunt3r!x9'],
    ['รหัสผ่าน: Hunt3r!x9', 'Hunt3r!x9'],
    ['mật khẩu là Hunt3r!x9', 'Hunt3r!x9'],
    ['Mật khẩu: Hunt3r!x9', 'Hunt3r!x9'],
  ])('%s', (text, password) => {
    expect(values(text)).toContainEqual(['SECRET', password]);
  });

  it('still reads an ellipsis inside a value as a sample, and a quote that does not close as no value', () => {
    expect(values('my password is Hunt…3r!x9')).toEqual([]);
    expect(values('my password is “Hunt3r!x9')).toEqual([]);
  });
});

describe('a URL password before a host of another script (F3)', () => {
  it.each(['https://ivan:Hunt3r!x9@пример.рф/', 'https://ivan:Hunt3r!x9@例子.广告/x', 'ftp://ivan:Hunt3r!x9@παράδειγμα.δοκιμή'])('%s', (text) => {
    expect(values(text)).toContainEqual(['SECRET', 'Hunt3r!x9']);
  });
});

describe('marks that hid a value inside it (F6, F7)', () => {
  it.each([
    ['4111\u200e1111\u200e1111\u200e1111', 'CREDIT_CARD'],
    ['4111\u202a1111\u202c1111\u200f1111', 'CREDIT_CARD'],
    ['4111\u20611111\u20621111\u20641111', 'CREDIT_CARD'],
    ['4111\u180e1111\u034f1111\u00851111', 'CREDIT_CARD'],
    ['4111−1111−1111−1111', 'CREDIT_CARD'],
    ['ssn 536\u200e22\u200e1947', 'US_SSN'],
    ['ssn 536−22−1947', 'US_SSN'],
    ['+44\u200f20 7946 0958', 'PHONE_NUMBER'],
    ['+44−20−7946−0958', 'PHONE_NUMBER'],
  ])('%j is one %s', (text, type) => {
    const findings = detectPii(text);
    expect(findings.map((f) => f.type)).toContain(type);
    const finding = findings.find((f) => f.type === type)!;
    // The whole value, marks and all, is one finding.
    expect(text.slice(finding.start, finding.end).replace(/\D/g, '')).toBe(text.replace(/^\D+/, '').replace(/\D/g, ''));
  });
});

describe('phone words of more languages (F11)', () => {
  it.each([
    ['手機：0912-345-678', '0912-345-678'],
    ['сот. 8 912 345-67-89', '8 912 345-67-89'],
  ])('%s', (text, phone) => {
    expect(values(text)).toContainEqual(['PHONE_NUMBER', phone]);
  });
});
