// The second outside review of streamed redaction (2026-12-07) also found values the detector misses whole, streamed
// or not: a quoted value inside a JSON string (a tool call's shell command, its quotes escaped), passphrases with a
// word that holds a secret's letters (`monkey`: key), typographic quotes.
import { describe, expect, it } from 'vitest';
import { detectPii } from './index.ts';

const found = (text: string) => detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);
const secrets = (text: string) => detectPii(text).filter((f) => f.type === 'SECRET').map((f) => text.slice(f.start, f.end));

describe('second streamed-redaction review: whole-text gaps', () => {
  it.each([
    ['{"cmd": "export DB_PASSWORD=\\"Xk9mQ2vLpz7w\\""}', 'Xk9mQ2vLpz7w'],
    ['{"cmd":"DB_PASSWORD=\\"Xk9mQ2vLpz7w\\" ./migrate.sh"}', 'Xk9mQ2vLpz7w'],
    ['{"cmd": "export DB_PASSWORD=\\"purple monkey dishwasher 42\\""}', 'purple monkey dishwasher 42'],
    ['{"script": ["export API_TOKEN=\\"tk_9fQ2xLm7Pz4vR8wK\\""]}', 'tk_9fQ2xLm7Pz4vR8wK'],
  ])('finds the quoted value inside the JSON string %j', (text, value) => {
    expect(secrets(text)).toEqual([value]);
  });

  it.each([
    ['password: purple monkey dishwasher 42', 'purple monkey dishwasher 42'],
    ['password: "purple monkey dishwasher 42"', 'purple monkey dishwasher 42'],
    ['{"password": "purple monkey dishwasher 42"}', 'purple monkey dishwasher 42'],
    ['password: “purple monkey dishwasher 42”', 'purple monkey dishwasher 42'],
    ['The passphrase is “compass turkey passport 7”.', 'compass turkey passport 7'],
  ])('finds the passphrase in %j, whose words hold a secret name’s letters', (text, value) => {
    expect(secrets(text)).toEqual([value]);
  });

  it('finds a value in typographic quotes', () => {
    for (const text of ['password = “Xk9mQ2vLpz7w”', 'password = ‘Xk9mQ2vLpz7w’', 'api_key: „Xk9mQ2vLpz7w“']) {
      expect(secrets(text).join(' '), text).toContain('Xk9mQ2vLpz7w');
    }
  });

  it('finds the password cells of an SQL insert whose column list takes a line a name', () => {
    expect(secrets("INSERT INTO users (\n  name,\n  password\n) VALUES ('bob', 'hunter2x'), ('ann', 'Xk9mQ2vLpz7w');")).toEqual(['hunter2x', 'Xk9mQ2vLpz7w']);
    expect(secrets("INSERT INTO users (\n  password,\n  name\n) VALUES ('hunter2x', 'bob');")).toEqual(['hunter2x']);
    expect(secrets("insert into t (\n\tid,\n\tpassword,\n\temail\n)\nvalues (1, 'Xk9mQ2vLpz7w', 'x');")).toEqual(['Xk9mQ2vLpz7w']);
  });

  it('finds a phone in a CSV field after a field that ends in a digit (`1,N1,4158675309`: the first review, F3)', () => {
    expect(found('id,name,phone\n1,N1,4158675309\n2,Ann,4158675310')).toEqual([['PHONE_NUMBER', '4158675309'], ['PHONE_NUMBER', '4158675310']]);
    expect(found('id,name,phone\n7,A12,415-867-5309')).toEqual([['PHONE_NUMBER', '415-867-5309']]);
    // A thousands group has three digits: `$1,234,567` is still skipped whole.
    expect(found('Total: $1,234,567 today')).toEqual([]);
  });

  it('finds a local 7-digit number under a phone column, and none under a column that counts', () => {
    expect(found('name,phone\nAnn,5550123\nBob,5550199')).toEqual([['PHONE_NUMBER', '5550123'], ['PHONE_NUMBER', '5550199']]);
    expect(found('| name | phone |\n|---|---|\n| Ann | 5550123 |')).toEqual([['PHONE_NUMBER', '5550123']]);
    for (const text of ['id,count\n1,5550123', 'name,phone_calls\nAnn,5550123', 'we sent 5550123 messages']) expect(found(text), text).toEqual([]);
  });

  it('reads lines ended by a bare CR as lines (a table exported on an old Mac), offsets as written', () => {
    const text = 'user,password\rbob,hunter2x\rann,s3cretpw\rname,phone\rAnn,415 867 5309';
    expect(found(text)).toEqual([['SECRET', 'hunter2x'], ['SECRET', 's3cretpw'], ['PHONE_NUMBER', '415 867 5309']]);
  });

  it('ends an address at a `+` after its domain, and reads the one glued after it whole (an outside review)', () => {
    expect(found('reach me: alice.w@corp-mail.io+1 more')).toEqual([['EMAIL_ADDRESS', 'alice.w@corp-mail.io']]);
    expect(found('cc erin.m@corp-mail.io+frank.t@corp-mail.io')).toEqual([['EMAIL_ADDRESS', 'erin.m@corp-mail.io'], ['EMAIL_ADDRESS', 'frank.t@corp-mail.io']]);
    expect(found('to=carol.z%40corp-mail.io+dave.q%40corp-mail.io')).toEqual([['EMAIL_ADDRESS', 'carol.z%40corp-mail.io'], ['EMAIL_ADDRESS', 'dave.q%40corp-mail.io']]);
    expect(found('alice+tag@corp-mail.io')).toEqual([['EMAIL_ADDRESS', 'alice+tag@corp-mail.io']]);
    // A valid `+` number glued after an address is a phone; after a word it is still not (`a+14155552671`).
    expect(found('mail bob.k@corp-mail.io+44 7911 123456')).toEqual([['EMAIL_ADDRESS', 'bob.k@corp-mail.io'], ['PHONE_NUMBER', '+44 7911 123456']]);
    expect(found('x = abc+14155552671')).toEqual([]);
  });

  it('reads password columns of INSERT IGNORE / OR REPLACE and of bracketed SQL Server names, and short passwords in them', () => {
    expect(secrets("INSERT IGNORE INTO users (name, password) VALUES ('bob', 'Xk9mQ2vLpz7w');")).toEqual(['Xk9mQ2vLpz7w']);
    expect(secrets("INSERT OR REPLACE INTO users (name, password) VALUES ('bob', 'Xk9mQ2vLpz7w');")).toEqual(['Xk9mQ2vLpz7w']);
    expect(secrets("INSERT INTO [dbo].[users] ([name], [password]) VALUES ('bob', 'Xk9mQ2vLpz7w');")).toEqual(['Xk9mQ2vLpz7w']);
    // Six or seven characters with a digit or symbol; not a word, a mask or N/A.
    expect(secrets('user,password\nbob,hunter2\ncy,Pw0#x0Q\ndd,default\nee,******\nff,N/A\ngg,letmein')).toEqual(['hunter2', 'Pw0#x0Q']);
  });

  it('finds a quoted passphrase assigned as a shell writes it anywhere on a command line, not a sentence', () => {
    expect(secrets('export DB_USER=app DB_PASSWORD="first pass 11"')).toEqual(['first pass 11']);
    expect(secrets('docker run -e DB_PASSWORD="dock pass 42" img')).toEqual(['dock pass 42']);
    expect(secrets('$env:DB_PASSWORD = "ps pass 2024"')).toEqual(['ps pass 2024']);
    expect(secrets('export db_password="lower pass 2024"')).toEqual(['lower pass 2024']);
    expect(secrets('cd app && export SECRET_KEY="cc dd 2025"')).toEqual(['cc dd 2025']);
    expect(found('validate(password="must be at least 8 characters")')).toEqual([]);
  });

  it('reads a password column named with a prefix (`user_password`, `db-passwd`), and not a hash column', () => {
    expect(secrets("INSERT INTO public.users (\n  name,\n  user_password\n) VALUES ('bob', 'Xk9mQ2vLpz7w');")).toEqual(['Xk9mQ2vLpz7w']);
    expect(secrets('id,db-passwd,note\n1,Xk9mQ2vLpz7w,x\n2,Pw0#x0Qz1,y')).toEqual(['Xk9mQ2vLpz7w', 'Pw0#x0Qz1']);
    expect(found('id,password_hash\n1,Xk9mQ2vLpz7w')).toEqual([]);
    expect(found('the user_password field, the db-passwd one')).toEqual([]);
  });

  it('still reads sentences about a password, schemas and quoted prose as no secret', () => {
    for (const text of [
      '{"password": "must be at least 12 characters"}',
      '{"password": "Password is required"}',
      '{"name":"create_user","parameters":{"type":"object","properties":{"password":{"type":"string","description":"initial password"}}}}',
      '{"msg": "say \\"hello world\\""}',
      '{"cmd": "echo \\"password is set\\""}',
      '{"cmd": "export DB_PASSWORD=\\"${DB_PASSWORD}\\""}',
      'password: strong keys rotated weekly',
      'Password policy: api key rotation enabled',
    ]) {
      expect(found(text), text).toEqual([]);
    }
  });
});
