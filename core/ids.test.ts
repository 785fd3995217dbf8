import { afterEach, describe, expect, it, vi } from 'vitest';
import { validate, version } from 'uuid';
import { timeOrderedId } from './ids.ts';

/** The Unix milliseconds in a v7 id's first 48 bits. */
const millisOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('timeOrderedId', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('makes valid v7 UUIDs carrying the current time', () => {
    const before = Date.now();
    const id = timeOrderedId();
    const after = Date.now();
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
    expect(millisOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisOf(id)).toBeLessThanOrEqual(after);
  });

  it('sorts in the order the ids were made, also many within one millisecond, and never repeats', () => {
    // More ids than one pool of random bytes holds, so the refill is crossed too.
    const ids = Array.from({ length: 20_000 }, () => timeOrderedId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The random tails differ too: the pool hands out fresh bytes to every id.
    expect(new Set(ids.map((id) => id.slice(-12))).size).toBe(ids.length);
  });

  it('keeps the order on a frozen clock and when the clock goes back', () => {
    vi.useFakeTimers({ now: Date.now() + 60_000, toFake: ['Date'] });
    const frozen = Array.from({ length: 1000 }, () => timeOrderedId());
    vi.setSystemTime(Date.now() - 30_000);
    const afterStep = Array.from({ length: 1000 }, () => timeOrderedId());
    const ids = [...frozen, ...afterStep];
    expect([...ids].sort()).toEqual(ids);
    // Ids made after the clock went back keep the later time: the counter carries on from the last id.
    expect(millisOf(afterStep[0]!)).toBe(millisOf(frozen[0]!));
  });
});
