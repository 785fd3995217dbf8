// Streamed redaction: whatever the chunk boundaries, no value leaks and every placeholder comes back whole.
import { describe, expect, it } from 'vitest';
import { createDetector } from './detect/index.ts';
import { ActionPolicy } from './policy.ts';
import { jsonStringEscape, PseudonymVault } from './pseudonyms.ts';
import { FindingTally, Redactor } from './redact.ts';
import { holdFrom, StreamChannel } from './stream.ts';

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

  it('ends an escape the stream was cut inside as it came', () => {
    expect(stream('{"m":"ab\\u00', [], new PseudonymVault(), true).join('')).toBe('{"m":"ab\\u00');
  });
});
