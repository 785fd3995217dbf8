import { describe, expect, it } from 'vitest';
import { loadPresidio } from '../eval/corpus.ts';
import { glueTexts } from '../eval/glue.ts';
import { HARD_NEGATIVES } from '../eval/hard-negatives.ts';
import { independentSources } from '../eval/independent.ts';
import { seededGen } from '../eval/seeded-random.ts';
import type { PiiFinding } from '../types.ts';
import { createDetector } from './index.ts';
import { narrowForRecognizers, readingView, realIndexOf, STAND_IN } from './narrow-view.ts';
import { foldForRecognizers } from './normalize.ts';

/** Lines whose values or context words are written in other scripts, or next to typographic characters. */
const WIDE_LINES = [
  '電話番号：03-1234-5678', '電話：０３－１２３４－５６７８', 'Тел.: 8 800 555-35-35', '연락처: 010-9876-5432', 'τηλ. 210 123 4567',
  'هاتف: +971 50 123 4567', 'Mój numer telefonu to 030 12345678.', 'Zadzwoń: 600 123 456', 'Cep numarası: 0532 123 45 67',
  'moje hasło to Krakow!2024', 'Hasło: Zielony!Las8', 'HASŁO: Zielony!Las8', 'пароль: Qwerty!234', 'мой пароль — Qwerty!234', 'şifre: Gizli!2024',
  'ο κωδικός είναι Kal1mera!', 'كلمة المرور: Sirr!2024x', 'パスワードは sakura2024 です', '密码是 abc12345', '비밀번호는 qwer1234! 입니다',
  'Das Passwort lautet: „Kaffee&Kuchen9“', 'mot de passe : « Soleil2024! »', 'The password is “Blue-Falcon-42”.', 'my password is ‘Tr0ub4dor&3’',
  'Schreib an josé.müller@exämple.de, 用户@例子.广告 or иван@пример.рф', 'karta: 4111 1111 1111 1111 — kartę 5500 0000 0000 0004',
  'IBAN: DE89 3704 0044 0532 0130 00 — €1.250,00', '📞 +44 20 7946 0958 📧 jane.doe@example.org', 'SSN 536-22-1947 … ok', '€12345678 and ¥4111111111111111',
  'call me on 07700 900123 … ’cause', '{"token": "ĠHello", "logprob": -0.31}', 'salasanani on Sal…sana! älä kerro', 'https://x.io/?to=ann%40exämple.org&n=“x”',
];

/** Characters beyond Latin-1 a text may hold anywhere: quotes, dashes, letters of other scripts, CJK, emoji, marks. */
const WIDE_POOL = ['“', '”', '‘', '’', '—', '…', '€', 'ę', 'ł', 'Ł', 'ş', 'ı', 'ь', 'п', 'р', 'κ', 'ω', '电', '話', 'ك', '😀', '№', '：', 'ſ', 'K', '\u0301', '▁', 'Ġ', 'パ', 'は', '\u2028', '\u0080'];

const key = (findings: PiiFinding[]) => findings.map((f) => `${f.type}:${f.start}:${f.end}:${f.score.toFixed(3)}`).sort();

describe('the narrow view (one byte per character for the scans)', () => {
  it('finds exactly what the two-byte reference finds, on corpora in eight languages with characters beyond Latin-1 inserted', () => {
    const gen = seededGen(20261206);
    const corpus = [...WIDE_LINES, ...independentSources().flatMap((source) => source.texts.map((t) => t.text)), ...glueTexts().map((t) => t.text), ...HARD_NEGATIVES.map((n) => n.text), ...loadPresidio('synth_dataset_v2.json').map((r) => r.text)];
    // A seeded sample, bounded for CI; IRON_NARROW_PARITY_ALL=1 reads every text.
    const texts = process.env.IRON_NARROW_PARITY_ALL ? corpus : [...WIDE_LINES, ...Array.from({ length: 1500 }, () => gen.pick(corpus))];
    const narrow = createDetector();
    const reference = createDetector({}, { twoByteView: true });
    const differ: string[] = [];
    let wide = 0;
    for (const text of texts) {
      const variants = [text];
      for (let k = 0; k < 3; k++) {
        let mutated = text;
        for (let e = gen.int(1, 4); e > 0; e--) {
          const at = gen.int(0, mutated.length);
          mutated = mutated.slice(0, at) + gen.pick(WIDE_POOL) + mutated.slice(gen.chance(0.5) ? at : at + 1);
        }
        variants.push(mutated);
      }
      for (const variant of variants) {
        if (/[^\x00-\xff]/.test(variant)) wide++;
        if (key(narrow.detect(variant)).join() !== key(reference.detect(variant)).join()) differ.push(variant);
      }
    }
    expect(wide).toBeGreaterThan(4500);
    expect(differ.slice(0, 5)).toEqual([]);
  });

  it('keeps every offset: one unit per unit, folded characters as ASCII, every other one beyond Latin-1 as the stand-in', () => {
    const text = '“Tel\u00a0+44\u202f20 7946\u20130958” — пароль 😀 é';
    const view = narrowForRecognizers(text);
    expect(view.length).toBe(text.length);
    const folded = foldForRecognizers(text);
    for (let i = 0; i < text.length; i++) {
      const expected = folded.charCodeAt(i) > 0xff ? STAND_IN : folded.charCodeAt(i);
      expect([i, view.charCodeAt(i)]).toEqual([i, expected]);
    }
    expect(narrowForRecognizers('plain ascii text')).toBe('plain ascii text');
  });

  it('finds words of other scripts in the text the view was made of, and refuses a needle it was not told about', () => {
    const text = 'x пароль: y 電話 z';
    const view = narrowForRecognizers(text);
    readingView(view, text, () => {
      expect(view.indexOf('пароль')).toBe(-1);
      expect(realIndexOf(view, 'ь')).toBe(text.indexOf('ь'));
      expect(() => realIndexOf(view, 'ж')).toThrow(/noteNeedles/);
    });
  });
});
