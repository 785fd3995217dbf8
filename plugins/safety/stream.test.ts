// Streamed redaction: whatever the chunk boundaries, no value leaks and every placeholder comes back whole.
import { describe, expect, it } from 'vitest';
import { createDetector } from './detect/index.ts';
import { ActionPolicy } from './policy.ts';
import { jsonStringEscape, PseudonymVault } from './pseudonyms.ts';
import { FindingTally, Redactor } from './redact.ts';
import { JsonEscapeDecoder } from './json-stream.ts';
import { holdFrom, StreamChannel } from './stream.ts';
import { streamThrough } from './stream-through.ts';

const policy = new ActionPolicy({ entities: { EMAIL_ADDRESS: { output: 'redact' }, PHONE_NUMBER: { output: 'redact' } } });
const redactor = new Redactor({ detector: createDetector(), policy, mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });

/** Streams `text` cut at `cuts`, returning what the agent saw chunk by chunk. */
function stream(text: string, cuts: number[], vault = new PseudonymVault(), json = false): string[] {
  const channel = new StreamChannel(redactor, vault, new FindingTally(), json ? jsonStringEscape : undefined, json);
  const seen: string[] = [];
  let last = 0;
  for (const cut of [...cuts, text.length]) {
    seen.push(channel.push(text.slice(last, cut)));
    last = cut;
  }
  seen.push(channel.flush());
  return seen;
}

describe('StreamChannel', () => {
  const text = 'Sure. Write to jane.doe@example.org or call +44 20 7946 0958, card 4111 1111 1111 1111 ends here.';
  const expected = 'Sure. Write to [EMAIL_ADDRESS] or call [PHONE_NUMBER], card [CREDIT_CARD] ends here.';

  it('redacts values split at every possible point, and never releases a piece of one', () => {
    for (let cut = 1; cut < text.length; cut++) {
      const seen = stream(text, [cut]);
      expect(seen.join(''), `cut at ${cut}`).toBe(expected);
      for (const piece of seen) for (const secret of ['jane', 'example.org', '7946', '0958', '4111', '1111']) expect(piece, `cut at ${cut}`).not.toContain(secret);
    }
  });

  it('redacts a secret written as prose, split at every possible point', () => {
    const prose = 'Noted: my password is Tr0ub4dor&3 and the wifi one is different.';
    for (let cut = 1; cut < prose.length; cut++) {
      const seen = stream(prose, [cut]);
      expect(seen.join(''), `cut at ${cut}`).toBe('Noted: my password is [SECRET] and the wifi one is different.');
      for (const piece of seen) expect(piece, `cut at ${cut}`).not.toMatch(/Tr0|4dor|&3/);
    }
  });

  it('redacts values streamed a character at a time', () => {
    const cuts = [...Array(text.length - 1).keys()].map((i) => i + 1);
    const seen = stream(text, cuts);
    expect(seen.join('')).toBe(expected);
  });

  it('restores placeholders split across chunks', () => {
    const vault = new PseudonymVault();
    const placeholder = vault.placeholderFor('EMAIL_ADDRESS', 'jane@example.org');
    const answer = `I will email ${placeholder} today.`;
    for (let cut = 1; cut < answer.length; cut++) {
      const seen = stream(answer, [cut], vault);
      expect(seen.join(''), `cut at ${cut}`).toBe('I will email jane@example.org today.');
      expect(seen.some((piece) => piece.includes('<EMAIL'))).toBe(false);
    }
  });

  it('holds back only the unfinished tail: ordinary words go out at once', () => {
    const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally());
    expect(channel.push('Hello there, ')).toBe('Hello there, ');
    expect(channel.push('how')).toBe('');
    expect(channel.push(' are')).toBe('how ');
    expect(channel.flush()).toBe('are');
  });

  it('keeps digit groups together until the number is complete', () => {
    expect(holdFrom('call 555 ')).toBe(5);
    expect(holdFrom('call +41 (0)96 471 ')).toBe(5);
    expect(holdFrom('the answer is ')).toBe(14);
  });

  it('bounds the hold-back: a stream of one endless token still moves', () => {
    const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally());
    let released = '';
    for (let i = 0; i < 100; i++) released += channel.push('x'.repeat(100));
    expect(released.length).toBeGreaterThanOrEqual(10_000 - 4096);
    expect(channel.holding).toBeLessThanOrEqual(4096);
  });

  it('reads a long token with no space in linear time: it is scanned when it can be released, not at every delta (outside review 3, F6)', () => {
    const inner = createDetector();
    let scanned = 0;
    const counting = new Redactor({ detector: { detect: (text: string) => ((scanned += text.length), inner.detect(text)) }, policy, mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });
    for (const json of [false, true]) {
      scanned = 0;
      const channel = new StreamChannel(counting, new PseudonymVault(), new FindingTally(), json ? jsonStringEscape : undefined, json);
      const body = '1:1:'.repeat(16_384); // 64 KB, in 4-character deltas
      let released = json ? channel.push('{"a":"') : '';
      for (let at = 0; at < body.length; at += 4) released += channel.push(body.slice(at, at + 4));
      released += channel.push(json ? ' jane.doe@example.org"}' : ' jane.doe@example.org');
      released += channel.flush();
      expect(released).toBe(json ? `{"a":"${body} [EMAIL_ADDRESS]"}` : `${body} [EMAIL_ADDRESS]`);
      expect(scanned / body.length, json ? 'JSON channel' : 'text channel').toBeLessThan(8);
    }
  });

  it('holds back the first group of a value that follows a quote, =, a comma, | or [ with no space', () => {
    expect(holdFrom('x "4111 ')).toBe(3);
    expect(holdFrom('=4111 1111 ')).toBe(1);
    expect(holdFrom('{"card":"4111 1111 ')).toBe(9);
    expect(holdFrom("a,'GB82 WEST ")).toBe(3);
    expect(holdFrom('|[„4111 ')).toBe(3);
    expect(holdFrom('said "hello there" ')).toBe(19);
    for (const value of ['4111 1111 1111 1111', '3782 822463 10005', 'GB82 WEST 1234 5698 7654 32']) {
      for (const before of ['x "', '=', ',', '|', '[', "'", '„']) {
        const text = `${before}${value}" y`;
        for (let cut = 1; cut < text.length; cut++) {
          const seen = stream(text, [cut]);
          expect(seen.join(''), `${text} cut at ${cut}`).toMatch(/\[(?:CREDIT_CARD|IBAN_CODE)\]" y$/);
          for (const piece of seen) expect(piece, `${text} cut at ${cut}`).not.toMatch(/4111|3782|GB82/);
        }
      }
    }
  });

  it('holds back an IBAN written in lower or mixed case, word by word and at every split (outside review 3, F1)', () => {
    const ibans = ['de89 3704 0044 0532 0130 00', 'De89 3704 0044 0532 0130 00', 'gb82 west 1234 5698 7654 32', 'fr14 2004 1010 0505 0001 3m02 606', 'mt84 malt 0110 0001 2345 mtlc ast0 01s', 'nl91 abna 0417 1643 00'];
    for (const iban of ibans) {
      const groups = iban.split(' ');
      for (const [before, after] of [['Transfer to ', ' please.'], ['{"iban": "', '"}']] as const) {
        const text = `${before}${iban}${after}`;
        const words = text.split(/(?<= )/);
        const byWord = stream(text, words.slice(0, -1).map((_, i) => words.slice(0, i + 1).join('').length));
        expect(byWord.join(''), text).toBe(`${before}[IBAN_CODE]${after}`);
        for (let cut = 1; cut < text.length; cut++) {
          const seen = stream(text, [cut]);
          expect(seen.join(''), `${text} cut at ${cut}`).toBe(`${before}[IBAN_CODE]${after}`);
          for (const piece of seen) for (const group of groups.slice(0, 2)) expect(piece.includes(group) && !before.includes(group), `${text} cut at ${cut}: ${piece}`).toBe(false);
        }
      }
    }
    // Right after `(`, `+`, `-`, `.` or a word joined by them, and grouped in 5 or 6 (outside review 4, F1 and F4).
    for (const [before, iban, after] of [
      ['Wire it to (', 'DE89 3704 0044 0532 0130 00', ') today.'],
      ['Wire it to ((', 'de89 3704 0044 0532 0130 00', ')) today.'],
      ['IBAN+', 'gb82 west 1234 5698 7654 32', ' ok'],
      ['ref 1.', 'mt84 malt 0110 0001 2345 mtlc ast0 01s', ' ok'],
      ['a-', 'GB82 WEST 1234 5698 7654 32', ' ok'],
      ['| x | ', 'XK345 84675 32009 86065', '.'],
      ['| x | ', 'kw58rw mmfiso m4b87v 95xdyn hz1tge', '\n'],
      // Parted by two spaces, a tab or a line break, and the country parted from its check digits (outside review 5, F5).
      ['to ', 'DE89  3704  0044  0532  0130  00', ' ok'],
      ['to ', 'DE89\t3704\t0044\t0532\t0130\t00', ' ok'],
      ['to ', 'DE89 3704\n0044 0532 0130 00', ' ok'],
      ['to ', 'DE 89 3704 0044 0532 0130 00', ' ok'],
    ] as const) {
      const text = `${before}${iban}${after}`;
      for (let cut = 1; cut < text.length; cut++) {
        const seen = stream(text, [cut]);
        expect(seen.join(''), `${text} cut at ${cut}`).toBe(`${before}[IBAN_CODE]${after}`);
        for (const piece of seen) expect(piece.includes(iban.slice(0, 4)), `${text} cut at ${cut}: ${piece}`).toBe(false);
      }
    }
    // Short lower-case words after a number are not held for long: the first longer word releases them.
    expect(holdFrom('in 2024 we did it ')).toBe('in 2024 we did it '.length);
  });
});

describe('StreamChannel over JSON text (tool-call arguments)', () => {
  const cases: Array<[string, string]> = [
    ['{"card":"4111\\u00a01111\\u00a01111\\u00a01111"}', '{"card":"[CREDIT_CARD]"}'],
    ['{"mail":"jos\\u00e9@correo.es","p":"pass"}', '{"mail":"[EMAIL_ADDRESS]","p":"pass"}'],
    ['{"m":"\\ud83d\\ude00 bob\\u0040example.com\\n"}', '{"m":"😀 [EMAIL_ADDRESS]\\n"}'],
    ['{"note":"x\\\\\\n4111 1111 1111 1111"}', '{"note":"x\\\\\\n[CREDIT_CARD]"}'],
    ['{"city":"M\\u00fcnchen","s":"\\ud83d\\ude00\\u0022"}', '{"city":"M\\u00fcnchen","s":"\\ud83d\\ude00\\u0022"}'],
  ];
  it('decodes escapes cut at any point (one or two cuts), replaces values whole and keeps untouched text as written', () => {
    for (const [args, expected] of cases) {
      for (let a = 1; a < args.length; a++) {
        for (let b = a; b < args.length; b += 5) {
          const joined = stream(args, a === b ? [a] : [a, b], new PseudonymVault(), true).join('');
          // Text released before a replacement goes out as written, so only the value read is fixed ('😀' or its escapes).
          expect(JSON.parse(joined), `${args} cut at ${a}, ${b}`).toEqual(JSON.parse(expected));
          if (!expected.includes('[')) expect(joined).toBe(args);
        }
      }
    }
  });

  it('restores a placeholder in arguments JSON-escaped', () => {
    const vault = new PseudonymVault();
    const placeholder = vault.placeholderFor('EMAIL_ADDRESS', 'a"b@example.org');
    expect(stream(`{"to":"${placeholder}","n":"\\u00e9"}`, [9], vault, true).join('')).toBe('{"to":"a\\"b@example.org","n":"\\u00e9"}');
  });

  it('restores a placeholder whose < and > come back escaped (\\u003c…\\u003e, as Go writes JSON), cut anywhere (outside review 3, F3)', () => {
    const vault = new PseudonymVault();
    const placeholder = vault.placeholderFor('EMAIL_ADDRESS', 'jane@example.org');
    const name = placeholder.slice(1, -1);
    const escapedLetter = `<\\u0045${name.slice(1)}>`;
    const allEscaped = [...placeholder].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    for (const written of [`\\u003c${name}\\u003e`, `\\u003C${name}\\u003E`, `<${name}\\u003e`, `\\u003c${name}>`, escapedLetter, allEscaped]) {
      const args = `{"to":"${written}","cc":"\\u003cb\\u003e"}`;
      for (let cut = 1; cut < args.length; cut++) {
        const joined = stream(args, [cut], vault, true).join('');
        expect(JSON.parse(joined), `${args} cut at ${cut}`).toEqual({ to: 'jane@example.org', cc: '<b>' });
      }
    }
    // One and two levels down, in JSON written inside the arguments' strings (outside review 5, F4).
    for (const depth of [2, 3]) {
      let json = JSON.stringify({ to: placeholder }).replace('<E', '<\\u0045');
      for (let level = 1; level < depth; level++) json = JSON.stringify({ p: json });
      for (let cut = 1; cut < json.length; cut++) {
        let value = JSON.parse(stream(json, [cut], vault, true).join(''));
        while (typeof value.p === 'string') value = JSON.parse(value.p);
        expect(value, `${json} cut at ${cut}`).toEqual({ to: 'jane@example.org' });
      }
    }
    // Not in plain text (no JSON there), nor after an escaped backslash (the text \u003c, not a <).
    expect(vault.restore(`\\u003c${name}\\u003e`)).toBe(`\\u003c${name}\\u003e`);
    expect(vault.restore(`{"a":"\\\\u003c${name}\\u003e"}`, jsonStringEscape)).toBe(`{"a":"\\\\u003c${name}\\u003e"}`);
  });

  it('ends an escape the stream was cut inside as it came', () => {
    expect(stream('{"m":"ab\\u00', [], new PseudonymVault(), true).join('')).toBe('{"m":"ab\\u00');
  });
});

describe('StreamChannel on JSON tool-call arguments: seeded fuzz over split points of escaped values', () => {
  const entities = Object.fromEntries(['CREDIT_CARD', 'EMAIL_ADDRESS', 'PHONE_NUMBER', 'US_SSN', 'IBAN_CODE', 'SECRET'].map((type) => [type, { output: 'redact' as const }]));
  const all = new Redactor({ detector: createDetector(), policy: new ActionPolicy({ entities }), mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });
  const VALUES = ['4111111111111111', '4111 1111 1111 1111', 'bob.smith@example.org', 'GB82WEST12345698765432', '536-22-1234', 'sk-proj-Qm7vX2kLp9RtZ4wN8bYc3HdF6gJs1AeU5oViK0nMxTqWlB'];
  // Clean pieces: no digits or letters a value has four of in a row.
  const CLEAN = ['\\u00e9', '\\ud83d\\ude00', '\\n', '\\t', '\\"', '\\\\', '\\/', '\\u0041', 'plain', ' ', '\\u2028', 'caf\\u00e9'];

  function run(pieces: string[]): string {
    const channel = new StreamChannel(all, new PseudonymVault(), new FindingTally(), jsonStringEscape, true);
    return pieces.map((piece) => channel.push(piece)).join('') + channel.flush();
  }
  const compact = (text: string) => text.replace(/[\s\-.]/g, '');

  it('keeps the arguments valid JSON, leaks no four characters of a value, and returns clean text byte for byte', () => {
    let seed = 20261206;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
    const escaped = (value: string) => [...value].map((c) => (random() < 0.6 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join('');
    const clean = (n: number) => Array.from({ length: Math.floor(random() * n) }, () => pick(CLEAN)).join('');
    for (let round = 0; round < 1500; round++) {
      const planted = random() < 0.75 ? pick(VALUES) : undefined;
      const parts = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, k) => (random() < 0.2 ? `"n${k}": ${k}` : `"k${k}": "${clean(5)}"`));
      if (planted !== undefined) parts.splice(Math.floor(random() * (parts.length + 1)), 0, `"val": "${random() < 0.5 ? '' : clean(3) + pick([' ', '\\n', '\\t'])}${escaped(planted)}${random() < 0.5 ? '' : pick([' ', '\\n', '\\t']) + clean(3)}"`);
      const args = `{${parts.join(', ')}}`;
      JSON.parse(args);
      const cuts = [...new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, () => 1 + Math.floor(random() * (args.length - 1))))].sort((a, b) => a - b);
      const pieces = [...cuts, args.length].map((end, i) => args.slice(i === 0 ? 0 : cuts[i - 1], end));
      const got = run(pieces);
      if (planted !== undefined) expect(run([args]), `${args} unsplit`).not.toContain(planted.slice(-4));
      const what = `${JSON.stringify(pieces)} → ${got}`;
      expect(() => JSON.parse(got), what).not.toThrow();
      if (planted === undefined) {
        expect(got, what).toBe(args);
        continue;
      }
      const seen = compact(JSON.stringify(JSON.parse(got)) + got.replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
      const value = compact(planted);
      for (let i = 0; i + 4 <= value.length; i++) expect(seen, `${what}: ${value.slice(i, i + 4)} of ${planted}`).not.toContain(value.slice(i, i + 4));
    }
  });
});

describe('StreamChannel over JSON text: a long run of backslashes in small deltas (outside review 5, CPU)', () => {
  it('carries only the run\'s last few hundred backslashes to the next delta (carried whole, it was counted again at each)', () => {
    const decoder = new JsonEscapeDecoder();
    expect(decoder.decode('\\'.repeat(10_000)).length).toBeGreaterThan(9_000);
    // 10,001 backslashes, then u0041: the last one escapes it (an odd run), the parity kept across the carry.
    expect(decoder.decode('\\u0041"')).toMatch(/A"$/);
    for (const pairs of [2_000, 8_000]) {
      const args = `{"a":"${'\\\\'.repeat(pairs)}\\u0034111 1111 1111 1111"}`;
      const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally(), jsonStringEscape, true);
      let out = '';
      for (let at = 0; at < args.length; at += 8) out += channel.push(args.slice(at, at + 8));
      out += channel.flush();
      expect(JSON.parse(out)).toEqual({ a: `${'\\'.repeat(pairs)}[CREDIT_CARD]` });
    }
  });
});

describe('values whose context comes after them, streamed at every cut point (outside review 8)', () => {
  /** What the same text gets whole: the stream must give exactly that, and never a piece of a value before it. */
  function whole(text: string): string {
    return redactor.process(text, 'output', new PseudonymVault(), new FindingTally());
  }
  const cases: Array<[string, string, string[]]> = [
    ['an SSN whose context word follows it', '536221234 is my SSN, noted.', ['536221234', '5362']],
    ['a phone whose context word follows it', 'Sure: 4155550123 is my mobile, call any time.', ['4155550123', '5550123']],
    ['a private key block', '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq3x9Yd1KLm2qYrZx8T0mJH2s4Q\ndGhpcyBpcyBub3QgYSByZWFsIGtleSBidXQgbG9va3Mg\n-----END RSA PRIVATE KEY-----\nDone.', ['MIIEow', 'dGhpcy']],
    ['a PGP private key block', '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGVxkz8BCADJ3f9pQm2Zk7Yw1cT0bqRr8vK2xN5a9WmE4uHs3LdQ7pZ6oYtB\nxR7mQ1vK9sN2pL4wT8eU3jF6gH0cA5bD7iO1yM9nZ2kX4qW6rV8tS3uE5oP7aLmC\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----\nDone.', ['lQOYBG', 'xR7mQ1']],
    ['a passphrase of words after "password:"', 'My password: correct horse battery staple 42\nnext line', ['horse', 'staple']],
    ['a quoted passphrase', "the password is 'correct horse battery staple' ok", ['horse', 'staple']],
    // Every word the detector reads a passphrase after is held for, from its own list (the stream’s own copy had 17 of these 40).
    ['a passphrase after Turkish "Şifre:"', 'Şifre: doğru kısrak pil zımba 42\nsonraki satır', ['kısrak', 'zımba']],
    ['a passphrase after Polish "hasło:"', 'Moje hasło: poprawny koń bateria zszywka 42\ndalej', ['bateria', 'zszywka']],
    ['a passphrase after Greek "κωδικός πρόσβασης:"', 'Ο κωδικός πρόσβασης: σωστό άλογο μπαταρία 42\nεπόμενη', ['άλογο', 'μπαταρία']],
    ['a passphrase after a full-width colon', 'Passwort：richtiges pferd batterie heftklammer 42\nweiter', ['pferd', 'heftklammer']],
    ['a quoted passphrase after "is now"', 'the password is now "correct horse battery staple" ok', ['horse', 'staple']],
    // After the password words of scripts written without spaces, and a full-width colon (outside review 12).
    ['a passphrase after "パスワード："', '私のパスワード：correct horse battery staple 42\n次の行', ['horse', 'staple']],
    ['a passphrase after "비밀번호:"', '비밀번호: correct horse battery staple 42\n다음', ['horse', 'staple']],
    // A quoted value with blanks after a secret's name: the words before the last went out (an outside review, F2).
    ['a quoted passphrase under an upper-case name', 'DB_PASSWORD="my long passphrase 2024"\nNEXT=1', ['long passphrase', 'my long']],
    ['a quoted passphrase after export', "export API_SECRET='blue whale jumps high'\nnext", ['whale', 'jumps']],
    // Full-width digits, letters and spaces group as ASCII ones do (outside review 11: all but the last group went out).
    ['a full-width card', 'card ５５５５ ５５５５ ５５５５ ４４４４ done', ['５５５５', '４４４４']],
    ['a full-width card with ideographic spaces', 'カード ４１１１\u3000１１１１\u3000１１１１\u3000１１１１ です', ['４１１１', '１１１１']],
    ['a full-width IBAN', 'IBAN ＤＥ８９ ３７０４ ００４４ ０５３２ ０１３０ ００ ok', ['ＤＥ８９', '３７０４', '０１３０']],
    ['a full-width phone', 'call ＋４４ ２０ ７９４６ ０９５８ now', ['＋４４', '７９４６', '０９５８']],
  ];
  for (const [name, text, pieces] of cases) {
    it(name, () => {
      const expected = whole(text);
      for (const piece of pieces) expect(expected, 'whole').not.toContain(piece);
      for (let cut = 1; cut < text.length; cut++) {
        const seen = stream(text, [cut]);
        expect(seen.join(''), `cut at ${cut}`).toBe(expected);
      }
      for (let cut = 1; cut < text.length - 1; cut += 3) {
        const seen = stream(text, [cut, cut + 1, Math.min(text.length - 1, cut + 7)]);
        expect(seen.join(''), `cuts at ${cut}`).toBe(expected);
      }
    });
  }
});

describe('a private key longer than the hold bound of other text (outside review 9, F2)', () => {
  it('is held whole until its END line, whatever the deltas, up to the 16 KB the detector reads a block', () => {
    // ~6.5 KB, the size of an RSA-8192 key: base64 lines of 64 characters.
    const lines = Array.from({ length: 100 }, (_, i) => Buffer.from(`line ${i} of a long private key body, not a real one ${i * 7919}`).toString('base64').slice(0, 64));
    const text = `Here it is:\n-----BEGIN RSA PRIVATE KEY-----\n${lines.join('\n')}\n-----END RSA PRIVATE KEY-----\nKeep it safe.`;
    const cuts = Array.from({ length: Math.floor(text.length / 64) }, (_, i) => (i + 1) * 64);
    const seen = stream(text, cuts);
    expect(seen.join('')).toBe('Here it is:\n[SECRET]\nKeep it safe.');
    for (const piece of seen) for (const line of lines) expect(piece).not.toContain(line.slice(0, 24));
  });
});

describe("a custom recognizer's match whose context word comes after it (outside review of this session, F4)", () => {
  // 0.3 alone is under minScore 0.5; a context word near it adds 0.35.
  const recognizers = [{ type: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}', score: 0.3, context: ['employee', 'staff'] }];
  const detector = createDetector({ recognizers });
  const custom = new Redactor({ detector, policy: new ActionPolicy({ recognizers, entities: { EMPLOYEE_ID: { output: 'redact' } } }), mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });
  const streamCustom = (text: string, cuts: number[]): string => streamThrough(custom, text, cuts);

  it('is held until the words after it have come, at every cut point, as the answer whole is redacted', () => {
    for (const text of ['EMP-123456 is the employee id, noted.', 'Ask EMP-654321 first; the staff list says so.']) {
      const expected = custom.process(text, 'output', new PseudonymVault(), new FindingTally());
      expect(expected).toContain('[EMPLOYEE_ID]');
      for (let cut = 1; cut < text.length; cut++) expect(streamCustom(text, [cut]), `cut at ${cut}`).toBe(expected);
      for (let cut = 1; cut < text.length - 3; cut++) expect(streamCustom(text, [cut, cut + 2, cut + 3]), `cuts at ${cut}`).toBe(expected);
    }
  });

  it('releases a match once no context word came within reach after it', () => {
    const channel = new StreamChannel(custom, new PseudonymVault(), new FindingTally());
    expect(channel.push('Code EMP-123456 ')).toBe('Code ');
    expect(channel.push('was printed on the old badge of the visitor. ')).toContain('EMP-123456 was printed');
  });
});
