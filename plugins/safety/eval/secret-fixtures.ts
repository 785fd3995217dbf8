// Labeled texts for the SECRET recognizer: generated fake secrets of every kind in prompt-shaped text, and hard negatives.
// Everything is built from a seeded PRNG, so the corpus is the same on every run; no key here was ever a real one.
import { seededRandom } from './seeded-random.ts';

export interface SecretSpan {
  type: 'SECRET';
  start: number;
  end: number;
}

export interface SecretFixture {
  text: string;
  spans: SecretSpan[];
}

const random = seededRandom(0x5ec2e7);

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const BASE64URL = ALNUM + '-_';
const BASE64 = ALNUM + '+/';
const BASE32 = UPPER + '234567';
const HEX = '0123456789abcdef';
/** Characters a generated password uses: no `@ : / #`, which would end a URL's user info or start a comment. */
const PASSWORD_CHARS = ALNUM + '!*-_+^~';

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function chars(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

function between(min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function base64url(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

function uuid(): string {
  return `${chars(HEX, 8)}-${chars(HEX, 4)}-4${chars(HEX, 3)}-${pick(['8', '9', 'a', 'b'])}${chars(HEX, 3)}-${chars(HEX, 12)}`;
}

// ---- Fake secrets, one generator per kind --------------------------------------------------------------------------

const openAiProject = () => `sk-proj-${chars(BASE64URL, 74)}T3BlbkFJ${chars(BASE64URL, 74)}`;
const openAiServiceAccount = () => `sk-svcacct-${chars(BASE64URL, 74)}T3BlbkFJ${chars(BASE64URL, 74)}`;
const openAiAdmin = () => `sk-admin-${chars(BASE64URL, 120)}`;
const openAiLegacy = () => `sk-${chars(ALNUM, 20)}T3BlbkFJ${chars(ALNUM, 20)}`;
const anthropic = () => `sk-ant-api03-${chars(BASE64URL, 93)}AA`;
const anthropicAdmin = () => `sk-ant-admin01-${chars(BASE64URL, 93)}AA`;
const awsKeyId = () => `${pick(['AKIA', 'ASIA', 'AKIA'])}${chars(BASE32, 16)}`;
const awsSecret = () => chars(BASE64, 40);
const gitHubClassic = () => `${pick(['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'])}${chars(ALNUM, 36)}`;
const gitHubFineGrained = () => `github_pat_${chars(ALNUM, 22)}_${chars(ALNUM, 59)}`;
const slackBot = () => `xoxb-${chars(DIGITS, 12)}-${chars(DIGITS, 13)}-${chars(ALNUM, 24)}`;
const slackUser = () => `xoxp-${chars(DIGITS, 12)}-${chars(DIGITS, 12)}-${chars(DIGITS, 13)}-${chars(HEX, 32)}`;
const slackWebhook = () => `https://hooks.slack.com/services/T${chars(UPPER + DIGITS, 10)}/B${chars(UPPER + DIGITS, 10)}/${chars(ALNUM, 24)}`;
const stripe = () => `${pick(['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'])}${chars(ALNUM, pick([24, 99]))}`;
const password = () => chars(PASSWORD_CHARS, between(12, 20));
const opaqueToken = () => chars(BASE64URL, between(32, 48));
const hexSecret = () => chars(HEX, 64);

function jwt(): string {
  const header = base64url({ alg: pick(['HS256', 'RS256', 'ES256']), typ: 'JWT' });
  const payload = base64url({ sub: chars(DIGITS, 10), name: pick(['Ada Lovelace', 'Alan Turing', 'Grace Hopper']), iat: 1_700_000_000 + between(0, 9_999_999), scope: 'read write' });
  return `${header}.${payload}.${chars(BASE64URL, pick([43, 86, 342]))}`;
}

function privateKey(label: string, lines: number): string {
  const body: string[] = [];
  for (let i = 0; i < lines; i++) body.push(chars(BASE64, 64));
  body.push(`${chars(BASE64, between(8, 60))}==`);
  return `-----BEGIN ${label}-----\n${body.join('\n')}\n-----END ${label}-----`;
}

/** A key cut off mid-stream: header and base64 lines, no END. */
function truncatedPrivateKey(): string {
  const body: string[] = [];
  for (let i = 0; i < between(2, 6); i++) body.push(chars(BASE64, 64));
  body.push(chars(BASE64, between(10, 50)));
  return `-----BEGIN PRIVATE KEY-----\n${body.join('\n')}`;
}

const PEM_LABELS = ['RSA PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'];

// ---- Building labeled text ---------------------------------------------------------------------------------------

/** A secret inside a template: its offsets are recorded as the text is built. */
interface Secret {
  secret: string;
}

const s = (secret: string): Secret => ({ secret });

/** Tagged template: literal parts and plain strings are text, `s(…)` parts are labeled secrets. */
function labeled(strings: TemplateStringsArray, ...parts: Array<string | Secret>): SecretFixture {
  let text = strings[0] as string;
  const spans: SecretSpan[] = [];
  parts.forEach((part, i) => {
    if (typeof part === 'string') text += part;
    else {
      spans.push({ type: 'SECRET', start: text.length, end: text.length + part.secret.length });
      text += part.secret;
    }
    text += strings[i + 1] as string;
  });
  return { text, spans };
}

/** Keys whose format names them: they read the same in any sentence. */
const PREFIXED: Array<() => string> = [
  openAiProject, openAiServiceAccount, openAiAdmin, openAiLegacy, anthropic, anthropicAdmin, awsKeyId, gitHubClassic,
  gitHubFineGrained, slackBot, slackUser, stripe,
];

/** Prompt-shaped contexts for one self-identifying key. */
const KEY_TEMPLATES: Array<(key: string) => SecretFixture> = [
  (k) => labeled`here is my key ${s(k)}, why does it fail?`,
  (k) => labeled`I keep getting 401 Unauthorized with ${s(k)} — is it expired? request id ${uuid()}`,
  (k) => labeled`export API_TOKEN=${s(k)}\nnpm run start`,
  (k) => labeled`{"model": "gpt-4o-mini", "api_key": "${s(k)}", "timeout": 30, "trace": "${uuid()}"}`,
  (k) => labeled`provider:\n  name: primary\n  api_key: ${s(k)}\n  max_tokens: 1024\n  retries: 3`,
  (k) => labeled`client = Client(api_key="${s(k)}")\nresp = client.messages.create(model="claude-sonnet-4", max_tokens=512, messages=msgs)`,
  (k) => labeled`const client = new Client({ apiKey: '${s(k)}', timeout: 60_000 });`,
  (k) => labeled`2024-05-01T12:00:0${String(between(0, 9))}Z WARN auth rejected key=${s(k)} commit=${chars(HEX, 40)} latency_ms=${String(between(5, 900))}`,
  (k) => labeled`Can you check why this works locally but not in CI?\n\n\`\`\`\nTOKEN="${s(k)}"\ncurl -sS -H "X-Token: $TOKEN" https://api.internal/v1/ping\n\`\`\``,
  (k) => labeled`My teammate pasted ${s(k)} in Slack by mistake. How do I rotate it?`,
  (k) => labeled`settings.py:\nDEBUG = False\nSERVICE_KEY = '${s(k)}'\nALLOWED_HOSTS = ["api.example.org"]`,
  (k) => labeled`curl https://api.example.com/v1/items -H "Authorization: Bearer ${s(k)}" -H "Content-Type: application/json" -d '{"limit": 10}'`,
  (k) => labeled`Is \`${s(k)}\` still valid? The dashboard (build ${chars(HEX, 7)}) says it was created on 2024-03-02.`,
  (k) => labeled`GET https://proxy.internal/v1/fetch?url=https%3A%2F%2Fexample.com&key=${s(k)}&format=json`,
  (k) => labeled`The old key was revoked, so I generated a new one: ${s(k)}.`,
];

function keyFixtures(): SecretFixture[] {
  const out: SecretFixture[] = [];
  for (const make of PREFIXED) for (const template of KEY_TEMPLATES) if (random() < 0.55) out.push(template(make()));
  return out;
}

function structuredFixtures(): SecretFixture[] {
  const out: SecretFixture[] = [];
  for (let i = 0; i < 6; i++) {
    out.push(labeled`Cookie: theme=dark; session=${s(jwt())}; lang=en`);
    out.push(labeled`Why does the API say "invalid signature" for ${s(jwt())}? I signed it with our HS256 secret.`);
    out.push(labeled`GET /callback?state=${chars(HEX, 16)}&id_token=${s(jwt())} HTTP/1.1`);
  }
  for (const label of PEM_LABELS) {
    out.push(labeled`My deploy fails with "bad key", here is the file:\n\n${s(privateKey(label, between(3, 12)))}\n\nWhat is wrong with it?`);
  }
  for (let i = 0; i < 3; i++) {
    const pem = privateKey('PRIVATE KEY', between(4, 10)).replaceAll('\n', '\\n');
    out.push(labeled`{"type": "service_account", "project_id": "demo-${chars(LOWER, 6)}", "private_key": "${s(pem)}\\n", "client_email": "svc@demo.iam.gserviceaccount.com"}`);
    out.push(labeled`streaming the key file… ${s(truncatedPrivateKey())}`);
  }
  for (let i = 0; i < 6; i++) {
    out.push(labeled`requests.post("${s(slackWebhook())}", json={"text": "deploy ${chars(HEX, 7)} done"})`);
  }
  return out;
}

function urlPasswordFixtures(): SecretFixture[] {
  const out: SecretFixture[] = [];
  for (let i = 0; i < 4; i++) {
    out.push(labeled`DATABASE_URL=postgres://app_user:${s(password())}@db.internal:5432/prod?sslmode=require`);
    out.push(labeled`client = MongoClient("mongodb+srv://svc-reader:${s(password())}@cluster0.${chars(LOWER + DIGITS, 5)}.mongodb.net/app?retryWrites=true")`);
    out.push(labeled`REDIS_URL=redis://:${s(password())}@cache.internal:6379/0`);
    out.push(labeled`it connects with mysql://root:${s(password())}@10.0.${String(between(0, 255))}.${String(between(1, 254))}:3306/shop but times out, any idea?`);
    out.push(labeled`amqp://guest_${chars(LOWER, 4)}:${s(password())}@rabbit:5672/ is refusing connections since the upgrade`);
  }
  return out;
}

function assignmentFixtures(): SecretFixture[] {
  const out: SecretFixture[] = [];
  for (let i = 0; i < 3; i++) {
    out.push(labeled`api_key = "${s(opaqueToken())}"\nbase_url = "https://api.vendor.io/v2"`);
    out.push(labeled`{"client_id": "${uuid()}", "client_secret": "${s(opaqueToken())}", "redirect_uri": "https://app.local/cb"}`);
    out.push(labeled`PASSWORD=${s(password())}\nUSER=svc_backup\nPORT=5432`);
    out.push(labeled`curl -X POST https://billing.example.net/charge -H "Authorization: Bearer ${s(opaqueToken())}" -d amount=1200`);
    out.push(labeled`smtp:\n  host: mail.example.org\n  user: alerts\n  password: ${s(password())}\n  port: 587`);
    out.push(labeled`SECRET_KEY = '${s(`django-insecure-${chars(PASSWORD_CHARS, 40)}`)}'`);
    out.push(labeled`headers = {"x-api-key": "${s(opaqueToken())}", "accept": "application/json"}`);
    out.push(labeled`webhook_secret: ${s(hexSecret())}`);
  }
  return out;
}

/** Texts with two or three secrets of different kinds. */
function multiFixtures(): SecretFixture[] {
  const out: SecretFixture[] = [];
  for (let i = 0; i < 6; i++) {
    out.push(labeled`[default]\naws_access_key_id = ${s(awsKeyId())}\naws_secret_access_key = ${s(awsSecret())}\nregion = us-east-1`);
    out.push(labeled`my AWS access key is ${s(awsKeyId())} and the secret access key is ${s(awsSecret())}, but s3 ls says AccessDenied`);
    out.push(labeled`# .env\nNODE_ENV=production\nOPENAI_API_KEY=${s(openAiProject())}\nDATABASE_URL=postgres://web:${s(password())}@db:5432/web\nSTRIPE_SECRET_KEY=${s(stripe())}\nLOG_LEVEL=info`);
    out.push(labeled`{"Credentials": {"AccessKeyId": "${s(awsKeyId())}", "SecretAccessKey": "${s(awsSecret())}", "SessionToken": "${s(chars(BASE64, 300))}", "Expiration": "2025-01-01T00:00:00Z"}}`);
    out.push(labeled`git remote set-url origin https://x-access-token:${s(gitHubClassic())}@github.com/acme/api.git && SLACK_BOT_TOKEN=${s(slackBot())} ./deploy.sh`);
  }
  return out;
}

/** Secrets written as prose, in English, French, German and Spanish: only the value is the secret. */
function proseFixtures(): SecretFixture[] {
  return [
    labeled`my password is ${s('hunter2!')}`,
    labeled`Passwort: ${s('Tr0ub4dor&3')}`,
    labeled`the token was ${s('8f3k2l9x')}, but it stopped working yesterday`,
    labeled`Hi! I can't log in to the VPN. My password is ${s('Summer2024!')} and it says "access denied".`,
    labeled`The wifi password is ${s('BlueFalcon#77')}. Can you write a welcome note for guests that includes it?`,
    labeled`Forward this to Sam: the admin password was ${s('Adm1n-2023')} until the reset.`,
    labeled`for the staging box the root passwd is ${s('r00t4Stage')}`,
    labeled`Passphrase: ${s('correct-horse-42-battery')}`,
    labeled`the secret is ${s('Xk9#pL2q')}; keep it between us`,
    labeled`Our API token is ${s('a7Fh29Kd0qLm')} - why does the dashboard reject it?`,
    labeled`I set the password to something simple, the password is "${s('letmein22')}", please review the config.`,
    labeled`password: ${s('Pa55w0rd')}`,
    labeled`**Password:** ${s('Qz7!mW3r')}`,
    labeled`Login: admin / Password: ${s('Welcome#2024')}`,
    labeled`Username: jdoe, pwd: ${s('jd0e_Secure')}`,
    labeled`Mon mot de passe est ${s('Soleil#42')}, peux-tu m'aider à me connecter ?`,
    labeled`mot de passe : ${s('Chat-noir-77')}`,
    labeled`Mein Passwort ist ${s('Sommer2024')}. Warum klappt die Anmeldung nicht?`,
    labeled`Das Passwort lautet ${s('Fr3ihe!t')}`,
    labeled`Mi contraseña es ${s('Gato_2024')} y no puedo entrar.`,
    labeled`La contraseña era '${s('perro1234')}'`,
    labeled`Contraseña: ${s('Lun@Llena9')}`,
    labeled`The token is: ${s('9dF3kQ2x7L')}`,
    labeled`db password was ${s('postgres!99')} before the migration`,
    labeled`{"user": "svc", "password": "${s('Secret123')}"}`,
    labeled`new password: ${s('N3wP@ssword')} (temporary, change after first login)`,
    labeled`Your one-time secret is ${s('7Gh2-Kp9q')}.`,
    labeled`PASSWORD IS ${s('ZEBRA-7731')}`,
    labeled`the password is \`${s('s3cr3tSauce')}\` for the test account`,
    labeled`Temporary PIN and password: password is ${s('Tmp#5521')}, PIN 4921`,
  ];
}

export const SECRET_FIXTURES: SecretFixture[] = [...keyFixtures(), ...structuredFixtures(), ...urlPasswordFixtures(), ...assignmentFixtures(), ...multiFixtures(), ...proseFixtures()];

// ---- Hard negatives ----------------------------------------------------------------------------------------------

const LITERAL_NEGATIVES = [
  // Placeholders and truncated documentation samples.
  'Set OPENAI_API_KEY=sk-... in your shell, then run the script.',
  'export OPENAI_API_KEY="sk-xxxxxxxx"',
  'OPENAI_API_KEY=sk-YOUR_KEY_HERE',
  'export OPENAI_API_KEY="<your-api-key>"',
  'api_key: "YOUR_API_KEY_HERE"',
  'ANTHROPIC_API_KEY=sk-ant-api03-...',
  'Stripe test keys look like sk_test_123 in the docs.',
  'The token starts with eyJhbGciOi... and has three parts.',
  'Authorization: Bearer $TOKEN',
  'Authorization: Bearer <token>',
  'curl -H "Authorization: Bearer ${OPENAI_API_KEY}" https://api.openai.com/v1/models',
  'headers = {"Authorization": f"Bearer {token}"}',
  'Bearer YOUR_ACCESS_TOKEN',
  'password: ${DB_PASSWORD}',
  'password: ${{ secrets.DB_PASSWORD }}',
  'token: ${{ secrets.GITHUB_TOKEN }}',
  'password = "********"',
  'PASSWORD=changeme',
  'DB_PASSWORD=<password>',
  'DATABASE_URL=postgres://user:password@localhost:5432/db',
  'postgres://${DB_USER}:${DB_PASS}@db:5432/app',
  'mysql://root:<password>@localhost:3306/shop',
  'redis://:{password}@cache:6379',
  'amqp://guest:$RABBIT_PASSWORD@rabbit:5672/',
  'mongodb://admin:****@mongo:27017',
  'https://user:xxx@example.com/',
  'AWS documents the sample key id AKIAIOSFODNN7EXAMPLE.',
  'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
  'SLACK_BOT_TOKEN=xoxb-your-bot-token',
  'GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'Fine-grained tokens start with github_pat_ followed by random characters.',
  '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----',
  'Files in this format start with -----BEGIN RSA PRIVATE KEY----- and are secret.',
  // Code that names secrets without holding them.
  'const apiKey = process.env.OPENAI_API_KEY;',
  'api_key = os.environ["OPENAI_API_KEY"]',
  'password = getpass.getpass("Password: ")',
  'self.secret_key = settings.SECRET_KEY',
  'SECRET_KEY = os.environ.get("SECRET_KEY")',
  'def login(username: str, password: str) -> Token:',
  'interface Credentials { username: string; password: string; }',
  'const token = await getToken();',
  'token = jwt.encode(payload, signing_key, algorithm="HS256")',
  'refresh_token: Optional[str] = None',
  'api_key: str = Field(..., env="API_KEY")',
  '{"api_key": null, "password": "", "token": false}',
  'connect(host=host, user=user, password=db_password)',
  'password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt())',
  'passwordPolicy: strict\npassword_min_length: 12',
  'secretName: tls-frontend-cert',
  'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials',
  'if (!apiKey) throw new Error("Missing API key: set OPENAI_API_KEY");',
  'max_tokens: 4096\ntemperature: 0.2',
  '{"access_token_expires_in": 3600, "token_type": "Bearer"}',
  'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
  'cache_key = f"user:{user_id}:profile"',
  'primary_key: id',
  'The password field is required.',
  'Rotate the secret access key every 90 days and never share it.',
  'Use a Bearer token in the Authorization header, or Basic auth for the legacy API.',
  'Basic usage: run the CLI with --help.',
  'Never commit your API key to git; use a secret manager instead.',
  // Words that contain prefixes.
  'Add it to the task-list on the desk-top app; the team is risk-averse.',
  'We drove through a ghost_town; mask_live_x is a variable name.',
  'import sklearn; from sklearn.model_selection import train_test_split',
  'The xoxo ending and the ghee recipe are unrelated.',
  // URLs without passwords, versions, package names.
  'postgres://localhost:5432/db',
  'https://user@host/path',
  'https://example.com/a:b@c',
  'git clone git@github.com:acme/api.git',
  'ssh://git@github.com:22/acme/api.git',
  'redis://localhost:6379/0 and mongodb://mongo:27017/test',
  'http://[::1]:8080/health',
  'mailto:support@example.com',
  'npm install @scope/pkg@1.2.3 left-pad@1.3.0',
  'Released v2.31.0-rc.1+build.5 on 2024-05-01.',
  'https://example.com/users/@alice:matrix.org',
  // Public material.
  'pk_live_51HqLyjWDarjtT1zdp7dcAbCdEfGhIjKlMnOpQrStUvWx',
  'Publishable key: pk_test_TYooMQauvdEDq54NiTphI7jx',
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEq7bV9Z0qLc8d4YxH2t9k1pW3mN6vR8sQ0uJ5eF2gH7iK1lM4nO9pQ3rS6tU8vW0xY2zA4bC6dE8fG0hI2jK4lM==\n-----END PUBLIC KEY-----',
  'The JWT header eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 alone is not a token.',
  'eyJmb28iOiJiYXIifQ.eyJiYXoiOjF9.c2lnbmF0dXJlX2hlcmVfMTIzNDU2Nzg',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.SIGNATURE',
  // Prose about passwords, secrets and tokens that holds none.
  'The password is required.',
  'Error: password is too short (minimum 12 characters).',
  'To reset your password is easy: click "Forgot password" on the login page.',
  'The token is valid for 24 hours, after which the client must refresh it.',
  'The secret is to keep each function small and give it one job.',
  'password: ********',
  'password: <redacted>',
  'password=${PASSWORD}',
  'token: {{ secrets.DEPLOY_TOKEN }}',
  'Your password is case-sensitive and must contain a digit.',
  'The password is incorrect. Please try again.',
  'If the token is expired, the API answers 401.',
  'In GPT-2 the EOS token is 50256 and the vocabulary has 50257 entries.',
  'The next token is "because" with probability 0.41.',
  '{"token": "ĠHello", "logprob": -0.31, "bytes": [72, 101, 108, 108, 111]}',
  'The password was changed on 2024-03-02 by the admin.',
  'The token was issued on 2024-01-15T10:00:00Z and expires in 3600 seconds.',
  'Passwort ist falsch. Bitte erneut versuchen.',
  'Le mot de passe est obligatoire.',
  'La contraseña es incorrecta.',
  'password = get_password(user)',
  'token = tokens[i]',
  'secret = secrets.token_hex(32)',
  'password: SecretStr',
  'pwd: /home/runner/work/app',
  'password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256',
  'The secret is: Always write the test first.',
  'password is N/A for SSO users',
  'The token is v2.1.0 compatible.',
  'Set the password to the same value as before.',
  'max token: 128000',
  'the password is "required"',
  'token: str = Depends(oauth2_scheme)',
  'password = hunter2_var',
];

/** Generated hard negatives: hashes, ids and public keys that are as random as secrets but not secret. */
function generatedNegatives(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) {
    out.push(`commit ${chars(HEX, 40)}\nAuthor: Dev <dev@example.com>`);
    out.push(`sha256:${chars(HEX, 64)}  dist/app.tar.gz`);
    out.push(`request_id=${uuid()} trace_id=${chars(HEX, 32)} status=200`);
    out.push(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${chars(BASE64, 43)} dev@laptop`);
    out.push(`ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ${chars(BASE64, 300)} ci@runner`);
    out.push(`Publishable key for the checkout page: ${pick(['pk_live_', 'pk_test_'])}${chars(ALNUM, 24)}`);
    out.push(`-----BEGIN CERTIFICATE-----\n${chars(BASE64, 64)}\n${chars(BASE64, 64)}\n${chars(BASE64, 20)}==\n-----END CERTIFICATE-----`);
    out.push(`image: registry.example.com/api@sha256:${chars(HEX, 64)}`);
    out.push(`"integrity": "sha512-${chars(BASE64, 86)}=="`);
    out.push(`data:image/png;base64,${chars(BASE64, 120)}=`);
    out.push(`idempotency_key: ${uuid()}`);
    out.push(`The build ${chars(HEX, 12)} passed; artifact ${uuid()}.tgz uploaded.`);
  }
  return out;
}

export const SECRET_NEGATIVES: string[] = [...LITERAL_NEGATIVES, ...generatedNegatives()];
