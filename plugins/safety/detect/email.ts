// EMAIL_ADDRESS: found from each `@` outward with bounded scans, so no input makes it slower than linear.
import { codeAt, realSlice } from './narrow-view.ts';
import type { PiiFinding, Recognizer } from '../types.ts';

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;
/** `icon@2x.png`, `bundle@1.2.js`: file names, not addresses. These are not top-level domains. */
const FILE_EXTENSIONS = new Set(['js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'css', 'scss', 'json', 'yaml', 'yml', 'txt', 'png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'ico', 'lock', 'java', 'vue', 'html', 'map']);

const UNICODE_WORD = /[\p{L}\p{N}\p{M}]/u;

/**
 * A letter, digit or mark beyond ASCII: internationalized addresses (RFC 6531: `josé@exämple.de`, `用户@例子.广告`).
 * Only characters of the Basic Multilingual Plane (every script's letters are there; emoji are not letters).
 */
function isUnicodeWord(c: number): boolean {
  return c >= 0x80 && (c < 0xd800 || c > 0xdfff) && UNICODE_WORD.test(String.fromCharCode(c));
}

function isLocalChar(c: number): boolean {
  // A-Z a-z 0-9 . _ % + - and letters of any script
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45 || isUnicodeWord(c);
}

function isLabelChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || isUnicodeWord(c);
}

const UNICODE_LETTER = /[\p{L}\p{M}]/u;

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 0x80 && (c < 0xd800 || c > 0xdfff) && UNICODE_LETTER.test(String.fromCharCode(c)));
}

/**
 * What a quoted local part holds here: words, spaces, RFC 5321's atext marks and `@` (`"a@b"@example.com`) — not the
 * `:` `,` of JSON around `"@`.
 */
const QUOTED_TEXT = /^[\p{L}\p{N}\p{M} .!#$%&'*+\-/=?^_`{|}~@]+$/u;

/**
 * Where a quoted local part (`"john doe"@example.com`) that ends just before `at` starts, or -1. Its opening quote
 * stands where a word could start (`{"to":"@x.com"}` holds no address).
 */
function quotedLocalStart(text: string, at: number): number {
  if (codeAt(text, at - 1) !== 34) return -1;
  const from = Math.max(0, at - 2 - MAX_LOCAL);
  for (let i = at - 2; i >= from; i--) {
    if (codeAt(text, i) !== 34) continue;
    if (i === at - 2 || (i > 0 && isLocalChar(codeAt(text, i - 1)))) return -1;
    const inside = realSlice(text, i + 1, at - 1);
    return inside.trim() === inside && QUOTED_TEXT.test(inside) ? i : -1;
  }
  return -1;
}

export const findEmails: Recognizer = (text, out) => {
  let at = text.indexOf('@');
  while (at !== -1) {
    const next = scanAt(text, at, out);
    at = text.indexOf('@', Math.max(next, at + 1));
  }
};

/** Looks for an address around the `@` at `at`; returns where the search may continue. */
function scanAt(text: string, at: number, out: PiiFinding[]): number {
  let start = quotedLocalStart(text, at);
  if (start === -1) {
    start = at;
    // An apostrophe between letters is part of a name (`o'brien@…`); quotes around an address are not.
    const local = (i: number) => isLocalChar(codeAt(text, i)) || (codeAt(text, i) === 39 && i > 0 && i + 1 < at && isLetter(codeAt(text, i - 1)) && isLetter(codeAt(text, i + 1)));
    // (Not into the address found just before: `erin@corp.io+frank@corp.io` is two, glued by a `+`.)
    const previous = out.at(-1);
    const floor = previous !== undefined && previous.type === 'EMAIL_ADDRESS' && previous.end <= at ? previous.end : 0;
    while (start > floor && at - start < MAX_LOCAL && local(start - 1)) start--;
    if (start === floor && floor > 0 && codeAt(text, start) === 43) start++;
    while (start < at && codeAt(text, start) === 46) start++; // a local part does not start with a dot
    if (start === at || codeAt(text, at - 1) === 46) return at + 1;
  }
  // A domain literal: `postmaster@[192.0.2.1]` (RFC 5321).
  if (codeAt(text, at + 1) === 91) {
    const close = text.indexOf(']', at + 2);
    if (close !== -1 && close - at <= 48 && /^(?:\d{1,3}\.){3}\d{1,3}$|^IPv6:[0-9a-fA-F:.]+$/.test(text.slice(at + 2, close))) {
      out.push({ type: 'EMAIL_ADDRESS', start, end: close + 1, score: 0.95 });
      return close + 1;
    }
  }
  // Domain: labels of [A-Za-z0-9-] separated by single dots.
  let end = at + 1;
  let lastDot = -1;
  let labelStart = end;
  const limit = Math.min(text.length, at + 1 + MAX_DOMAIN);
  while (end < limit) {
    const c = codeAt(text, end);
    if (isLabelChar(c)) end++;
    else if (c === 46 && end > labelStart && end + 1 < text.length && isLabelChar(codeAt(text, end + 1))) {
      lastDot = end;
      end++;
      labelStart = end;
    } else break;
  }
  if (lastDot === -1) return end;
  // A label never ends in `-`: `alice@example.org-` is the address and a dash.
  while (end > lastDot + 1 && codeAt(text, end - 1) === 45) end--;
  const tld = realSlice(text, lastDot + 1, end);
  if (tld.length < 2 || !(isLetter(tld.charCodeAt(0)) && isLetter(tld.charCodeAt(tld.length - 1)))) return end;
  for (let i = 0; i < tld.length; i++) if (!isLetter(tld.charCodeAt(i)) && tld.charCodeAt(i) !== 45 && !tld.startsWith('xn--')) return end;
  const domain = text.slice(at + 1, end);
  if (FILE_EXTENSIONS.has(tld.toLowerCase()) && domain.split('.').length === 2) return end;
  if (/^\d+x\./i.test(domain)) return end; // retina assets: logo@2x.png
  // (`_` and `-` are in no host name: `alice@example.org_backup.csv`, `alice@example.org-` end the address.)
  const follows = codeAt(text, end);
  const role = userInfoRole(text, at);
  // `imaps://alice@gmail.com@imap.gmail.com`: the user name is an address, and the `@` after it ends the user info.
  // (A `+` after the top-level domain ends the address: `alice@corp.io+1 more`, `alice@corp.io+44 7911 123456`.)
  if (end < text.length && ((follows === 64 && role !== 'user') || (isLocalChar(follows) && follows !== 46 && follows !== 95 && follows !== 45 && follows !== 43))) return end;
  if (role === 'password' || role === 'delimiter') return end;
  // `git@github.com:org/repo.git`, `deploy@host:/srv/app`: an scp-style remote (user, host, path), not an address.
  if (role === undefined && codeAt(text, end) === 58 && /^:[\w~./-]*[/.]/.test(text.slice(end, end + 64)) && !/^:\d+(?:$|\D)/.test(text.slice(end, end + 8))) return end;
  out.push({ type: 'EMAIL_ADDRESS', start, end, score: 0.95 });
  return end;
}

/** Where a URL's authority stops: a path, query or fragment, or what no URL holds (space, quotes, angle brackets). */
function isAuthorityEnd(c: number): boolean {
  return c === 47 || c === 63 || c === 35 || c === 32 || c === 10 || c === 9 || c === 13 || c === 34 || c === 39 || c === 60 || c === 62;
}

/**
 * What the `@` at `at` is in a URL's authority, or undefined outside one (no `://` before it, within 256 characters,
 * with no `/`, space or quote between). The last `@` of the authority ends the user info (`postgres://user:p4ss@db`:
 * the `@` is no address's, the password is the SECRET recognizer's); one before it is in the password when a `:` comes
 * first (`admin:p@ss@db`), else in the user name (`ftp://bob@example.com:pw@ftp.example.org`: an address).
 */
export function userInfoRole(text: string, at: number): 'delimiter' | 'user' | 'password' | undefined {
  const from = Math.max(0, at - 256);
  let colon = false;
  let i = at - 1;
  for (; i >= from + 2; i--) {
    const c = codeAt(text, i);
    if (c === 58) colon = true;
    if (isAuthorityEnd(c)) break;
  }
  if (i < from + 2 || codeAt(text, i) !== 47 || codeAt(text, i - 1) !== 47 || codeAt(text, i - 2) !== 58) return undefined;
  const limit = Math.min(text.length, at + 256);
  for (let j = at + 1; j < limit; j++) {
    const c = codeAt(text, j);
    if (c === 64) return colon ? 'password' : 'user';
    if (isAuthorityEnd(c)) break;
  }
  return 'delimiter';
}
