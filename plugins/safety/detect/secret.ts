// SECRET: API keys and tokens of known formats, JWTs, private key blocks, passwords in URLs, values assigned to secret names
// and secrets written as prose ("my password is hunter2!").
// Every search starts from `indexOf` on a distinctive prefix or separator, then scans forward with character-class checks.
// A scan that runs over a candidate consumes it (the next search starts after it), so no input makes this slower than linear.
import type { PiiFinding, Recognizer } from '../types.ts';
import { codeAt, noteNeedles, realChar, realIndexOf, realSlice } from './narrow-view.ts';
import { resolveOverlaps } from './overlaps.ts';
import { indexWithin, lineEndAt, lineStartAt } from './bounded-search.ts';
import { INSERT_INTO_SOURCE } from './columns.ts';

/** Distinctive prefixes: a random body after them is a key whatever the context. */
const SCORE_PREFIXED = 0.99;
/** Structures checked beyond their prefix: a JWT's header decodes, a PEM block names a private key, AWS secrets have context. */
const SCORE_STRUCTURED = 0.9;
/** `sk-` + random body without an OpenAI marker: other providers use `sk-` too, but so might an identifier. */
const SCORE_LOOSE_PREFIX = 0.8;
const SCORE_URL_PASSWORD = 0.85;
/** A value after a secret-looking name: the name is the only evidence. */
const SCORE_ASSIGNED = 0.7;

// Character classes for ASCII, one bit each; characters >= 128 are in none.
const LOWER = 1;
const UPPER = 2;
const DIGIT = 4;
const DASH = 8;
const UNDERSCORE = 16;
const PLUS_SLASH = 32;
const EQUALS = 64;
const DOT = 128;
const TILDE = 256;
const SPACE = 512;
/** Characters that end an unquoted value: whitespace, quotes, brackets closing, list and query separators. */
const VALUE_STOP = 1024;
const ALNUM = LOWER | UPPER | DIGIT;
const WORD = ALNUM | UNDERSCORE;
const BASE64URL = ALNUM | DASH | UNDERSCORE;
const BASE64 = ALNUM | PLUS_SLASH;
/** RFC 6750's b64token. */
const BEARER_TOKEN = ALNUM | DASH | UNDERSCORE | DOT | TILDE | PLUS_SLASH | EQUALS;
/** What a config key name is made of: `OPENAI_API_KEY`, `x-api-key`, `db.password`. */
const NAME = ALNUM | DASH | UNDERSCORE | DOT;

const CLASSES = buildClasses();

function buildClasses(): Uint16Array {
  const classes = new Uint16Array(128);
  for (let c = 97; c <= 122; c++) classes[c] = LOWER;
  for (let c = 65; c <= 90; c++) classes[c] = UPPER;
  for (let c = 48; c <= 57; c++) classes[c] = DIGIT;
  classes[45] = DASH;
  classes[95] = UNDERSCORE;
  classes[43] = classes[47] = PLUS_SLASH;
  classes[61] = EQUALS;
  classes[46] = DOT;
  classes[126] = TILDE;
  for (const c of [32, 9, 10, 13, 11, 12]) classes[c] = SPACE | VALUE_STOP;
  for (const ch of `"'\`,;&<>)]}|`) classes[ch.charCodeAt(0)] |= VALUE_STOP;
  return classes;
}

function classOf(c: number): number {
  return c < 128 ? CLASSES[c] : 0;
}

/** Whether `text[i]` exists and is in one of `mask`'s classes. */
function isIn(text: string, i: number, mask: number): boolean {
  return i >= 0 && i < text.length && (classOf(text.charCodeAt(i)) & mask) !== 0;
}

/** The end of the run of `mask` characters starting at `i`. */
function runEnd(text: string, i: number, mask: number): number {
  const n = text.length;
  while (i < n && (classOf(text.charCodeAt(i)) & mask) !== 0) i++;
  return i;
}

/** Like `runEnd`, but looks at no more than `max` characters. */
function runEndWithin(text: string, i: number, mask: number, max: number): number {
  const n = Math.min(text.length, i + max);
  while (i < n && (classOf(text.charCodeAt(i)) & mask) !== 0) i++;
  return i;
}

/** A token starts here only if the character before cannot be part of it: `task-list` holds no `sk-` key. */
function startsToken(text: string, i: number, mask = BASE64URL): boolean {
  return !isIn(text, i - 1, mask);
}

const seen = new Uint32Array(128);
let seenStamp = 0;

/**
 * Whether `text[s, e)` looks machine-generated: two or more of lower/upper/digit, many distinct characters,
 * and no counting runs like `abcdef` or `123456` (the shape of documentation samples).
 */
function looksRandom(text: string, s: number, e: number, minDistinct = 10): boolean {
  const end = Math.min(e, s + 128);
  const n = end - s;
  if (n <= 0) return false;
  seenStamp++;
  let classes = 0;
  let distinct = 0;
  let ascending = 0;
  let previous = -2;
  for (let i = s; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      classes |= CLASSES[c] & ALNUM;
      if (seen[c] !== seenStamp) {
        seen[c] = seenStamp;
        distinct++;
      }
    }
    if (c === previous + 1) ascending++;
    previous = c;
  }
  const kinds = (classes & LOWER ? 1 : 0) + (classes & UPPER ? 1 : 0) + (classes & DIGIT ? 1 : 0);
  return kinds >= 2 && distinct >= Math.min(minDistinct, Math.ceil(n / 3)) && ascending * 4 < n;
}

/** Marks of a documentation sample inside an otherwise well-formed key. */
const SAMPLE_MARK = /example|placeholder|redacted|your|xxxx|\*\*\*|\.\.\./i;
/** Whole values that stand for a secret rather than being one (compared lowercased, letters and digits only). */
const PLACEHOLDER_WORDS = new Set([
  'password', 'pass', 'passwd', 'pwd', 'secret', 'token', 'apikey', 'key', 'changeme', 'none', 'null', 'nil', 'undefined',
  'true', 'false', 'string', 'str', 'redacted', 'hidden', 'masked', 'placeholder', 'mypassword', 'secretkey', 'accesstoken',
  'authtoken', 'clientsecret', 'secretpassword', 'passwordhere', 'tokenhere', 'keyhere', 'dummy', 'sample', 'notset', 'empty',
]);
// (Templates by their whole shape, `${VAR}`, `{{ secret }}`, `<%= pw %>`, and masks at an end or of four: a generated
// password holds `}}`, `<%=`, `XXx` or `***` by chance, one Django key in ~2,600 the last.)
const PLACEHOLDER_MARK = /your|example|placeholder|redacted|change[-_ ]?me|replace|xxxx|^\*{3}|\*{3}$|\*{4}|\.\.\.|…|\$\{[A-Za-z_][\w.:-]*\}|\{\{\s*[\w.]+\s*\}\}|<%[=-]?\s*[\w.]+\s*%>/;

const BRACKETED_WORD = /^(?:<[\w .:-]*>|\{\{?[\w .:-]*\}\}?|\[[\w .:-]*\])$/;
const PLACEHOLDER_WRITTEN = /^(?:%3[Cc][A-Z][A-Z0-9_]*_\d+%3[Ee]|&lt;[A-Z][A-Z0-9_]*_\d+&gt;)$/;

/** `${VAR}`, `$VAR`, `<password>`, `{password}`, `%s`, `****`, `xxx`, `your-token-here`, the word `password`… */
function isPlaceholder(value: string): boolean {
  if (value.length === 0) return true;
  const first = value.charCodeAt(0);
  // $ < { [ — a variable or template; `%s` / `%(pw)s` — a format string.
  if (first === 36) return true;
  // (`<password>`, `{password}`, `[REDACTED]`: the whole value one bracketed word. `[Nov]2024!,x` is a password.)
  if ((first === 60 || first === 123 || first === 91) && BRACKETED_WORD.test(value)) return true;
  if (first === 37 && /^%[s(]/.test(value)) return true;
  // A placeholder as a URL or XML writes it (`%3CSECRET_1%3E`, `&lt;SECRET_1&gt;`): restored in answers, never a value.
  if ((first === 37 || first === 38) && PLACEHOLDER_WRITTEN.test(value)) return true;
  const lower = value.toLowerCase();
  if (PLACEHOLDER_MARK.test(lower)) return true;
  if (PLACEHOLDER_WORDS.has(lower.replace(/[^a-z0-9]/g, ''))) return true;
  return !distinctAtLeast(value, 3);
}

/** Whether `value` holds at least `count` distinct characters (a few: no Set made, it runs per candidate value). */
function distinctAtLeast(value: string, count: number): boolean {
  const seen: number[] = [];
  for (let i = 0; i < value.length && seen.length < count; i++) {
    const c = value.codePointAt(i)!;
    if (c > 0xffff) i++;
    if (!seen.includes(c)) seen.push(c);
  }
  return seen.length >= count;
}

function push(found: PiiFinding[], start: number, end: number, score: number): void {
  found.push({ type: 'SECRET', start, end, score });
}

export const findSecrets: Recognizer = (text, out) => {
  const found: PiiFinding[] = [];
  findSkKeys(text, found);
  findStripeKeys(text, found);
  findAwsAccessKeyIds(text, found);
  findAwsSecretKeys(text, found);
  findGitHubTokens(text, found);
  findVendorTokens(text, found);
  findSlackTokens(text, found);
  findSlackWebhooks(text, found);
  findDiscordBotTokens(text, found);
  findAzureClientSecrets(text, found);
  findJwts(text, found);
  findPrivateKeys(text, found);
  findUrlPasswords(text, found);
  findBearerTokens(text, found);
  findBasicCredentials(text, found);
  findCommandLinePasswords(text, found);
  findAssignments(text, found, '=');
  findAssignments(text, found, ':');
  findDockerfileEnv(text, found);
  findXmlElements(text, found);
  findNamedArguments(text, found);
  findProseSecrets(text, found);
  separatorWordsChecked.clear();
  // Several recognizers may find one secret (`api_key = "sk-…"`): the best-scored finding of each overlapping group
  // wins, and a longer one that lost keeps what it covers beyond the winner (`DB_PASSWORD=Quokka!2291;API_TOKEN=ghp_…`
  // read as one value: the password before the token stays found).
  for (const finding of resolveOverlaps(found)) out.push(finding);
};

// ---- OpenAI and Anthropic: `sk-…` ----------------------------------------------------------------------------

const MAX_SK_KEY = 420;
const OPENAI_PREFIXES = ['proj-', 'svcacct-', 'admin-'];
/** The base64 of "OpenAI", embedded in OpenAI's keys. */
const OPENAI_MARK = 'T3BlbkFJ';
const ANTHROPIC_PREFIX = /^ant-[a-z]{2,12}\d{2}-/;

function findSkKeys(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    // `k-` is far rarer than `s` as a first character: memchr-driven indexOf skips more text per step.
    const k = text.indexOf('k-', from);
    if (k < 0) return;
    const p = k - 1;
    // (`token_sk-proj-…`, `user-sk-ant-…`: after `_` or `-` only a key of a provider's own format, not any `sk-` run.)
    if (p < 0 || text.charCodeAt(p) !== 115 || !startsToken(text, p, ALNUM)) {
      from = k + 2;
      continue;
    }
    const end = runEnd(text, p + 3, BASE64URL);
    from = Math.max(end, p + 3);
    const score = end - p <= MAX_SK_KEY ? skKeyScore(text, p + 3, end) : 0;
    if (score > 0 && (score === SCORE_PREFIXED || startsToken(text, p))) push(found, p, end, score);
  }
}

/** How sure `sk-` + `text[s, e)` is a key: 0 when it is not one. */
function skKeyScore(text: string, s: number, e: number): number {
  const body = realSlice(text, s, e);
  if (SAMPLE_MARK.test(body)) return 0;
  if (body.startsWith('ant-')) {
    const prefix = ANTHROPIC_PREFIX.exec(body);
    const keyStart = s + (prefix ? prefix[0].length : 0);
    return prefix && e - keyStart >= 80 && looksRandom(text, keyStart, e) ? SCORE_PREFIXED : 0;
  }
  for (const kind of OPENAI_PREFIXES) {
    if (body.startsWith(kind)) return e - s - kind.length >= 40 && looksRandom(text, s + kind.length, e) ? SCORE_PREFIXED : 0;
  }
  if (body.length >= 40 && body.includes(OPENAI_MARK)) return SCORE_PREFIXED;
  const alnumOnly = runEnd(text, s, ALNUM) === e;
  if (body.length === 48 && alnumOnly && looksRandom(text, s, e)) return SCORE_PREFIXED;
  // Other providers' `sk-` keys (DeepSeek, OpenRouter…): long, random, few separators; `sk-learn-…` names have many.
  if (body.length >= 32 && body.length <= 200 && separatorCount(body) <= 3 && looksRandom(text, s, e, 12)) return SCORE_LOOSE_PREFIX;
  return 0;
}

function separatorCount(body: string): number {
  let count = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 45 || c === 95) count++;
  }
  return count;
}

// ---- Stripe: `sk_live_`, `sk_test_`, `rk_live_`, `rk_test_` (not `pk_`: publishable keys are public) ---------------

function findStripeKeys(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    const p = text.indexOf('k_', from);
    if (p < 0) return;
    from = p + 2;
    const s = p - 1;
    const kind = text.charCodeAt(s);
    if ((kind !== 115 && kind !== 114) || !startsToken(text, s)) continue; // s, r
    if (!text.startsWith('live_', p + 2) && !text.startsWith('test_', p + 2)) continue;
    const bodyStart = p + 7;
    const end = runEnd(text, bodyStart, ALNUM);
    from = end;
    const length = end - bodyStart;
    if (length < 24 || length > 247 || isIn(text, end, BASE64URL)) continue;
    if (looksRandom(text, bodyStart, end) && !SAMPLE_MARK.test(realSlice(text, bodyStart, end))) push(found, s, end, SCORE_PREFIXED);
  }
}

// ---- AWS ---------------------------------------------------------------------------------------------------------

const AWS_KEY_ID_PREFIX = new RegExp(['AKIA', 'ASIA', 'ABIA', 'ACCA'].join('|'), 'g');

/** Access key ids: a prefix + 16 base32 characters, a whole word. `…EXAMPLE` ids are AWS's documentation samples. */
function findAwsAccessKeyIds(text: string, found: PiiFinding[]): void {
  // One regex pass for the four prefixes: faster than four indexOf passes.
  AWS_KEY_ID_PREFIX.lastIndex = 0;
  for (let m = AWS_KEY_ID_PREFIX.exec(text); m !== null; m = AWS_KEY_ID_PREFIX.exec(text)) {
    const p = m.index;
    if (!startsToken(text, p, ALNUM)) continue;
    const end = runEnd(text, p + 4, UPPER | DIGIT);
    AWS_KEY_ID_PREFIX.lastIndex = end;
    if (end - p !== 20 || isIn(text, end, ALNUM) || !isBase32(text, p + 4, end) || !looksAwsRandom(text, p + 4, end)) continue;
    if (!text.startsWith('EXAMPLE', end - 7)) push(found, p, end, SCORE_PREFIXED);
  }
}

/** Only A-Z and 2-7. */
function isBase32(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 50 && c <= 55))) return false;
  }
  return true;
}

function looksAwsRandom(text: string, s: number, e: number): boolean {
  return distinctAtLeast(realSlice(text, s, e), 8);
}

const AWS_SECRET_LENGTH = 40;
/** How far after "secret access key" its value may start: separators, quotes, "is", "=". */
const AWS_SECRET_WINDOW = 48;

/**
 * Secret access keys are 40 characters of base64 with no prefix: anything could be one, so only context tells.
 * The context is "secret access key" (any case and separators: `aws_secret_access_key`, `SecretAccessKey`) or `aws_secret_key`.
 * Found from the `k` of "key", searched for in each case and read backwards: `k` is among prose's rarest letters, and
 * two single-character searches skip ahead several times faster than a regex pass for "secret" (e the commonest). In
 * a text dense with `k` (a search per character costs more there), from "secret" as before.
 */
function findAwsSecretKeys(text: string, found: PiiFinding[]): void {
  const before = found.length;
  if (!findAwsSecretKeysFromKey(text, found)) {
    found.length = before;
    findAwsSecretKeysFromSecret(text, found);
  }
}

/**
 * More `k`s that end no secret's name than one per DENSE_K characters (judged every 256 from 1,024 on): the search
 * from "key" gives up. (Those that end one cost as much when read from "secret".)
 */
const DENSE_K = 64;

/** The search from each `k` of "key"; false when it gave up (the text is dense with other `k`s). */
function findAwsSecretKeysFromKey(text: string, found: PiiFinding[]): boolean {
  // (Past a value found, its characters start no name: as a search from "secret" went on after the value.)
  let from = 0;
  let misses = 0;
  let lower = text.indexOf('k');
  let upper = text.indexOf('K');
  while (lower >= 0 || upper >= 0) {
    const q = upper < 0 || (lower >= 0 && lower < upper) ? lower : upper;
    if (q === lower) lower = text.indexOf('k', q + 1);
    else upper = text.indexOf('K', q + 1);
    const secret = wordAt(text, q, 'key') < 0 ? -1 : awsSecretNameBefore(text, q);
    if (secret < 0 && ++misses >= 1024 && (misses & 255) === 0 && misses * DENSE_K > q) return false;
    if (secret < from) continue;
    const value = fortyCharValueAfter(text, q + 3);
    if (value < 0) continue;
    push(found, value, value + AWS_SECRET_LENGTH, SCORE_STRUCTURED);
    from = value + AWS_SECRET_LENGTH;
  }
  return true;
}

/** "secret" in one case after its first letter: `secret`, `Secret`, `sECRET`, `SECRET`. */
const SECRET_WORD = /s(?:ecret|ECRET)|S(?:ecret|ECRET)/g;

/** The search from each "secret" (a regex pass): for a text dense with `k`. */
function findAwsSecretKeysFromSecret(text: string, found: PiiFinding[]): void {
  SECRET_WORD.lastIndex = 0;
  for (let m = SECRET_WORD.exec(text); m !== null; m = SECRET_WORD.exec(text)) {
    const q = awsKeyAfter(text, m.index + 6);
    if (q < 0 || awsSecretNameBefore(text, q) !== m.index) continue;
    const value = fortyCharValueAfter(text, q + 3);
    if (value < 0) continue;
    push(found, value, value + AWS_SECRET_LENGTH, SCORE_STRUCTURED);
    SECRET_WORD.lastIndex = value + AWS_SECRET_LENGTH;
  }
}

/** Where the "key" of a name whose "secret" ends at `i` starts ("access key" or "key", one separator before each), or -1. */
function awsKeyAfter(text: string, i: number): number {
  const access = wordAt(text, skipSeparator(text, i), 'access');
  const q = skipSeparator(text, access > 0 ? access : i);
  return wordAt(text, q, 'key') > 0 ? q : -1;
}

function skipSeparator(text: string, i: number): number {
  return i < text.length && isSeparator(text.charCodeAt(i)) ? i + 1 : i;
}

/**
 * Where the "secret" of the name whose "key" starts at `q` starts: "secret access key", or "aws secret key" (one
 * separator at most between the words); -1 for none. "secret" is written in one case after its first letter.
 */
function awsSecretNameBefore(text: string, q: number): number {
  const keyStart = endBeforeSeparator(text, q);
  const access = keyStart - 6;
  if (wordAt(text, access, 'access') === keyStart) {
    const secret = endBeforeSeparator(text, access) - 6;
    return isSecretWord(text, secret) ? secret : -1;
  }
  const secret = keyStart - 6;
  if (!isSecretWord(text, secret)) return -1;
  // `aws_secret_key`: only with "aws" just before.
  let before = secret;
  if (isSeparator(text.charCodeAt(before - 1))) before--;
  return wordAt(text, before - 3, 'aws') === before ? secret : -1;
}

/** Where the word before `i` ends: before the separator right before `i`, if there is one. */
function endBeforeSeparator(text: string, i: number): number {
  return isSeparator(text.charCodeAt(i - 1)) ? i - 1 : i;
}

/** `secret`, `Secret`, `sECRET` or `SECRET` at `i`. */
function isSecretWord(text: string, i: number): boolean {
  if (i < 0 || (text.charCodeAt(i) | 32) !== 115) return false;
  return text.startsWith('ecret', i + 1) || text.startsWith('ECRET', i + 1);
}

function isSeparator(c: number): boolean {
  return c === 95 || c === 45 || c === 32 || c === 46; // _ - space .
}

/** The end of `word` (lowercase) at `i`, compared without case, or -1. */
function wordAt(text: string, i: number, word: string): number {
  if (i < 0 || i + word.length > text.length) return -1;
  for (let k = 0; k < word.length; k++) {
    if ((text.charCodeAt(i + k) | 32) !== word.charCodeAt(k)) return -1;
  }
  return i + word.length;
}

/** The start of the first whole 40-character base64 word that starts within the window after `from`, or -1. */
function fortyCharValueAfter(text: string, from: number): number {
  const n = text.length;
  const limit = Math.min(n, from + AWS_SECRET_WINDOW);
  // A run glued to the key name (`…keyABC`) is not a value of its own: start after it.
  let i = isIn(text, from - 1, BASE64) ? runEndWithin(text, from, BASE64, AWS_SECRET_WINDOW) : from;
  while (i < limit) {
    const c = text.charCodeAt(i);
    if (c >= 128 || (CLASSES[c] & BASE64) === 0) {
      i++;
      continue;
    }
    const end = runEndWithin(text, i, BASE64, AWS_SECRET_LENGTH + 1);
    if (end - i === AWS_SECRET_LENGTH && !isIn(text, end, EQUALS) && looksRandom(text, i, end, 16)) {
      return SAMPLE_MARK.test(realSlice(text, i, end)) ? -1 : i;
    }
    // Past the rest of a longer run, as far as the window matters.
    i = end - i > AWS_SECRET_LENGTH ? runEndWithin(text, end, BASE64, AWS_SECRET_WINDOW) : end;
  }
  return -1;
}

/**
 * `text.indexOf(needle, from)`, searched for from `needle`'s part at `part` on: V8 finds one character or a short needle
 * with a rare first character (`BEGIN`, `k.com/`) several times faster than a long one whose first is common (`-`, `h`):
 * 0.04 against 0.7 ms on 2 MB of mixed text, measured.
 */
function indexFromPart(text: string, needle: string, part: number, from: number): number {
  const piece = needle.slice(part, part + 6);
  for (let q = text.indexOf(piece, from + part); q >= 0; q = text.indexOf(piece, q + 1)) {
    if (text.startsWith(needle, q - part)) return q - part;
  }
  return -1;
}

// ---- GitHub ------------------------------------------------------------------------------------------------------

const GITHUB_KINDS = 'pousr'; // ghp_ gho_ ghu_ ghs_ ghr_
const GITHUB_PAT = 'github_pat_';
/** A fine-grained token's body as GitHub documents it. */
const GITHUB_PAT_BODY = /^[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/;

function findGitHubTokens(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    // (From the `_` of `ghp_`: one character's search skips ahead far faster than a pair's whose first, `g`, is common.)
    const underscore = text.indexOf('_', from + 3);
    if (underscore < 0) break;
    const p = underscore - 3;
    from = p + 1;
    if (text.charCodeAt(p) !== 103 || text.charCodeAt(p + 1) !== 104) continue;
    // `_` or `-` may glue it to a word on either side (`token_ghp_…`, `ghp_…_old`) when it has the documented 36
    // characters: any other length must stand alone.
    if (text.charCodeAt(p + 3) !== 95 || !GITHUB_KINDS.includes(text.charAt(p + 2)) || !startsToken(text, p, ALNUM)) continue;
    const end = runEnd(text, p + 4, ALNUM);
    from = end;
    const length = end - p - 4;
    if (length < 36 || length > 251 || isIn(text, end, length === 36 ? ALNUM : BASE64URL) || (length !== 36 && !startsToken(text, p))) continue;
    if (looksRandom(text, p + 4, end) && !SAMPLE_MARK.test(realSlice(text, p + 4, end))) push(found, p, end, SCORE_PREFIXED);
  }
  from = 0;
  for (;;) {
    // (From its `_pat_`: an indexOf for the whole prefix cost ten times as much, `g` being a common letter.)
    const pat = text.indexOf('_pat_', from + 6);
    if (pat < 0) return;
    const p = pat - 6;
    if (!text.startsWith('github', p)) {
      from = pat - 5;
      continue;
    }
    from = pat + 5;
    if (!startsToken(text, p)) continue;
    const end = runEnd(text, from, WORD);
    from = end;
    const length = end - p - GITHUB_PAT.length;
    if (length < 70 || length > 120 || isIn(text, end, DASH)) continue;
    // The documented shape (22 characters, `_`, 59) is evidence enough without the randomness test, which a made-up
    // or regular-looking body fails (`…aBcDeFg…0123456789…`, an outside review's): only a sample's marks spare it.
    const exact = GITHUB_PAT_BODY.test(realSlice(text, p + GITHUB_PAT.length, end));
    if (exact ? !SAMPLE_MARK.test(realSlice(text, p, end)) : looksRandom(text, p + GITHUB_PAT.length, end)) push(found, p, end, SCORE_PREFIXED);
  }
}

// ---- Tokens that are a documented prefix and a random body --------------------------------------------------------

/** Vendor token formats (as their docs describe them): prefix, the body's characters and its length. */
const VENDOR_TOKENS: ReadonlyArray<{ prefix: string; body: number; min: number; max: number }> = [
  { prefix: 'glpat-', body: BASE64URL, min: 20, max: 64 }, // GitLab personal access token
  { prefix: 'glptt-', body: BASE64URL, min: 20, max: 64 }, // GitLab pipeline trigger token
  { prefix: 'gldt-', body: BASE64URL, min: 20, max: 64 }, // GitLab deploy token
  { prefix: 'AIza', body: BASE64URL, min: 35, max: 35 }, // Google API key
  { prefix: 'hf_', body: ALNUM, min: 30, max: 40 }, // Hugging Face access token
  { prefix: 'npm_', body: ALNUM, min: 36, max: 36 }, // npm access token
  { prefix: 'xapp-', body: ALNUM | DASH, min: 40, max: 250 }, // Slack app-level token (xapp-1-A…-…-hex)
  { prefix: 'whsec_', body: BASE64, min: 24, max: 88 }, // Stripe / Svix webhook signing secret
  { prefix: 'SG.', body: BASE64URL | DOT, min: 60, max: 80 }, // SendGrid API key (SG.<22>.<43>)
  { prefix: 'shpat_', body: ALNUM, min: 32, max: 32 }, // Shopify admin API access token
  { prefix: 'shpss_', body: ALNUM, min: 32, max: 32 }, // Shopify shared secret
  { prefix: 'dop_v1_', body: ALNUM, min: 64, max: 64 }, // DigitalOcean personal access token
  { prefix: 'lin_api_', body: ALNUM, min: 40, max: 40 }, // Linear API key
  { prefix: 'pypi-', body: BASE64URL, min: 50, max: 300 }, // PyPI API token (pypi-AgEIcHlwaS5vcmc…)
  { prefix: 'gsk_', body: ALNUM, min: 48, max: 56 }, // Groq API key
  { prefix: 'r8_', body: ALNUM, min: 37, max: 40 }, // Replicate API token
  { prefix: 'pplx-', body: ALNUM, min: 40, max: 56 }, // Perplexity API key
  { prefix: 'xai-', body: ALNUM, min: 70, max: 90 }, // xAI API key
  { prefix: 'ATATT3', body: BASE64URL | EQUALS, min: 100, max: 300 }, // Atlassian API token
  // The tools agents call, and other vendors an outside review (13) found missed where no key name stands beside them.
  { prefix: 'tvly-', body: ALNUM | DASH, min: 32, max: 64 }, // Tavily API key (tvly-…, tvly-dev-…)
  { prefix: 'lsv2_pt_', body: ALNUM | UNDERSCORE, min: 40, max: 50 }, // LangSmith personal access token
  { prefix: 'lsv2_sk_', body: ALNUM | UNDERSCORE, min: 40, max: 50 }, // LangSmith service key
  { prefix: 'pcsk_', body: BASE64URL, min: 50, max: 100 }, // Pinecone API key
  { prefix: 'fc-', body: ALNUM, min: 32, max: 32 }, // Firecrawl API key
  { prefix: 'sbp_', body: ALNUM, min: 40, max: 40 }, // Supabase access token
  { prefix: 'ntn_', body: ALNUM, min: 40, max: 50 }, // Notion integration token
  { prefix: 'secret_', body: ALNUM, min: 43, max: 43 }, // Notion integration token (before ntn_)
  { prefix: 'NRAK-', body: ALNUM, min: 27, max: 27 }, // New Relic user API key
  { prefix: 'glsa_', body: ALNUM | UNDERSCORE, min: 40, max: 41 }, // Grafana service account token
  { prefix: 'glrt-', body: BASE64URL | DOT, min: 20, max: 80 }, // GitLab runner authentication token
  { prefix: 'tskey-auth-', body: ALNUM | DASH, min: 30, max: 80 }, // Tailscale auth key
  { prefix: 'tskey-api-', body: ALNUM | DASH, min: 30, max: 80 }, // Tailscale API key
  { prefix: 'tskey-client-', body: ALNUM | DASH, min: 30, max: 80 }, // Tailscale OAuth client secret
  { prefix: 'dckr_pat_', body: BASE64URL, min: 20, max: 40 }, // Docker Hub personal access token
  { prefix: 'key-', body: ALNUM, min: 32, max: 32 }, // Mailgun API key
  { prefix: 'dp.st.', body: BASE64URL | DOT, min: 40, max: 80 }, // Doppler service token
  { prefix: 'dp.pt.', body: BASE64URL | DOT, min: 40, max: 80 }, // Doppler personal token
  { prefix: 'dp.ct.', body: BASE64URL | DOT, min: 40, max: 80 }, // Doppler CLI token
  { prefix: 'dp.sa.', body: BASE64URL | DOT, min: 40, max: 80 }, // Doppler service account token
  { prefix: 'hvs.', body: BASE64URL, min: 24, max: 200 }, // HashiCorp Vault service token
  { prefix: 'hvb.', body: BASE64URL, min: 24, max: 300 }, // HashiCorp Vault batch token
  { prefix: 'ya29.', body: BASE64URL | DOT, min: 30, max: 2048 }, // Google OAuth 2.0 access token
  { prefix: 'AGE-SECRET-KEY-1', body: UPPER | DIGIT, min: 58, max: 58 }, // age secret key (bech32)
  { prefix: 'SK', body: ALNUM, min: 32, max: 32 }, // Twilio API key secret's SID (SK + 32 hex)
  // More vendors an outside review (16) found missed, each with the prefix its docs give.
  { prefix: 'GOCSPX-', body: BASE64URL, min: 28, max: 28 }, // Google OAuth client secret
  { prefix: 'sq0atp-', body: BASE64URL, min: 22, max: 22 }, // Square access token
  { prefix: 'sq0csp-', body: BASE64URL, min: 43, max: 43 }, // Square OAuth application secret
  { prefix: 'figd_', body: BASE64URL, min: 38, max: 48 }, // Figma personal access token
  { prefix: 'sntrys_', body: BASE64URL | PLUS_SLASH | EQUALS, min: 60, max: 400 }, // Sentry organization auth token
  { prefix: 'sntryu_', body: ALNUM, min: 64, max: 64 }, // Sentry user auth token
  { prefix: 'PMAK-', body: ALNUM | DASH, min: 59, max: 59 }, // Postman API key (24 hex, -, 34 hex)
  { prefix: 'pul-', body: ALNUM, min: 40, max: 40 }, // Pulumi access token
  { prefix: 'xkeysib-', body: ALNUM | DASH, min: 81, max: 81 }, // Brevo (Sendinblue) API key
  { prefix: 'shippo_live_', body: ALNUM, min: 40, max: 40 }, // Shippo live API token
  { prefix: 'shippo_test_', body: ALNUM, min: 40, max: 40 }, // Shippo test API token
  { prefix: 'dt0c01.', body: ALNUM | DOT, min: 89, max: 89 }, // Dynatrace API token (24, ., 64)
  { prefix: 'rubygems_', body: ALNUM, min: 48, max: 48 }, // RubyGems API key
  { prefix: 'api_org_', body: ALNUM, min: 30, max: 40 }, // Hugging Face organization token
  { prefix: 'HRKU-', body: BASE64URL, min: 20, max: 80 }, // Heroku API key
  { prefix: 'fo1_', body: BASE64URL, min: 20, max: 100 }, // Fly.io access token
  { prefix: 'nfp_', body: ALNUM, min: 36, max: 40 }, // Netlify personal access token
  { prefix: 'rnd_', body: ALNUM, min: 28, max: 40 }, // Render API key
  { prefix: 'pscale_tkn_', body: BASE64URL, min: 32, max: 64 }, // PlanetScale service token
  { prefix: 'pscale_pw_', body: BASE64URL, min: 32, max: 64 }, // PlanetScale database password
  { prefix: 'glcbt-', body: BASE64URL, min: 20, max: 80 }, // GitLab CI/CD job token
  { prefix: 'ops_', body: BASE64URL | EQUALS, min: 100, max: 2000 }, // 1Password service account token (ops_eyJ…)
  { prefix: 'sk.', body: BASE64URL | DOT, min: 80, max: 300 }, // Mapbox secret access token (sk.eyJ…)
];

const VENDOR_BY_PREFIX = new Map(VENDOR_TOKENS.map((vendor) => [vendor.prefix, vendor]));
/**
 * Every prefix in one pass. Most end in `-` or `_`, found from that character with a look-behind for the letters
 * before it: a search that starts from the separator skips nearly every position, where one that starts from the
 * prefixes' first letters (g, h, n, s, p…) stops at most of them (3.6 → 0.8 ms per MB of prompt text). The three
 * without a separator start with capitals. A check below makes sure every prefix is found.
 */
const VENDOR_PREFIX =
  /(?<=g(?:lpat|lptt|ldt|lrt|lcbt)|x(?:app|ai|keysib)|pypi|pplx|tvly|fc|NRAK|key|tskey-(?:auth|api|client)|GOCSPX|sq0(?:atp|csp)|PMAK|pul|HRKU)-|(?<=gsk|hf|npm|whsec|shpat|shpss|dop_v1|lin_api|r8|lsv2_(?:pt|sk)|pcsk|sbp|ntn|secret|glsa|dckr_pat|figd|sntry[su]|shippo_(?:live|test)|rubygems|api_org|fo1|nfp|rnd|pscale_(?:tkn|pw)|ops)_|(?<=dp\.(?:st|pt|ct|sa)|hv[sb]|ya29|dt0c01|sk)\.|AIza|ATATT3|SG\.|AGE-SECRET-KEY-1|SK/g;
const VENDORS_BY_SEPARATOR = new Map(['-', '_', '.'].map((separator) => [separator, VENDOR_TOKENS.filter((vendor) => vendor.prefix.endsWith(separator))]));

/** The vendor whose prefix the match ends (a separator) or is (a capitalised prefix), and where that prefix starts. */
function vendorOf(text: string, m: RegExpExecArray): { vendor: (typeof VENDOR_TOKENS)[number]; start: number } | undefined {
  if (m[0].length > 1) return { vendor: VENDOR_BY_PREFIX.get(m[0])!, start: m.index };
  for (const vendor of VENDORS_BY_SEPARATOR.get(m[0])!) {
    const start = m.index + 1 - vendor.prefix.length;
    if (start >= 0 && text.startsWith(vendor.prefix, start)) return { vendor, start };
  }
  return undefined;
}

for (const { prefix } of VENDOR_TOKENS) {
  VENDOR_PREFIX.lastIndex = 0;
  // (Some prefixes hold another's separator first: `tskey-auth-` is read at its second `-`.)
  let m = VENDOR_PREFIX.exec(prefix);
  while (m && vendorOf(prefix, m)?.vendor.prefix !== prefix) m = VENDOR_PREFIX.exec(prefix);
  if (!m) throw new Error(`secret.ts: VENDOR_PREFIX does not find ${prefix}`);
}

function findVendorTokens(text: string, found: PiiFinding[]): void {
  VENDOR_PREFIX.lastIndex = 0;
  for (let m = VENDOR_PREFIX.exec(text); m !== null; m = VENDOR_PREFIX.exec(text)) {
    const at = vendorOf(text, m);
    if (!at) continue;
    const p = at.start;
    const { prefix, body, min, max } = at.vendor;
    const bodyStart = p + prefix.length;
    if (!startsToken(text, p)) continue;
    const end = runEnd(text, bodyStart, body);
    VENDOR_PREFIX.lastIndex = Math.max(end, bodyStart);
    const length = end - bodyStart;
    if (length < min || length > max || isIn(text, end, BASE64URL)) continue;
    if (looksRandom(text, bodyStart, end) && !SAMPLE_MARK.test(realSlice(text, bodyStart, end))) push(found, p, end, SCORE_PREFIXED);
  }
}

// ---- Chat bots and Azure: tokens with a shape of their own ------------------------------------------------------

/**
 * A Telegram bot token, `6123456789:AAdT7y6U…` (the bot's id, `:`, `AA` and 33 characters), with its `:AA` at `p`:
 * asked by the pass over every `:` (findAssignments), which costs nothing more than the look at two characters.
 */
function telegramBotTokenAt(text: string, p: number, found: PiiFinding[]): void {
  let start = p;
  while (start > 0 && p - start < 11 && isIn(text, start - 1, DIGIT)) start--;
  // (Standing alone, or glued to `bot` in its Bot API URL: `api.telegram.org/bot7012345678:AAF…/sendMessage`.)
  if (p - start < 8 || p - start > 10 || !(startsToken(text, start) || (text.startsWith('bot', start - 3) && text.charCodeAt(start - 4) === 47))) return;
  const end = runEnd(text, p + 1, BASE64URL);
  if (end - p - 1 >= 34 && end - p - 1 <= 36 && looksRandom(text, p + 3, end)) push(found, start, end, SCORE_PREFIXED);
}

/**
 * A Discord bot token: the bot's id in base64 (a snowflake of 17–20 digits: `MTE…`, `OD…`), a timestamp and an HMAC,
 * joined by dots. Its first two characters are two digits' base64, rare pairs in text.
 */
const DISCORD_TOKEN = /(?<![\w-])(?:M[TDjzQ]|N[DTjz]|O[DT])[\w-]{22,26}\.[\w-]{6}\.[\w-]{27,40}(?![\w-])/g;
function findDiscordBotTokens(text: string, found: PiiFinding[]): void {
  DISCORD_TOKEN.lastIndex = 0;
  for (let m = DISCORD_TOKEN.exec(text); m !== null; m = DISCORD_TOKEN.exec(text)) {
    // (Its first characters are two digits in base64, `MT`, `OD`…: generated samples keep no more of the id than that.)
    if (looksRandom(text, m.index, m.index + m[0].length)) push(found, m.index, m.index + m[0].length, SCORE_PREFIXED);
  }
}

/** An Azure AD (Entra ID) client secret, `WC68Q~fXHQ…` (40 characters, the fourth a digit, then `Q~`): found from `Q~`. */
function findAzureClientSecrets(text: string, found: PiiFinding[]): void {
  const body = BASE64URL | DOT | TILDE;
  for (let p = text.indexOf('Q~'); p >= 0; p = text.indexOf('Q~', p + 2)) {
    const start = p - 4;
    if (start < 0 || !isIn(text, p - 1, DIGIT) || !startsToken(text, start, body) || runEnd(text, start, body) < p) continue;
    const end = runEnd(text, p + 2, body);
    if (end - start >= 34 && end - start <= 40 && looksRandom(text, p + 2, end)) push(found, start, end, SCORE_PREFIXED);
  }
}

// ---- Slack -------------------------------------------------------------------------------------------------------

const SLACK_KINDS = 'abposre'; // xoxb- xoxp- xoxa- xoxo- xoxs- xoxr- xoxe-

/** `xoxb-123…-456…-AbC…`: groups of digits and letters after the kind. `xoxb-your-token` has no digits. */
function findSlackTokens(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    const p = text.indexOf('xox', from);
    if (p < 0) return;
    from = p + 3;
    if (text.charCodeAt(p + 4) !== 45 || !SLACK_KINDS.includes(text.charAt(p + 3)) || !startsToken(text, p)) continue;
    const end = runEnd(text, p + 5, ALNUM | DASH);
    from = end;
    const length = end - p - 5;
    if (length < 20 || length > 250 || isIn(text, end, UNDERSCORE)) continue;
    if (looksRandom(text, p + 5, end) && !SAMPLE_MARK.test(realSlice(text, p + 5, end))) push(found, p, end, SCORE_PREFIXED);
  }
}

const SLACK_WEBHOOK = 'hooks.slack.com/services/';
const SLACK_WEBHOOK_PART = SLACK_WEBHOOK.indexOf('k.com/');

/** `https://hooks.slack.com/services/T…/B…/…`: the whole URL is the secret. */
function findSlackWebhooks(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    const p = indexFromPart(text, SLACK_WEBHOOK, SLACK_WEBHOOK_PART, from);
    if (p < 0) return;
    from = p + SLACK_WEBHOOK.length;
    const team = from;
    const teamEnd = runEndWithin(text, team, ALNUM, 32);
    if (text.charCodeAt(team) !== 84 || teamEnd - team < 8 || text.charCodeAt(teamEnd) !== 47) continue; // T…/
    const bot = teamEnd + 1;
    const botEnd = runEndWithin(text, bot, ALNUM, 32);
    if (text.charCodeAt(bot) !== 66 || botEnd - bot < 8 || text.charCodeAt(botEnd) !== 47) continue; // B…/
    const key = botEnd + 1;
    const end = runEndWithin(text, key, ALNUM, 64);
    // Slack's documented key is 24 letters and digits (`…/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX`): in this structure any
    // such key is one, however regular (`abcdEFGHijkl…`), unless it is the docs' sample. Other lengths must look random.
    if (end - key < 16 || isIn(text, end, ALNUM)) continue;
    if (end - key === 24 ? isPlaceholder(realSlice(text, key, end)) || SAMPLE_MARK.test(realSlice(text, key, end)) || /^.0+$/.test(realSlice(text, team, teamEnd)) : !looksRandom(text, key, end)) continue;
    const start = text.startsWith('https://', p - 8) ? p - 8 : text.startsWith('http://', p - 7) ? p - 7 : p;
    push(found, start, end, SCORE_PREFIXED);
    from = end;
  }
}

// ---- JWT ---------------------------------------------------------------------------------------------------------

/** Headers longer than this are not JWT headers; the bound also keeps decoding cheap. */
const MAX_JWT_HEADER = 2048;
const MIN_JWT_SIGNATURE = 16;

/**
 * `eyJ…` `.` `eyJ…` `.` signature: the base64url of `{"` twice. The header must decode to a JSON object with `alg`.
 * On a miss the search resumes after the first segment, so each character is scanned at most three times.
 */
function findJwts(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    // Search `J` (rare) rather than `eyJ` (e is the commonest letter), then look two back.
    const j = text.indexOf('J', from);
    if (j < 0) return;
    const p = j - 2;
    if (p < 0 || text.charCodeAt(p) !== 101 || text.charCodeAt(p + 1) !== 121) {
      from = j + 1;
      continue;
    }
    if (!startsToken(text, p)) {
      from = p + 3;
      continue;
    }
    const headerEnd = runEnd(text, p, BASE64URL);
    from = headerEnd;
    if (text.charCodeAt(headerEnd) !== 46 || !text.startsWith('eyJ', headerEnd + 1)) continue;
    const payloadEnd = runEnd(text, headerEnd + 1, BASE64URL);
    if (text.charCodeAt(payloadEnd) !== 46) continue;
    const signatureEnd = runEnd(text, payloadEnd + 1, BASE64URL);
    const signed = signatureEnd - payloadEnd - 1 >= MIN_JWT_SIGNATURE;
    // An empty signature is only complete for `"alg":"none"`; a short one is a sample (`…eyJ9.SIGNATURE`).
    if (!signed && signatureEnd > payloadEnd + 1) continue;
    const alg = headerEnd - p <= MAX_JWT_HEADER ? jwtAlgorithm(realSlice(text, p, headerEnd)) : undefined;
    if (alg === undefined || (!signed && alg.toLowerCase() !== 'none')) continue;
    push(found, p, signed ? signatureEnd : payloadEnd + 1, SCORE_STRUCTURED);
    from = signatureEnd;
  }
}

/** The `alg` of a JWT header segment, or undefined when it is not a JSON object with one. */
function jwtAlgorithm(segment: string): string | undefined {
  const json = Buffer.from(segment, 'base64url').toString('utf8');
  if (!json.endsWith('}')) return undefined; // spares JSON.parse (and its exception) most non-JWTs
  try {
    const header: unknown = JSON.parse(json);
    if (header === null || typeof header !== 'object' || Array.isArray(header)) return undefined;
    const alg = (header as { alg?: unknown }).alg;
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    return undefined;
  }
}

// ---- PEM private keys --------------------------------------------------------------------------------------------

const PEM_BEGIN = '-----BEGIN ';
const PEM_BEGIN_PART = PEM_BEGIN.indexOf('BEGIN');
const PEM_END = '-----END ';
/** How far after BEGIN the END may be. Also bounds the scan of a block without END. */
const MAX_PEM_BLOCK = 16 * 1024;
const MAX_PEM_LABEL = 48;
/** A key body is at least this much base64; `-----BEGIN PRIVATE KEY-----\n...\n-----END…` is a sample. */
const MIN_PEM_BODY = 32;

/**
 * `-----BEGIN … PRIVATE KEY-----` to its END line. Without an END within reach (a stream cut short, a paste cut off),
 * the base64 lines that follow are the finding, so a partial key does not leak either.
 */
function findPrivateKeys(text: string, found: PiiFinding[]): void {
  // The next END marker, searched once per position reached: a text of many BEGINs and no END stays linear.
  let nextEnd = -2;
  let from = 0;
  for (;;) {
    const p = indexFromPart(text, PEM_BEGIN, PEM_BEGIN_PART, from);
    if (p < 0) return;
    const headerEnd = privateKeyLabelEnd(text, p + PEM_BEGIN.length);
    if (headerEnd < 0) {
      from = p + PEM_BEGIN.length;
      continue;
    }
    if (nextEnd !== -1 && nextEnd < headerEnd) nextEnd = text.indexOf(PEM_END, headerEnd);
    let end = nextEnd >= 0 && nextEnd - headerEnd <= MAX_PEM_BLOCK ? closedBlockEnd(text, headerEnd, nextEnd) : -1;
    if (end < 0) end = visibleBodyEnd(text, headerEnd);
    if (end < 0) {
      from = headerEnd;
      continue;
    }
    push(found, p, end, SCORE_STRUCTURED);
    from = end;
  }
}

/** After `-----BEGIN ` / `-----END `: the end of `… PRIVATE KEY…-----`, or -1 for other labels (PUBLIC KEY, CERTIFICATE…). */
function privateKeyLabelEnd(text: string, i: number): number {
  const labelEnd = runEndWithin(text, i, UPPER | SPACE, MAX_PEM_LABEL);
  if (!text.startsWith('-----', labelEnd)) return -1;
  return realSlice(text, i, labelEnd).includes('PRIVATE KEY') ? labelEnd + 5 : -1;
}

/**
 * The end of a block whose body runs from `bodyStart` to the END marker at `endAt`, or -1 when the body is not
 * a key body (prose, `...`, another marker in between) or the END line is not a private key's.
 */
function closedBlockEnd(text: string, bodyStart: number, endAt: number): number {
  let base64 = 0;
  for (let i = bodyStart; i < endAt; i++) {
    const c = text.charCodeAt(i);
    const cls = classOf(c);
    if (cls & (BASE64 | EQUALS)) base64++;
    else if (c === 45) {
      if (text.startsWith('-----', i)) return -1; // another marker first
    } else if (c === 46) {
      if (text.charCodeAt(i + 1) === 46) return -1; // `MIIE...`: an elided sample
    } else if (!(cls & SPACE) && c !== 92 && c !== 58 && c !== 44) return -1; // \ (JSON-escaped newlines); : , . (Proc-Type, PGP headers)
  }
  if (base64 < MIN_PEM_BODY) return -1;
  return privateKeyLabelEnd(text, endAt + PEM_END.length);
}

/** Without END: the end of the base64 lines after the header, or -1 if none follows. A line shorter than a full one is the last. */
function visibleBodyEnd(text: string, bodyStart: number): number {
  const limit = Math.min(text.length, bodyStart + MAX_PEM_BLOCK);
  let end = -1;
  let i = bodyStart;
  while (i < limit) {
    i = skipLineBreaks(text, i, limit);
    const lineEnd = runEndWithin(text, i, BASE64 | EQUALS, limit - i);
    const length = lineEnd - i;
    if (length === 0 || (end < 0 && length < 16)) break;
    end = lineEnd;
    if (length < 60) break;
    i = lineEnd;
  }
  return end;
}

/** Skips whitespace and JSON-escaped `\n` / `\r`. */
function skipLineBreaks(text: string, i: number, limit: number): number {
  while (i < limit) {
    const c = text.charCodeAt(i);
    if (classOf(c) & SPACE) i++;
    else if (c === 92 && (text.charCodeAt(i + 1) === 110 || text.charCodeAt(i + 1) === 114)) i += 2;
    else break;
  }
  return i;
}

// ---- Passwords in URLs -------------------------------------------------------------------------------------------

const MAX_AUTHORITY = 512;
/** `https://abc:xyz@…` in documentation: shorter passwords are samples more often than secrets. */
const MIN_URL_PASSWORD = 4;

/** `scheme://user:password@host`: only the password, and only in the authority (right after `://`, before any `/`). */
function findUrlPasswords(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    const p = text.indexOf('://', from);
    if (p < 0) return;
    from = p + 3;
    if (!isIn(text, p - 1, ALNUM)) continue; // no scheme
    // (A Discord webhook is a URL with a scheme as pasted: looked for here, a search of its own cost ~0.6 ms per 2 MB.)
    if (text.charCodeAt(p + 3) === 100 || text.charCodeAt(p + 3) === 112) discordWebhookAt(text, p, found);
    const password = urlPassword(text, p + 3);
    if (!password) continue;
    push(found, password.start, password.end, SCORE_URL_PASSWORD);
    from = password.end;
  }
}

/** Discord's webhook paths, after `://`: the id (a snowflake) and the token after them are the secret. */
const DISCORD_WEBHOOK = /^(?:ptb\.|canary\.)?discord(?:app)?\.com\/api(?:\/v\d+)?\/webhooks\/(\d{17,20})\/([\w-]{60,80})(?![\w-])/;

/** `https://discord.com/api/webhooks/<id>/<token>`, with `://` at `p`: the whole URL (outside review 16). */
function discordWebhookAt(text: string, p: number, found: PiiFinding[]): void {
  const m = DISCORD_WEBHOOK.exec(realSlice(text, p + 3, p + 3 + 160));
  if (!m) return;
  const tokenStart = p + 3 + m[0].length - m[2]!.length;
  if (!looksRandom(text, tokenStart, p + 3 + m[0].length)) return;
  let start = p;
  while (start > 0 && isIn(text, start - 1, LOWER | UPPER)) start--;
  push(found, start, p + 3 + m[0].length, SCORE_PREFIXED);
}

/** Scans the authority at `s` (bounded): the password span of `user:password@host`, if there is one worth reporting. */
function urlPassword(text: string, s: number): { start: number; end: number } | undefined {
  const limit = Math.min(text.length, s + MAX_AUTHORITY);
  let at = -1;
  let colon = -1;
  let i = s;
  for (; i < limit; i++) {
    const c = text.charCodeAt(i);
    // / ? # \ and quotes, angle brackets, whitespace end the authority.
    if (c === 47 || c === 63 || c === 35 || c === 92 || c === 34 || c === 39 || c === 96 || c === 60 || c === 62 || classOf(c) & SPACE) break;
    if (c === 64) at = i; // the last @ ends the user info
    else if (c === 58 && colon < 0) colon = i; // the first : of the user info (`bob@example.com:pw@host`: after an @)
  }
  if (i === limit && limit < text.length) return undefined;
  if (at < 0 || colon < 0 || colon > at) return undefined;
  // (A host of any script: `https://ivan:pw@пример.рф/`.)
  const host = codeAt(text, at + 1);
  if (!(classOf(host) & ALNUM) && host !== 91 && !(host >= 0x80 && /[\p{L}\p{N}]/u.test(String.fromCharCode(host)))) return undefined; // [ for IPv6
  if (at - colon - 1 < MIN_URL_PASSWORD) return undefined;
  return isPlaceholder(realSlice(text, colon + 1, at)) ? undefined : { start: colon + 1, end: at };
}

// ---- Authorization header values ---------------------------------------------------------------------------------

const MIN_TOKEN = 8;
const MAX_TOKEN = 8192;
/** A field's name and `=` at a value's start: `expires_in=3600`. */
const ASSIGNED_NAME = /^[A-Za-z_][\w.-]*=[^=]/;

/** `Bearer <token>`: the token. `Bearer $TOKEN`, `Bearer <token>`, `Bearer YOUR_TOKEN` and prose ("Bearer tokens") are not. */
function findBearerTokens(text: string, found: PiiFinding[]): void {
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    let from = 0;
    for (;;) {
      const p = text.indexOf(scheme, from);
      if (p < 0) break;
      from = p + 6;
      if (isIn(text, p - 1, ALNUM) || text.charCodeAt(p + 6) !== 32) continue;
      const s = runEndWithin(text, p + 6, SPACE, 4);
      const runEnds = runEnd(text, s, BEARER_TOKEN);
      from = Math.max(runEnds, from);
      let end = runEnds;
      while (end > s && text.charCodeAt(end - 1) === 46) end--; // a sentence's full stop
      if (runEnds - end >= 2 || end - s < MIN_TOKEN || end - s > MAX_TOKEN) continue; // `eyJhbGciOi...`: an elided sample
      // `token_type=Bearer expires_in=3600`: the next field of an OAuth answer, not a token (`=` only pads a token's end).
      if (ASSIGNED_NAME.test(realSlice(text, s, Math.min(end, s + 48)))) continue;
      if (!isPlaceholder(realSlice(text, s, Math.min(end, s + 256))) && looksRandom(text, s, end, 8)) push(found, s, end, SCORE_ASSIGNED);
    }
  }
}

/** `Basic <base64 of user:password>`: the base64, when it decodes to printable `user:password`. */
function findBasicCredentials(text: string, found: PiiFinding[]): void {
  let from = 0;
  for (;;) {
    const p = text.indexOf('Basic ', from);
    if (p < 0) return;
    from = p + 6;
    if (isIn(text, p - 1, ALNUM)) continue;
    const s = runEndWithin(text, p + 6, SPACE, 4);
    const end = runEnd(text, s, BASE64 | EQUALS);
    from = Math.max(end, from);
    if (end - s < MIN_TOKEN || end - s > 1024 || isIn(text, end, BASE64URL)) continue;
    const decoded = Buffer.from(realSlice(text, s, end), 'base64').toString('latin1');
    const colon = decoded.indexOf(':');
    if (colon < 1 || !/^[\x20-\x7e]+$/.test(decoded)) continue;
    const password = decoded.slice(colon + 1);
    if (password.length >= MIN_URL_PASSWORD && !isPlaceholder(password)) push(found, s, end, SCORE_URL_PASSWORD);
  }
}

// ---- Command lines: `mysql -u root -pXyZ9!q2w` -----------------------------------------------------------------

/** How far along its line a `mysql` command's `-p` is looked for. */
const MAX_COMMAND_LINE = 512;
/** MySQL's and MariaDB's clients (`mysql`, `mysqldump`, `mysqladmin`, `mariadb`, `mariadb-dump`…). */
const MYSQL_CLIENTS = ['mysql', 'mariadb'];
/** Commands whose `-p` takes the password as its next word as well (`sshpass -p x ssh host`). */
const SPACED_P_CLIENTS = ['sshpass'];
/** Container tools whose `login` does the same (`docker login -u me -p x`; `docker run -p 8080:80` is a port). */
const LOGIN_CLIENTS = ['docker', 'podman', 'nerdctl'];
/** How a command line's `-p` carries the password: glued only (`mysql -pX`), or glued or as the next word. */
type PasswordFlag = 'glued' | 'spaced';

/**
 * Passwords a command line's flag carries, each only on the line of a command that takes it there. MySQL's clients
 * take it glued to `-p` (`-pXyZ9!q2w`, `-p'x y'`): `-p` alone prompts for it, and `-P` is the port (`--password=x` is
 * an assignment, found below). Found from the flag, which is rarer in text than the commands' letters (indexOf's cost
 * follows its first character's: ~0.1 ms/MB against ~0.9 for `mysql` and `mariadb`, measured); the line before each is
 * read once, from where the last look stopped.
 */
function findCommandLinePasswords(text: string, found: PiiFinding[]): void {
  const at = flagsAfterBlanks(text);
  findFlagPasswords(text, found, '-p', at.p, clientWordIn);
  // `redis-cli -a Tr0ub4dor&3x`, `curl -u admin:S3cure!Pass` (the password after the user's `:`): outside review 13.
  findFlagPasswords(text, found, '-a', at.a, redisClientIn);
  findFlagPasswords(text, found, '-u', at.u, curlIn, true);
  // Their long options (outside review 14): `--pass`, `--user`.
  findFlagPasswords(text, found, '--pass', at.pass, redisClientIn);
  findFlagPasswords(text, found, '--user', at.user, curlIn, true);
}

/**
 * Where each flag stands after a blank, from one search for `-` (five searches, one per flag, cost twice as much:
 * V8 finds one character faster than a pair whose first is common).
 */
function flagsAfterBlanks(text: string): { p: number[]; a: number[]; u: number[]; pass: number[]; user: number[] } {
  const at = { p: [] as number[], a: [] as number[], u: [] as number[], pass: [] as number[], user: [] as number[] };
  for (let i = text.indexOf('-'); i >= 0; i = text.indexOf('-', i + 1)) {
    if (!isBlank(text.charCodeAt(i - 1))) continue;
    const c = text.charCodeAt(i + 1);
    if (c === 112) at.p.push(i);
    else if (c === 97) at.a.push(i);
    else if (c === 117) at.u.push(i);
    else if (c === 45) {
      if (text.startsWith('pass', i + 2)) at.pass.push(i);
      else if (text.startsWith('user', i + 2)) at.user.push(i);
    }
  }
  return at;
}

/** Redis's command-line clients and their forks, whose `-a` is the password. */
const REDIS_CLIENTS = ['redis-cli', 'valkey-cli', 'keydb-cli'];
function redisClientIn(line: string): PasswordFlag | undefined {
  return commandIn(line, REDIS_CLIENTS, (after) => isBlank(line.charCodeAt(after))) ? 'spaced' : undefined;
}
function curlIn(line: string): PasswordFlag | undefined {
  return commandIn(line, ['curl'], (after) => isBlank(line.charCodeAt(after))) ? 'spaced' : undefined;
}

/** Whether one of `names` is a command word in `line` (not part of another word) that `test` accepts. */
function commandIn(line: string, names: readonly string[], test: (after: number) => boolean): boolean {
  for (const name of names) {
    for (let p = line.indexOf(name); p >= 0; p = line.indexOf(name, p + name.length)) {
      if (!isIn(line, p - 1, ALNUM | DASH | UNDERSCORE | DOT) && test(p + name.length)) return true;
    }
  }
  return false;
}

/**
 * The password a command line's `flag` carries (standing at `positions`, after blanks), on the line of a command
 * `clientOf` knows: glued (`-pX`) or, for a `spaced` client, as the next word; after the user's `:` when `afterColon`
 * (`curl -u user:password`).
 */
function findFlagPasswords(text: string, found: PiiFinding[], flag: string, positions: readonly number[], clientOf: (line: string) => PasswordFlag | undefined, afterColon = false): void {
  let looked = 0;
  let client: PasswordFlag | undefined;
  const length = flag.length;
  // (A long option takes its value after a blank or `=`: `--user svc:pw`, `--pass=pw`.)
  const long = flag.startsWith('--');
  for (const i of positions) {
    if (i + length >= text.length) continue;
    const after = text.charCodeAt(i + length);
    const glued = long ? after === 61 : after > 32;
    if (!glued && !isBlank(after)) continue;
    // What came since the last look: a line break starts another command; further back than a line's bound is none.
    let from = Math.max(looked, i - MAX_COMMAND_LINE);
    if (from > looked) client = undefined;
    for (let k = i - 1; k >= from; k--) {
      const c = text.charCodeAt(k);
      if (c === 10 || c === 13) {
        client = undefined;
        from = k + 1;
        break;
      }
    }
    looked = i;
    client ??= clientOf(realSlice(text, from, i));
    if (client === undefined || (!glued && client !== 'spaced')) continue;
    let s = i + length + (long && glued ? 1 : 0);
    while (!glued && s < text.length && isBlank(text.charCodeAt(s))) s++;
    const quote = text.charCodeAt(s);
    const quoted = quote === 34 || quote === 39;
    const start = quoted ? s + 1 : s;
    const limit = Math.min(text.length, s + MAX_COMMAND_LINE);
    const end = quoted ? realSlice(text, start, limit).indexOf(String.fromCharCode(quote)) + start : valueRunEnd(text, s, limit);
    if (end < start) continue;
    const colon = afterColon ? realSlice(text, start, end).indexOf(':') : -1;
    if (afterColon && colon < 1) continue; // `curl -u user` alone prompts for the password
    const valueStart = afterColon ? start + colon + 1 : start;
    const value = realSlice(text, valueStart, end);
    if (value.length >= 4 && !value.includes('\n') && !isPlaceholder(value)) push(found, valueStart, end, SCORE_URL_PASSWORD);
  }
}

/**
 * How the command in `line` takes its `-p`: a MySQL or MariaDB client's name as a command word (`mysql`,
 * `/usr/bin/mysqldump`, `mariadb-dump`: glued), `sshpass`, or `docker login` (spaced too); undefined for none.
 */
function clientWordIn(line: string): PasswordFlag | undefined {
  if (commandIn(line, MYSQL_CLIENTS, (after) => isBlank(line.charCodeAt(runEnd(line, after, LOWER | DASH))))) return 'glued';
  if (commandIn(line, SPACED_P_CLIENTS, (after) => isBlank(line.charCodeAt(after)))) return 'spaced';
  if (commandIn(line, LOGIN_CLIENTS, (after) => /^\s+login\s/.test(line.slice(after, after + 16)))) return 'spaced';
  return undefined;
}

/** The end of an unquoted command-line value at `i`: the next blank or line break. */
function valueRunEnd(text: string, i: number, limit: number): number {
  while (i < limit && text.charCodeAt(i) > 32) i++;
  return i;
}

// ---- Values assigned to secret names: `api_key = "…"`, `"client_secret": "…"`, `PASSWORD=…` ----------------------

/** `signature`: Azure SAS's `sig`, a secret only as a URL's parameter. */
type NameKind = 'strong' | 'generic' | 'authorization' | 'signature' | 'basic';

const MAX_NAME = 64;
const MAX_VALUE = 4096;
const MAX_QUOTED = 4096;
/** Last three letters (lowercased) of the names worth a closer look: password, passwd, passphrase, secret, key, token… */
const NAME_ENDINGS = new Set(['ord', 'swd', 'ase', 'ret', 'key', 'ken', 'ass', 'pwd', 'ial', 'als', 'ion', 'ure', 'sig', 'uth'].map(trigramCode));
/** `max_tokens`, `next_page_token`, `pad_token`: tokens that are not credentials. */
const TOKEN_NOT_SECRET = new Set([
  'max', 'page', 'next', 'continuation', 'cancellation', 'cancel', 'sync', 'pagination', 'start', 'end', 'stop', 'eos', 'bos',
  'pad', 'unk', 'special', 'input', 'output', 'num', 'total', 'prompt', 'completion', 'mask', 'cls', 'sep', 'count', 'limit',
  'reasoning', 'cached', 'resume', 'last', 'first', 'word', 'sentence', 'type', 'csrf',
]);
/** `primary_key`, `cache_key`, `public_key`, `idempotency_key`: keys that are not credentials. */
const KEY_NOT_SECRET = new Set([
  'public', 'pub', 'primary', 'foreign', 'sort', 'partition', 'cache', 'idempotency', 'routing', 'object', 'hot', 'host',
  'registry', 'translation', 'i18n', 'storage', 'index', 'group', 'dedup', 'dedupe', 'lookup', 'map', 'dict', 'hash', 'row',
  'range', 'unique', 'composite', 'join', 'react', 'list', 'item', 'shortcut', 'option', 'field', 'column', 'table', 'bucket',
  's3', 'lock', 'message', 'event', 'job', 'task', 'request', 'state', 'query', 'config', 'setting', 'label',
  // A GPG key's fingerprint, as official Dockerfiles set it to check downloads (`ENV GPG_KEY …`): public.
  'gpg', 'pgp', 'publishable',
]);
/** Words a schema or form puts after `password:` that are not passwords. */
const NOT_A_VALUE = new Set([
  'required', 'optional', 'string', 'boolean', 'integer', 'number', 'object', 'undefined', 'function', 'nullable', 'readonly',
  'disabled', 'enabled', 'hidden', 'masked', 'sensitive', 'redacted', 'encrypted', 'default', 'generated', 'random', 'unknown',
  'invalid', 'incorrect', 'expired', 'missing', 'provided', 'password', 'writeonly', 'secretstr', 'optional[str]', 'forgotten',
]);
const SCHEME_PREFIX = /^(bearer|basic|token|digest|negotiate|hmac|aws4-hmac-sha256)\s/i;
/**
 * Code or markup, not a value: a call or an index (`get_password()`, `os.environ["DB_PASS"]`, `cfg[key]`) or a value
 * that opens with a bracket (`[REDACTED]`, `(see vault)`, `{a: b}`). A bracket inside a value is a password's symbol.
 */
const CODE_SHAPED = new RegExp(
  [
    // One bracketed group of words: `[REDACTED]`, `(see vault)`, `{a: b}`.
    String.raw`^(?:\[[\w .,:-]*\]|\([\w .,:-]*\)|\{[\w .,:-]*\})$`,
    // A reference called or indexed: `os.environ[…`, `getpass.getpass(…`, `jwt.encode(…`.
    String.raw`^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[([]`,
    // A call with no arguments or with names or strings (`get_password()`, `hash(pw, salt)`), an index (`cfg[key]`);
    // not `Summer(2024)` or `Hunter(42);`, a word and digits in brackets, as passwords are made.
    String.raw`^[A-Za-z_$][\w$]*(?:\((?:[^)]*[A-Za-z_"'][^)]*)?\)|\[.*\])[!?.;,]?$`,
    // Code: an anonymous function, an arrow, a constructor or an await (`token:function(e){return`).
    String.raw`^(?:function\b|new |await |lambda\b|(?:\([\w, ]*\)|[A-Za-z_$][\w$]*)\s*=>)`,
    // A generic type (`Option<String>`, `Promise<string>`, `Vec<u8>`), a path (`env::var(`, `Hash::make(`), a call whose
    // first argument is a string (`input("Password`), a nested call (`bin2hex(random_bytes(32))`), Go's `[]byte(…)`
    // (outside review 15).
    String.raw`^[A-Za-z_$][\w$.]*<[A-Za-z_][\w<>, .?\[\]|]*>?[?,;)]*$|^[A-Za-z_]\w*::|^[A-Za-z_$][\w$.]*\(["'\`]|^[A-Za-z_$][\w$]*\(.*[A-Za-z_].*\)[!?.;,]?$|^\[\d*\][a-z]`,
  ].join('|'),
);
/** `settings.SECRET_KEY`, `process.env.API_KEY`: a reference in code, not a value. */
const DOTTED_REFERENCE = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/**
 * `settings.SECRET_KEY`, `process.env.TOKEN!`: a reference in code. Not `Acme.Corp2024!`, a password with a dot: code's
 * references carry no digits among their words (outside review 15).
 */
function isReference(v: string): boolean {
  const bare = v.replace(/[!?]+$/, '');
  return DOTTED_REFERENCE.test(bare) && !/\d/.test(bare);
}
/** Code inside a run: a minified bundle's `s}=e;return(0,o.jsx)(…)` after `token:` (outside review 15). */
const CODE_INSIDE = /\breturn[ (]|\bfunction\s*\(|=>|\)\s*\{|\b(?:var|const|let) /;
/** What prose says of a secret, not the secret: `base64-encoded`, `SHA-256`, `HS256-signed`, `bcrypt(12)`, `32-bytes`. */
const DESCRIBES_A_SECRET = /^(?:[a-z0-9]+-(?:encoded|based|signed|hashed|encrypted|protected|bytes?|bits?|long|char(?:acter)?s?)|sha-?\d+|md5|bcrypt(?:\(\d+\))?|argon2\w*|scrypt|pbkdf2\w*|aes-?\d+\w*|rsa-?\d+|[hre]s\d{3})[.,;:!]?$/i;
/** `password: str`, `token: SecretStr`: a type annotation. */
const TYPE_NAME = /^[A-Z][A-Za-z]*[a-z][A-Za-z]*$|^(str|string|bytes|int|bool|any|unknown)$/;
/** An identifier or lowercase words naming a secret: a variable or a sample, not a value. */
const NAMED_LIKE_A_SECRET = /^(?=.*(pass|pwd|secret|token|key|cred))([A-Za-z_$]+|[a-z]+(-[a-z]+)+)$/i;
const NAME_WORDS = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;

function trigramCode(s: string): number {
  return (s.charCodeAt(0) << 16) | (s.charCodeAt(1) << 8) | s.charCodeAt(2);
}

/** Lowercases ASCII letters only. */
function lowerCode(c: number): number {
  return c >= 65 && c <= 90 ? c | 32 : c;
}

/**
 * Each `=` or `:` with a secret name before it and a value after it. The name check costs a few character reads;
 * an unquoted value is consumed whole, so `password=password=…` is read once.
 */
function findAssignments(text: string, found: PiiFinding[], separator: '=' | ':'): void {
  let from = 0;
  for (;;) {
    const p = text.indexOf(separator, from);
    if (p < 0) return;
    from = p + 1;
    if (separator === ':' && text.charCodeAt(p + 1) === 65 && text.charCodeAt(p + 2) === 65) telegramBotTokenAt(text, p, found);
    if (!isAssignmentSeparator(text, p, separator)) continue;
    const nameEnd = nameEndBefore(text, separator === '=' && text.charCodeAt(p - 1) === 58 ? p - 1 : p); // Go's :=
    // A segment of a colon-separated id, `arn:aws:secretsmanager:…:secret:prod/db`: names a secret, holds none.
    if (separator === ':' && nameEnd > 0 && text.charCodeAt(nameStartBefore(text, nameEnd) - 1) === 58) continue;
    const kind = nameEnd < 0 ? undefined : (nameKind(text, nameEnd) ?? (separator === ':' ? kubernetesSecretName(text, nameEnd) : attributeSecretName(text, nameEnd)));
    if (!kind) {
      proseWordBefore(text, p, found);
      continue;
    }
    const nameStart = nameStartBefore(text, nameEnd);
    const inQuery = separator === '=' && isQueryName(text, nameStart);
    if (kind === 'signature' && !inQuery) continue;
    // (A line of its own is written `NAME=value` or `name: value`; `password = sha256(salt + raw)` is a statement of code.)
    const ownLine = !isBlank(text.charCodeAt(p - 1)) && startsLine(text, nameStart);
    const value = valueAfter(text, p, inQuery ? 'query' : ownLine ? (hasLowerCase(text, nameStart, nameEnd) ? 'form line' : 'line') : 'inline');
    if (!value) continue;
    if (kind === 'authorization' && tokenSchemeAt(text, value, found)) continue;
    from = Math.max(from, value.next);
    if (acceptsValue(text, value, kind, separator, inQuery)) push(found, value.start, value.end, SCORE_ASSIGNED);
  }
}

/**
 * A Kubernetes container's env entry, `- name: DB_PASSWORD` then `value: "…"` (on the next line, or `{name: …, value:
 * …}`, or as JSON, `{"name":"DB_PASSWORD","value":"…"}`, its quotes escaped inside a JSON string too): the `value` key
 * ending at `end` takes its kind from the name before it (outside review 15).
 */
const KUBERNETES_NAME = /\bname\\?["']?\s*:\s*\\?["']?([A-Za-z_][\w.-]*)\\?["']?\s*(?:,|\r?\n)\s*\\?["']?$/;
function kubernetesSecretName(text: string, end: number): NameKind | undefined {
  // (`startsWith` on the view: a stand-in there is no letter of `value` either, and no string is made per `:`.)
  if (end < 5 || !text.startsWith('value', end - 5) || isIn(text, end - 6, NAME)) return undefined;
  const name = KUBERNETES_NAME.exec(realSlice(text, Math.max(0, end - 5 - 160), end - 5))?.[1];
  return name === undefined ? undefined : kindOfName(name);
}

/**
 * A Dockerfile's `ENV NAME value` (the older form, with a blank instead of `=`): the rest of the line is the value
 * (outside review 15). Found from `ENV ` at a line's start.
 */
function findDockerfileEnv(text: string, found: PiiFinding[]): void {
  // (Not fish's `set -x NAME value` or Windows' `setx NAME value`: an indexOf of `set -x ` costs ~1 ms per MB of prose,
  // measured; `ENV ` starts with a capital and costs a tenth of that.)
  // The line the last candidate's value was on: its end, and its end without trailing blanks (read once a line: one
  // long line of `ENV TOKEN ` read the rest of the line for each, 1 MB in 0.9 s, 4 MB in 12.6 s).
  let lineEnd = -1;
  let trimmedEnd = -1;
  for (let p = text.indexOf('ENV '); p >= 0; p = text.indexOf('ENV ', p + 4)) {
    if (p > 0 && text.charCodeAt(p - 1) !== 10 && !isBlank(text.charCodeAt(p - 1))) continue;
    const nameStart = skipBlanks(text, p + 4, 4);
    const nameEnd = runEnd(text, nameStart, NAME);
    if (nameEnd === nameStart || !isBlank(text.charCodeAt(nameEnd))) continue;
    const kind = kindOfName(realSlice(text, nameStart, nameEnd));
    if (!kind || kind === 'signature') continue;
    const s = skipBlanks(text, nameEnd, 8);
    if (s > lineEnd) {
      lineEnd = text.indexOf('\n', s);
      if (lineEnd < 0) lineEnd = text.length;
      trimmedEnd = lineEnd;
      while (trimmedEnd > s && (text.charCodeAt(trimmedEnd - 1) === 13 || isBlank(text.charCodeAt(trimmedEnd - 1)))) trimmedEnd--;
    }
    // (A later value on the same line ends where the first did, or is empty: trimming stops at its start.)
    const end = Math.max(s, trimmedEnd);
    const quote = text.charCodeAt(s);
    const quoted = (quote === 34 || quote === 39) && text.charCodeAt(end - 1) === quote && end - s >= 2;
    const envLine = !hasLowerCase(text, nameStartBefore(text, nameEnd), nameEnd);
    const value = quoted ? { start: s + 1, end: end - 1, quoted, spaced: true, next: end, envLine } : { start: s, end, quoted, spaced: false, next: end, envLine };
    if (acceptsValue(text, value, kind, '=')) push(found, value.start, value.end, SCORE_ASSIGNED);
  }
}

/** Whether the name starting at `start` is a URL parameter's (`?access_token=`, `&token=`, `#access_token=`). */
function isQueryName(text: string, start: number): boolean {
  const c = text.charCodeAt(start - 1);
  return c === 63 || c === 38 || c === 35;
}

/** Whether the name `text[start, end)` has a lower-case ASCII letter. */
function hasLowerCase(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) return true;
  }
  return false;
}

/**
 * Whether the name starting at `start` starts its line (after blanks, `export `, `set `, `ENV `, `ARG ` or `- `): a
 * `.env`, shell, Dockerfile or config line, whose unquoted value is everything up to the next blank.
 */
function startsLine(text: string, start: number): boolean {
  let i = start;
  while (i > 0 && isBlank(text.charCodeAt(i - 1))) i--;
  // (`export X=…`, `set X=…`, a Dockerfile's `ENV X=…` and `ARG X=…`, a YAML list item `- X=…`: outside review 14.)
  for (const word of ['export', 'set', 'ENV', 'ARG', '-']) {
    if (i < start && i >= word.length && text.startsWith(word, i - word.length) && (i === word.length || !isIn(text, i - word.length - 1, NAME))) {
      i -= word.length;
      while (i > 0 && isBlank(text.charCodeAt(i - 1))) i--;
      break;
    }
  }
  // (Or the start of a JSON string, as a tool call writes a command: `{"cmd": "export DB_PASSWORD=\"…\""}`.)
  return i === 0 || text.charCodeAt(i - 1) === 10 || text.charCodeAt(i - 1) === 13 || jsonStringOpensAt(text, i - 1);
}

/**
 * Whether the quote at `q` opens a JSON string value (`: "`) or an array's first item (`[ "`). (After a comma it may
 * open an object's key: `,"password":{"type":"string"}` is a schema.)
 */
function jsonStringOpensAt(text: string, q: number): boolean {
  if (text.charCodeAt(q) !== 34) return false;
  let i = q;
  while (i > 0 && isBlank(text.charCodeAt(i - 1))) i--;
  const before = text.charCodeAt(i - 1);
  return before === 58 || before === 91;
}

/** `пароль: x`, `heslo=x`: one of SEPARATOR_PROSE_WORDS right before the separator at `p` (past blanks and a quote). */
function proseWordBefore(text: string, p: number, found: PiiFinding[]): void {
  let end = p;
  while (end > 0 && p - end < 3 && isBlank(text.charCodeAt(end - 1))) end--;
  if (text.charCodeAt(end - 1) === 34 || text.charCodeAt(end - 1) === 39) end--;
  const last = codeAt(text, end - 1);
  if (end < 2 || last >= 0x800 || SEPARATOR_WORD_LAST[last] === 0) return;
  const words = SEPARATOR_WORD_ENDINGS.get(pairKey(codeAt(text, end - 2), last));
  if (!words) return;
  for (const word of words) {
    const start = end - word.lower.length;
    if (start < 0 || !sameWord(text, start, word)) continue;
    separatorWordsChecked.add(start, text.length);
    proseSecretAt(text, start, end, found, word.lower);
  }
}

/** A set of offsets in one text, as bits: made (or cleared) at the first add, so most texts pay nothing. */
class OffsetSet {
  #bits = new Uint8Array(0);
  #empty = true;
  add(offset: number, textLength: number): void {
    if (this.#empty) {
      const bytes = (textLength >> 3) + 1;
      if (this.#bits.length < bytes) this.#bits = new Uint8Array(bytes);
      else this.#bits.fill(0, 0, bytes);
      this.#empty = false;
    }
    this.#bits[offset >> 3]! |= 1 << (offset & 7);
  }
  has(offset: number): boolean {
    return !this.#empty && (this.#bits[offset >> 3]! & (1 << (offset & 7))) !== 0;
  }
  clear(): void {
    this.#empty = true;
  }
}

/**
 * Where SEPARATOR_PROSE_WORDS were checked before their `:` or `=` in the current text: the pass over their anchor
 * letters finds them again, and skips them (a megabyte of `пароль: ` read each value twice, ~0.5 s). (A Set of those
 * offsets cost 160 ns an add.)
 */
const separatorWordsChecked = new OffsetSet();

/** Not `==`, `!=`, `<=`, `+=`, `::`, `https://`; `=>` and `:=` are fine. */
function isAssignmentSeparator(text: string, p: number, separator: '=' | ':'): boolean {
  const next = text.charCodeAt(p + 1);
  // `a ? 'x' : 'y'` and `name : type`: a colon after a space is not JSON's or YAML's.
  if (separator === ':') return next !== 58 && next !== 61 && next !== 47 && text.charCodeAt(p - 1) !== 58 && !isBlank(text.charCodeAt(p - 1));
  return next !== 61 && !OPERATOR[text.charCodeAt(p - 1) & 127];
}

/** Characters that make `=` part of an operator when before it: `!= <= >= == += -= *= /= |= &= ^= %= ?=`. */
const OPERATOR = new Uint8Array(128);
for (const ch of '!<>=+-*/|&^%?') OPERATOR[ch.charCodeAt(0)] = 1;

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** Skips up to `max` spaces and tabs (not line breaks: a value is on its name's line). */
function skipBlanks(text: string, i: number, max: number): number {
  const limit = Math.min(text.length, i + max);
  while (i < limit && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  return i;
}

/** The end of the name before a separator at `p` (past spaces and a closing quote), or -1. */
function nameEndBefore(text: string, p: number): number {
  let i = p - 1;
  for (let spaces = 0; spaces < 8 && i >= 0 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); spaces++) i--;
  const c = text.charCodeAt(i);
  if (c === 34 || c === 39 || c === 96) i--;
  // (A key of JSON written inside a JSON string, its quotes escaped: `{"args":"{\"password\":\"…\"}"}`.)
  if (c === 34 && text.charCodeAt(i) === 92) i--;
  return isIn(text, i, NAME) ? i + 1 : -1;
}

/** What the name ending at `end` says about the value after it, or undefined when it is no secret name. */
function nameKind(text: string, end: number): NameKind | undefined {
  if (end < 3) return undefined;
  const tail = (lowerCode(text.charCodeAt(end - 3)) << 16) | (lowerCode(text.charCodeAt(end - 2)) << 8) | lowerCode(text.charCodeAt(end - 1));
  if (!NAME_ENDINGS.has(tail)) return undefined;
  const start = nameStartBefore(text, end);
  if (isIn(text, start - 1, NAME)) return undefined; // longer than any name
  const name = realSlice(text, start, end);
  // Two words of prose naming one, `API key: x`, `Secret Key = x`, `access token: x` (outside review 16).
  if ((end - start === 3 || end - start === 5) && text.charCodeAt(start - 1) === 32 && KEY_OR_TOKEN.test(name)) {
    let s = start - 1;
    while (s > 0 && start - 1 - s < 8 && isIn(text, s - 1, LOWER | UPPER)) s--;
    const first = realSlice(text, s, start - 1).toLowerCase();
    if (SPACED_NAME_FIRSTS.has(first) && !isIn(text, s - 1, NAME)) return kindOfWords([first, name.toLowerCase()]);
  }
  return kindOfName(name);
}
const KEY_OR_TOKEN = /^(?:key|token)$/i;
/** The first words of spaced names `nameKind` reads: `API key`, `secret key`, `private key`, `access token`, `auth token`. */
const SPACED_NAME_FIRSTS = new Set(['api', 'secret', 'private', 'access', 'auth', 'bearer', 'bot', 'refresh']);

/** Where the name ending at `end` starts (MAX_NAME characters back at most). */
function nameStartBefore(text: string, end: number): number {
  let start = end - 1;
  while (start > 0 && end - start < MAX_NAME && isIn(text, start - 1, NAME)) start--;
  return start;
}

/** What a name (`DB_PASSWORD`, `apiKey`, `x-api-key`) says about the value after it. */
function kindOfName(name: string): NameKind | undefined {
  return kindOfWords((name.match(NAME_WORDS) ?? []).map((w) => w.toLowerCase()));
}

function kindOfWords(words: string[]): NameKind | undefined {
  const last = words[words.length - 1] ?? '';
  const previous = words[words.length - 2] ?? '';
  if (/(password|passwd|passphrase)$/.test(last) || last.endsWith('secret')) return 'strong';
  if (last === 'apikey' || last === 'secretkey' || last === 'privatekey') return 'strong';
  // Rails' `secret_key_base`, the key its cookies and sessions are signed with.
  if (last === 'base' && previous === 'key' && words[words.length - 3] === 'secret') return 'strong';
  if (last === 'key') {
    if (previous === 'api' || previous === 'secret' || previous === 'private') return 'strong';
    return previous === '' || KEY_NOT_SECRET.has(previous) ? undefined : 'generic';
  }
  if (last.endsWith('token')) return last === 'token' && TOKEN_NOT_SECRET.has(previous) ? undefined : 'generic';
  if ((last === 'pass' || last === 'pwd') && previous !== '') return 'strong';
  if (last === 'credential' || last === 'credentials') return 'generic';
  if (last === 'authorization') return 'authorization';
  // A signed URL's signature grants what the URL grants: S3's `X-Amz-Signature`, Azure SAS's `sig`, GCS's `X-Goog-Signature`.
  if (last === 'signature' && (previous === 'amz' || previous === 'goog')) return 'generic';
  if (last === 'sig' && words.length === 1) return 'signature';
  // Docker's `config.json` `"auth": "<base64 of user:password>"`, npm's `_auth=`: the pair, encoded (outside review 16).
  if (last === 'auth' && words.length === 1) return 'basic';
  return undefined;
}

interface Value {
  start: number;
  end: number;
  quoted: boolean;
  /** Whitespace around the separator: code (`password = x`) rather than a config line (`PASSWORD=x`). */
  spaced: boolean;
  /** Where the search may go on. */
  next: number;
  /** The assignment is a line of its own under an upper-case name (`.env`, `export`, `ENV`): no code, no schema. */
  envLine?: boolean;
}

/** What follows the `;` that starts the next key of a connection string (`;User Id=sa`, `; Database=x`). */
const CONNECTION_PARAMETER = /^ ?[A-Za-z_][\w .-]{0,40}=/;
/** What follows the `&` that starts the next parameter of a query string or form body. */
const QUERY_PARAMETER = /^[A-Za-z_][\w.[\]-]{0,40}=/;

/**
 * Where a value read up to `end` ends at the closing quote of the JSON string it stands in, escaped or not, before `,`
 * `}` `]` `:` or the text's end (`{"note":"my password is Quokka!2291","email":…}`): its first quote (later ones may
 * be the value's own, `JWT_SECRET={"k":"v"}`); else `end`. Read past, the secret took the next fields with it (a tool's
 * arguments lost `"n":1` when redacted: outside review 16). (A `,` or `;` before another `name=` does not end a value:
 * generated passwords hold `;j=k`; the next field's value, when it is one, is found inside and wins only its own part.)
 */
function jsonStringEnd(text: string, start: number, end: number): number {
  // (Within the value: an indexOf over the rest of a text with no quote made 1 MB of `hasło ` quadratic.)
  let k = start + 1;
  while (k < end && text.charCodeAt(k) !== 34) k++;
  if (k >= end) return end;
  const after = text.charCodeAt(k + 1);
  return k + 1 >= text.length || after === 44 || after === 125 || after === 93 || after === 58 || after === 92 ? (text.charCodeAt(k - 1) === 92 ? k - 1 : k) : end;
}

/**
 * The value after the separator at `p`: quoted (up to the closing quote on the same line) or a run up to a stop
 * character. Where the assignment is a line of its own (`DB_PASSWORD=Tr0ub;4dor)3x`), the run goes to the next blank:
 * generated passwords hold any symbol (an outside review found `(`, `)`, `;` and `&x=` cutting them short). Elsewhere a
 * bracket closes the value only when the value did not open it (`Blue(Ocean)77`), and `&` ends it only in a query
 * string (`?password=x&user=y`; Django keys hold `&` and `=`).
 */
function valueAfter(text: string, p: number, where: 'line' | 'form line' | 'inline' | 'query'): Value | undefined {
  let i = p + 1;
  if (text.charCodeAt(i) === 62 && where !== 'line' && where !== 'form line') i++; // => (a line's value may start with `>`)
  const spacedBefore = text.charCodeAt(p - 1) === 32 || text.charCodeAt(p - 1) === 9;
  const s = skipBlanks(text, i, 8);
  const spaced = spacedBefore || s > i;
  const quote = text.charCodeAt(s);
  // A quote escaped inside a JSON string (a tool call's `{"cmd": "export DB_PASSWORD=\"…\""}`): the value runs to the
  // same escaped quote, within the string.
  if (quote === 92 && text.charCodeAt(s + 1) === 34) {
    const close = escapedQuoteEnd(text, s + 2);
    return close === -1 ? undefined : { start: s + 2, end: close, quoted: true, spaced, next: close + 2, envLine: where === 'line' };
  }
  // Typographic quotes, as word processors and chat apps write them (`password = “Xk9mQ2vLpz7w”`): not part of the value.
  const closers = TYPOGRAPHIC_CLOSERS.get(quote);
  if (closers !== undefined) {
    const limit = Math.min(text.length, s + 1 + MAX_QUOTED);
    let close = s + 1;
    while (close < limit && !closers.includes(text[close]!) && text.charCodeAt(close) !== 10 && text.charCodeAt(close) !== 13) close++;
    if (close >= limit || !closers.includes(text[close]!)) return undefined;
    return { start: s + 1, end: close, quoted: true, spaced, next: close + 1, envLine: where === 'line' };
  }
  if (quote === 34 || quote === 39 || quote === 96) {
    const limit = Math.min(text.length, s + 1 + MAX_QUOTED);
    let close = s + 1;
    while (close < limit) {
      const c = text.charCodeAt(close);
      if (c === quote || c === 10 || c === 13) break;
      close++;
    }
    if (text.charCodeAt(close) !== quote) return undefined;
    return { start: s + 1, end: close, quoted: true, spaced, next: close + 1, envLine: where === 'line' };
  }
  if (text.charCodeAt(s) === 10 || text.charCodeAt(s) === 13) return undefined;
  let end = s;
  const n = text.length;
  if (where === 'line' || where === 'form line') {
    // (A lower-case name may start a form body, `password=x&remember=1`: there `&` and a parameter end it. Environment
    // variables are upper-case.)
    while (end < n && !(classOf(text.charCodeAt(end)) & SPACE) && !(where === 'form line' && text.charCodeAt(end) === 38 && QUERY_PARAMETER.test(realSlice(text, end + 1, end + 44)))) end++;
    // (Code's line, `token: process.env.TOKEN!,`, ends in a comma or semicolon: not the value's. An argument list cut
    // there, `password: hash(pw, salt)`, is a call: no value.)
    if (where === 'form line') {
      const last = text.charCodeAt(end - 1);
      if ((last === 44 || last === 59) && end - 1 > s) {
        if (openedBracket(text, s, end - 1)) return undefined;
        end--;
      }
    }
    end = jsonStringEnd(text, s, end);
  } else {
    let depth = 0; // brackets the value opened
    for (; end < n; end++) {
      const c = text.charCodeAt(end);
      if (c === 40 || c === 91 || c === 123) depth++;
      if (!(classOf(c) & VALUE_STOP)) continue;
      if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
      // `&` ends a value only before the next query parameter (`?password=x&user=y`).
      else if (!(c === 38 && (where !== 'query' || !QUERY_PARAMETER.test(realSlice(text, end + 1, end + 44))))) {
        // An argument list, a string or an expression cut inside a bracket the value opened: a call, `Secret(name="db", …)`,
        // `sha256(salt + raw)`.
        if (depth > 0 && (c === 44 || c === 59 || c === 34 || c === 39 || c === 32)) return undefined;
        break;
      }
    }
  }
  const next = end;
  while (end > s && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 58)) end--; // prose punctuation
  if (next - end >= 2 && text.charCodeAt(next - 1) === 46) return { start: s, end: s, quoted: false, spaced, next }; // `sk-ant-...`: a sample
  return { start: s, end, quoted: false, spaced, next, envLine: where === 'line' };
}

/** Typographic opening quotes and what closes each (any quote of its kind: people type them mismatched). */
const TYPOGRAPHIC_CLOSERS = new Map<number, string>([...[...'“„«'].map((quote): [number, string] => [quote.charCodeAt(0), '”“»"']), ...[...'‘‚'].map((quote): [number, string] => [quote.charCodeAt(0), "’‘'"])]);

/**
 * Where a value that an escaped quote opened (`\"`) ends: at the next escaped quote, or -1 when the JSON string, the
 * line or MAX_QUOTED ends first.
 */
function escapedQuoteEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_QUOTED);
  for (let i = from; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13 || c === 34) return -1;
    if (c !== 92) continue;
    if (text.charCodeAt(i + 1) === 34) return i;
    i++; // another escape (`\\`, `\n`): skipped whole
  }
  return -1;
}

/**
 * `Authorization: Token <key>` (Django REST framework, GitHub's `token` scheme): the key after the scheme the value
 * read (`Bearer` and `Basic` have recognizers of their own). Whether it was that scheme.
 */
function tokenSchemeAt(text: string, value: Value, found: PiiFinding[]): boolean {
  const v = value.start;
  if ((text.charCodeAt(v) | 32) !== 116 || realSlice(text, v + 1, v + 5) !== 'oken' || !isBlank(text.charCodeAt(v + 5))) return false;
  if (!value.quoted && value.end !== v + 5) return false;
  let s = skipBlanks(text, v + 5, 4);
  if (realSlice(text, s, s + 6).toLowerCase() === 'token=') s += 6; // `Token token=…` (Rails' form): the key after its label
  const end = value.quoted ? Math.min(value.end, runEnd(text, s, BEARER_TOKEN)) : runEnd(text, s, BEARER_TOKEN);
  const key = realSlice(text, s, Math.min(end, s + 256));
  // (Machine-made, as an assigned value must be: a digit among its letters, or long.)
  if (end - s >= MIN_TOKEN && end - s <= MAX_TOKEN && !isPlaceholder(key) && looksRandom(text, s, end, 8) && (/\d/.test(key) || end - s >= 24)) push(found, s, end, SCORE_ASSIGNED);
  return true;
}

function acceptsValue(text: string, value: Value, kind: NameKind, separator: '=' | ':', inQuery = false): boolean {
  if (kind === 'signature') kind = 'generic';
  const length = value.end - value.start;
  if (length < MIN_TOKEN || length > MAX_VALUE) return false;
  const v = realSlice(text, value.start, value.end);
  if (kind === 'basic') return isEncodedCredentials(v);
  if (kind === 'authorization') {
    if (SCHEME_PREFIX.test(v)) return false; // Bearer / Basic: their own recognizers
    kind = 'generic';
  }
  if (isPlaceholder(v) || v.includes('://') || NOT_A_VALUE.has(v.toLowerCase())) return false;
  if (!value.quoted && RELATIVE_PATH.test(v)) return false;
  if (NAMED_LIKE_A_SECRET.test(v)) return false; // password = db_password, 'OPENAI_API_KEY', 'test-api-key'
  if (!value.quoted && (v.charCodeAt(0) === 63 || v.charCodeAt(0) === 45) && separator === ':' && text.charCodeAt(value.start - 1) === 58) return false; // `${X:?message}`, `${X:-default}`
  if (!value.quoted) {
    if (CODE_SHAPED.test(v)) return false; // get_password(), os.environ["…"], [REDACTED]
    if (text.charCodeAt(value.end) === 60 && IDENTIFIER.test(v)) return false; // a generic type, `Uint8Array<ArrayBuffer>`
    // settings.SECRET_KEY is code; a URL parameter holds no code (`?access_token=ya29.a0AfH6…`: Google's tokens have a dot).
    if (!inQuery && isReference(v)) return false;
    if (IDENTIFIER.test(v) && separator === '=' && value.spaced) return false; // password = stored, a variable
    if (separator === ':' && (TYPE_NAME.test(v) || /^[a-z]+$/.test(v))) return false; // password: str, "apiKey: environment"
  }
  // A phrase; but quoted under an upper-case secret name on a line of its own, a passphrase (`DB_PASSWORD="my long
  // passphrase 2024"`: outside review 15). A schema's message sits under a lower-case key (`"password": "must be …"`).
  if (/\s/.test(v)) {
    if (!value.quoted || kind !== 'strong' || v.length > 128 || v.split(/\s+/).length > 8) return false;
    if (value.envLine === true) return true;
    // Elsewhere on a command line, written as a shell writes it (`… DB_PASSWORD="first pass 11"`, `-e DB_PASSWORD="…"`,
    // `--password="…"`, PowerShell's `$env:DB_PASSWORD = "…"`), when no word of a sentence is in it (an outside review).
    return (shellAssigned(text, value.start) || powerShellEnv(text, value.start)) && !v.split(/\s+/).some((word) => PHRASE_STOPWORDS.has(word.toLowerCase()));
  }
  if (kind === 'strong') return true;
  // A path, a URN; on an env line a `user:token` pair is the token's (`API_TOKEN=user:Xk9mQ2vLpz7`).
  if (v.charCodeAt(0) === 47 || v.charCodeAt(0) === 126 || (v.includes(':') && !(value.envLine && /^[\w.-]+:[^:]+$/.test(v)))) return false;
  // Machine-made: digits among letters (`randomString` and other camelCase words have none), or long and random.
  return looksRandom(text, value.start, value.end, 8) && (/\d/.test(v) || length >= 24);
}

/** Whether the quoted value at `start` follows `NAME=` with no blank (`DB_PASSWORD="…"`, `--password='…'`), as a shell writes it. */
function shellAssigned(text: string, start: number): boolean {
  const quote = text.charCodeAt(start - 1);
  // (Its quote escaped inside a JSON string: `{"cmd":"docker run -e DB_PASSWORD=\"…\""}`.)
  const equals = text.charCodeAt(start - 2) === 92 ? start - 3 : start - 2;
  return (quote === 34 || quote === 39) && text.charCodeAt(equals) === 61 && isIn(text, equals - 1, NAME);
}

/** Whether the quoted value at `start` is PowerShell's `$env:NAME = "…"`. */
function powerShellEnv(text: string, start: number): boolean {
  return /\$env:[A-Za-z_][\w]*\s*=\s*\\?$/i.test(realSlice(text, Math.max(0, start - 80), start - 1));
}

/** Base64 of a printable `user:password` pair (what HTTP Basic and Docker's `auth` carry). */
function isEncodedCredentials(v: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v) || v.length % 4 !== 0) return false;
  return /^[\x21-\x7e][\x20-\x7e]*:[\x20-\x7e]{4,}$/.test(Buffer.from(v, 'base64').toString('latin1'));
}

// ---- Secrets in markup and argument lists --------------------------------------------------------------------------

/**
 * `<password>x</password>`, `<db.password>x</db.password>` (Maven's settings.xml, Spring, Tomcat): found from the
 * closing tag (`</` is rare in prompts: 0.03 ms on 2 MB), the value between it and its opening tag on one line.
 */
function findXmlElements(text: string, found: PiiFinding[]): void {
  for (let p = text.indexOf('</'); p >= 0; p = text.indexOf('</', p + 2)) {
    const nameEnd = runEnd(text, p + 2, NAME);
    if (text.charCodeAt(nameEnd) !== 62 || nameEnd - p - 2 < 3) continue;
    const open = text.lastIndexOf('>', p - 1);
    if (open < 0 || p - open - 1 > MAX_VALUE) continue;
    const name = realSlice(text, p + 2, nameEnd);
    const tag = text.lastIndexOf('<', open);
    const afterName = text.charCodeAt(tag + 1 + name.length);
    if (tag < 0 || !text.startsWith(name, tag + 1) || !(afterName === 62 || isBlank(afterName))) continue;
    // The element's name, or its `name`/`key` attribute's (JBoss' `<Property name="password">x</Property>`).
    const attribute = afterName === 62 ? undefined : NAME_ATTRIBUTE.exec(realSlice(text, tag, open))?.[1];
    const kind = nameKind(text, nameEnd) ?? (attribute === undefined ? undefined : kindOfName(attribute));
    if (kind === undefined || kind === 'signature' || kind === 'authorization') continue;
    let start = open + 1;
    let end = p;
    while (start < end && isBlank(text.charCodeAt(start))) start++;
    while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
    if (indexWithin(text, 10, start, end) >= 0) continue;
    if (acceptsValue(text, { start, end, quoted: true, spaced: false, next: p }, kind, '=')) push(found, start, end, SCORE_ASSIGNED);
  }
}

const NAME_ATTRIBUTE = /\s(?:name|key)\s*=\s*["']([\w.:-]{1,64})["']/i;

/**
 * A quoted name, a comma and a quoted value: `define( 'DB_PASSWORD', 'x' )` (WordPress), `os.environ.setdefault("API_KEY",
 * "x")`, `headers.put("X-Api-Key", "x")`. Found from the name's closing quote and the comma.
 */
function findNamedArguments(text: string, found: PiiFinding[]): void {
  for (const joint of ["',", '",']) {
    for (let p = text.indexOf(joint); p >= 0; p = text.indexOf(joint, p + 2)) {
      const kind = nameKind(text, p);
      if (kind === undefined || kind === 'signature' || kind === 'authorization') continue;
      if (text.charCodeAt(nameStartBefore(text, p) - 1) !== text.charCodeAt(p)) continue;
      const value = valueAfter(text, p + 1, 'inline');
      if (value?.quoted && acceptsValue(text, value, kind, '=')) push(found, value.start, value.end, SCORE_ASSIGNED);
    }
  }
}

/**
 * `<add key="SmtpPassword" value="x"/>` (.NET's app.config), `<param name="password" value="x">`: a `value` attribute
 * whose `key` or `name` on the same tag is a secret's name; Terraform's `default = "x"` in a `variable "db_password"`
 * block. `end` is where `value` or `default` ends.
 */
const NAMED_BY_ATTRIBUTE = /\b(?:key|name)\s*=\s*["']([\w.:-]{1,64})["']\s+$/i;
/** Terraform's `variable "db_password" {` before its `default = "…"` (a `type` or `description` line between). */
const TERRAFORM_VARIABLE = /\bvariable\s+"([\w-]{1,64})"\s*\{[^{}]{0,160}$/;
function attributeSecretName(text: string, end: number): NameKind | undefined {
  const last = text.charCodeAt(end - 1);
  if (last === 101 && end >= 5 && realSlice(text, end - 5, end).toLowerCase() === 'value' && !isIn(text, end - 6, NAME)) {
    const name = NAMED_BY_ATTRIBUTE.exec(realSlice(text, Math.max(0, end - 5 - 100), end - 5))?.[1];
    return name === undefined ? undefined : kindOfName(name);
  }
  if (last === 116 && end >= 7 && realSlice(text, end - 7, end) === 'default' && !isIn(text, end - 8, NAME)) {
    const name = TERRAFORM_VARIABLE.exec(realSlice(text, Math.max(0, end - 7 - 240), end - 7))?.[1];
    return name === undefined ? undefined : kindOfName(name);
  }
  return undefined;
}

/** Comma, semicolon, tab, pipe: what a CSV, TSV or markdown table's fields are split by. */
const FIELD_DELIMITERS = [44, 59, 9, 124];
/** How many rows under a secret's column are read. */
const MAX_COLUMN_ROWS = 10_000;

/**
 * The delimiter `[start, end)` stands between (a field delimiter or a line's edge on each side, past blanks and
 * quotes), 40 for a column list's brackets, or -1 when it does not stand alone.
 */
function headerDelimiter(text: string, start: number, end: number): number {
  let before = start - 1;
  while (before >= 0 && isFieldPadding(text.charCodeAt(before))) before--;
  let after = end;
  while (after < text.length && isFieldPadding(text.charCodeAt(after))) after++;
  const b = before < 0 ? 10 : text.charCodeAt(before);
  const a = after >= text.length ? 10 : text.charCodeAt(after);
  if (b === 40 && (a === 44 || a === 41)) return 40;
  if (a === 41 && b === 44) return 40;
  // A column list written a name per line (`INSERT INTO users (\n  name,\n  password\n) VALUES …`, tab-indented too):
  // past the breaks, when an insert's column list it is.
  if ((b === 10 || b === 9) && (a === 10 || a === 9 || a === 44 || a === 41) && sqlColumnListOpen(text, start) >= 0) {
    while (before >= 0 && (isFieldPadding(text.charCodeAt(before)) || text.charCodeAt(before) === 10 || text.charCodeAt(before) === 9)) before--;
    while (after < text.length && (isFieldPadding(text.charCodeAt(after)) || text.charCodeAt(after) === 10 || text.charCodeAt(after) === 9)) after++;
    const b2 = text.charCodeAt(before);
    const a2 = text.charCodeAt(after);
    if ((b2 === 40 || b2 === 44) && (a2 === 44 || a2 === 41)) return b2 === 40 || a2 === 41 ? 40 : 44;
  }
  if (!(b === 10 || FIELD_DELIMITERS.includes(b)) || !(a === 10 || FIELD_DELIMITERS.includes(a))) return -1;
  return b !== 10 ? b : a !== 10 ? a : -1;
}

/** Blanks, quotes and SQL Server's brackets around a field: space, `"`, `'`, a backquote, `[`, `]`, carriage return. */
function isFieldPadding(c: number): boolean {
  return c === 32 || c === 34 || c === 39 || c === 96 || c === 13 || c === 91 || c === 93;
}

/** Padding of a SQL tuple's or column list's field, which may be written one per line (`('alice',\n  'Wq8!zLm3Rx')`). */
function isSqlFieldPadding(c: number): boolean {
  return isFieldPadding(c) || c === 10 || c === 9;
}

/** A header line longer than this is prose. */
const MAX_HEADER_LINE = 1024;
/** How far a header's line is looked for (one more than it may be long: a longer one is prose). */
const HEADER_REACH = MAX_HEADER_LINE + 1;
/** Where the long line the last header word stood in ends, at least (per text: `findProseSecrets` resets it). */
let longLineUntil = -1;

/**
 * The secret columns of the header line last read, whose rows are read once for all of them (`flushSecretColumns`):
 * read once per column, a header of 333 `pw` columns read its rows 333 times (1 MB: 3.8 s; an outside hunt's).
 */
let pendingColumns:
  | { table: 'delimited'; lineStart: number; delimiter: number; width: number; rowStart: number; columns: Array<{ column: number; kind: NameKind }> }
  | { table: 'sql'; open: number; values: number; columns: Array<{ column: number; kind: NameKind }> }
  | undefined;

/**
 * A CSV, TSV or markdown table whose header names a password column (`username,password` over `deploy,Wq8!zLm3Rx`), or
 * a SQL insert's column list that does (`INSERT INTO users (name, password) VALUES ('deploy', 'Wq8!zLm3Rx'), …`):
 * every cell of that column below (outside review 16). `[start, end)` is the header's word, `delimiter` what it
 * stands between (`headerDelimiter`).
 */
function findSecretColumn(text: string, start: number, end: number, word: string, delimiter: number, found: PiiFinding[]): void {
  const kind: NameKind = WEAK_PROSE_WORDS.has(word) ? 'generic' : 'strong';
  // (A column list's name stands after `(` or `,` and before `,` or `)`: `(id, login, password, email)`.)
  const open = delimiter === 40 || delimiter === 44 ? sqlColumnListOpen(text, start) : -1;
  if (open >= 0) {
    const close = indexWithin(text, 41, end, end + 400);
    if (close < 0) return;
    const column = fieldsOf(text, open + 1, close, 44, isSqlFieldPadding).findIndex(([s, e]) => s <= start && end <= e);
    const values = skipBlanksAndBreaks(text, close + 1);
    if (column < 0 || realSlice(text, values, values + 6).toLowerCase() !== 'values') return;
    // (The statement's other secret names join it: its tuples are read once, as a header's rows are.)
    if (pendingColumns?.table === 'sql' && pendingColumns.open === open) pendingColumns.columns.push({ column, kind });
    else {
      flushSecretColumns(text, found);
      pendingColumns = { table: 'sql', open, values, columns: [{ column, kind }] };
    }
    return;
  }
  if (delimiter === 40 || start < longLineUntil) return;
  const lineStart = lineStartAt(text, start, HEADER_REACH);
  const lineEnd = lineEndAt(text, end, HEADER_REACH);
  if (lineEnd - lineStart > MAX_HEADER_LINE || (lineStart > 0 && text.charCodeAt(lineStart - 1) !== 10) || (lineEnd < text.length && text.charCodeAt(lineEnd) !== 10)) {
    // (The words after this one up to `lineEnd` are on the same long line: 1 MB of `a,password,` looked 90,000 times.)
    longLineUntil = lineEnd;
    return;
  }
  const header = fieldsOf(text, lineStart, lineEnd, delimiter);
  const column = header.findIndex(([s, e]) => s <= start && end <= e);
  if (column < 0) return;
  // (A markdown table's `|---|---|` line under its header.)
  let rowStart = lineEnd + 1;
  if (delimiter === 124 && /^[\s|:-]+$/.test(realSlice(text, rowStart, lineEndAt(text, rowStart, HEADER_REACH)))) rowStart = lineEndAt(text, rowStart, HEADER_REACH) + 1;
  // A header heads its block: the line above is not a row like it (a table's cell that says "token" heads nothing).
  if (lineStart > 0 && fieldsOf(text, lineStartAt(text, lineStart - 1, HEADER_REACH), lineStart - 1, delimiter).length === header.length) return;
  // The other secret words of this header line join it; its rows are read when the words move past it.
  if (pendingColumns?.table === 'delimited' && pendingColumns.lineStart === lineStart && pendingColumns.delimiter === delimiter) {
    pendingColumns.columns.push({ column, kind });
    return;
  }
  flushSecretColumns(text, found);
  pendingColumns = { table: 'delimited', lineStart, delimiter, width: header.length, rowStart, columns: [{ column, kind }] };
}

/** Reads the rows under the pending header line once, taking each of its secret columns' cells. */
function flushSecretColumns(text: string, found: PiiFinding[]): void {
  const pending = pendingColumns;
  pendingColumns = undefined;
  if (pending === undefined) return;
  const take = (cell: [number, number] | undefined, kind: NameKind) => {
    // (A cell with blanks is not taken: a policy table's password column holds sentences, `Min 12 chars incl. 1 digit`.)
    if (cell && (acceptsValue(text, { start: cell[0], end: cell[1], quoted: true, spaced: false, next: cell[1] }, kind, '=') || (kind === 'strong' && shortPasswordCell(realSlice(text, cell[0], cell[1]))))) push(found, cell[0], cell[1], SCORE_ASSIGNED);
  };
  if (pending.table === 'sql') {
    for (let row = skipBlanksAndBreaks(text, pending.values + 6), rows = 0; text.charCodeAt(row) === 40 && rows < MAX_COLUMN_ROWS; rows++) {
      const rowEnd = tupleEnd(text, row);
      if (rowEnd < 0) return;
      const cells = fieldsOf(text, row + 1, rowEnd, 44, isSqlFieldPadding);
      for (const { column, kind } of pending.columns) take(cells[column], kind);
      const next = skipBlanksAndBreaks(text, rowEnd + 1);
      row = text.charCodeAt(next) === 44 ? skipBlanksAndBreaks(text, next + 1) : -1;
    }
    return;
  }
  let rowStart = pending.rowStart;
  for (let rows = 0; rows < MAX_COLUMN_ROWS && rowStart < text.length; rows++) {
    // (A row is read whole, however long: each is read once.)
    const rowEnd = lineEndAt(text, rowStart, text.length);
    const cells = fieldsOf(text, rowStart, rowEnd, pending.delimiter);
    if (cells.length !== pending.width) return;
    for (const { column, kind } of pending.columns) take(cells[column], kind);
    rowStart = rowEnd + 1;
  }
}

/**
 * A password column's cell shorter than an assigned value must be (6–7 characters): a password when it has letters and
 * a digit or symbol, no blank, and is no placeholder (`hunter2`, `Pw0#x0Q`; not `default`, `******`, `N/A`).
 */
function shortPasswordCell(v: string): boolean {
  return v.length >= 6 && v.length < MIN_TOKEN && /\p{L}/u.test(v) && /[^\p{L}\s]/u.test(v) && !/\s/.test(v) && !isPlaceholder(v) && !NOT_A_VALUE.has(v.toLowerCase());
}

/** `INSERT INTO name` right before a column list's `(`. */
const INSERT_BEFORE_COLUMN_LIST = new RegExp(String.raw`${INSERT_INTO_SOURCE}\s+[\w."\`[\]]+\s*$`, 'i');

/** The `(` of the column list `[start…` is in when it follows `INSERT INTO name`, else -1. */
function sqlColumnListOpen(text: string, start: number): number {
  let open = start - 1;
  while (open >= 0 && start - open < 400 && text.charCodeAt(open) !== 40 && text.charCodeAt(open) !== 41 && text.charCodeAt(open) !== 59) open--;
  if (open < 0 || text.charCodeAt(open) !== 40) return -1;
  return INSERT_BEFORE_COLUMN_LIST.test(realSlice(text, Math.max(0, open - 120), open)) ? open : -1;
}

/** The `)` closing the tuple whose `(` is at `i`, outside quotes; -1 past a line's worth of 4096 characters. */
function tupleEnd(text: string, i: number): number {
  let quote = 0;
  for (let k = i + 1; k < text.length && k - i < 4096; k++) {
    const c = text.charCodeAt(k);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 39 || c === 34) quote = c;
    else if (c === 41) return k;
  }
  return -1;
}

/** The fields of `[from, to)` split at `delimiter` outside quotes, each without its padding: `[start, end)` pairs. */
function fieldsOf(text: string, from: number, to: number, delimiter: number, padding = isFieldPadding): Array<[number, number]> {
  const fields: Array<[number, number]> = [];
  let quote = 0;
  let s = from;
  for (let k = from; k <= to; k++) {
    const c = k < to ? text.charCodeAt(k) : delimiter;
    if (quote !== 0 && k < to) {
      if (c === quote) quote = 0;
      continue;
    }
    if ((c === 34 || c === 39) && k < to && (k === s || padding(text.charCodeAt(k - 1)) || text.charCodeAt(k - 1) === 61)) quote = c;
    else if (c === delimiter) {
      let a = s;
      let b = k;
      while (a < b && padding(text.charCodeAt(a))) a++;
      while (b > a && padding(text.charCodeAt(b - 1))) b--;
      fields.push([a, b]);
      s = k + 1;
    }
  }
  return fields;
}

/** Past blanks and line breaks from `i`. */
function skipBlanksAndBreaks(text: string, i: number): number {
  while (i < text.length && (isBlank(text.charCodeAt(i)) || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13)) i++;
  return i;
}

// ---- Secrets written as prose: "my password is hunter2!", "Passwort: Tr0ub4dor&3", "the token was 8f3k2l9x" -------

/**
 * The words a prose secret follows, in every case, in case-insensitive passes (measured faster than a pass per word
 * in lower, Title and UPPER case, or an indexOf per rare middle): English, German `Passwort`/`Kennwort`, Dutch
 * `wachtwoord`, Portuguese `senha`, Polish `hasło`, French `mdp`, Spanish `clave`. `passe` stands for "mot de passe";
 * "contraseña" is found from its `ñ`. Those starting with `p` or `s` are written as a trie after `\b`: only a word's
 * first letter starts an attempt, and one branch per letter is tried (0.84–0.87× the time of the longest-first
 * alternation, same matches; a word glued after a letter, digit or `_` is no prose word anyway, and one after a letter
 * of another script is refused below). Its greedy optional tails keep "the longest word that matches at a place wins".
 */
const PROSE_WORD_LIST = [
  'password', 'passwort', 'passwd', 'passphrase', 'passcode', 'passe', 'pwd', 'secret', 'senha',
  // `pass=x`, `pw: x`; Italian and Turkish `parola`, Norwegian `passord`, Finnish `salasana`. (Words with another first
  // letter slow this pass on every text, measured: those are found from the `:` or `=` after them, see below.)
  'pass', 'pw', 'parola', "parola d'ordine", 'passord', 'passordet', 'salasana', 'salasanani',
];
const PROSE_WORDS = new RegExp(`\\b(?:${trieSource(PROSE_WORD_LIST)})`, 'gi');
for (const word of PROSE_WORD_LIST) {
  PROSE_WORDS.lastIndex = 0;
  if (PROSE_WORDS.exec(` ${word} `)?.[0] !== word) throw new Error(`secret.ts: PROSE_WORDS does not find ${word} whole`);
}
/**
 * The prose words with other first letters, each found from a letter of its own that prose holds less often (`k` of
 * `token`, `v` of `clave`), with the letters before it behind: a third letter more in the trie's first set tripled its
 * time (1.25 → 5.3 ms on 2 MB, measured), this pass costs ~2.4. Czech/Slovak `heslo` is here; Polish `hasło` is found
 * from its `ł` (below: the scan reads a view without it).
 */
const ANCHORED_LATIN_WORDS = /(?<=\bto)ken|\bkennwort|(?<=\bwacht)woord|(?<=\bcla)ve|(?<=\bmd)p|(?<=\bhes)lo/gi;
/** What each of its matches (lower-cased) is part of: the word's length and where in it the match starts. */
const ANCHORED_LATIN_MATCH: Record<string, { length: number; at: number }> = {
  ken: { length: 5, at: 2 }, kennwort: { length: 8, at: 0 }, woord: { length: 10, at: 5 }, ve: { length: 5, at: 3 }, p: { length: 3, at: 2 }, lo: { length: 5, at: 3 },
};
const ANCHORED_LATIN_WORD_LIST = ['token', 'kennwort', 'wachtwoord', 'clave', 'mdp', 'heslo'];
for (const word of ANCHORED_LATIN_WORD_LIST) {
  ANCHORED_LATIN_WORDS.lastIndex = 0;
  const m = ANCHORED_LATIN_WORDS.exec(` ${word} `);
  const { length, at } = ANCHORED_LATIN_MATCH[m?.[0] ?? '']!;
  if (m?.index !== 1 + at || length !== word.length) throw new Error(`secret.ts: ANCHORED_LATIN_WORDS does not find ${word} whole`);
}
/**
 * The two, one pass: a case-insensitive regex cannot skip ahead by its first letters, so each pass reads every
 * character, and one pass of both costs ~0.65× two (measured on mixed text). The anchored ones first: they match
 * inside a word, where the trie (after `\b`) never does, and no trie word is one of their tails.
 */
const PROSE_WORD_PASS = new RegExp(`${ANCHORED_LATIN_WORDS.source}|${PROSE_WORDS.source}`, 'gi');

/** A regex source matching exactly `words`, as a trie: `pass(?:word|wd)?`. (Letters and spaces only, and `'`.) */
function trieSource(words: readonly string[]): string {
  interface Node {
    end: boolean;
    next: Map<string, Node>;
  }
  const root: Node = { end: false, next: new Map() };
  for (const word of words) {
    let node = root;
    for (const c of word) {
      let child = node.next.get(c);
      if (!child) node.next.set(c, (child = { end: false, next: new Map() }));
      node = child;
    }
    node.end = true;
  }
  const emit = (node: Node): string => {
    const branches = [...node.next].map(([c, child]) => c + emit(child));
    if (branches.length === 0) return '';
    const body = branches.length === 1 ? branches[0]! : `(?:${branches.join('|')})`;
    if (!node.end) return body;
    return branches.length === 1 && branches[0]!.length === 1 ? `${body}?` : `(?:${body})?`;
  };
  return emit(root);
}
/**
 * Password words found from the `:` or `=` after them (`пароль: x`, `heslo=x`), which the assignment pass reads anyway:
 * in the pass above, or a pass of their own, they cost ~1 ms/MB on every text (measured). Russian, Turkish, Greek,
 * Arabic, Swedish, Danish, Czech/Slovak, Hungarian.
 */
const SEPARATOR_PROSE_WORDS = [
  'пароль', 'şifre', 'şifrem', 'κωδικός', 'κωδικός πρόσβασης', 'κωδικος', 'συνθηματικό', 'كلمة المرور', 'كلمة السر', 'lösenord', 'lösenordet', 'adgangskode',
  'adgangskoden', 'jelszó', 'jelszavam',
  // Russian "token", Hebrew, Vietnamese (outside review 10).
  'токен', 'סיסמה', 'mật khẩu',
];
/**
 * Those words in lower and upper case (Turkish `İ` and `I` both), by their last two characters packed in a number: a
 * Set look-up per separator, no string made (a slice and a Map look-up per `:` cost ~2 ms/MB, measured).
 */
interface SeparatorWord {
  lower: string;
  upper: string;
  upperAscii: string;
}
const SEPARATOR_WORD_ENDINGS = new Map<number, SeparatorWord[]>();
/** Their last characters (all below U+0800): most separators are ruled out by one array read. */
const SEPARATOR_WORD_LAST = new Uint8Array(0x800);
const pairKey = (a: number, b: number): number => (a & 0x7fff) * 0x10000 + b;
for (const word of SEPARATOR_PROSE_WORDS) {
  const forms: SeparatorWord = { lower: word, upper: word.toLocaleUpperCase('tr'), upperAscii: word.toUpperCase() };
  for (const form of new Set([forms.lower, forms.upper, forms.upperAscii])) {
    SEPARATOR_WORD_LAST[form.charCodeAt(form.length - 1)] = 1;
    const key = pairKey(form.charCodeAt(form.length - 2), form.charCodeAt(form.length - 1));
    const words = SEPARATOR_WORD_ENDINGS.get(key) ?? [];
    // Two forms may end alike (Turkish and plain upper case of `şifre` both end in `RE`): the word is listed once.
    if (!words.includes(forms)) SEPARATOR_WORD_ENDINGS.set(key, [...words, forms]);
  }
}
/**
 * The same words with a verb or none (`пароль — x`, `мой пароль x`, `şifrem x`, `ο κωδικός είναι x`): found from a
 * letter of theirs that English prose, code and logs seldom hold, one indexOf per letter (~0.03–0.2 ms/MB each,
 * measured; a regex pass of their own cost ~1.5 ms/MB). Longer forms first. `z` and `k` for Hungarian and Danish.
 */
const ANCHORED_PROSE_WORDS: Array<{ anchor: string; words: Array<{ at: number; forms: SeparatorWord }> }> = [];
const ANCHORED_PROSE_WORD_LIST: Record<string, string[]> = {
  ь: ['пароль'], ş: ['şifrem', 'şifre'], ω: ['κωδικός πρόσβασης', 'κωδικός', 'κωδικος'], θ: ['συνθηματικό'], ك: ['كلمة المرور', 'كلمة السر'], ö: ['lösenordet', 'lösenord'],
  z: ['jelszavam', 'jelszó'], k: ['adgangskoden', 'adgangskode'], ł: ['hasło'],
  // Russian "token", Hebrew, Hindi, Thai and Vietnamese "password" (outside review 10).
  к: ['токен'], ס: ['סיסמה'], व: ['पासवर्ड'], ห: ['รหัสผ่าน'], ậ: ['mật khẩu'],
};
for (const [anchor, words] of Object.entries(ANCHORED_PROSE_WORD_LIST)) {
  const entries = words.map((word) => ({ at: word.indexOf(anchor), forms: { lower: word, upper: word.toLocaleUpperCase('tr'), upperAscii: word.toUpperCase() } }));
  // (Title case keeps each anchor in lower case but `ş`; all capitals are rare in prose, and found before `:` or `=`.)
  for (const form of anchor === 'ş' || anchor === 'ł' ? [anchor, anchor.toUpperCase()] : [anchor]) ANCHORED_PROSE_WORDS.push({ anchor: form, words: entries });
}

/** Each of ANCHORED_PROSE_WORDS around each of its anchor letters, then the value after it. */
function findAnchoredProseWords(text: string, found: PiiFinding[]): void {
  for (const { anchor, words } of ANCHORED_PROSE_WORDS) findAnchoredWords(text, anchor, words, found);
}

/** One anchor's words. (A function of its own: a loop optimized on the stack inside the loop over anchors was thrown away at each exit.) */
function findAnchoredWords(text: string, anchor: string, words: ReadonlyArray<{ at: number; forms: SeparatorWord }>, found: PiiFinding[]): void {
  for (let p = realIndexOf(text, anchor); p >= 0; p = realIndexOf(text, anchor, p + 1)) {
    for (const { at, forms } of words) {
      const start = p - at;
      if (start >= 0 && sameWord(text, start, forms)) {
        if (!separatorWordsChecked.has(start)) proseSecretAt(text, start, start + forms.lower.length, found, forms.lower);
        break;
      }
    }
  }
}

/** `text` at `start` spells `forms`, each character in either case. */
function sameWord(text: string, start: number, forms: SeparatorWord): boolean {
  if (start + forms.lower.length > text.length) return false;
  for (let k = 0; k < forms.lower.length; k++) {
    const c = codeAt(text, start + k);
    if (c !== forms.lower.charCodeAt(k) && c !== forms.upper.charCodeAt(k) && c !== forms.upperAscii.charCodeAt(k)) return false;
  }
  return true;
}

/** Words that only name a password in some uses (`pass` the verb, `pw`, Italian `parola` "word"): the value must look like one. */
const WEAK_PROSE_WORDS = new Set(['pass', 'pw', 'parola', 'secret', 'token']);
/** Words a password may follow with no verb or separator at all (`PASSWORD Adm1n!2024`), when it looks like one. */
const BARE_PROSE_WORDS = new Set(['password', 'passwort', 'passwd', 'kennwort', 'mot de passe', 'contraseña', 'wachtwoord', 'senha', 'hasło', 'lösenord', 'passord', 'adgangskode', 'heslo', 'salasana', 'jelszó', 'jelszavam', 'пароль', 'şifre', 'şifrem', 'κωδικός', 'κωδικός πρόσβασης', 'κωδικος', 'συνθηματικό', 'كلمة المرور', 'كلمة السر', 'סיסמה', 'पासवर्ड', 'รหัสผ่าน', 'mật khẩu']);
/** Password words of scripts written without spaces, and what joins them to the value there (`パスワード：x`, `密码是 x`). */
const PROSE_WORDS_UNSPACED = ['パスワード', '暗証番号', '密码', '密碼', '口令', '비밀번호', '암호'];
noteNeedles([...PROSE_WORDS_UNSPACED, ...ANCHORED_PROSE_WORDS.map(({ anchor }) => anchor)]);
const UNSPACED_JOINERS = new Set([':', '：', '=', 'は', 'が', '是', '为', '為', '는', '은']);
/** What joins the word to its value: `is`, `was` (and the same in French, German, Spanish), `:` or `=`. */
const PROSE_VERBS = new Set([
  'is', 'was', 'est', 'ist', 'war', 'lautet', 'es', 'era', 'to', 'è', 'é',
  // Swedish, Norwegian and Danish, Czech, Greek, Russian (a dash), Turkish, Arabic
  'är', 'er', 'je', 'είναι', 'ήταν', 'это', '—', 'هي', 'هو',
  // Hebrew, Vietnamese
  'היא', 'הוא', 'là',
]);
/** Verbs that are another word in English (Finnish `on`: "the password on the server"): only after their own language's word. */
const PROSE_WORD_VERBS: Record<string, string> = { salasana: 'on', salasanani: 'on' };
/** The first letters of PROSE_VERBS and PROSE_WORD_VERBS, in either case. */
const VERB_FIRSTS = new Set([...PROSE_VERBS, ...Object.values(PROSE_WORD_VERBS)].flatMap((verb) => [verb.charCodeAt(0), verb[0]!.toUpperCase().charCodeAt(0)]));
/** One word a verb may carry before its value: "is now x", "ist jetzt x", "est maintenant x", "es ahora x". */
const PROSE_ADVERBS = new Set(['now', 'still', 'currently', 'temporarily', 'just', 'simply', 'jetzt', 'nun', 'noch', 'maintenant', 'toujours', 'ahora', 'todavía', 'ora', 'nu', 'nog']);
/** "was changed to x", "is set to x": a participle and `to` between the verb and the value. */
const PROSE_PARTICIPLES = new Set(['set', 'changed', 'reset', 'updated']);
const MAX_PROSE_VALUE = 128;
const MIN_PROSE_VALUE = 6;

/**
 * Quotes a prose value may stand in, and the characters that close each: any double quote a double one, any single
 * quote a single one, as people type them mismatched (`“Hunt3r!x9"`, `«X"`, `"X»`); CJK corner brackets (`「X」`).
 */
const DOUBLE_CLOSERS = '"”“»」』';
const SINGLE_CLOSERS = "'’‘`";
const CLOSING_QUOTES: Record<string, string> = { '"': DOUBLE_CLOSERS, '“': DOUBLE_CLOSERS, '„': DOUBLE_CLOSERS, '«': DOUBLE_CLOSERS, '「': DOUBLE_CLOSERS, '『': DOUBLE_CLOSERS, "'": SINGLE_CLOSERS, '‘': SINGLE_CLOSERS, '`': SINGLE_CLOSERS };
const OPENING_QUOTES = new Set(Object.keys(CLOSING_QUOTES).map((quote) => quote.charCodeAt(0)));

/**
 * What may start a passphrase, for the stream (stream.ts), which holds the rest of such a line until it ends so the
 * detector reads the phrase whole: every prose word but the weak ones (`passe` as "mot de passe"), the verbs with an
 * adverb or a participle and `to`, and the opening quotes. From the lists the detector reads, so a word added there is
 * held too.
 */
export const PASSPHRASE_STARTS = {
  words: [
    ...new Set([
      ...PROSE_WORD_LIST.map((word) => (word === 'passe' ? 'mot de passe' : word)),
      ...ANCHORED_LATIN_WORD_LIST,
      'contraseña',
      ...SEPARATOR_PROSE_WORDS,
      ...Object.values(ANCHORED_PROSE_WORD_LIST).flat(),
    ]),
  ].filter((word) => !WEAK_PROSE_WORDS.has(word)),
  /** Words of scripts written without spaces (`パスワード`, `密码`), which a letter may precede. */
  unspaced: PROSE_WORDS_UNSPACED,
  verbs: [...PROSE_VERBS, ...Object.values(PROSE_WORD_VERBS)],
  adverbs: [...PROSE_ADVERBS],
  participles: [...PROSE_PARTICIPLES],
  quotes: Object.keys(CLOSING_QUOTES),
};
/**
 * Sentence punctuation, an ellipsis and closing brackets after an unquoted value are not part of it (`!` and `?` may
 * be): `Hunt3r!x9…`, as phones type `...`, is the password `Hunt3r!x9`.
 */
const TRAILING_PUNCTUATION = new Set([...'.,;:)]}>"\'`”’»…」』'].map((c) => c.charCodeAt(0)));
function withoutTrailingPunctuation(value: string): string {
  let kept = value.length;
  // (A closing bracket the value opened is the password's: `Blue(Ocean)`.)
  while (kept > 0 && TRAILING_PUNCTUATION.has(value.charCodeAt(kept - 1)) && !closesInside(value, kept - 1)) kept--;
  return kept < value.length ? value.slice(0, kept) : value;
}
/** Whether `text[from, to)` leaves a bracket open. */
function openedBracket(text: string, from: number, to: number): boolean {
  let depth = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === 40 || c === 91 || c === 123) depth++;
    else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
  }
  return depth > 0;
}

/** Whether the bracket at `at` closes one opened earlier in `value` (`<`, `>` too: `Kä(s)e;Brot|42<x>`). */
function closesInside(value: string, at: number): boolean {
  const close = value.charCodeAt(at);
  const open = close === 41 ? 40 : close === 93 ? 91 : close === 125 ? 123 : close === 62 ? 60 : -1;
  if (open < 0) return false;
  let depth = 0;
  for (let k = 0; k < at; k++) {
    const c = value.charCodeAt(k);
    if (c === open) depth++;
    else if (c === close && depth > 0) depth--;
  }
  return depth > 0;
}
/** Words that follow "the password is" in ordinary prose and forms, even quoted ("the password is 'required'"). */
const PROSE_NOT_A_VALUE = new Set([
  'required', 'optional', 'invalid', 'incorrect', 'expired', 'correct', 'wrong', 'missing', 'empty', 'blank', 'hidden',
  'visible', 'encrypted', 'hashed', 'stored', 'saved', 'changed', 'updated', 'needed', 'necessary', 'mandatory', 'sensitive',
  'protected', 'generated', 'revoked', 'rotated', 'compromised', 'leaked', 'secure', 'insecure', 'unknown', 'unique',
  'random', 'different', 'something', 'nothing', 'anything', 'everything', 'disabled', 'enabled', 'default', 'provided',
  'forgotten', 'accepted', 'rejected', 'case-sensitive', 'unchanged', 'unavailable', 'available', 'sent', 'shown',
]);
/** `the next token is "because"`, `the EOS token is 50256`: tokens of a language model, not credentials. */
const TOKEN_NOT_CREDENTIAL = new Set([...TOKEN_NOT_SECRET, 'predicted', 'generated', 'sampled', 'following', 'separator', 'unknown']);
/** Dates, times, versions and grouped numbers: `2024-01-15`, `10:30:00`, `v1.2.3`, `1,000,000`. */
const NUMBER_LIKE = /^v?[\d.,:/-]+$/;
/** Subword markers of tokenizers (GPT-2's Ġ and Ċ, SentencePiece's ▁): a tokenizer dump, not a credential. */
const SUBWORD_MARK = /[ĠĊ▁]/;
/** `password=token=…`: another name assigned inside the value is structure, not a secret. */
const NESTED_NAME = /(?:pass(?:wor[dt]|wd|phrase)|pwd|secret|token)[=:]/i;
const MIXED_CASE = /\p{Ll}/u;
const LATER_UPPER = /.\p{Lu}/u;
/** A symbol in a value: anything but letters, digits and the joiners of words and identifiers (`case-sensitive`, `iron_pat_x`). */
const NOT_WORD_CHAR = /[^\p{L}\p{N}'’_-]/u;

/**
 * A password/secret/token word followed by `is`, `was`, `:` or `=` and a value that looks like a secret: at least
 * six characters without spaces, not an ordinary word, and a digit, a symbol or mixed case in it (or, after a
 * password word, quotes around it). Only the value is reported.
 */
function findProseSecrets(text: string, found: PiiFinding[]): void {
  longLineUntil = -1;
  pendingColumns = undefined;
  // Both kinds of word in one pass, in text order; after a value the search goes on past it.
  PROSE_WORD_PASS.lastIndex = 0;
  let from = 0;
  for (let m = PROSE_WORD_PASS.exec(text); m !== null; m = PROSE_WORD_PASS.exec(text)) {
    let start: number;
    let end: number;
    const anchored = ANCHORED_LATIN_MATCH[m[0].toLowerCase()];
    if (anchored !== undefined) {
      // (A word found by its tail: `to|ken`, `cla|ve`. One that began inside the value just read is not a word here.)
      start = m.index - anchored.at;
      end = start + anchored.length;
      if (start < from) continue;
    } else {
      start = m.index;
      end = start + m[0].length;
      if (m[0].length === 5 && m[0].toLowerCase() === 'passe') {
        if (!wordBefore(text, start, 'mot de ')) continue;
        start -= 7;
      }
    }
    // (A header's word, `username,password`: its column below. The first look, at the characters around, is cheap.)
    const delimiter = headerDelimiter(text, start, end);
    if (delimiter >= 0) findSecretColumn(text, start, end, m[0].toLowerCase(), delimiter, found);
    from = Math.max(end, proseSecretAt(text, start, end, found));
    if (PROSE_WORD_PASS.lastIndex < from) PROSE_WORD_PASS.lastIndex = from;
  }
  flushSecretColumns(text, found);
  // A column named with a prefix, `user_password`, `db-passwd` (the words above start at a word boundary).
  PREFIXED_PASSWORD_COLUMN.lastIndex = 0;
  for (let m = PREFIXED_PASSWORD_COLUMN.exec(text); m !== null; m = PREFIXED_PASSWORD_COLUMN.exec(text)) {
    const end = m.index + m[0].length;
    let start = m.index;
    while (start > 0 && end - start < MAX_NAME && isIn(text, start - 1, NAME)) start--;
    const delimiter = headerDelimiter(text, start, end);
    if (delimiter >= 0) findSecretColumn(text, start, end, 'password', delimiter, found);
  }
  flushSecretColumns(text, found);
  for (const word of PROSE_WORDS_UNSPACED) {
    for (let p = realIndexOf(text, word); p >= 0; p = realIndexOf(text, word, p + word.length)) unspacedSecretAt(text, p, p + word.length, found);
  }
  findAnchoredProseWords(text, found);
  for (const n of ['ñ', 'Ñ']) {
    for (let p = text.indexOf(n); p >= 0; p = text.indexOf(n, p + 1)) {
      if (wordBefore(text, p, 'contrase') && (text.charCodeAt(p + 1) | 32) === 97) proseSecretAt(text, p - 8, p + 2, found);
    }
  }
}


/** `_password`, `-passwd` ending a column's name: a password column (`user_password`; not `password_hash`). */
const PREFIXED_PASSWORD_COLUMN = /(?<=[A-Za-z0-9])[_-]pass(?:word|wd)(?![\w-])/gi;

/** The value quoted at `i` (its opening quote), null for a quote that does not close on its line, undefined for none. */
function quotedValueAt(text: string, i: number): { start: number; end: number; quoted: true; next: number } | null | undefined {
  if (!OPENING_QUOTES.has(codeAt(text, i))) return undefined; // (most values: no string to make for the look-up)
  const closers = CLOSING_QUOTES[realChar(text, i)]!;
  const limit = Math.min(text.length, i + 1 + MAX_PROSE_VALUE + 1);
  let j = i + 1;
  while (j < limit && !closers.includes(realChar(text, j)) && text.charCodeAt(j) !== 10) j++;
  if (j >= limit || text.charCodeAt(j) === 10) return null;
  return { start: i + 1, end: j, quoted: true, next: j + 1 };
}

/** `パスワード: Tr0ub4dor&3`, `パスワードは Tr0ub4dor&3 です`, `密码是“Tr0ub4dor&3”`, `パスワードは「Tr0ub4dor&3」です`: the joiner, blanks, then a bare run of ASCII. */
function unspacedSecretAt(text: string, start: number, end: number, found: PiiFinding[]): void {
  let i = skipBlanks(text, end, 2);
  if (!UNSPACED_JOINERS.has(realChar(text, i))) return;
  i = skipBlanks(text, i + 1, 3);
  const quoted = quotedValueAt(text, i);
  if (quoted === null) return;
  if (quoted !== undefined) {
    const candidate: ProseValue = { ...quoted, spaced: true, separator: ':' };
    if (acceptsProseValue(text, start, candidate, 'password')) push(found, candidate.start, candidate.end, SCORE_ASSIGNED);
    return;
  }
  const from = i;
  const limit = Math.min(text.length, i + MAX_PROSE_VALUE + 1);
  while (i < limit && text.charCodeAt(i) > 32 && text.charCodeAt(i) < 127) i++;
  const value = withoutTrailingPunctuation(realSlice(text, from, i));
  if (value.length === 0 || i - from > MAX_PROSE_VALUE) return;
  const candidate: ProseValue = { start: from, end: from + value.length, quoted: false, spaced: true, next: i, separator: ':' };
  // A passphrase after the joiner, as after `password:` (`パスワード: correct horse battery staple 42`; outside review 12).
  const phrase = passphraseAt(text, candidate, 'password');
  if (phrase > 0) push(found, from, phrase, SCORE_ASSIGNED);
  else if (acceptsProseValue(text, start, candidate, 'password')) push(found, candidate.start, candidate.end, SCORE_ASSIGNED);
}

/** Whether `text` has `word` (lowercase, compared without case) right before `i`. */
function wordBefore(text: string, i: number, word: string): boolean {
  const s = i - word.length;
  if (s < 0) return false;
  for (let k = 0; k < word.length; k++) if ((text.charCodeAt(s + k) | 32) !== (word.charCodeAt(k) | 32)) return false;
  return true;
}

/**
 * Checks the word at [start, end) and the value after it; returns where the search may go on (each word reads at most
 * ~140 characters ahead). `known`: the word in lower case, when the caller matched it as one of its listed forms.
 */
function proseSecretAt(text: string, start: number, end: number, found: PiiFinding[], known?: string): number {
  if (isWordChar(text, start - 1) || isWordChar(text, end)) return end;
  const word = known ?? realSlice(text, start, end).toLowerCase();
  const value = proseValueAfter(text, end, word);
  if (!value) return end;
  const phrase = passphraseAt(text, value, word, start);
  if (phrase > 0) {
    push(found, value.start, phrase, SCORE_ASSIGNED);
    return phrase;
  }
  if (!acceptsProseValue(text, start, value, word)) return end; // "password: password is …"
  push(found, value.start, value.end, SCORE_ASSIGNED);
  return value.end;
}

/** Letters (any script), digits and `_` continue a word: `passwords`, `tokenizer`, `db_password` are other words. */
function isWordChar(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.charCodeAt(i);
  return c < 128 ? (CLASSES[c] & WORD) !== 0 : /\p{L}/u.test(realChar(text, i));
}

interface ProseValue extends Value {
  /**
   * `quote`: the value in quotes right after the word, no verb (`use passphrase "correct-Horse-battery-9" to unlock`);
   * `bare`: the value right after the word, unquoted (`PASSWORD Adm1n!2024`).
   */
  separator: ':' | '=' | 'verb' | 'quote' | 'bare';
}

/** After the word at `i`: `**`, a closing quote, blanks, the verb or separator, blanks, then a quoted or bare value. */
function proseValueAfter(text: string, i: number, word: string): ProseValue | undefined {
  i = skipMarkup(text, i);
  const c = text.charCodeAt(i);
  if (c === 34 || c === 39) i = skipMarkup(text, i + 1); // `"password": …`
  const afterName = i;
  i = skipBlanks(text, i, 3);
  // "password for the VPN: x", "mot de passe du Wi-Fi est x": what the password is for, then its separator or verb.
  // "my secret key is x": the key the word names.
  if (word === 'secret' && i > afterName && (text.charCodeAt(i) | 32) === 107 && wordAtLower(text, i) === 'key') i = skipBlanks(text, i + 3, 3);
  const forPhrase = i > afterName ? afterForPhrase(text, i) : i;
  const named = forPhrase > i;
  i = forPhrase;
  let separator: ProseValue['separator'];
  if (text.charCodeAt(i) === 58 || text.charCodeAt(i) === 61) {
    separator = text.charCodeAt(i) === 58 ? ':' : '=';
    if (text.charCodeAt(i + 1) === 61 || text.charCodeAt(i + 1) === 58) return undefined; // `==`, `::`
    i++;
  } else if (i > afterName && (CLOSING_QUOTES[realChar(text, i)] !== undefined || (text.charCodeAt(i) === 92 && (text.charCodeAt(i + 1) === 34 || text.charCodeAt(i + 1) === 39)))) {
    // (Its quote may be escaped inside a JSON string: `{"cmd":"mysql --password \"purple monkey 42\""}`.)
    separator = 'quote';
  } else {
    if (i === afterName) return undefined;
    let w = i;
    // (A verb of any script: `är`, `είναι`, `هي`; a dash as Russian writes "is": `пароль — x`.)
    if (codeAt(text, w) === 0x2014) w++;
    else while (w < text.length && w - i < 7 && isLetter(text, w)) w++;
    // (Only a word that starts as a verb does is cut out and lower-cased: a page of `hasło ` spent a third of its time here.)
    const verb = VERB_FIRSTS.has(codeAt(text, i)) ? realSlice(text, i, w).toLowerCase() : '';
    if ((PROSE_VERBS.has(verb) || PROSE_WORD_VERBS[word] === verb) && !isWordChar(text, w)) {
      separator = 'verb';
      i = w;
      if (text.charCodeAt(i) === 58) i++; // "is: …"
      else i = afterProseAdverb(text, i);
    } else if (BARE_PROSE_WORDS.has(word) && !named) {
      separator = 'bare';
    } else return undefined;
  }
  if (separator !== 'verb' && separator !== 'bare') i = skipMarkup(text, i); // `**Password:** x`
  const blanks = skipBlanks(text, i, 3);
  if (separator === 'verb' && blanks === i) return undefined; // "is" glued to what follows
  const spaced = blanks > i;
  i = skipMarkup(text, blanks);
  // A quote escaped inside a JSON string (`{"saved":"password is \"correct horse\""}`): the value is between the
  // escaped quotes, without the backslash before the closing one (an outside review's three words leaked).
  const escaped = text.charCodeAt(i) === 92 && (text.charCodeAt(i + 1) === 34 || text.charCodeAt(i + 1) === 39);
  const quoted = quotedValueAt(text, escaped ? i + 1 : i);
  if (quoted !== undefined) {
    if (quoted === null) return undefined;
    const end = escaped && text.charCodeAt(quoted.end - 1) === 92 ? quoted.end - 1 : quoted.end;
    return { ...quoted, end, spaced, separator };
  }
  // A JSON object or array after the word, `"password": ["This field is required."]`, `"secret": {"name": …}`: structure,
  // and read as a value its redaction broke the JSON (outside review 17). (`[Nov]2024!` opens no string.)
  const first = text.charCodeAt(i);
  if ((first === 91 || first === 123) && JSON_INSIDE.has(text.charCodeAt(i + 1))) return undefined;
  let j = i;
  const limit = Math.min(text.length, i + MAX_PROSE_VALUE + 1);
  while (j < limit && !(classOf(text.charCodeAt(j)) & SPACE)) j++;
  if (j - i > MAX_PROSE_VALUE) return undefined; // a blob: other recognizers look at those
  j = jsonStringEnd(text, i, j);
  let value = realSlice(text, i, j);
  // An argument list or an expression cut at a blank, `password: hash(pw, salt)`, `Secret(name="db", …)`,
  // `password = sha256(salt + raw)`: a call, not a value.
  const last = value.charCodeAt(value.length - 1);
  const operatorAfter = separator === '=' && text.charCodeAt(j) === 32 && '+-*/%|&^,)'.includes(text.charAt(j + 1));
  if ((last === 44 || last === 59 || operatorAfter) && openedBracket(value, 0, value.length - (last === 44 || last === 59 ? 1 : 0))) return undefined;
  // A query string goes on at the first `&` a parameter follows (`Tr0ub4dor&3&x=1`: the password is `Tr0ub4dor&3`),
  // a connection string at the first `;` one follows (`Password=Tr0ub4dor3x;User Id=sa`).
  for (let amp = separator === '=' ? value.indexOf('&') : -1; amp >= 0; amp = value.indexOf('&', amp + 1)) {
    if (QUERY_PARAMETER.test(value.slice(amp + 1, amp + 44))) {
      value = value.slice(0, amp);
      break;
    }
  }
  for (let semi = separator === '=' ? value.indexOf(';') : -1; semi >= 0; semi = value.indexOf(';', semi + 1)) {
    if (CONNECTION_PARAMETER.test(realSlice(text, i + semi + 1, i + semi + 44))) {
      value = value.slice(0, semi);
      break;
    }
  }
  value = withoutTrailingPunctuation(value);
  return { start: i, end: i + value.length, quoted: false, spaced, next: j, separator };
}

/**
 * "for", "to", "of" and their kin in the languages of the prose words (`du`, `del`, `do`, `für`, `от`…): what a
 * password word names its purpose with (`password for the guest wifi is x`: outside review 16).
 */
const FOR_WORDS = new Set([
  'for', 'to', 'of', 'on', 'at', 'in', 'pour', 'du', 'de', 'des', 'del', 'para', 'da', 'do', 'dos', 'das', 'für', 'fürs', 'zum', 'zur', 'vom', 'von', 'des',
  'per', 'della', 'dello', 'di', 'voor', 'van', 'för', 'til', 'till', 'dla', 'od', 'do', 'от', 'для', 'к', 'na', 'pro', 'k',
]);
/** What may join the parts of one word of the phrase: `.`, `@`, `:`, `/` (`jane.doe@acme.com`, `10.0.0.5:22`). */
const JOINS_A_NAME = new Set([46, 64, 58, 47]);
/** Words "for" may be followed by before the separator: "the guest wifi", "le Wi-Fi". */
const MAX_FOR_WORDS = 4;

/**
 * At `i`, a FOR_WORDS word and up to MAX_FOR_WORDS words after it on the line, then blanks: where the separator or verb
 * may stand; `i` when there is no such phrase. (The verb after it is read by the caller, so "password for the
 * account is …" stops before "is".)
 */
function afterForPhrase(text: string, i: number): number {
  let end = i;
  while (end < text.length && end - i < 6 && isLetter(text, end)) end++;
  if (end === i || !FOR_WORDS.has(realSlice(text, i, end).toLowerCase())) return i;
  let at = skipBlanks(text, end, 2);
  for (let words = 0; words < MAX_FOR_WORDS && at > end; words++) {
    // (The phrase ends where the separator or a verb stands.)
    const c = text.charCodeAt(at);
    if (c === 58 || c === 61 || codeAt(text, at) === 0x2014) return at;
    let w = at;
    // (A word, an address or a host, `jane.doe@acme.com`, `root@10.0.0.5`; or a quoted name, `"deploy"`.)
    if (c === 34 || c === 39) {
      const close = indexWithin(text, c, at + 1, at + 41);
      if (close > at + 1 && indexWithin(text, 10, at, close) < 0) w = close + 1;
    } else {
      while (w < text.length && w - at < 40 && (isWordChar(text, w) || text.charCodeAt(w) === 45 || (JOINS_A_NAME.has(text.charCodeAt(w)) && isWordChar(text, w + 1)))) w++;
    }
    if (w === at) return i;
    const word = realSlice(text, at, w).toLowerCase();
    if (PROSE_VERBS.has(word) && words > 0) return at;
    end = w;
    at = skipBlanks(text, w, 2);
  }
  const c = text.charCodeAt(at);
  return c === 58 || c === 61 || codeAt(text, at) === 0x2014 || (at > end && PROSE_VERBS.has(wordAtLower(text, at))) ? at : i;
}

/** The word of letters at `i`, lower-cased (at most 8 letters). */
function wordAtLower(text: string, i: number): string {
  let end = i;
  while (end < text.length && end - i < 8 && isLetter(text, end)) end++;
  return realSlice(text, i, end).toLowerCase();
}

/** What follows `[` or `{` when they open JSON: a quote, a bracket, a blank or a line break, a closing one. */
const JSON_INSIDE = new Set([34, 39, 91, 93, 123, 125, 32, 9, 10, 13]);

/** After `is`: past one adverb ("now") or a participle and `to` ("changed to"), when one is there; else `i` itself. */
function afterProseAdverb(text: string, i: number): number {
  const wordAt = (at: number): [string, number] => {
    const from = skipBlanks(text, at, 1);
    if (from === at) return ['', at];
    let end = from;
    while (end < text.length && end - from < 12 && isWordChar(text, end)) end++;
    return [realSlice(text, from, end).toLowerCase(), end];
  };
  const [word, end] = wordAt(i);
  if (PROSE_ADVERBS.has(word)) return end;
  if (PROSE_PARTICIPLES.has(word)) {
    const [to, afterTo] = wordAt(end);
    if (to === 'to') return afterTo;
  }
  return i;
}

/** Skips markdown emphasis (`**Password:** x`) of at most two characters. */
function skipMarkup(text: string, i: number): number {
  for (let k = 0; k < 2 && (text.charCodeAt(i) === 42 || text.charCodeAt(i) === 95); k++) i++;
  return i;
}

/** A relative path, `--from-file=password=./pw.txt`: where the secret is, not the secret (outside review 17). */
const RELATIVE_PATH = /^\.{1,2}\/[\w./-]+$/;

function acceptsProseValue(text: string, wordStart: number, value: ProseValue, word: string): boolean {
  const length = value.end - value.start;
  if (length < MIN_PROSE_VALUE || length > MAX_PROSE_VALUE) return false;
  const v = realSlice(text, value.start, value.end);
  if (!value.quoted && RELATIVE_PATH.test(v)) return false;
  const passwordWord = !WEAK_PROSE_WORDS.has(word);
  // The value's own shape first: most refusals (`password: required`, a page of `пароль: `) need no other test.
  // (Quotes after "is" say "this is the value"; a quoted word right after the noun may be a field's name: the password
  // "field" is required. There the value itself must look like a secret.)
  if (value.separator === 'bare' ? !looksLikeBarePassword(v) : !(value.quoted && passwordWord && value.separator !== 'quote') && !looksLikeSecret(v)) return false;
  const lower = v.toLowerCase();
  if (/\s/.test(v) || isPlaceholder(v) || v.includes('://') || NOT_A_VALUE.has(lower) || PROSE_NOT_A_VALUE.has(lower)) return false;
  if (NAMED_LIKE_A_SECRET.test(v) || NUMBER_LIKE.test(v) || SUBWORD_MARK.test(v) || NESTED_NAME.test(v)) return false;
  // Code and config, not a value: a call, an index, a reference, a path, a YAML tag, anchor or alias.
  if (CODE_SHAPED.test(v) || CODE_INSIDE.test(v) || isReference(v) || DESCRIBES_A_SECRET.test(v) || '/~!&*'.includes(v[0] as string)) return false;
  if (value.separator === ':' && text.charCodeAt(wordStart - 1) === 58) return false; // `name:password:uid:gid`, a format
  if (value.separator === '=' && value.spaced && IDENTIFIER.test(v)) return false; // password = stored, a variable
  if (value.separator === ':' && TYPE_NAME.test(v)) return false; // password: SecretStr
  if (!passwordWord) {
    if (/^\d+$/.test(v)) return false; // token ids, counts
    if (word === 'token' && TOKEN_NOT_CREDENTIAL.has(previousWord(text, wordStart))) return false;
  }
  return true;
}

/** A digit, a symbol, or capitals after a lower-case letter: not a plain word (`hunter2`, `Tr0ub4dor&3`, `sEcReT`). */
function looksLikeSecret(v: string): boolean {
  // (What the regexes below say of ASCII, read by a loop: a call of each cost more than the rest of the check.)
  let ascii = true;
  for (let k = 0; k < v.length; k++) {
    const c = v.charCodeAt(k);
    if (c >= 128) ascii = false;
    else if ((CLASSES[c]! & WORD) === 0 ? c !== 39 && c !== 45 : c >= 48 && c <= 57) return true; // a symbol, a digit
  }
  return (!ascii && NOT_WORD_CHAR.test(v)) || (MIXED_CASE.test(v) && LATER_UPPER.test(v));
}

/** How many words a passphrase has (`correct horse battery staple 42`), and how long it may be. */
const MIN_PHRASE_WORDS = 3;
const MAX_PHRASE_WORDS = 8;
const MAX_PHRASE = 100;
/** A passphrase's words: lower-case letters (any script) or digits; the first may be capitalised. */
const PHRASE_WORD = /^\p{Lu}?[\p{Ll}\d]+$/u;
/**
 * Words of sentences about a password rather than of a passphrase (`Password: must be at least 12 characters`,
 * `Passwort: wird per Post geschickt`, `mot de passe : voir le coffre`), in the languages of the password words.
 */
const PHRASE_STOPWORDS = new Set([
  'a', 'an', 'the', 'and', 'or', 'not', 'no', 'is', 'are', 'be', 'been', 'was', 'were', 'to', 'of', 'for', 'in', 'on', 'at', 'by', 'with', 'from',
  'as', 'via', 'your', 'you', 'my', 'our', 'their', 'his', 'her', 'it', 'its', 'this', 'that', 'these', 'those', 'must', 'should', 'will', 'can',
  'cannot', 'may', 'please', 'see', 'use', 'using', 'same', 'than', 'then', 'if', 'when', 'only', 'all', 'any', 'each', 'per', 'least', 'more',
  'less', 'characters', 'chars', 'letters', 'digits', 'numbers', 'symbols', 'required', 'optional', 'minimum', 'maximum', 'min', 'max', 'length',
  'sent', 'stored', 'hidden', 'encrypted', 'hashed', 'changed', 'reset', 'expired', 'provided', 'above', 'below', 'here', 'there', 'ask', 'check',
  'der', 'die', 'das', 'und', 'oder', 'nicht', 'ist', 'mit', 'für', 'von', 'zu', 'ein', 'eine', 'ihr', 'ihre', 'wird', 'siehe', 'mindestens', 'zeichen',
  'le', 'la', 'les', 'et', 'ou', 'pas', 'est', 'avec', 'pour', 'de', 'du', 'des', 'un', 'une', 'votre', 'au', 'voir', 'moins', 'caractères',
  'el', 'los', 'las', 'y', 'o', 'es', 'con', 'para', 'su', 'al', 'ver', 'menos', 'caracteres', 'da', 'do', 'em', 'com', 'sua', 'il', 'di', 'per', 'het', 'een', 'van', 'met',
]);

/**
 * A passphrase: after a password word (not `pass`, `token`…) and `:`, the rest of the line when it is three to eight
 * words of lower-case letters or digits and nothing else (`My password: correct horse battery staple 42`), or the
 * same words in quotes after `:` or a verb (`the passphrase is "correct horse battery staple"`); at least four words,
 * or three with a digit. A sentence about the password has a word of sentences (`must`, `at least`, `see`, `the`…) or
 * punctuation, a state word past the first (`… policy enabled`) or a password word. Returns where it ends, or -1.
 */
function passphraseAt(text: string, value: ProseValue, word: string, wordStart = -1): number {
  const option = value.quoted && value.separator === 'quote' && longOptionAt(text, wordStart);
  if (WEAK_PROSE_WORDS.has(word) || !(value.separator === ':' || (value.quoted && value.separator === 'verb') || option)) return -1;
  let end = value.end;
  if (!value.quoted) {
    // (The phrase's first word is the value up to its first blank: when it is no phrase word, the line is not read.)
    const last = text.charCodeAt(value.next - 1);
    if (text.charCodeAt(value.next) !== 32 || (last < 128 && !(CLASSES[last]! & ALNUM)) || !PHRASE_WORD.test(realSlice(text, value.start, value.next))) return -1;
    end = value.start;
    const limit = Math.min(text.length, value.start + MAX_PHRASE + 1);
    // (To the line's end, or to the quote or escape that ends it in a JSON string: `{"note":"My password: correct horse
    // battery staple"}`, `…staple\nnext`.)
    while (end < limit && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13 && text.charCodeAt(end) !== 34 && text.charCodeAt(end) !== 92) end++;
    if (end - value.start > MAX_PHRASE) return -1;
    while (end > value.start && isBlank(text.charCodeAt(end - 1))) end--;
  }
  const words = realSlice(text, value.start, end).split(' ');
  if (words.length < MIN_PHRASE_WORDS || words.length > MAX_PHRASE_WORDS) return -1;
  let digits = false;
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const lower = w.toLowerCase();
    // (A state after the first word, `… policy enabled`, or a password word, `strong password policy`: a sentence.)
    if (!PHRASE_WORD.test(w) || PHRASE_STOPWORDS.has(lower) || (k > 0 && PROSE_NOT_A_VALUE.has(lower)) || SECRET_NAME_WORD.test(w)) return -1;
    if (!digits && /\d/.test(w)) digits = true;
  }
  return words.length >= 4 || digits ? end : -1;
}

/**
 * Whether the word at `start` ends a command line's long option (`--password "…"`, `--db-password '…'`: its quoted
 * value, after a blank, is the option's whole value).
 */
function longOptionAt(text: string, start: number): boolean {
  if (start < 2) return false;
  let i = start;
  while (i > 0 && i > start - MAX_NAME && (isWordChar(text, i - 1) || text.charCodeAt(i - 1) === 45)) i--;
  return text.startsWith('--', i) && (i === 0 || isBlank(text.charCodeAt(i - 1)) || text.charCodeAt(i - 1) === 10) && !text.startsWith('---', i);
}

/**
 * A phrase word that names a secret (`strong password policy`, `api key rotation`): a sentence about one. A word that
 * only holds such letters is a phrase word (`purple monkey dishwasher 42`, `compass`, `passport`: an outside review's
 * passphrase with `monkey` in it went out in clear).
 */
const SECRET_NAME_WORD = /^(?:pass(?:word|wort|wd|phrase|code|key)?s?|pwd|secrets?|tokens?|(?:api)?keys?|creds?|credentials?)$/i;

/** `_`, `!`, `#`…: a symbol, not a joiner of words (`-`, `.`, `/`, `'`). */
const PASSWORD_SYMBOL = /[^\p{L}\p{N}.\-/'’]/u;
/**
 * A value right after the word, with nothing saying "this is the value" (`password Portal_2024x`): it must look like a
 * password on its own — eight characters or more, letters and digits, and a symbol or upper and lower case — and not
 * end in a word (`password 2FA-enabled`, `Passwort SHA256-gehasht`).
 */
function looksLikeBarePassword(v: string): boolean {
  if (v.length < 8 || !/\d/.test(v) || !/\p{L}/u.test(v) || /[-/]\p{Ll}{3,}$/u.test(v)) return false;
  if (/^[A-Za-z_][\w.-]*=/.test(v)) return false; // another field of a log line: `…/password version=7`
  if (/^[A-Za-z_]\w*:["'`]/.test(v)) return false; // a struct tag's next key: `json:"password" validate:"required,min=8"`
  return PASSWORD_SYMBOL.test(v) || (/\p{Lu}/u.test(v) && /\p{Ll}/u.test(v));
}

/** A letter of any script at `i`. */
function isLetter(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c < 128 ? isIn(text, i, LOWER | UPPER) : i < text.length && /\p{L}/u.test(realChar(text, i));
}

/** The word before `i` (past blanks), lowercased: `next` in "the next token is …". */
function previousWord(text: string, i: number): string {
  let end = i;
  while (end > 0 && end > i - 4 && isBlank(text.charCodeAt(end - 1))) end--;
  let start = end;
  while (start > 0 && end - start < 16 && isIn(text, start - 1, LOWER | UPPER)) start--;
  return realSlice(text, start, end).toLowerCase();
}
