// The outbox keeps events across process restarts, hands them out in order, and refuses (never drops) beyond its cap.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.ts';

describe('Outbox', () => {
  it('keeps events in order across reopening, ignores a repeated id, and removes only what was acknowledged', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db');
    const first = new Outbox(file, 1000);
    for (let i = 0; i < 5; i++) expect(first.append(`e${i}`, `{"n":${i}}`)).toBe(true);
    first.append('e0', '{"n":0}');
    expect(first.size).toBe(5);
    first.close();
    const second = new Outbox(file, 1000);
    const batch = second.peek(3);
    expect(batch.map((entry) => entry.id)).toEqual(['e0', 'e1', 'e2']);
    second.ack(batch[2]!.seq);
    expect(second.peek(10).map((entry) => entry.body)).toEqual(['{"n":3}', '{"n":4}']);
    expect(second.size).toBe(2);
    second.close();
  });

  it('appends many in order in one go, skips repeated ids, and says how many it took before it was full', () => {
    const outbox = new Outbox(':memory:', 4);
    expect(outbox.appendMany([{ id: 'a', body: '1' }, { id: 'b', body: '2' }, { id: 'a', body: 'again' }])).toBe(3);
    expect(outbox.size).toBe(2);
    expect(outbox.appendMany([{ id: 'c', body: '3' }, { id: 'd', body: '4' }, { id: 'e', body: '5' }])).toBe(2);
    expect(outbox.peek(10).map((entry) => `${entry.id}=${entry.body}`)).toEqual(['a=1', 'b=2', 'c=3', 'd=4']);
    expect(outbox.appendMany([])).toBe(0);
  });

  it('refuses new events once full, so the caller can say so', () => {
    const outbox = new Outbox(':memory:', 100);
    let accepted = 0;
    for (let i = 0; i < 150; i++) if (outbox.append(`e${i}`, '{}')) accepted++;
    expect(accepted).toBe(100);
    expect(outbox.full).toBe(true);
    outbox.ack(outbox.peek(10)[9]!.seq);
    expect(outbox.append('late', '{}')).toBe(true);
  });
});
