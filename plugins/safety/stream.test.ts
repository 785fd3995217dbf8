// Streamed redaction: whatever the chunk boundaries, no value leaks and every placeholder comes back whole.
import { describe, expect, it } from 'vitest';
import { createDetector } from './detect/index.ts';
import { ActionPolicy } from './policy.ts';
import { PseudonymVault } from './pseudonyms.ts';
import { FindingTally, Redactor } from './redact.ts';
import { holdFrom, StreamChannel } from './stream.ts';

const policy = new ActionPolicy({ entities: { EMAIL_ADDRESS: { output: 'redact' }, PHONE_NUMBER: { output: 'redact' } } });
const redactor = new Redactor({ detector: createDetector(), policy, mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });

/** Streams `text` cut at `cuts`, returning what the agent saw chunk by chunk. */
function stream(text: string, cuts: number[], vault = new PseudonymVault()): string[] {
  const channel = new StreamChannel(redactor, vault, new FindingTally());
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
});
