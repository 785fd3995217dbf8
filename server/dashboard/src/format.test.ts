// What the dashboard shows for durations, money and the page after sign-in.
import { describe, expect, it } from 'vitest';
import { formatMs, formatUsd } from './format.ts';
import { nextPath } from './next-path.ts';

describe('formatMs', () => {
  it.each([
    [21.298416999999972, '21 ms'],
    [0.4217, '0.4 ms'],
    [999.6, '1000 ms'],
    [1400, '1.4 s'],
    [185_000, '3 min 5 s'],
    [Number.NaN, '–'],
  ])('%s → %s', (ms, text) => expect(formatMs(ms)).toBe(text));
});

describe('formatUsd', () => {
  it('keeps the digits of sub-cent amounts', () => {
    expect(formatUsd(0.000031)).toBe('$0.000031');
    expect(formatUsd(0.00005)).toBe('$0.00005');
    expect(formatUsd(12.5)).toBe('$12.50');
    expect(formatUsd(0)).toBe('$0.00');
  });
});

describe('nextPath', () => {
  it.each([
    ['?next=%2Fagents%2Fabc', '/agents/abc'],
    ['?next=%2Ftraces%3Fq%3Dx', '/traces?q=x'],
    ['?next=https%3A%2F%2Fevil.example', '/'],
    ['?next=%2F%2Fevil.example', '/'],
    ['?next=%2F%5Cevil.example', '/'],
    ['?next=%2Flogin', '/'],
    ['', '/'],
  ])('%s → %s', (search, path) => expect(nextPath(search)).toBe(path));
});
