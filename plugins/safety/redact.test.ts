// The redactor's memory of hashed values: a speed-up that must not keep personal data around after its calls.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDetector } from './detect/index.ts';
import { ActionPolicy } from './policy.ts';
import { PseudonymVault } from './pseudonyms.ts';
import { FindingTally, HASH_MEMORY_MS, MAX_ALERT_HASHES, Redactor } from './redact.ts';

const newRedactor = () =>
  new Redactor({ detector: createDetector(), policy: new ActionPolicy({ entities: { EMAIL_ADDRESS: 'redact' } }), mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });

describe('Redactor value memory', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('forgets a value within two memory periods of its last use, and hashes it the same way again', () => {
    const redactor = newRedactor();
    const first = redactor.hash('EMAIL_ADDRESS', 'jane.doe@example.org');
    expect(redactor.rememberedValues).toBe(1);
    vi.advanceTimersByTime(HASH_MEMORY_MS);
    expect(redactor.rememberedValues).toBe(1); // aging, not gone yet
    vi.advanceTimersByTime(HASH_MEMORY_MS);
    expect(redactor.rememberedValues).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // nothing left to forget: no timer either
    expect(redactor.hash('EMAIL_ADDRESS', 'jane.doe@example.org')).toBe(first);
    expect(redactor.hash('EMAIL_ADDRESS', 'john@example.org')).not.toBe(first);
  });

  it('hashes a value the same however a URL wrote it, as the vault gives it one placeholder', () => {
    const redactor = newRedactor();
    expect(redactor.hash('EMAIL_ADDRESS', 'jane.doe%40example.org')).toBe(redactor.hash('EMAIL_ADDRESS', 'jane.doe@example.org'));
    expect(redactor.hash('CREDIT_CARD', '4111+1111+1111+1111')).toBe(redactor.hash('CREDIT_CARD', '4111 1111 1111 1111'));
    expect(redactor.hash('PHONE_NUMBER', '+44 20 7946 0958')).not.toBe(redactor.hash('PHONE_NUMBER', '44 20 7946 0958'));
  });

  it('keeps a value that is still in use', () => {
    const redactor = newRedactor();
    redactor.hash('EMAIL_ADDRESS', 'jane.doe@example.org');
    for (let period = 0; period < 5; period++) {
      vi.advanceTimersByTime(HASH_MEMORY_MS);
      redactor.hash('EMAIL_ADDRESS', 'jane.doe@example.org'); // the agent resends its history on every call
    }
    redactor.hash('EMAIL_ADDRESS', 'other@example.org');
    expect(redactor.rememberedValues).toBe(2);
    vi.advanceTimersByTime(2 * HASH_MEMORY_MS);
    expect(redactor.rememberedValues).toBe(0);
  });

  it('holds a bounded number of values however many arrive', () => {
    const redactor = newRedactor();
    for (let i = 0; i < 20_000; i++) redactor.hash('EMAIL_ADDRESS', `user${i}@example.org`);
    expect(redactor.rememberedValues).toBeLessThanOrEqual(2 * 4096);
    expect(redactor.rememberedValues).toBeGreaterThan(0);
  });

  it('process() reports the same hashes for a value before and after it was forgotten', () => {
    const redactor = newRedactor();
    const tallyHashes = () => {
      const found: string[] = [];
      const tally = { add: (_type: string, _action: string, hashOf: () => string) => found.push(hashOf()) };
      redactor.process('write to jane.doe@example.org', 'input', { placeholderFor: () => '', knownValuesIn: () => [] } as never, tally as never);
      return found;
    };
    const before = tallyHashes();
    vi.advanceTimersByTime(2 * HASH_MEMORY_MS);
    expect(redactor.rememberedValues).toBe(0);
    expect(tallyHashes()).toEqual(before);
    expect(before).toHaveLength(1);
  });
});

describe('FindingTally on a value-dense text (outside review 3, F6)', () => {
  it('counts every finding exactly but hashes at most MAX_ALERT_HASHES distinct values per type', () => {
    const redactor = newRedactor();
    const text = Array.from({ length: 3000 }, (_, i) => `user${i}@example.org`).join('\n');
    const tally = new FindingTally();
    const out = redactor.process(text, 'input', new PseudonymVault(), tally);
    expect(out.split('\n').every((line) => line === '[EMAIL_ADDRESS]')).toBe(true);
    const entry = tally.byType.get('EMAIL_ADDRESS')!;
    expect(entry.count).toBe(3000);
    expect(entry.hashes.size).toBe(MAX_ALERT_HASHES);
    expect(redactor.rememberedValues).toBeLessThanOrEqual(MAX_ALERT_HASHES);
  });
});

describe('Redactor scan memory (a conversation history is scanned once)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const history = `Earlier we wrote to jane.doe@example.org about the renewal; ${'the contract runs for another year. '.repeat(4)}`;

  it('scans a text once and gives the same findings the detector gives, frozen', () => {
    const redactor = newRedactor();
    const first = redactor.detectRemembered(history);
    expect(redactor.scans).toBe(1);
    expect(redactor.detectRemembered(history)).toBe(first);
    expect(redactor.scans).toBe(1);
    expect(first).toEqual(createDetector().detect(history));
    expect(first.map((finding) => finding.type)).toEqual(['EMAIL_ADDRESS']);
    expect(Object.isFrozen(first) && Object.isFrozen(first[0])).toBe(true);
    // One character apart is another text.
    expect(redactor.detectRemembered(history.replace('jane', 'june'))).not.toBe(first);
    expect(redactor.scans).toBe(2);
  });

  it('scans short texts every time (digesting costs what scanning does)', () => {
    const redactor = newRedactor();
    redactor.detectRemembered('mail jane.doe@example.org');
    redactor.detectRemembered('mail jane.doe@example.org');
    expect(redactor.scans).toBe(2);
  });

  it('forgets a text within two memory periods of its last use, and keeps one still sent', () => {
    const redactor = newRedactor();
    redactor.detectRemembered(history);
    for (let period = 0; period < 4; period++) {
      vi.advanceTimersByTime(HASH_MEMORY_MS);
      redactor.detectRemembered(history);
    }
    expect(redactor.scans).toBe(1);
    vi.advanceTimersByTime(2 * HASH_MEMORY_MS);
    redactor.detectRemembered(history);
    expect(redactor.scans).toBe(2);
  });

  it('holds a bounded number of texts however many arrive', () => {
    const redactor = newRedactor();
    for (let i = 0; i < 25_000; i++) redactor.detectRemembered(`${history} ${i}`);
    const scans = redactor.scans;
    redactor.detectRemembered(`${history} 0`);
    expect(redactor.scans).toBe(scans + 1); // the oldest went
    redactor.detectRemembered(`${history} 24999`);
    expect(redactor.scans).toBe(scans + 1); // the newest is there
  });
});

describe('Redactor scan memory bound', () => {
  it('weighs a text by its findings: value-dense texts age the memory sooner, so it stays bounded', () => {
    const redactor = newRedactor();
    const dense = (i: number) => `${i} ${Array.from({ length: 2000 }, (_, k) => `u${k}@example.org`).join(' ')}`;
    for (let i = 0; i < 30; i++) redactor.detectRemembered(dense(i));
    const scans = redactor.scans;
    // 30 texts of 2,000 findings each weigh 60,000: the first ones are gone, the last one is there.
    redactor.detectRemembered(dense(0));
    expect(redactor.scans).toBe(scans + 1);
    redactor.detectRemembered(dense(29));
    expect(redactor.scans).toBe(scans + 1);
  });
});
