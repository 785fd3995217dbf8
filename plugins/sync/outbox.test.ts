// The outbox keeps events across process restarts, hands them out in order, and refuses (never drops) beyond its cap.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identityOf, Outbox } from './outbox.ts';

describe('Outbox', () => {
  it('keeps events in order across reopening, and removes only what was acknowledged', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db');
    const first = new Outbox(file, 1000);
    for (let i = 0; i < 5; i++) expect(first.append(`e${i}`, `{"n":${i}}`)).toBe(true);
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

  it('stores a repeated id again in rows of their own (the server ignores the repeat); a file of an older version, with its unique index, skips it', () => {
    const outbox = new Outbox(':memory:', 1000);
    outbox.append('e0', '{"n":0}');
    outbox.append('e0', '{"n":0}');
    expect(outbox.peek(10).map((entry) => entry.id)).toEqual(['e0', 'e0']);
    const file = join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db');
    const old = new Database(file);
    old.exec('create table outbox (seq integer primary key, id text not null unique, body text not null)');
    old.close();
    const reopened = new Outbox(file, 1000);
    reopened.append('e0', '{"n":0}');
    reopened.append('e0', '{"n":0}');
    expect(reopened.size).toBe(1);
    expect(reopened.peek(10).map((entry) => entry.id)).toEqual(['e0']);
    reopened.close();
  });

  it('appends many in order in one go, skips repeated ids, and says how many it took before it was full', () => {
    const outbox = new Outbox(':memory:', 4);
    expect(outbox.appendMany([{ id: 'a', body: '1' }, { id: 'b', body: '2' }, { id: 'a', body: 'again' }])).toBe(3);
    expect(outbox.size).toBe(2);
    expect(outbox.appendMany([{ id: 'c', body: '3' }, { id: 'd', body: '4' }, { id: 'e', body: '5' }])).toBe(2);
    expect(outbox.peek(10).map((entry) => `${entry.id}=${entry.body}`)).toEqual(['a=1', 'b=2', 'c=3', 'd=4']);
    expect(outbox.appendMany([])).toBe(0);
  });

  it('stores events appended together in as few rows as the batch size allows, handed out and acknowledged whole', () => {
    const outbox = new Outbox(':memory:', 1000, 'x', 3);
    const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: `e${from + i}`, body: JSON.stringify({ id: `e${from + i}`, text: 'a,\nb' }) }));
    expect(outbox.appendMany(events(0, 5))).toBe(5); // rows of 3 and 2
    outbox.append('e5', '{"id":"e5"}');
    expect(outbox.size).toBe(6);
    // A batch takes whole rows: 4 would split the second one.
    expect(outbox.peek(4).map((entry) => entry.id)).toEqual(['e0', 'e1', 'e2']);
    const batch = outbox.peek(5);
    expect(batch.map((entry) => JSON.parse(entry.body).id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    expect(JSON.parse(batch[0]!.body).text).toBe('a,\nb');
    // A version that reads a row as one body still sends valid JSON: the bodies are a JSON array's items.
    const raw = outbox.connection.prepare<[], { body: string }>('select body from outbox').all();
    expect(raw).toHaveLength(3);
    expect(raw.flatMap((row) => JSON.parse(`[${row.body}]`))).toHaveLength(6);
    outbox.ack(batch.at(-1)!.seq);
    expect(outbox.size).toBe(1);
    expect(outbox.peek(10).map((entry) => entry.id)).toEqual(['e5']);
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

describe('Outbox acknowledgements', () => {
  const rowsIn = (file: string) => {
    const db = new Database(file, { readonly: true });
    const n = db.prepare<[], { n: number }>('select count(*) as n from outbox').get()!.n;
    db.close();
    return n;
  };

  it('stops handing out and counting acknowledged events at once, and deletes them with the next write', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db');
    const outbox = new Outbox(file, 1000, 'x');
    for (let i = 0; i < 4; i++) outbox.append(`e${i}`, `{"n":${i}}`);
    const batch = outbox.peekBatch(3)!;
    expect(batch).toEqual({ items: '{"n":0},{"n":1},{"n":2}', events: 3, lastSeq: batch.lastSeq });
    outbox.ack(batch.lastSeq);
    expect(outbox.size).toBe(1);
    expect(outbox.peek(10).map((entry) => entry.id)).toEqual(['e3']);
    // Still in the file (no commit of its own) until the next write.
    expect(rowsIn(file)).toBe(4);
    outbox.transaction(() => outbox.appendMany([{ id: 'e4', body: '{"n":4}' }]));
    expect(rowsIn(file)).toBe(2);
    expect(outbox.peekBatch(10)).toEqual({ items: '{"n":3},{"n":4}', events: 2, lastSeq: expect.any(Number) });
    outbox.close();
  });

  it('hands out an event stored after the table emptied, though SQLite gives it a seq used before', () => {
    const outbox = new Outbox(':memory:', 1000, 'x');
    outbox.append('a', '{"n":1}');
    const first = outbox.peekBatch(10)!;
    outbox.ack(first.lastSeq);
    // This write deletes `a` first: the table is empty when `b` goes in, at the same seq.
    outbox.transaction(() => outbox.appendMany([{ id: 'b', body: '{"n":2}' }]));
    const second = outbox.peekBatch(10)!;
    expect(second).toEqual({ items: '{"n":2}', events: 1, lastSeq: first.lastSeq });
    outbox.ack(second.lastSeq);
    outbox.transaction(() => outbox.appendMany([{ id: 'c', body: '{"n":3}' }]));
    expect(outbox.peek(10).map((entry) => entry.id)).toEqual(['c']);
    expect(outbox.size).toBe(1);
  });

  it('after a crash, sends acknowledged events that were not deleted yet again (the server ignores repeats)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db');
    const first = new Outbox(file, 1000, 'x');
    for (let i = 0; i < 3; i++) first.append(`e${i}`, `{"n":${i}}`);
    first.ack(first.peekBatch(2)!.lastSeq);
    // No close (a SIGKILL): the acknowledged rows are still there, and handed out again by the next run.
    const next = new Outbox(file, 1000, 'x');
    expect(next.size).toBe(3);
    expect(next.peekBatch(10)!.events).toBe(3);
    next.ack(next.peekBatch(2)!.lastSeq);
    next.close();
    // Closing deletes them.
    expect(rowsIn(file)).toBe(1);
  });

  it('hands out rows whole in a batch and acknowledges an older range it did not just hand out', () => {
    const outbox = new Outbox(':memory:', 1000, 'x', 3);
    expect(outbox.appendMany(Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, body: `{"n":${i}}` })))).toBe(5);
    // Rows of 3 and 2: a batch of 4 takes the first row only; the rows' bodies go as they are stored.
    const first = outbox.peekBatch(4)!;
    expect(first.events).toBe(3);
    expect(JSON.parse(`[${first.items}]`)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    const both = outbox.peekBatch(5)!;
    outbox.peek(1); // a later peek forgets the rows of the batch: the count comes from the file
    outbox.ack(both.lastSeq);
    expect(outbox.size).toBe(0);
    expect(outbox.peekBatch(5)).toBeUndefined();
  });
});

describe('Outbox identities and file modes', () => {
  it('hands out only the events of its own server and token; others (and an older version\'s) stay, counted', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db');
    const old = new Database(file);
    old.exec('create table outbox (seq integer primary key, id text not null unique, body text not null)');
    old.prepare('insert into outbox (id, body) values (?, ?)').run('from-an-older-version', '{}');
    old.close();
    const a = new Outbox(file, 1000, identityOf('http://server', 'iron_pat_a'));
    a.append('a1', '{"by":"a"}');
    a.close();
    const b = new Outbox(file, 1000, identityOf('http://server/', 'iron_pat_b'));
    expect(b.size).toBe(0);
    expect(b.peek(10)).toEqual([]);
    expect(b.othersWaiting()).toBe(2);
    b.append('b1', '{"by":"b"}');
    b.ack(b.peek(10)[0]!.seq);
    b.close();
    const again = new Outbox(file, 1000, identityOf('http://server', 'iron_pat_a'));
    expect(again.peek(10).map((entry) => entry.id)).toEqual(['a1']);
    expect(again.othersWaiting()).toBe(1);
    again.close();
    // The token itself is never in the file.
    expect(readFileSync(file).includes(Buffer.from('iron_pat_a'))).toBe(false);
  });

  it('creates the file (and its folder) for this user alone, and tightens a file someone loosened', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), '.iron');
    const file = join(dir, 'outbox.db');
    const outbox = new Outbox(file, 1000, 'x');
    outbox.append('e', '{}');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(name)) expect(statSync(name).mode & 0o777, name).toBe(0o600);
    outbox.close();
    chmodSync(file, 0o644);
    new Outbox(file, 1000, 'x').close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
