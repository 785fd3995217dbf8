// The outbox keeps events across process restarts, hands them out in order, and refuses (never drops) beyond its cap.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identityOf, Outbox } from './outbox.ts';

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
