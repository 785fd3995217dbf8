// The SECRET recognizer: every kind with exact offsets, near-misses, hard negatives, adversarial timing, throughput, the fixtures.
import { describe, expect, it } from 'vitest';
import type { PiiFinding } from '../types.ts';
import { SECRET_FIXTURES, SECRET_NEGATIVES } from '../eval/secret-fixtures.ts';
import { findSecrets } from './secret.ts';
import { seededRandom } from '../eval/seeded-random.ts';

function find(text: string): PiiFinding[] {
  const out: PiiFinding[] = [];
  findSecrets(text, out);
  return out;
}

/** The text of each finding. */
function found(text: string): string[] {
  return find(text).map((f) => text.slice(f.start, f.end));
}

const random = seededRandom(42);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const chars = (alphabet: string, n: number): string => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
const BASE64URL = `${ALNUM}-_`;
const BASE64 = `${ALNUM}+/`;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const b64url = (json: unknown): string => Buffer.from(JSON.stringify(json)).toString('base64url');

/** Asserts each text gives exactly its one secret. */
function expectEachFinds(cases: ReadonlyArray<readonly [string, string]>): void {
  for (const [text, value] of cases) expect(found(text), text).toEqual([value]);
}

/** Asserts no text gives a finding. */
function expectNoneFound(texts: readonly string[]): void {
  for (const text of texts) expect(found(text), text).toEqual([]);
}

/** Asserts `secret` is found exactly once inside `before + secret + after`, with exact offsets and the given score. */
function expectSecret(before: string, secret: string, after: string, score?: number): void {
  const text = before + secret + after;
  const findings = find(text);
  expect(findings.map((f) => text.slice(f.start, f.end))).toEqual([secret]);
  expect(findings[0]).toMatchObject({ type: 'SECRET', start: before.length, end: before.length + secret.length });
  if (score !== undefined) expect(findings[0]!.score).toBe(score);
}

describe('findSecrets: prefixed keys', () => {
  it('finds OpenAI project, service-account, admin and legacy keys', () => {
    expectSecret('here is my key ', `sk-proj-${chars(BASE64URL, 74)}T3BlbkFJ${chars(BASE64URL, 74)}`, ', why does it fail?', 0.99);
    expectSecret('OPENAI_API_KEY=', `sk-svcacct-${chars(BASE64URL, 74)}T3BlbkFJ${chars(BASE64URL, 74)}`, '\n', 0.99);
    expectSecret('"', `sk-admin-${chars(BASE64URL, 120)}`, '"', 0.99);
    expectSecret('key: ', `sk-${chars(ALNUM, 20)}T3BlbkFJ${chars(ALNUM, 20)}`, '.', 0.99);
    expectSecret('legacy ', `sk-${chars(ALNUM, 48)}`, ' works', 0.99);
  });

  it("finds the keys of the tools agents call and of other vendors in code, with no key name beside them (outside review 13)", () => {
    const HEX = '0123456789abcdef';
    const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const keys = [
      `tvly-${chars(ALNUM, 32)}`, `tvly-dev-${chars(ALNUM, 32)}`, `lsv2_pt_${chars(HEX, 32)}_${chars(HEX, 10)}`, `lsv2_sk_${chars(HEX, 32)}_${chars(HEX, 10)}`,
      `pcsk_${chars(ALNUM, 6)}_${chars(BASE64URL, 60)}`, `fc-${chars(HEX, 32)}`, `sbp_${chars(HEX, 40)}`, `ntn_${chars(ALNUM, 46)}`, `secret_${chars(ALNUM, 43)}`,
      `NRAK-${chars(UPPER_ALNUM, 27)}`, `glsa_${chars(ALNUM, 32)}_${chars(HEX, 8)}`, `glrt-${chars(BASE64URL, 20)}`, `tskey-auth-${chars(ALNUM, 12)}-${chars(ALNUM, 30)}`,
      `dckr_pat_${chars(BASE64URL, 27)}`, `key-${chars(HEX, 32)}`, `dp.st.${chars(ALNUM, 43)}`, `dp.pt.${chars(ALNUM, 43)}`, `hvs.${chars(BASE64URL, 90)}`,
      `ya29.a0${chars(BASE64URL, 120)}`, `AGE-SECRET-KEY-1${chars(UPPER_ALNUM, 58)}`, `SK${chars(HEX, 32)}`,
      // Telegram and Discord bots, an Azure AD client secret: shapes of their own.
      `${6_000_000_000 + Math.floor(random() * 1e9)}:AA${chars(BASE64URL, 33)}`, `MTE${chars(BASE64URL, 23)}.${chars(BASE64URL, 6)}.${chars(BASE64URL, 38)}`,
      `${chars(ALNUM, 3)}8Q~${chars(BASE64URL, 34)}`,
    ];
    for (const key of keys) {
      expectSecret('client = Client("', key, '")', undefined);
      expectSecret('echo ', key, ' | tool login --password-stdin', undefined);
    }
  });

  it('finds the key of an Authorization: Token header, the password of curl -u and redis-cli -a, and a signed URL\'s signature', () => {
    expect(found('curl -H "Authorization: Token 3f9a2c71e4b8d05f6a1c9e8d7b6a5f4e3d2c1b0a" https://api.acme.io/v1/orders/')).toEqual(['3f9a2c71e4b8d05f6a1c9e8d7b6a5f4e3d2c1b0a']);
    expect(found("headers = {'Authorization': 'Token 3f9a2c71e4b8d05f6a1c9e8d7b6a5f4e3d2c1b0a'}")).toEqual(['3f9a2c71e4b8d05f6a1c9e8d7b6a5f4e3d2c1b0a']);
    expect(found('curl -u admin:S3cure!Pass https://jenkins.acme.io/api/json')).toEqual(['S3cure!Pass']);
    expect(found('curl -u admin https://jenkins.acme.io/api/json')).toEqual([]);
    expect(found('redis-cli -h cache01 -a Tr0ub4dor&3x ping')).toEqual(['Tr0ub4dor&3x']);
    expect(found('ls -a -l; tar -u file; redis-cli -a $REDIS_PASSWORD ping')).toEqual([]);
    expect(found('https://acme.blob.core.windows.net/b/db.bak?sv=2022-11-02&sp=r&sig=Xk%2Fq7-S9PmA4QROpg_Vy192us_gyUg42VneB34als%3D')).toEqual(['Xk%2Fq7-S9PmA4QROpg_Vy192us_gyUg42VneB34als%3D']);
    expect(found('https://acme.s3.amazonaws.com/f.pdf?X-Amz-Date=20240315T000000Z&X-Amz-Signature=823fdcac4f894f9f3ca8178a4ef2dd56dad8a0c261af8a3a9aae97aa932b6e58')).toEqual(['823fdcac4f894f9f3ca8178a4ef2dd56dad8a0c261af8a3a9aae97aa932b6e58']);
    expect(found('the token sig=abc123def456ghi789 in prose, a signature = "x"')).toEqual([]);
  });

  it('finds Anthropic API and admin keys', () => {
    expectSecret('ANTHROPIC_API_KEY=', `sk-ant-api03-${chars(BASE64URL, 93)}AA`, '', 0.99);
    expectSecret("x-api-key: '", `sk-ant-admin01-${chars(BASE64URL, 93)}AA`, "'", 0.99);
  });

  it('finds AWS access key ids as whole words', () => {
    expectSecret('aws_access_key_id = ', `AKIA${chars(BASE32, 16)}`, '\n', 0.99);
    expectSecret('temporary ', `ASIA${chars(BASE32, 16)}`, ' expires', 0.99);
    expect(found(`XAKIA${chars(BASE32, 16)}`)).toEqual([]);
    expect(found(`AKIA${chars(BASE32, 17)}`)).toEqual([]);
    expect(found('the sample AKIAIOSFODNN7EXAMPLE from the docs')).toEqual([]);
  });

  it('finds GitHub classic and fine-grained tokens', () => {
    for (const kind of ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_']) expectSecret('GITHUB_TOKEN=', `${kind}${chars(ALNUM, 36)}`, ' ', 0.99);
    expectSecret('token ', `github_pat_${chars(ALNUM, 22)}_${chars(ALNUM, 59)}`, '', 0.99);
  });

  it('finds a fine-grained token of the documented shape even when its body looks regular (an outside review wrote one)', () => {
    const pat = 'github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678';
    for (const [before, after] of [['my token ', ''], ['Use ', ' for CI.'], ['<td>', '</td>'], ['', '\n']]) expectSecret(before, pat, after, 0.99);
    // A documentation sample's marks still spare it; another length still needs a random-looking body.
    expect(found('github_pat_11ABCDEFG0xxxxxxxxxxxxxL_mNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678')).toEqual([]);
    expect(found(`github_pat_${'ab'.repeat(40)}`)).toEqual([]);
  });

  it('finds Slack tokens and webhook URLs (the whole URL)', () => {
    expectSecret('SLACK_BOT_TOKEN=', `xoxb-${chars('0123456789', 12)}-${chars('0123456789', 13)}-${chars(ALNUM, 24)}`, '\n', 0.99);
    expectSecret('user token ', `xoxp-${chars('0123456789', 12)}-${chars('0123456789', 12)}-${chars('0123456789', 13)}-${chars('0123456789abcdef', 32)}`, '', 0.99);
    expectSecret('requests.post("', `https://hooks.slack.com/services/T${chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}/B${chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}/${chars(ALNUM, 24)}`, '", json=msg)', 0.99);
  });

  it('finds Stripe secret and restricted keys, not publishable ones', () => {
    for (const kind of ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_']) expectSecret('stripe.api_key = "', `${kind}${chars(ALNUM, 24)}`, '"', 0.99);
    expect(found(`const stripe = Stripe('pk_live_${chars(ALNUM, 24)}')`)).toEqual([]);
  });
});

describe('findSecrets: structured secrets', () => {
  const header = b64url({ alg: 'HS256', typ: 'JWT' });
  const payload = b64url({ sub: '1234567890', name: 'Ada', iat: 1516239022 });

  it('finds JWTs whose header decodes to JSON with alg', () => {
    const token = `${header}.${payload}.${chars(BASE64URL, 43)}`;
    expectSecret('Authorization: Bearer ', token, '', 0.9);
    expectSecret('Cookie: session=', token, '; theme=dark', 0.9);
    expectSecret('unsigned: ', `${b64url({ alg: 'none' })}.${payload}.`, ' ok', 0.9);
  });

  it('ignores eyJ strings that are not JWTs', () => {
    expect(found(`${b64url({ foo: 'bar' })}.${payload}.${chars(BASE64URL, 43)}`)).toEqual([]); // no alg
    expect(found('The token starts with eyJhbGciOi... and goes on.')).toEqual([]);
    expect(found(`${header}.${payload}.SIGNATURE`)).toEqual([]);
    expect(found(`just the header ${header}`)).toEqual([]);
  });

  it('finds private key blocks, whole, and JSON-escaped ones', () => {
    const lines = [chars(BASE64, 64), chars(BASE64, 64), `${chars(BASE64, 30)}==`];
    for (const label of ['RSA PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']) {
      expectSecret('my key:\n', `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`, '\nwhat is wrong?', 0.9);
    }
    expectSecret('{"private_key": "', `-----BEGIN PRIVATE KEY-----\\n${lines.join('\\n')}\\n-----END PRIVATE KEY-----`, '\\n", "client_email": "a@b.iam"}', 0.9);
  });

  it('covers the visible body of a private key cut off before END', () => {
    const partial = `-----BEGIN PRIVATE KEY-----\n${chars(BASE64, 64)}\n${chars(BASE64, 64)}\n${chars(BASE64, 21)}`;
    expectSecret('streaming… ', partial, '', 0.9);
    expectSecret('', `-----BEGIN RSA PRIVATE KEY-----\n${chars(BASE64, 64)}\n${chars(BASE64, 12)}`, '\n\nand then the stream stopped.');
  });

  it('ignores public keys, certificates and prose about key files', () => {
    const body = `${chars(BASE64, 64)}\n${chars(BASE64, 20)}==`;
    expect(found(`-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----`)).toEqual([]);
    expect(found(`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`)).toEqual([]);
    expect(found('Key files start with -----BEGIN RSA PRIVATE KEY----- and must stay private.')).toEqual([]);
    expect(found('-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----')).toEqual([]);
  });

  it('finds AWS secret access keys only with context', () => {
    const secret = chars(BASE64, 40);
    expectSecret('aws_secret_access_key = ', secret, '\n', 0.9);
    expectSecret('AWS_SECRET_ACCESS_KEY=', secret, '');
    expectSecret('{"SecretAccessKey": "', secret, '"}');
    expectSecret('my secret access key is ', secret, ', is that bad?');
    expect(found(`blob ${secret} end`)).toEqual([]);
    expect(found('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toEqual([]);
  });
});

describe('findSecrets: passwords in URLs', () => {
  it('finds only the password of user:password@host', () => {
    expectSecret('postgres://app:', 'k9Ws2-vQ7!xP', '@db.internal:5432/prod', 0.85);
    expectSecret('redis://:', 'Zq83mWp1aa', '@cache:6379/0');
    expectSecret('mongodb+srv://svc:', 'p@ssW0rd99', '@cluster0.mongodb.net/app');
  });

  it('skips placeholders, missing passwords and @ outside the authority', () => {
    expectNoneFound([
      'postgres://user:${DB_PASSWORD}@db/app',
      'postgres://user:$DB_PASSWORD@db/app',
      'mysql://root:<password>@localhost:3306',
      'redis://:{password}@cache:6379',
      'mongodb://admin:****@mongo:27017',
      'https://user:xxx@example.com',
      'postgres://user:password@localhost/db',
      'amqp://user:pass@rabbit',
      'ftp://user:secret@files',
      'https://user:@host/path',
      'postgres://localhost:5432/db',
      'https://user@host/path',
      'https://example.com/a:b@c',
      'ssh://git@github.com:22/acme/api.git',
      'http://[::1]:8080/health',
    ]);
  });
});

describe('findSecrets: values assigned to secret names', () => {
  it('finds the value after strong names and Authorization headers', () => {
    const token = chars(BASE64URL, 40);
    expectSecret('api_key = "', 'a8F3kL9mQ2xZ7pR4', '"', 0.7);
    expectSecret('{"client_secret": "', 'Zx9Yw8Vu7Ts6Rq5P', '"}');
    expectSecret('PASSWORD=', 'hunter2isgood', '\nUSER=admin');
    expectSecret('smtp:\n  password: ', 'Tr0ub4dor!3', '\n  port: 587');
    expectSecret('curl -H "Authorization: Bearer ', token, '" https://api.example.com');
    expectSecret('headers = {"x-api-key": "', token, '"}');
    expectSecret('Authorization: Basic ', Buffer.from('deploy:Wx7-pq93LmZ').toString('base64'), '\r\n', 0.85);
  });

  it('skips placeholders, references and low-entropy generic values', () => {
    expectNoneFound([
      'api_key = os.environ["OPENAI_API_KEY"]',
      'const apiKey = process.env.OPENAI_API_KEY;',
      'password = getpass.getpass()',
      'password: ${DB_PASSWORD}',
      'PASSWORD=changeme',
      'password = "********"',
      'export OPENAI_API_KEY="<your-api-key>"',
      'Authorization: Bearer $TOKEN',
      'Authorization: Bearer <token>',
      'Authorization: Bearer YOUR_ACCESS_TOKEN',
      'Authorization: Bearer eyJhbGciOi...',
      'Authorization: Bearer sk-...',
      'Bearer tokens are sent in the Authorization header.',
      'password: string',
      'max_tokens: 4096',
      'connect(host=host, password=db_password)',
      'cache_key = "user-profile-cache"',
      'idempotency_key: 3f1e6a3c-5b7d-4c8e-9f0a-1b2c3d4e5f60',
      'The password: required.',
      "type === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY'",
      'Basic usage: run it.',
    ]);
  });
});

describe('findSecrets: values with symbols (outside review 13)', () => {
  it('keeps brackets, semicolons and `&x=` inside a value: the whole value, in env lines, config and prose', () => {
    expectEachFinds([
      ['DB_PASSWORD=Tr0ub(4dor3x', 'Tr0ub(4dor3x'],
      ['export DB_PASSWORD=Tr0ub4dor)3x', 'Tr0ub4dor)3x'],
      ['DB_PASSWORD=Tr0ub;4dor3x\nDB_USER=app', 'Tr0ub;4dor3x'],
      ['password=Tr0ub[4dor]3x', 'Tr0ub[4dor]3x'],
      ['my password is Tr0ub(4dor3x', 'Tr0ub(4dor3x'],
      ['the wifi password is Blue(Ocean)77', 'Blue(Ocean)77'],
      ['(my password is hunter2!)', 'hunter2!'],
      ['SECRET_KEY=django-insecure-_n+t%ge!@fs3wg-h-i1o+1t##2&cqpge5mrkpme7=j4e94*(e*', 'django-insecure-_n+t%ge!@fs3wg-h-i1o+1t##2&cqpge5mrkpme7=j4e94*(e*'],
      ['Server=db;Database=x;Password=Tr0ub4dor3x;User Id=sa;', 'Tr0ub4dor3x'],
      ['curl -d "user=bob&password=hunter2x&remember=1"', 'hunter2x'],
      ['password=hunter2x&remember=1', 'hunter2x'],
    ]);
  });

  it('finds whole Django keys and symbol-rich passwords in env lines, seeded', () => {
    const DJANGO = 'abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)';
    // (No `.`: `G_b.kW[A6…` reads as code, a reference indexed, as `os.environ["X"]` does.)
    const SYMBOLS = `${ALNUM}!@#$%^&*()-_=+[]{};:,<>?/|~`;
    for (let i = 0; i < 300; i++) {
      const key = `django-insecure-${chars(DJANGO, 50)}`;
      expect(found(`SECRET_KEY=${key}\nDEBUG=False`), key).toEqual([key]);
      // (A value that ends in a period or colon loses it, as prose punctuation; `DB_PASSWORD==x` is an operator.
      // Generated here without either.)
      const password = chars(ALNUM, 1) + chars(SYMBOLS, 40) + chars(ALNUM, 1);
      expect(found(`DB_PASSWORD=${password}\n`), password).toEqual([password]);
    }
  });

  it('still refuses code: calls, indexes and references', () => {
    expectNoneFound([
      'x = connect(password=get_password())', 'DB_PASSWORD=os.environ["X"]', 'password = getpass.getpass("Password: ")', 'token: process.env.IRON_TOKEN!,',
      'password: [REDACTED]', 'password: <your-password>', 'const opts = { password: hash(pw, salt) };', 'secret = Secret(name="db", data={"password": b64(pw)})',
      '!function(){var n={token:function(e){return e&&e.split("|")[0]}}}', 'ERROR secret not found: name=prod/db/password version=7',
    ]);
  });

  it('finds a dotted password, a Kubernetes env entry and a Dockerfile ENV with a blank; not generic types, paths, bundles or prose about hashing (outside review 15)', () => {
    expectEachFinds([
      ['DB_PASSWORD=Acme.Corp2024!', 'Acme.Corp2024!'],
      ['my password is Acme.Corp2024!', 'Acme.Corp2024!'],
      ['env:\n  - name: DB_PASSWORD\n    value: "Xk9#mQ2!vL"\n  - name: DB_HOST\n    value: db.internal', 'Xk9#mQ2!vL'],
      ['env: [{name: API_TOKEN, value: Xk9mQ2vLpz7Rt5}]', 'Xk9mQ2vLpz7Rt5'],
      ['FROM postgres:16\nENV POSTGRES_PASSWORD Xk9mQ2vLpz7\nENV POSTGRES_USER app', 'Xk9mQ2vLpz7'],
      // A quoted passphrase on an env line; a `user:token` pair under a token's name.
      ['DB_PASSWORD="my long passphrase 2024"', 'my long passphrase 2024'],
      ["export X_PASSWORD='two words 9X'", 'two words 9X'],
      ['ENV DB_PASSWORD="correct horse battery staple"', 'correct horse battery staple'],
      ['API_TOKEN=user:Xk9mQ2vLpz7', 'user:Xk9mQ2vLpz7'],
    ]);
    expectNoneFound([
      'DB_PASSWORD=settings.DB_PASS', 'let token: Vec<u8> = x;', 'token: Option<String>,', 'secret: Uint8Array<ArrayBuffer>;', 'password: env::var("DB_PASSWORD")',
      'password = Hash::make($request->password);', 'secret := []byte(os.Getenv("S"))', 'password = bin2hex(random_bytes(32))', 'password = input("Password: ")',
      'password = sha256(salt + raw).hexdigest()', 'the secret is base64-encoded', 'the password is SHA-256 hashed', 'SESSION_SECRET=change-me-in-production',
      ': "${DB_PASSWORD:?DB_PASSWORD is required}"', 'x=${DB_PASSWORD:-postgres}', 'ENV GPG_KEY B42F6819007F00F88E364FD4036A9C25BF357DD4',
      'function a(e){const{password:t,token:s}=e;return(0,o.jsx)("input",{type:"password",value:t})}',
      '{"password": "must be at least 8 characters long"}', 'PASSWORD_HINT="use your pet name"', 'DB_PASSWORD="change me please now"', 'API_TOKEN=urn:x:y',
    ]);
  });

  it('finds values that start with a bracket or look like a call, on YAML list items and Dockerfile lines, whole (outside review 14)', () => {
    expectEachFinds([
      ['DB_PASSWORD=[Nov]2024!,x', '[Nov]2024!,x'],
      ['API_SECRET=<9f$k)2&Q', '<9f$k)2&Q'],
      ['export JWT_SECRET={"k":"Zx9-3mQ"}', '{"k":"Zx9-3mQ"}'],
      ['ADMIN_PASSWORD=Summer(2024)', 'Summer(2024)'],
      ['MAIL_PASSWORD=Hunter(42);', 'Hunter(42);'],
      ['{"db_password": "<9f$k)2&Qx"}', '<9f$k)2&Qx'],
      ['my password is (Blue)Ocean77', '(Blue)Ocean77'],
      ['the password is Summer(2024).', 'Summer(2024)'],
      ['environment:\n  - POSTGRES_PASSWORD=S3cr(et)[1]{2};3abc', 'S3cr(et)[1]{2};3abc'],
      ['ENV POSTGRES_PASSWORD=R3d;is&Pw99', 'R3d;is&Pw99'],
      ['ARG NPM_PASSWORD=N9m;pk|g(x)', 'N9m;pk|g(x)'],
      ['database:\n  password: Zq)(9[x]{y};a,b&c=d|e<f>', 'Zq)(9[x]{y};a,b&c=d|e<f>'],
      ['Server=sql01;Password=Tr4(in]{x}|<y>;Encrypt=True', 'Tr4(in]{x}|<y>'],
      ['export REDIS_PASSWORD=>lt;Gr8|pipe&amp=1', '>lt;Gr8|pipe&amp=1'],
      ['curl --user svc-bot:B0t;Pa55(w) https://artifactory.example.com/api/repos', 'B0t;Pa55(w)'],
      ['redis-cli --pass Rx7;cache&9Q --no-auth-warning ping', 'Rx7;cache&9Q'],
      ['curl https://api.telegram.org/bot7012345678:AAF3k9Zq_xYw-7tRbV2nLmP0sQ4uJ8hGd1E/sendMessage', '7012345678:AAF3k9Zq_xYw-7tRbV2nLmP0sQ4uJ8hGd1E'],
      ['Authorization: Token token=aB3d9f8e7d6c5b4a3928170', 'aB3d9f8e7d6c5b4a3928170'],
    ]);
  });
});

describe('findSecrets: secrets written as prose', () => {
  it('finds the value after a password, secret or token word and is / was / : / =, in English, French, German and Spanish', () => {
    expectSecret('my password is ', 'hunter2!', '', 0.7);
    expectSecret('Passwort: ', 'Tr0ub4dor&3', '');
    expectSecret('the token was ', '8f3k2l9x', ', but it stopped working');
    expectSecret('The wifi password is ', 'BlueFalcon#77', '. Can you write a note for guests?');
    expectSecret('for the staging box the root passwd is ', 'r00t4Stage', '');
    expectSecret('the secret is ', 'Xk9#pL2q', '; keep it between us');
    expectSecret('Mon mot de passe est ', 'Soleil#42', ", peux-tu m'aider ?");
    expectSecret('Das Passwort lautet ', 'Fr3ihe!t', '');
    expectSecret('Mi contraseña es ', 'Gato_2024', ' y no puedo entrar.');
    expectSecret('**Password:** ', 'Qz7!mW3r', '');
    expectSecret('PASSWORD IS ', 'ZEBRA-7731', '');
  });

  it('finds them after Kennwort, wachtwoord and the Japanese, Chinese and Korean words too, and keeps an & inside an env value', () => {
    expectSecret('Kennwort: ', 'Tr0ub4dor&3', '');
    expectSecret('KENNWORT: ', 'Tr0ub4dor&3', '');
    expectSecret('het wachtwoord is ', 'Zomer2024!', '');
    expectSecret('パスワード：', 'Tr0ub4dor&3', '');
    expectSecret('パスワードは ', 'Tr0ub4dor&3', ' です');
    expectSecret('密码是 ', 'Xk9#pL2q', '');
    expectSecret('비밀번호: ', 'Qz7!mW3r', '');
    expectSecret('DB_PASSWORD=', 'hJ7&kL0pZ', '');
    // In a query string `&` still starts the next parameter.
    expectSecret('https://x.example/login?user=ann&password=', 'Tr0ub4dor3', '&next=/home');
  });

  it('finds the value when a word stands between the verb and it: is now, ist jetzt, was changed to', () => {
    expectSecret('my password is now ', 'Hunter2024!', '');
    expectSecret('Das Kennwort ist jetzt ', 'Sommer2024!', '');
    expectSecret('le mot de passe est maintenant ', 'Soleil#42', '');
    expectSecret('la contraseña es ahora ', 'Gato_2024', '');
    expectSecret('het wachtwoord is nu ', 'Zomer2024!', '');
    expectSecret('the admin password was changed to ', 'Qz7!mW3r', ' yesterday');
    expectSecret('The token is still ', '8f3k2l9x', '');
    expectNoneFound(['the password is now required', 'your password was changed to protect you', 'the token is still valid', 'Passwort ist jetzt geändert', 'the password is set to expire']);
  });

  it('finds them after senha, hasło, mdp, clave and passcode, and after Italian è, Portuguese é and Polish to', () => {
    expectSecret('la mia password è ', 'Roma2024$', '');
    expectSecret('a minha senha é ', 'Lisboa@1990', '');
    expectSecret('senha: ', 'Praia#2023x', '');
    expectSecret('moje hasło to ', 'Krakow!2023', '');
    expectSecret('Hasło: ', 'Wisla#44zz', '');
    expectSecret('Le mdp : ', 'Paris#75011', '');
    expectSecret('la clave es ', 'Madrid2024!', '');
    expectSecret('The passcode is ', '84F2-KQ9Z', '.');
    expectNoneFound(['la clave es la constancia', 'reset your password to continue', 'the conclave is over 2024', 'la senha é obrigatória', 'enclave: us-east-1']);
  });

  it("finds them in Russian, Turkish, the Nordic languages, Czech, Finnish, Hungarian, Greek, Arabic and Italian (an outside review's misses)", () => {
    for (const [before, secret] of [
      ['пароль: ', 'Zima2024!'], ['Пароль: ', 'Zima2024!'], ['ПАРОЛЬ=', 'Zima2024!'], ['şifre: ', 'Ankara06!'], ['Şifre: ', 'Ankara06!'],
      ['parola: ', 'Roma2024!x'], ["la parola d'ordine è ", 'Roma2024!x'], ['lösenord: ', 'Sommar2024!'], ['passord: ', 'Sommer2024!'],
      ['passordet er ', 'Sommer2024!'], ['adgangskode: ', 'Sommer2024!'], ['heslo: ', 'Praha2024!'], ['salasana: ', 'Kesä2024!'],
      ['salasana on ', 'Kesä2024!'], ['jelszó: ', 'Tavasz2024!'], ['κωδικός: ', 'Athina2024!'], ['κωδικός πρόσβασης: ', 'Athina2024!'],
      ['συνθηματικό: ', 'Athina2024!'], ['كلمة المرور: ', 'Cairo2024!'], ['كلمة السر: ', 'Cairo2024!'],
    ]) {
      expectSecret(before!, secret!, '');
    }
  });

  it('finds those words with a verb or none too (`heslo je x`, `мой пароль x`), not in prose without a secret', () => {
    for (const [before, secret] of [
      ['heslo je ', 'Praha2024!'], ['Heslo je ', 'Praha2024!'], ['мой пароль ', 'Zima2024!x'], ['пароль — ', 'Zima2024!'], ['пароль это ', 'Zima2024!'],
      ['Пароль ', 'Zima2024!x'], ['şifrem ', 'Ankara06!x'], ['Şifre ', 'Ankara06!x'], ['lösenordet är ', 'Sommar2024!'], ['Lösenord ', 'Sommar2024!'],
      ['a jelszó ', 'Tavasz2024!'], ['jelszavam ', 'Tavasz2024!'], ['ο κωδικός είναι ', 'Athina2024!'], ['ο κωδικός πρόσβασης είναι ', 'Athina2024!'],
      ['το συνθηματικό είναι ', 'Athina2024!'], ['كلمة المرور هي ', 'Cairo2024!'], ['كلمة السر ', 'Cairo2024!x'], ['adgangskoden er ', 'Sommer2024!'],
    ]) {
      expectSecret(before!, secret!, '.');
    }
    expectNoneFound([
      'пароль был изменён', 'мой пароль устарел вчера', 'пароль это секрет', 'heslo je tajné', 'şifremi unuttum', 'lösenordet är för kort', 'a jelszó hibás',
      'ο κωδικός είναι λάθος', 'كلمة المرور هي سرية', 'adgangskoden er udløbet', 'паролька 2024', 'heslovat Praha2024!', 'Deslo je Praha2024!',
    ]);
  });

  it('finds pass= and pw:, and a value right after the word with no verb when it looks like a password', () => {
    expectSecret('root pw is ', 'Toor#1234', '');
    expectSecret('pw: ', 'Toor#1234', '');
    expectSecret('pass: ', 'Toor#1234', '');
    expectSecret('user=admin pass=', 'Adm1n!2024', '');
    expectSecret('PASSWORD ', 'Adm1n!2024', '');
    expectSecret('PIN and password for the portal: password ', 'Portal_2024x', '');
    expectNoneFound([
      'the password on server01 expired', 'password 2FA-enabled accounts', 'tests pass: 12/15', 'pass = true', 'if ok: pass', 'password reset for user42',
      'Passwort SHA256-gehasht', 'the password policy v2.1', 'pw: ****', 'pass=${PASS}', 'la parola chiave è Roma', 'password field1', 'compass: N42',
      'bypass=1', 'heslo je tajné', 'пароль: обязательно', 'the salasana column',
    ]);
  });

  it('takes a quoted value after a password word even when it is a plain word, but not after token or secret', () => {
    expectSecret("the password is '", 'sunshine', "'");
    expectSecret('the password is “', 'letmein22', '”');
    expect(found('the next token is "because"')).toEqual([]);
    expect(found("the secret is 'patience'")).toEqual([]);
  });

  it('finds a later password when the first word is not followed by one', () => {
    expectSecret('Temporary PIN and password: password is ', 'Tmp#5521', ', PIN 4921');
  });

  it('does not flag ordinary prose, forms, placeholders, templates, code or language-model tokens', () => {
    expectNoneFound([
      'the password is required',
      'password is too short',
      'reset your password is easy',
      'token is valid',
      'the secret is to keep functions small',
      'password: ********',
      'password: <redacted>',
      'password=${PASSWORD}',
      'token: {{ secrets.X }}',
      'Your password is case-sensitive.',
      'The password is incorrect. Please try again.',
      'the password is "required"',
      'Passwort ist geheim',
      'The secret is: Always test first.',
      'In GPT-2 the EOS token is 50256.',
      '{"token": "ĠHello", "logprob": -0.31}',
      'The token was issued on 2024-01-15 and is v1.2.3 compatible.',
      'max token: 128000',
      'password = hunter2_var',
      'token = getToken()',
      'secret = os.urandom(32)',
      'password: SecretStr',
      'pwd: /home/runner/work',
      'password: !vault |',
      "token: 'iron_pat_x'",
      'token: process.env.IRON_TOKEN!,',
      'passwords are hashed; the tokenizer is fast; the secretary is here',
    ]);
  });
});

describe('findSecrets: near-misses and hard negatives', () => {
  it('respects word boundaries', () => {
    expect(found('task-list desk-top risk-averse ghost_town mask_live_x')).toEqual([]);
    expect(found(`task-${chars(ALNUM, 48)} mask_live_${chars(ALNUM, 24)} xghp_${chars(ALNUM, 36)}`)).toEqual([]);
  });

  it('ignores documentation placeholders', () => {
    expectNoneFound(['sk-...', 'sk-xxxxxxxx', 'sk-YOUR_KEY_HERE', 'sk_test_123', 'eyJhbGciOi...', `sk-${'x'.repeat(48)}`, `ghp_${'x'.repeat(36)}`, 'xoxb-your-bot-token', 'sk-abcdefghijklmnopqrstuvwxyz0123456789abcdefghij']);
  });

  it('ignores hashes, ids, versions and package names', () => {
    expectNoneFound([
      `request ${'3f1e6a3c-5b7d-4c8e-9f0a-1b2c3d4e5f60'} failed`,
      `commit ${chars('0123456789abcdef', 40)}`,
      `sha256 ${chars('0123456789abcdef', 64)}`,
      `blob ${chars(BASE64, 120)}==`,
      'v2.31.0-rc.1+build.5',
      'npm i @scope/pkg@1.2.3',
      `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${chars(BASE64, 43)} dev@laptop`,
    ]);
  });

  it('finds several secrets in one text, each once', () => {
    const id = `AKIA${chars(BASE32, 16)}`;
    const secret = chars(BASE64, 40);
    const key = `sk-proj-${chars(BASE64URL, 74)}T3BlbkFJ${chars(BASE64URL, 74)}`;
    const text = `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\nOPENAI_API_KEY="${key}"`;
    expect(found(text)).toEqual([id, secret, key]);
  });
});

describe('findSecrets: adversarial 1 MB inputs', () => {
  const size = 1_000_000;
  const inputs: Record<string, string> = {
    "'sk-'": 'sk-',
    "'eyJ'": 'eyJ',
    "'eyJa.'": 'eyJa.',
    "'-----BEGIN PRIVATE KEY-----'": '-----BEGIN PRIVATE KEY-----',
    "'://a:'": '://a:',
    "'a'": 'a',
    "'ghp_'": 'ghp_',
    "'x@'": 'x@',
    "'AKIA'": 'AKIA',
    "'password='": 'password=',
    "'sk_live_'": 'sk_live_',
    "'xoxb-1'": 'xoxb-1',
    "'secret access key '": 'secret access key ',
    "'Bearer '": 'Bearer ',
    "'api_key: \"'": 'api_key: "',
    "'-----BEGIN PRIVATE KEY-----\\nMIIE'": '-----BEGIN PRIVATE KEY-----\nMIIE',
    "'a='": 'a=',
    "'eyJhbGciOiJub25lIn0.eyJ'": 'eyJhbGciOiJub25lIn0.eyJ',
    "'password is '": 'password is ',
    "'token: \"'": 'token: "',
    "'Passwort: x'": 'Passwort: x',
    "'contraseña es '": 'contraseña es ',
    "'mot de passe'": 'mot de passe',
    "'Authorization: Token '": 'Authorization: Token ',
  };
  // Correct results on each 1 MB, with no clock: a super-linear scan of 1 MB would run for minutes and fail on the
  // test timeout; the time itself is measured by `npm run bench` (PII detector on hostile 1 MB inputs, < 200 ms).
  for (const [name, unit] of Object.entries(inputs)) {
    it(`1 MB of ${name}: finds nothing, or only the token the repetition makes`, () => {
      const text = unit.repeat(Math.ceil(size / unit.length));
      const findings = find(text).map((f) => text.slice(f.start, f.end));
      // Repeated JWT parts: the first header.payload.signature shape is one token; nothing else matches.
      expect(findings).toEqual(unit.startsWith('eyJhbGciOiJub25lIn0') ? [`${unit}${unit}${unit.slice(0, 19)}`] : []);
    });
  }
});

describe('findSecrets: many Dockerfile ENV names on one long line', () => {
  // Each `ENV TOKEN ` read the rest of its line for its value: quadratic (4 MB in 12.6 s; 8 MB would take close to a
  // minute and run past the test timeout). Now each line is read once (~0.15 s a MB). Found by an outside hunt.
  for (const unit of ['ENV TOKEN ', 'ENV PASSWORD ']) {
    it(`8 MB of ${JSON.stringify(unit)}: finds nothing, in linear time`, () => {
      expect(find(unit.repeat(Math.ceil(8_000_000 / unit.length)))).toEqual([]);
    });
  }
});

describe('findSecrets: a header of many secret columns', () => {
  it('takes the cells of every secret column of a header, each row read once', () => {
    const text = 'user,password,note,token\ndeploy,Wq8!zLm3Rx,hello,Qz7xK2pL9mWv\nadmin,Hn4#kT9qLp,bye,Rt5yU8iO2pAs\n';
    const values = find(text).map((f) => text.slice(f.start, f.end));
    expect(values).toEqual(['Wq8!zLm3Rx', 'Qz7xK2pL9mWv', 'Hn4#kT9qLp', 'Rt5yU8iO2pAs']);
  });

  it('takes the values of every secret column of a SQL insert, each tuple read once', () => {
    const text = "INSERT INTO users (name, password, note, token) VALUES ('deploy', 'Wq8!zLm3Rx', 'hi', 'Qz7xK2pL9mWv'), ('admin', 'Hn4#kT9qLp', 'yo', 'Rt5yU8iO2pAs');";
    const values = find(text).map((f) => text.slice(f.start, f.end));
    expect(values).toEqual(['Wq8!zLm3Rx', 'Qz7xK2pL9mWv', 'Hn4#kT9qLp', 'Rt5yU8iO2pAs']);
  });

  // Each of a header's 333 `pw` columns read all the rows below it (1 MB: 3.8 s; 8 MB would take about 30 s, past the
  // test timeout). Found by an outside hunt; the rows are read once for all the header's columns now.
  it('8 MB of rows under a header of 333 `pw` columns: nothing found, in linear time', () => {
    const header = Array(333).fill('pw').join(',');
    const row = `${Array(333).fill('x').join(',')}\n`;
    expect(find(`${header}\n${row.repeat(Math.ceil(8_000_000 / row.length))}`)).toEqual([]);
  });
});

describe('findSecrets: ordinary text', () => {
  it('finds nothing in 8 MB of ordinary English and code (its speed is measured by `npm run bench`)', () => {
    const sample = [
      'The quick brown fox jumps over the lazy dog. Please summarize the attached report and list the three main risks.',
      'We should deploy the new version on Monday; the task-list in the desk-top app says the migration is done.',
      'export function add(a: number, b: number): number {\n  return a + b;\n}\nconst result = add(1, 2); // 3',
      'def fetch(url: str, timeout: int = 30) -> dict:\n    resp = requests.get(url, timeout=timeout)\n    return resp.json()',
      '{"id": 42, "name": "widget", "tags": ["a", "b"], "price": 9.99, "enabled": true}',
      '2024-05-01T12:00:00Z INFO request handled path=/api/items status=200 duration_ms=12',
      'See https://example.com/docs/getting-started for details, or email support@example.com.',
      'In 1492, Columbus sailed the ocean blue; the rest, as they say, is history (and a lot of debate).',
    ].join('\n');
    const text = sample.repeat(Math.ceil(8_000_000 / sample.length));
    expect(find(text)).toEqual([]);
  });
});

describe('findSecrets: fixtures', () => {
  it('has enough labeled texts and negatives', () => {
    expect(SECRET_FIXTURES.length).toBeGreaterThanOrEqual(150);
    expect(SECRET_NEGATIVES.length).toBeGreaterThanOrEqual(100);
    for (const fixture of SECRET_FIXTURES) for (const span of fixture.spans) expect(span.end).toBeGreaterThan(span.start);
  });

  it('reaches recall and precision >= 0.98, and at most one finding across the negatives', () => {
    let gold = 0;
    let recalled = 0;
    let predicted = 0;
    let correct = 0;
    const misses: string[] = [];
    for (const { text, spans } of SECRET_FIXTURES) {
      const findings = find(text);
      const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
      for (const span of spans) {
        gold++;
        if (findings.some((f) => overlaps(f, span))) recalled++;
        else misses.push(`missed ${text.slice(span.start, span.end)}`);
      }
      for (const finding of findings) {
        predicted++;
        if (spans.some((span) => overlaps(finding, span))) correct++;
        else misses.push(`extra ${text.slice(finding.start, finding.end)}`);
      }
    }
    const negatives = SECRET_NEGATIVES.flatMap((text) => find(text).map((f) => text.slice(f.start, f.end)));
    const recall = recalled / gold;
    const precision = correct / predicted;
    console.log(`secret fixtures: ${SECRET_FIXTURES.length} texts, ${gold} secrets, recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)}; ${negatives.length} finding(s) in ${SECRET_NEGATIVES.length} negatives`);
    expect(recall, misses.join('\n')).toBeGreaterThanOrEqual(0.98);
    expect(precision, misses.join('\n')).toBeGreaterThanOrEqual(0.98);
    expect(negatives.length, negatives.join('\n')).toBeLessThanOrEqual(1);
  });
});
