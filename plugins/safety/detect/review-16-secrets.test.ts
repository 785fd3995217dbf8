// Outside review 16: a secret followed by another field (compact JSON, `key=value,…` lists) was read past its end, the
// next field's value outscored it, and the secret went out in clear, even with `SECRET: block`.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../eval/seeded-random.ts';
import { createDetector } from './index.ts';
import { resolveOverlaps } from './overlaps.ts';

const detector = createDetector();
const found = (text: string) => detector.detect(text).map((f) => `${f.type} ${text.slice(f.start, f.end)}`);

describe('a secret followed by another field', () => {
  it("ends at its JSON string's end; in a key=value list it keeps the names up to the next value found (fail closed)", () => {
    const cases: Array<[string, string[]]> = [
      ['{"note":"my password is Quokka!2291","email":"bob@corp.io"}', ['SECRET Quokka!2291', 'EMAIL_ADDRESS bob@corp.io']],
      // (A generated password may hold `;j=k`: a list's `,name=` does not end a value, and what follows it is over-redacted.)
      ['password=Quokka!2291,card=4111111111111111', ['SECRET Quokka!2291,card=', 'CREDIT_CARD 4111111111111111']],
      ['api_key=Zq8Lm2Xk9Rt4Wq7Pn3;host=10.0.4.17', ['SECRET Zq8Lm2Xk9Rt4Wq7Pn3;host=', 'IP_ADDRESS 10.0.4.17']],
      ['{"comment":"the wifi password is Quokka!2291","n":1}', ['SECRET Quokka!2291']],
      ['password=Quokka!2291;user=bob', ['SECRET Quokka!2291;user=bob']],
      // JSON inside a JSON string: the escaped quote ends it.
      ['{"arguments":"{\\"note\\":\\"my password is Quokka!2291\\",\\"id\\":7}"}', ['SECRET Quokka!2291']],
      ['DB_PASSWORD=Quokka!2291;API_TOKEN=ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5', ['SECRET Quokka!2291;API_TOKEN=', 'SECRET ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5']],
    ];
    for (const [text, expected] of cases) expect(found(text), text).toEqual(expected);
  });

  it('keeps a comma, a semicolon or a quote inside a password that no field follows', () => {
    expect(found('DB_PASSWORD=Tr0ub4dor,3x!')).toEqual(['SECRET Tr0ub4dor,3x!']);
    expect(found('password=Quo;kka!2291')).toEqual(['SECRET Quo;kka!2291']);
    expect(found('the password is Tr0ub"4dor&3')).toEqual(['SECRET Tr0ub"4dor&3']);
  });

  it('seeded: a password before any mix of fields, in compact JSON, key=value lists and escaped JSON, is always covered whole', () => {
    const random = seededRandom(16);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const others = [
      ['email', 'bob@corp.io'],
      ['card', '4111111111111111'],
      ['phone', '+44 20 7946 0958'],
      ['host', '10.0.4.17'],
      ['token', 'ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'],
      ['n', '1'],
      ['user', 'bob'],
    ] as const;
    const symbols = '!#$%*+-./@^_~';
    for (let n = 0; n < 400; n++) {
      let password = '';
      for (let k = 0; k < 8 + Math.floor(random() * 8); k++) password += pick(['abcdefghjkmnpqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', symbols].map((set) => set.charAt(Math.floor(random() * set.length))));
      // (Ending in a letter: a full stop or `!` at a prose value's end is read as the sentence's.)
      password = `Qx9${password}k`;
      const fields = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(others));
      const layout = pick(['json', 'kv,', 'kv;', 'escaped', 'prose-json'] as const);
      let text: string;
      if (layout === 'json') text = JSON.stringify(Object.fromEntries([['password', password], ...fields]));
      else if (layout === 'prose-json') text = JSON.stringify(Object.fromEntries([['note', `my password is ${password}`], ...fields]));
      else if (layout === 'escaped') text = JSON.stringify({ arguments: JSON.stringify(Object.fromEntries([['note', `the password is ${password}`], ...fields])) });
      else text = [`password=${password}`, ...fields.map(([name, value]) => `${name}=${value}`)].join(layout.slice(2));
      const at = text.indexOf(password);
      const findings = detector.detect(text);
      const covering = findings.find((f) => f.type === 'SECRET' && f.start <= at && f.end >= at + password.length);
      expect(covering, `${layout}: ${text} → ${JSON.stringify(findings)}`).toBeDefined();
      // In JSON, not into the next field either (a rewritten tool argument stays valid JSON).
      if (!layout.startsWith('kv')) expect(covering!.end - covering!.start, text).toBeLessThanOrEqual(password.length + 1);
      // Whatever else the text holds is found or covered too: an e-mail, a card, a phone, an address, a token.
      for (const [, value] of fields.filter(([name]) => name !== 'n' && name !== 'user')) {
        const v = text.indexOf(value, at + password.length);
        expect(findings.some((f) => f.start <= v && f.end >= v + value.length) || findings.filter((f) => f.start < v + value.length && f.end > v).length > 0, `${value} in ${text}`).toBe(true);
      }
    }
  });
});

describe('a password word that names what it is for', () => {
  it('finds the value after "password for the VPN:" in every language of the prose words', () => {
    const cases: Array<[string, string]> = [
      ['password for the VPN: Zubr#5521', 'Zubr#5521'],
      ['the password for the guest wifi is "lemonTree88"', 'lemonTree88'],
      ['Le mot de passe du Wi-Fi est Cerise#7731', 'Cerise#7731'],
      ['contraseña del wifi: Tortuga_91x', 'Tortuga_91x'],
      ['senha do wifi: Caju2024!', 'Caju2024!'],
      ['Hasło do VPN to Zubr#5521', 'Zubr#5521'],
      ['пароль от почты — Волга#2024', 'Волга#2024'],
      ['Passwort für den Router: Nordsee!2025', 'Nordsee!2025'],
      ['pw for the admin panel: S3cure!Pass', 'S3cure!Pass'],
      ['The token for the staging API is 9fK2mQ7vLxPq', '9fK2mQ7vLxPq'],
    ];
    for (const [text, value] of cases) expect(found(text), text).toEqual([`SECRET ${value}`]);
  });

  it('reads no value where the phrase leads to prose', () => {
    for (const text of ['the password for the admin account is required', 'a token for each request: see the docs', 'password for your account: at least 12 characters', 'Reset the password for all users of the tenant now']) {
      expect(found(text), text).toEqual([]);
    }
  });
});

describe('passwords in the config formats and tables people paste', () => {
  it('finds them in XML elements, named arguments, .NET settings, Docker auth and password columns', () => {
    const cases: Array<[string, string[]]> = [
      ['<server>\n  <id>nexus</id>\n  <username>deploy</username>\n  <password>Wq8!zLm3Rx</password>\n</server>', ['Wq8!zLm3Rx']],
      ['<db.password> s3cr3tPassw0rd </db.password>', ['s3cr3tPassw0rd']],
      ["define( 'DB_PASSWORD', 'Wq8!zLm3Rx' );", ['Wq8!zLm3Rx']],
      ['os.environ.setdefault("API_KEY", "sk_9fK2mQ7vLxPqW3")', ['sk_9fK2mQ7vLxPqW3']],
      ['<add key="SmtpPassword" value="Wq8!zLm3Rx"/>', ['Wq8!zLm3Rx']],
      ['<param name="password" value="Wq8!zLm3Rx">', ['Wq8!zLm3Rx']],
      ['variable "db_password" {\n  type    = string\n  default = "Wq8!zLm3Rx"\n}', ['Wq8!zLm3Rx']],
      ['{"auths":{"registry.example.com":{"auth":"ZGVwbG95OldxOCF6TG0zUng="}}}', ['ZGVwbG95OldxOCF6TG0zUng=']],
      ['//registry.npmjs.org/:_auth=ZGVwbG95OldxOCF6TG0zUng=', ['ZGVwbG95OldxOCF6TG0zUng=']],
      ['username,password\ndeploy,Wq8!zLm3Rx\nadmin,Tr0ub4dor&3x', ['Wq8!zLm3Rx', 'Tr0ub4dor&3x']],
      ['user\tpassword\tnote\ndeploy\tWq8!zLm3Rx\tprod', ['Wq8!zLm3Rx']],
      ['| user | password |\n|------|----------|\n| deploy | Wq8!zLm3Rx |\n| admin | Tr0ub4dor&3x |', ['Wq8!zLm3Rx', 'Tr0ub4dor&3x']],
      ["INSERT INTO users (username, password) VALUES ('deploy', 'Wq8!zLm3Rx'), ('admin', 'Tr0ub4dor&3x');", ['Wq8!zLm3Rx', 'Tr0ub4dor&3x']],
      ["INSERT INTO users (password, name)\nVALUES\n  ('Wq8!zLm3Rx', 'deploy');", ['Wq8!zLm3Rx']],
    ];
    for (const [text, values] of cases) expect(found(text), text).toEqual(values.map((v) => `SECRET ${v}`));
  });

  it('reads no secret in the forms, templates and docs around them', () => {
    for (const text of [
      '<password>${env.NEXUS_PASSWORD}</password>',
      '<password></password>',
      '<input type="password">Enter your password</input>',
      "t('password', 'Your password')",
      '["password", "confirm_password"]',
      '{"auth":"not base64 at all"}',
      '{"auth":"dGhpcyBoYXMgbm8gY29sb24="}',
      'id,token,count\n1,the,12\n2,a,9',
      'name,password\nbob,<redacted>\nann,changeme',
      '| field | meaning |\n|---|---|\n| token | the API token |\n| secret | see docs |',
      'Set a budget, token, and cost limit per agent.',
      'variable "region" {\n  default = "eu-west-1b9x"\n}',
    ]) {
      expect(found(text), text).toEqual([]);
    }
  });
});

describe('vendor tokens, spaced names and what only looks like a secret (outside review 16)', () => {
  const random = seededRandom(161);
  const chars = (n: number, set: string) => Array.from({ length: n }, () => set.charAt(Math.floor(random() * set.length))).join('');
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const HEX = '0123456789abcdef';
  it("finds each vendor's documented token shape standing alone", () => {
    const tokens = [
      `GOCSPX-${chars(28, B64)}`, `sq0atp-${chars(22, B64)}`, `sq0csp-${chars(43, B64)}`, `figd_${chars(40, B64)}`, `sntrys_eyJ${chars(90, B64)}`,
      `sntryu_${chars(64, HEX)}`, `PMAK-${chars(24, HEX)}-${chars(34, HEX)}`, `pul-${chars(40, HEX)}`, `xkeysib-${chars(64, HEX)}-${chars(16, B64)}`,
      `shippo_live_${chars(40, HEX)}`, `dt0c01.${chars(24, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}.${chars(64, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
      `rubygems_${chars(48, HEX)}`, `api_org_${chars(34, B64)}`, `HRKU-${chars(36, B64)}`, `fo1_${chars(43, B64)}`, `nfp_${chars(36, B64)}`,
      `rnd_${chars(32, B64)}`, `pscale_tkn_${chars(43, B64)}`, `glcbt-${chars(30, B64)}`, `ops_eyJ${chars(200, B64)}`, `sk.eyJ1Ijoi${chars(60, B64)}.${chars(22, B64)}`,
    ];
    for (const token of tokens) expect(found(`deploy with ${token} today`), token).toEqual([`SECRET ${token}`]);
  });

  it('reads a key or token named in two words of prose', () => {
    for (const text of ['secret key: 9fK2mQ7vLxPq', 'api key: 9fK2mQ7vLxPq', 'API Key = 9fK2mQ7vLxPq', 'access token: 9fK2mQ7vLxPq3x', 'my secret key is 9fK2mQ7vLx', 'The Secret Key is: 9fK2mQ7vLxPq']) {
      expect(found(text), text).toHaveLength(1);
    }
    for (const text of ['the primary key: id', 'cache key: user-123', 'max token: 4096', 'Private key: see the vault', 'the secret key is required']) expect(found(text), text).toEqual([]);
  });

  it('finds a Discord webhook URL whole, not its documented template', () => {
    const url = `https://discord.com/api/webhooks/739980740187031021/${chars(68, `${B64}-_`)}`;
    expect(found(`Post alerts to ${url} now`)).toEqual([`SECRET ${url}`]);
    expect(found('see https://discord.com/api/webhooks/{webhook.id}/{webhook.token}')).toEqual([]);
  });

  it("reads no secret in an OAuth answer's next field or an ARN's secret name", () => {
    expect(found('token_type=Bearer expires_in=3600 scope=read')).toEqual([]);
    expect(found('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf')).toEqual([]);
    expect(found('Authorization: Bearer dGhpc2lzYXRva2VuMTIz==')).toEqual(['SECRET dGhpc2lzYXRva2VuMTIz==']);
  });
});

describe("outside review 17: the fixes' next step", () => {
  it('reads "password for <an address, a host, a quoted name> is X" and a password "at" a place', () => {
    const cases: Array<[string, string]> = [
      ['Password for jane.doe@acme.com is Tr33house&7 please remember', 'Tr33house&7'],
      ['Password for admin@corp.io: Tr33house&7', 'Tr33house&7'],
      ['password for root@10.0.0.5 is Gh7!kLp2q', 'Gh7!kLp2q'],
      ['The password for user "deploy" is Xy7$kk9Lm', 'Xy7$kk9Lm'],
      ['the wifi password at the cabin is now MooseLake2024', 'MooseLake2024'],
    ];
    for (const [text, value] of cases) expect(found(text).filter((f) => f.startsWith('SECRET')), text).toEqual([`SECRET ${value}`]);
  });

  it('finds the password column of a SQL insert wherever it stands among the columns, in every row', () => {
    expect(found("INSERT INTO users (id, login, password, email) VALUES (1, 'frank', 'Fr4nk!pw', 'frank@x.io');")).toEqual(['SECRET Fr4nk!pw', 'EMAIL_ADDRESS frank@x.io']);
    expect(found("INSERT INTO t (login, password, note) VALUES ('frank','Fr4nk!pw','hi'), ('ann','Ann#2024x','yo');")).toEqual(['SECRET Fr4nk!pw', 'SECRET Ann#2024x']);
  });

  it('reads a JSON object or array after a password word as structure, so a redacted tool result stays valid JSON', () => {
    for (const text of ['{"errors":{"password":["This field is required."]},"schema":{"secret":{"name":"db","key":"password"}}}', '{"password": {"type": "string", "minLength": 12}}', 'kubectl create secret generic db --from-file=password=./pw.txt']) {
      expect(found(text), text).toEqual([]);
    }
    expect(found('PASSWORD=[Nov]2024!,x')).toEqual(['SECRET [Nov]2024!,x']);
  });

  it("finds a Sentry token's standard base64 whole, and a JBoss property named password", () => {
    const token = 'sntrys_eyJpYXQiOjE3MTIzNDU2NzguMTIzLCJ1cmwiOiJodHRwczovL3NlbnRyeS5pbyJ9_Qm9xP3Lk+7Zr/Ty8Wv2Nd5Hs1Jc4Gf6Ba9Xe0Ru3Ki7';
    expect(found(`SENTRY_AUTH_TOKEN=${token}`)).toEqual([`SECRET ${token}`]);
    expect(found('<Property name="password">Jb0ss!Pw99</Property>')).toEqual(['SECRET Jb0ss!Pw99']);
    expect(found('<Property name="timeout">30000ms</Property>')).toEqual([]);
  });
});

describe('resolveOverlaps', () => {
  it('keeps the part of a losing SECRET the winner does not cover, before or after it', () => {
    expect(resolveOverlaps([{ type: 'SECRET', start: 0, end: 30, score: 0.7 }, { type: 'EMAIL_ADDRESS', start: 20, end: 30, score: 0.95 }])).toEqual([
      { type: 'SECRET', start: 0, end: 20, score: 0.7 },
      { type: 'EMAIL_ADDRESS', start: 20, end: 30, score: 0.95 },
    ]);
    expect(resolveOverlaps([{ type: 'CREDIT_CARD', start: 0, end: 16, score: 0.9 }, { type: 'SECRET', start: 10, end: 40, score: 0.7 }, { type: 'IP_ADDRESS', start: 45, end: 50, score: 0.9 }])).toEqual([
      { type: 'CREDIT_CARD', start: 0, end: 16, score: 0.9 },
      { type: 'SECRET', start: 16, end: 40, score: 0.7 },
      { type: 'IP_ADDRESS', start: 45, end: 50, score: 0.9 },
    ]);
    // Other types lose whole, as before (a phone's stray group is no phone).
    expect(resolveOverlaps([{ type: 'PHONE_NUMBER', start: 0, end: 22, score: 0.6 }, { type: 'CREDIT_CARD', start: 0, end: 19, score: 0.9 }])).toEqual([{ type: 'CREDIT_CARD', start: 0, end: 19, score: 0.9 }]);
  });
});
