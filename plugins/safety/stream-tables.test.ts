// Tables streamed: a cell is a password or a phone by its column's header, however many rows above it stands. The
// stream kept only the last 64 released characters as context, so from the fifth row on the header was gone and
// password cells went out in clear, where the same answer whole was redacted (an outside review of this session, F1/F3).
import { describe, expect, it } from 'vitest';
import { createDetector } from './detect/index.ts';
import { ActionPolicy } from './policy.ts';
import { PseudonymVault } from './pseudonyms.ts';
import { FindingTally, Redactor } from './redact.ts';
import { seededRandom } from './eval/seeded-random.ts';
import { StreamChannel } from './stream.ts';
import { streamThrough } from './stream-through.ts';

const policy = new ActionPolicy({ entities: { SECRET: { output: 'redact' }, PHONE_NUMBER: { output: 'redact' } } });
const redactor = new Redactor({ detector: createDetector(), policy, mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });

function whole(text: string): string {
  return redactor.process(text, 'output', new PseudonymVault(), new FindingTally());
}

const streamed = (text: string, cuts: number[]): string => streamThrough(redactor, text, cuts);

const password = (i: number) => `Pz${i}!k${(i * 7919) % 1000}Qw`;
const rows = (n: number, row: (i: number) => string) => Array.from({ length: n }, (_, i) => row(i)).join('\n');
const tables: Array<[string, string, string[]]> = [
  ['a CSV password column', `user,password\n${rows(40, (i) => `u${i},${password(i)}`)}`, Array.from({ length: 40 }, (_, i) => password(i))],
  ['a TSV password column after a line of prose', `Here are the accounts:\nuser\tpassword\n${rows(30, (i) => `user${i}\t${password(i)}`)}\nThat is all.`, Array.from({ length: 30 }, (_, i) => password(i))],
  ['a markdown password column', `| user | password |\n| --- | --- |\n${rows(30, (i) => `| u${i} | ${password(i)} |`)}`, Array.from({ length: 30 }, (_, i) => password(i))],
  ['an SQL insert, a row a line', `INSERT INTO users (name, password) VALUES\n${rows(30, (i) => `('u${i}', '${password(i)}')`).replace(/\n/g, ',\n')};\nDone.`, Array.from({ length: 30 }, (_, i) => password(i))],
  ['an SQL insert whose first row shares its line', `insert into accounts (login, password, note) values ('a', 'Bw!whale#x', 'x'),\n${rows(20, (i) => `('u${i}', 'Bw${i}!whale#${i}x', 'n ${i}')`).replace(/\n/g, ',\n')};`, Array.from({ length: 20 }, (_, i) => `Bw${i}!whale#${i}x`)],
  // Rows over 1 KB, and rows after one over the 4 KB a row is held whole (a second outside review of this session).
  ['a 2 KB row', `id,notes,password\n1,${'lorem ipsum '.repeat(170)},Wb1030!xyzQ\n2,short,Hunt3r!2x`, ['Wb1030!xyzQ', 'Hunt3r!2x']],
  ['rows after a row longer than a row is held', `id,notes,password\n1,${'lorem ipsum '.repeat(400)},\n2,short,Hunt3r!2x\n3,short,Zz9!qwerty`, ['Hunt3r!2x', 'Zz9!qwerty']],
  // A column list written a name per line (the second review of streamed redaction, 2026-12-07).
  ['an SQL insert whose column list takes a line a name', `Here is the seed:\nINSERT INTO users (\n  name,\n  password\n) VALUES\n${rows(12, (i) => `  ('u${i}', '${password(i)}')`).replace(/\n/g, ',\n')};\nDone.`, Array.from({ length: 12 }, (_, i) => password(i))],
  ['an SQL insert whose column list starts on the insert line', `INSERT INTO "accounts" (id,\n  password,\n  email) VALUES\n${rows(8, (i) => `(${i}, '${password(i)}', 'x')`).replace(/\n/g, ',\n')};`, Array.from({ length: 8 }, (_, i) => password(i))],
  // A name with a digit before the phone (`1,N1,4158675309`: the first review of streamed redaction, F3).
  // Rows written comma first, the last with no line end after it (an outside review: that row's password went out).
  ['an SQL insert whose rows start with their comma', `INSERT INTO users (name, password) VALUES\n  ('u0', '${password(0)}')\n${rows(6, (i) => `, ('u${i + 1}', '${password(i + 1)}')`)};`, Array.from({ length: 7 }, (_, i) => password(i))],
  ['a CSV phone column after names with digits', `id,name,phone\n${rows(20, (i) => `${i},N${i},${4158675309 + i}`)}`, Array.from({ length: 20 }, (_, i) => String(4158675309 + i))],
  ['a CSV phone column', `id,name,phone\n${rows(30, (i) => `${i},N${i},089/${1234567 + i * 1111}`)}`, Array.from({ length: 30 }, (_, i) => `089/${1234567 + i * 1111}`)],
];

/** `text` streamed in one delta, line by line, cut once anywhere in its first 400 characters and at seeded random cuts is redacted as whole. */
function streamsAsWhole(shapes: Array<[string, string, string[]]>): void {
  for (const [name, text, values] of shapes) {
    it(`${name}: whole, line by line, and at seeded random cuts, as the answer whole is redacted`, () => {
      const expected = whole(text);
      for (const value of values) expect(expected, 'whole').not.toContain(value);
      const lineCuts: number[] = [];
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineCuts.push(i + 1);
      expect(streamed(text, []), 'one delta').toBe(expected);
      expect(streamed(text, lineCuts), 'line by line').toBe(expected);
      for (let cut = 1; cut < Math.min(text.length, 400); cut++) expect(streamed(text, [cut]), `cut at ${cut}`).toBe(expected);
      const next = seededRandom(name.length);
      for (let round = 0; round < 20; round++) {
        const cuts: number[] = [];
        for (let at = 1 + Math.floor(next() * 12); at < text.length; at += 1 + Math.floor(next() * 24)) cuts.push(at);
        expect(streamed(text, cuts), `round ${round}`).toBe(expected);
      }
    });
  }
}

describe('streamed tables and SQL inserts keep their header as context (outside review, F1/F3)', () => {
  streamsAsWhole(tables);
});

describe('shapes read since the last outside review, streamed', () => {
  streamsAsWhole([
    ['an SQL insert whose tuples take a line a value', `INSERT INTO users (name, password)\nVALUES\n${rows(6, (i) => `  (\n    'u${i}',\n    '${password(i)}'\n  )`).replace(/\n  \)\n/g, '\n  ),\n')};\nDone.`, Array.from({ length: 6 }, (_, i) => password(i))],
    ['a long option with a quoted passphrase after a blank', 'Run this:\nmysql -u root --password "purple monkey 42" -h db.internal\nthen check.', ['purple monkey 42']],
    ['a Kubernetes env entry as JSON', '{"env":[{"name":"DB_PASSWORD","value":"s3cr3tPa55"},{"name":"LOG","value":"debug"}]}', ['s3cr3tPa55']],
  ]);
});

describe('text that is no table is not held for one', () => {
  it('releases prose that mentions an insert line by line, as any prose', () => {
    const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally());
    channel.push('To add a user, insert into the users table\n');
    expect(channel.push('a row with their name and then we write the report ')).toContain('a row with their name');
  });

  it('releases prose word by word after a line with commas', () => {
    const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally());
    channel.push('Sure, here is the plan.\nFirst, we ');
    // The second line is no row: its words go out as they come.
    expect(channel.push('gather the notes and then we write the report ')).toContain('gather the notes');
  });

  it('releases prose after a table, a TSV header or tab-indented code within a row start', () => {
    const prose = 'Then we went over the figures together and agreed on what to send to the whole team next week ';
    for (const before of ['| a | b |\n| --- | --- |\n| 1 | 2 |\n', 'col1\tcol2\n', 'def f():\n\treturn 1\n', "INSERT INTO t (a, b) VALUES (1,'x');\n"]) {
      const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally());
      let out = channel.push(before);
      for (let i = 0; i < prose.length; i += 4) out += channel.push(prose.slice(i, i + 4));
      // Out but for the last unfinished word and what a row start may hold.
      expect(out.length, JSON.stringify(before)).toBeGreaterThan(before.length + prose.length - 72);
    }
  });

  it('holds a row under a header until its line ends, then releases it at once', () => {
    const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally());
    expect(channel.push('| user | password |\n| u0 | Pz0!k0Qw ')).toBe('| user | password |\n');
    expect(channel.push('|\nok')).toBe('| u0 | [SECRET] |\n');
  });
});

