// Shapes the last session's outside review left in clear, now read: a long option's quoted passphrase after a blank,
// a Kubernetes env entry written as JSON, and a SQL insert's tuples written a value per line.
import { describe, expect, it } from 'vitest';
import { detectPii } from './index.ts';

const values = (text: string) => detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)]);

describe('a long option whose quoted value follows a blank', () => {
  it('reads the passphrase (`--password "purple monkey 42"`, `--db-password`), as after `=`', () => {
    expect(values('mysql -u root --password "purple monkey 42" -h db')).toEqual([['SECRET', 'purple monkey 42']]);
    expect(values("deploy --db-password 'river stone lantern 7'")).toEqual([['SECRET', 'river stone lantern 7']]);
    expect(values('{"cmd":"mysql --password \\"purple monkey 42\\""}')).toEqual([['SECRET', 'purple monkey 42']]);
  });

  it('leaves sentences and options that hold no secret', () => {
    for (const text of ['use --password "my pass please"', 'run --message "hello there world 42"', 'a --password "required for login"', 'see the --password "field" below']) {
      expect(values(text), text).toEqual([]);
    }
  });
});

describe('a Kubernetes env entry written as JSON', () => {
  it('reads the value of a secret-named entry, its quotes escaped inside a JSON string too', () => {
    expect(values('{"env":[{"name":"DB_PASSWORD","value":"s3cr3tPa55"}]}')).toEqual([['SECRET', 's3cr3tPa55']]);
    expect(values('{"args":"{\\"env\\":[{\\"name\\":\\"API_TOKEN\\",\\"value\\":\\"tok_9fK2mQ7xL1\\"}]}"}')).toEqual([['SECRET', 'tok_9fK2mQ7xL1']]);
  });

  it('leaves an entry whose name is no secret', () => {
    expect(values('{"env":[{"name":"DB_HOST","value":"db.internal.example"},{"name":"LOG_LEVEL","value":"debug42x"}]}')).toEqual([]);
  });
});

describe("a SQL insert's tuples written a value per line", () => {
  it("reads the password column's cells", () => {
    expect(values("INSERT INTO users (name, password) VALUES\n('alice',\n'hunter22x');")).toEqual([['SECRET', 'hunter22x']]);
    const text = "INSERT INTO users (name, password)\nVALUES\n  (\n    'alice',\n    'Wq8!zLm3Rx'\n  ),\n  (\n\t'bob',\n\t'Zz9#kLm2Qp'\n  );";
    expect(values(text)).toEqual([['SECRET', 'Wq8!zLm3Rx'], ['SECRET', 'Zz9#kLm2Qp']]);
  });

  it('leaves the other columns', () => {
    expect(values("INSERT INTO users (name, role) VALUES\n(\n  'alice',\n  'admin2024x'\n);")).toEqual([]);
  });
});
