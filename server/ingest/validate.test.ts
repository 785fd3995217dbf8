// rejectReason walks every field of every ingested event: exact messages for what it refuses, at any depth, so a
// faster walk cannot change what runtimes are told.
import { describe, expect, it } from 'vitest';
import { rejectReason } from './validate.ts';

const T = Date.UTC(2026, 0, 2);
const base = { id: 'e1', type: 'Tick', time: T, agentId: '0190a8e2-7c1a-7b3e-8f00-000000000001' };
const cases: Array<[string, Record<string, unknown>]> = [
  ['ok nested', { ...base, usage: { inputTokens: 3, outputTokens: 4, deep: [{ costUsd: 1 }] }, valueHashes: ['a', 'b'] }],
  ['usd string', { ...base, costUsd: '0.5' }],
  ['usd negative', { ...base, usage: { costUsd: -1 } }],
  ['usd too big', { ...base, limitUsd: 2e9 }],
  ['usd null ok', { ...base, agentLimitUsd: null }],
  ['usd bool', { ...base, costUsd: true }],
  ['usd list', { ...base, costUsd: [5] }],
  ['usd object', { ...base, nested: { totalUsd: {} } }],
  ['count fraction', { ...base, usage: { inputTokens: 1.5 } }],
  ['latency fraction ok', { ...base, latencyMs: 1.5 }],
  ['count negative', { ...base, count: -1 }],
  ['count too big', { ...base, latencyMs: 1e13 }],
  ['infinite-like in list', { ...base, list: [1, 'x\u0000'] }],
  ['nested list path', { ...base, a: [[1, { b: 'x\u0000' }]] }],
  ['list of counts not counted', { ...base, count: 1, counts: [-5], inputTokens: 2 }],
  ['dotted key is its last segment', { ...base, 'x.costUsd': -2 }],
  ['dotted key count', { ...base, 'a.b.inputTokens': 0.5 }],
  ['empty key', { ...base, o: { '': 'x\u0000' } }],
  ['bad key', { ...base, o: { ['k\u0000']: 1 } }],
  ['lone surrogate', { ...base, msg: 'a\uD800' }],
  ['deep', { ...base, d: JSON.parse('['.repeat(40) + ']'.repeat(40)) }],
  ['too many chars', { ...base, big: 'x'.repeat(40000) }],
  ['too many chars then bad', { ...base, big: 'x'.repeat(40000), costUsd: 'no' }],
  ['cost missing', { ...base, type: 'CostUpdate' }],
  ['count bool', { ...base, exitCode: false }],
  ['whole count string', { ...base, usage: { outputTokens: '7' } }],
];

const EXPECTED: Record<string, string | undefined> = {
  'usd string': 'costUsd: must be a number, got the string "0.5"',
  'usd negative': 'usage.costUsd: -1 is negative: an amount of USD is 0 or more',
  'usd too big': 'limitUsd: 2000000000 is more than 1000000000 USD',
  'usd bool': 'costUsd: must be a number, got true',
  'usd list': 'costUsd: must be a number, got a list',
  'usd object': 'nested.totalUsd: must be a number, got an object',
  'count fraction': 'usage.inputTokens: 1.5 is not a whole number',
  'count negative': 'count: -1 is out of range (0 to 1000000000000)',
  'count too big': 'latencyMs: 10000000000000 is out of range (0 to 1000000000000)',
  'infinite-like in list': 'list[1]: contains a NUL character',
  'nested list path': 'a[0][1].b: contains a NUL character',
  'dotted key is its last segment': 'x.costUsd: -2 is negative: an amount of USD is 0 or more',
  'dotted key count': 'a.b.inputTokens: 0.5 is not a whole number',
  'empty key': 'o.: contains a NUL character',
  'bad key': 'o: a key contains a NUL character',
  'lone surrogate': 'msg: contains a lone UTF-16 surrogate',
  deep: 'd[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 32 levels',
  'too many chars': 'event: holds more than 32768 characters of text (IRON_MAX_EVENT_CHARS); events carry figures and short messages, never documents',
  'too many chars then bad': 'event: holds more than 32768 characters of text (IRON_MAX_EVENT_CHARS); events carry figures and short messages, never documents',
  'cost missing': 'costUsd: a CostUpdate carries its cost as a number of USD, got none',
  'count bool': 'exitCode: must be a number, got false',
  'whole count string': 'usage.outputTokens: must be a number, got the string "7"',
};

describe('rejectReason', () => {
  it.each(cases)('%s', (name, event) => {
    expect(rejectReason(event as never, T)).toBe(EXPECTED[name]);
  });

  it('follows IRON_MAX_EVENT_CHARS when it changes', () => {
    const event = { ...base, note: 'x'.repeat(200) };
    expect(rejectReason(event, T)).toBeUndefined();
    process.env.IRON_MAX_EVENT_CHARS = '100';
    try {
      expect(rejectReason(event, T)).toBe('event: holds more than 100 characters of text (IRON_MAX_EVENT_CHARS); events carry figures and short messages, never documents');
    } finally {
      delete process.env.IRON_MAX_EVENT_CHARS;
    }
    expect(rejectReason(event, T)).toBeUndefined();
  });
});
