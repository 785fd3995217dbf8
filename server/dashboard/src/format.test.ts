// What the dashboard shows for durations, money and the page after sign-in.
import { describe, expect, it } from 'vitest';
import { formatCost, formatMs, formatRunCost, formatUsd } from './format.ts';
import { nextPath } from './next-path.ts';

describe('formatMs', () => {
  it.each([
    [21.298416999999972, '21 ms'],
    [0.4217, '0.4 ms'],
    [9.96, '10 ms'],
    [999.4, '999 ms'],
    [999.6, '1.0 s'],
    [1400, '1.4 s'],
    [42_300, '42 s'],
    [59_700, '1 min 0 s'],
    [185_000, '3 min 5 s'],
    [7_500_000, '2 h 5 min'],
    [Number.NaN, '—'],
    [-5, '—'],
    [null, '—'],
  ])('%s → %s', (ms, text) => expect(formatMs(ms)).toBe(text));
});

describe('formatUsd', () => {
  it.each([
    [0.000031, '$0.000031'],
    [0.00005, '$0.00005'],
    [0.00000042, '$0.00000042'],
    [0.0012345, '$0.0012'],
    [0.00036, '$0.00036'],
    [12.5, '$12.50'],
    [1234.567, '$1,234.57'],
    [0.01, '$0.01'],
    [0, '$0.00'],
  ])('%s → %s (never $0.0000 for an amount that is not zero)', (value, text) => expect(formatUsd(value)).toBe(text));

  it('shows no amount as —, never as $0', () => {
    expect(formatUsd(null)).toBe('—');
    expect(formatUsd(undefined)).toBe('—');
    expect(formatUsd(Number.NaN)).toBe('—');
  });
});

describe('formatCost', () => {
  it('tells a cost, an unpriced call and a call with no cost recorded apart', () => {
    expect(formatCost({ costUsd: 0.000031, unpriced: false })).toBe('$0.000031');
    expect(formatCost({ costUsd: 0, unpriced: false })).toBe('$0.00');
    expect(formatCost({ costUsd: null, unpriced: true })).toBe('unpriced');
    expect(formatCost({ costUsd: null, unpriced: false })).toBe('—');
  });
});

describe('formatRunCost', () => {
  it('shows — for a run that cannot have been charged, its sum otherwise', () => {
    expect(formatRunCost({ costUsd: 0, calls: 0, failedCalls: 0 })).toBe('—');
    expect(formatRunCost({ costUsd: 0, calls: 1, failedCalls: 1 })).toBe('—');
    expect(formatRunCost({ costUsd: 0, calls: 2, failedCalls: 1 })).toBe('$0.00');
    expect(formatRunCost({ costUsd: 0.000006, calls: 2, failedCalls: 1 })).toBe('$0.000006');
  });
});

describe('nextPath', () => {
  it.each([
    ['?next=%2Fagents%2Fabc', '/agents/abc'],
    ['?next=%2Ftraces%3Fq%3Dx', '/traces?q=x'],
    ['?next=%2Fagents%2Fabc%23calls', '/agents/abc#calls'],
    ['?next=https%3A%2F%2Fevil.example', '/'],
    ['?next=%2F%2Fevil.example', '/'],
    ['?next=%2F%5Cevil.example', '/'],
    // Browsers strip tabs and newlines from URLs: "/<tab>/evil.example" would become "//evil.example".
    ['?next=%2F%09%2Fevil.example', '/'],
    ['?next=%2F%0A%2Fevil.example', '/'],
    ['?next=javascript%3Aalert(1)', '/'],
    ['?next=%2Flogin', '/'],
    ['?next=%2Flogin%3Fnext%3D%2Fusers', '/'],
    ['?next=%2Fapi%2Fusers', '/'],
    ['?next=%2Fdocs', '/'],
    ['?next=%2Flogins-report', '/logins-report'],
    ['', '/'],
  ])('%s → %s', (search, path) => expect(nextPath(search)).toBe(path));
});
