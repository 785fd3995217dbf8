// Which strings of a request's JSON are text for the model: the parts the neutral model leaves opaque (documents,
// search results, Responses items it does not name), tool and output-schema definitions. Keys are never rewritten.
import type { JsonObject } from '../../core/llm/types.ts';
import { encodeComponent, PLACEHOLDER_NAME } from './pseudonyms.ts';

/** Rewrites one string found under `key`; returns it unchanged when there is nothing to do. */
export type RewriteString = (value: string, key: string) => string;

/** Ids, names, types, signatures and encrypted or binary payloads: structure the provider checks, never prose. */
const OPAQUE_SKIP = new Set([
  'type', 'id', 'call_id', 'tool_use_id', 'name', 'role', 'status', 'signature', 'encrypted_content', 'media_type',
  'mime_type', 'file_id', 'file_data', 'image_url', 'url', 'detail', 'cache_control', 'format', 'server_label', 'index',
  'result', 'page_age',
]);

/** JSON Schema keywords whose strings are structure: types, property names, references, formats and patterns. */
const SCHEMA_SKIP = new Set([
  'type', 'required', '$ref', '$schema', '$id', '$anchor', '$dynamicRef', '$dynamicAnchor', '$comment', 'format', 'pattern',
  'contentEncoding', 'contentMediaType', 'dependentRequired', 'propertyName',
]);

/** Base64 and data URLs (images, audio, files): scanning them finds nothing true, and rewriting them breaks them. */
function isBlob(value: string): boolean {
  return value.startsWith('data:') || (value.length > 4096 && /^[A-Za-z0-9+/=_-]+$/.test(value));
}

/**
 * Media types whose bytes are text a person wrote (a `.txt`, `.csv`, `.md` or JSON file attached to a prompt), and
 * images and documents that are XML or JSON text though their type is not `text/` (an outside review sent a card,
 * an SSN and an address as the text of an `image/svg+xml` image): any `+xml` or `+json` type (SVG, XHTML, Atom).
 */
const TEXT_MEDIA = /^(?:text\/[\w.+-]+|application\/(?:json|csv|xml|x-yaml|yaml|x-ndjson)|[\w.-]+\/[\w.-]+\+(?:xml|json))(?:;|$)/i;
/** XML text (SVG…): a placeholder written into it as `<EMAIL_ADDRESS_1>` would read as an element, so it goes in escaped. */
const XML_MEDIA = /^(?:text\/xml|application\/xml|[\w.-]+\/[\w.-]+\+xml)(?:;|$)/i;
const PLACEHOLDER_TAG = new RegExp(`<(${PLACEHOLDER_NAME})>`, 'g');

/**
 * `rewrite` for the text of a file or data URL of `mediaType`: in XML, the placeholders it writes are escaped
 * (`&lt;EMAIL_ADDRESS_1&gt;`), so the SVG or XML stays well formed and shows the placeholder as text.
 */
function forMedia(rewrite: RewriteString, mediaType: string): RewriteString {
  if (!XML_MEDIA.test(mediaType)) return rewrite;
  return (value, key) => {
    const next = rewrite(value, key);
    if (next === value || !next.includes('<')) return next;
    const written = new Set(value.match(PLACEHOLDER_TAG));
    return next.replace(PLACEHOLDER_TAG, (tag, name: string) => (written.has(tag) ? tag : `&lt;${name}&gt;`));
  };
}
const DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*?)(;base64)?,/i;

interface TextCodec {
  decode(bytes: Buffer): string;
  encode(text: string): Buffer;
}

const UTF8: TextCodec = { decode: (bytes) => bytes.toString('utf8'), encode: (text) => Buffer.from(text, 'utf8') };
const UTF16LE: TextCodec = { decode: (bytes) => bytes.toString('utf16le'), encode: (text) => Buffer.from(text, 'utf16le') };
const UTF16BE: TextCodec = {
  decode: (bytes) => Buffer.from(bytes).swap16().toString('utf16le'),
  encode: (text) => Buffer.from(text, 'utf16le').swap16(),
};
/** Byte for byte: every byte is one character, so what is not rewritten goes back as it came (Windows-1252 too). */
const LATIN1: TextCodec = { decode: (bytes) => bytes.toString('latin1'), encode: (text) => Buffer.from(text, 'latin1') };

/**
 * How the bytes of an attached text file are text: the charset its media type names (UTF-16 from Windows tools,
 * Latin-1), else its byte-order mark, else NULs in every other byte (UTF-16 without one), else UTF-8.
 */
function codecFor(bytes: Buffer, mediaType: string): TextCodec | undefined {
  const charset = /;\s*charset="?([\w.:-]+)/i.exec(mediaType)?.[1]?.toLowerCase();
  if (charset === 'utf-16le' || (charset === 'utf-16' && !(bytes[0] === 0xfe && bytes[1] === 0xff))) return bytes.length % 2 === 0 ? UTF16LE : undefined;
  if (charset === 'utf-16be' || charset === 'utf-16') return bytes.length % 2 === 0 ? UTF16BE : undefined;
  if (charset && /^(?:iso-8859-1|latin-?1|l1|windows-1252|cp1252|us-ascii|ascii)$/.test(charset)) return LATIN1;
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return undefined;
  if (!charset && bytes.length >= 2 && bytes.length % 2 === 0) {
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return UTF16LE;
    if (bytes[0] === 0xfe && bytes[1] === 0xff) return UTF16BE;
    const utf16 = utf16ByNuls(bytes);
    if (utf16) return utf16;
  }
  return UTF8;
}

/** UTF-16 without a byte-order mark: a NUL in every other byte of the first 4 KB, and only there (its order by which). */
function utf16ByNuls(bytes: Buffer): TextCodec | undefined {
  let evenNul = 0;
  let oddNul = 0;
  const sample = Math.min(bytes.length, 4096);
  for (let i = 0; i < sample; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  if (oddNul > sample / 4 && evenNul === 0) return UTF16LE;
  if (evenNul > sample / 4 && oddNul === 0) return UTF16BE;
  return undefined;
}

/**
 * Base64 text with its PII rewritten, re-encoded in its own encoding; the same string when nothing changed or the bytes
 * are not text in it.
 */
function rewriteBase64Text(base64: string, key: string, rewrite: RewriteString, mediaType = ''): string {
  const bytes = Buffer.from(base64, 'base64');
  // A real image, PDF or archive is never rewritten, whatever its name or type says (an outside review's PNG named
  // `notes.txt` came out corrupted).
  if (binarySignature(bytes)) return base64;
  const codec = codecFor(bytes, mediaType);
  if (!codec) return base64;
  let text = codec.decode(bytes);
  let used = codec;
  if (text.includes('\uFFFD')) {
    // Not UTF-8 and no charset said so: Latin-1 or Windows-1252 (what Excel and older tools write), read byte for byte.
    if (codec !== UTF8 || /;\s*charset=/i.test(mediaType)) return base64;
    used = LATIN1;
    text = LATIN1.decode(bytes);
  }
  const next = rewrite(text, key);
  return next === text ? base64 : encodedLike(used.encode(next), base64);
}

/**
 * `bytes` in base64 written as `original` was: the URL-safe alphabet (`-`, `_`) and its padding or none, and line
 * breaks at the same width (`base64.encodebytes` writes 76 and `\n`, MIME 76 and `\r\n`).
 */
function encodedLike(bytes: Buffer, original: string): string {
  const urlSafe = /[-_]/.test(original);
  let encoded = urlSafe ? bytes.toString('base64url') : bytes.toString('base64');
  if (urlSafe && original.trimEnd().endsWith('=')) encoded += '='.repeat((4 - (encoded.length % 4)) % 4);
  const firstBreak = original.search(/\r?\n/);
  if (firstBreak <= 0) return encoded;
  const newline = original[firstBreak] === '\r' ? '\r\n' : '\n';
  const lines: string[] = [];
  for (let at = 0; at < encoded.length; at += firstBreak) lines.push(encoded.slice(at, at + firstBreak));
  return lines.join(newline) + (/\r?\n$/.test(original) ? newline : '');
}

/**
 * The first bytes every file of a format begins with, and the media type that names it where a file so labelled
 * without them is taken for mislabelled (`lacksSignature`): PDF, PNG, JPEG, GIF, WebP (RIFF); ZIP (and so Office
 * files) and gzip are only recognised by their bytes.
 */
const SIGNATURES: ReadonlyArray<{ bytes: readonly number[]; type?: RegExp }> = [
  { bytes: [0x25, 0x50, 0x44, 0x46], type: /^application\/pdf\b/i },
  { bytes: [0x89, 0x50, 0x4e, 0x47], type: /^image\/png\b/i },
  { bytes: [0xff, 0xd8, 0xff], type: /^image\/(?:jpeg|jpg|pjpeg)\b/i },
  { bytes: [0x47, 0x49, 0x46, 0x38], type: /^image\/gif\b/i },
  { bytes: [0x52, 0x49, 0x46, 0x46], type: /^image\/webp\b/i },
  { bytes: [0x50, 0x4b, 0x03, 0x04] },
  { bytes: [0x1f, 0x8b] },
];

function startsWithBytes(bytes: Buffer, signature: readonly number[]): boolean {
  return signature.every((byte, i) => bytes[i] === byte);
}

/** Bytes of a format that is never text, whatever a file's name or type says. */
function binarySignature(bytes: Buffer): boolean {
  return SIGNATURES.some((signature) => startsWithBytes(bytes, signature.bytes));
}

/** Media types whose bytes are never text (images, audio, video, fonts, archives, PDFs, office files): not sniffed. */
const BINARY_MEDIA = /^(?:image|audio|video|font|model)\/|^application\/(?:pdf|zip|gzip|x-gzip|x-tar|x-7z-compressed|x-rar-compressed|vnd\.|msword|x-msdownload|wasm|x-protobuf|protobuf)/i;

/**
 * Whether bytes under a media type that does not say text (`application/octet-stream`, `application/sql`, none at all)
 * are text all the same: no NUL and valid UTF-8 (or a UTF-16 byte-order mark). Browsers and SDKs label many text
 * uploads that way.
 */
function sniffedText(base64: string, mediaType: string): boolean {
  const bytes = Buffer.from(base64.slice(0, 8192 - (8192 % 4)), 'base64');
  if (bytes.length === 0) return false;
  // A binary type is taken at its word, unless it is one whose files all begin with a signature and these bytes do
  // not (an outside review sent a text file as `application/pdf`: it went out unread).
  if (BINARY_MEDIA.test(mediaType) && !lacksSignature(mediaType, bytes)) return false;
  if (binarySignature(bytes)) return false;
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return true;
  // UTF-16 without a byte-order mark, read the way codecFor reads it.
  if (bytes.includes(0)) return bytes.length % 2 === 0 && utf16ByNuls(bytes) !== undefined;
  // (A sample may end inside a character: only its last three bytes may be unfinished.)
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const bad = text.split('\uFFFD').length - 1;
  if (bad <= 1) return true;
  // Latin-1 or Windows-1252 text (Excel's CSVs, older tools): no control character but tab and line breaks.
  return bytes.every((byte) => byte >= 0x20 || byte === 9 || byte === 10 || byte === 13);
}

/** Whether `mediaType` names one of SIGNATURES' formats and `bytes` do not begin with its signature: a mislabelled file. */
function lacksSignature(mediaType: string, bytes: Buffer): boolean {
  const signature = SIGNATURES.find(({ type }) => type?.test(mediaType));
  return signature !== undefined && !startsWithBytes(bytes, signature.bytes);
}

/** A media type for a file part's name, by its extension (`crm.csv` → `text/csv`); '' when it says nothing. */
function mediaTypeOfName(name: unknown): string {
  const extension = typeof name === 'string' ? /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase() : undefined;
  return (extension && MEDIA_BY_EXTENSION[extension]) ?? '';
}
const MEDIA_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain', text: 'text/plain', log: 'text/plain', md: 'text/markdown', csv: 'text/csv', tsv: 'text/tab-separated-values',
  html: 'text/html', htm: 'text/html', json: 'application/json', ndjson: 'application/x-ndjson', jsonl: 'application/x-ndjson',
  xml: 'application/xml', yaml: 'application/yaml', yml: 'application/yaml', svg: 'image/svg+xml', pdf: 'application/pdf',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
};
/** Base64 with nothing else in it: a file part's `file_data` written without its `data:` prefix. */
const RAW_BASE64 = /^[A-Za-z0-9+/_-]+(?:\r?\n[A-Za-z0-9+/_-]+)*={0,2}(?:\r?\n)?$/;

/** A data URL's percent-encoded text (`data:text/plain,Call%20me…`) with its PII rewritten, encoded again. */
function rewritePercentText(body: string, key: string, rewrite: RewriteString): string {
  let text: string;
  try {
    text = decodeURIComponent(body);
  } catch {
    // Not UTF-8 once decoded (`caf%E9`, a lone %): the detector reads its escapes in place, and what changed is encoded.
    const next = rewrite(body, key);
    return next === body ? body : encodeChange(body, next);
  }
  const next = rewrite(text, key);
  if (next === text) return body;
  return text === body ? next.replace(/[%#]/g, encodeURIComponent) : encodeBetween(body, text, next);
}

/**
 * `next` (rewritten from `text`, the decoding of `body`) written as `body` was: what comes before its first change
 * and after its last goes out as written (`%3Csvg xmlns=%22http://…` keeps its raw `:` and `/`), what is between is
 * percent-encoded whole.
 */
function encodeBetween(body: string, text: string, next: string): string {
  const [prefix, suffix] = sharedEdges(text, next);
  // The body read in units that each decode alone (one character, one run of escapes); whole units only are kept:
  // those that end within the unchanged start, and those that begin within the unchanged end.
  let head = { written: 0, decoded: 0 };
  let tail: { written: number; decoded: number } | undefined;
  let decoded = 0;
  for (const m of body.matchAll(/(?:%[0-9A-Fa-f]{2})+|[^%]/gsu)) {
    if (tail === undefined && decoded >= text.length - suffix) tail = { written: m.index, decoded };
    decoded += m[0].startsWith('%') ? decodeURIComponent(m[0]).length : m[0].length;
    if (decoded <= prefix) head = { written: m.index + m[0].length, decoded };
  }
  tail ??= { written: body.length, decoded };
  if (decoded !== text.length || tail.decoded < head.decoded) return encodeURIComponent(next.toWellFormed());
  const middle = next.slice(head.decoded, next.length - (text.length - tail.decoded));
  return body.slice(0, head.written) + encodeURIComponent(middle.toWellFormed()) + body.slice(tail.written);
}

/** How many characters `a` and `b` share at their start, then at their end (not counting the start's again). */
function sharedEdges(a: string, b: string): [prefix: number, suffix: number] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  return [prefix, suffix];
}

/** A placeholder percent-encoded, as a URL carries it (`%3CEMAIL_ADDRESS_1%3E`): read as one, so an answer's URL gets its value back. */
const ENCODED_PLACEHOLDER = new RegExp(`%3[Cc](${PLACEHOLDER_NAME})%3[Ee]`, 'g');
const PLACEHOLDER = new RegExp(`^<${PLACEHOLDER_NAME}>$`);
/** What separates a URL's components: a value found in one never crosses one (the detector's URL runs end there too). */
const URL_DELIMITERS = /([/?#&=;])/;

/**
 * A URL with its PII rewritten where it is written: the detector finds percent-encoded values in place
 * (`?email=ana%40corp.io`, `?card=4111+1111+1111+1111`), and only the replaced spans change, their placeholders
 * percent-encoded (`%3CEMAIL_ADDRESS_1%3E`). Every other byte (`%2B`, `+`, `%26`…) goes out as the agent wrote it:
 * decoding the URL and encoding it again made `%2B` a `+`, a space in a query.
 */
function rewriteUrl(value: string, key: string, rewrite: RewriteString): string {
  const source = value.includes('%3') ? value.replace(ENCODED_PLACEHOLDER, '<$1>') : value;
  const next = rewrite(source, key);
  if (next === source) return value;
  // Component by component, so text between two replaced values stays as written; a value that spans a delimiter
  // (a secret with a `/`) makes the components differ in number: then the URL is one component.
  const before = source.split(URL_DELIMITERS);
  const after = next.split(URL_DELIMITERS);
  if (before.length !== after.length) return encodeChange(source, next);
  const written = source === value ? before : value.split(URL_DELIMITERS);
  return after.map((part, i) => (part === before[i] ? written[i] : encodeChange(before[i]!, part))).join('');
}

/**
 * `after` (a component rewritten from `before`) with what changed percent-encoded: a placeholder's brackets, a mask
 * character a URL cannot hold, a `%` whose hex digits a mask replaced. A value put back in place of a placeholder is
 * encoded as a query value is (its `+` and spaces too); one the detector found encoded keeps its escapes.
 */
function encodeChange(before: string, after: string): string {
  let [start, suffix] = sharedEdges(before, after);
  let end = after.length - suffix;
  // What the replacement shares with the value at its edges belongs to it: a placeholder's `<` and `>` (`<LITERAL_1>`
  // for `<EMAIL_ADDRESS_7>`), an escape whose hex digits a mask replaced (`%2B44` → `%****`).
  if (start > 0 && (after[start - 1] === '<' || after[start - 1] === '[')) start--;
  while (start > 0 && (after[start - 1] === '%' || after[start - 2] === '%')) start--;
  if (end < after.length && (after[end] === '>' || after[end] === ']')) end++;
  for (const at of [end - 2, end - 1]) if (after[at] === '%') end = Math.max(end, Math.min(after.length, at + 3));
  const restored = PLACEHOLDER.test(before.slice(start, before.length - (after.length - end)));
  let out = '';
  for (let i = start; i < end; i++) {
    const c = after[i]!;
    if (c === '%' && /^%[0-9A-Fa-f]{2}/.test(after.slice(i, i + 3)) && i + 3 <= end) out += c;
    else if (restored ? /[A-Za-z0-9\-._~]/.test(c) : /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/.test(c)) out += c;
    else {
      const pair = c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdbff && i + 1 < end ? after.slice(i, ++i + 1) : c;
      out += encodeComponent(pair.toWellFormed());
    }
  }
  return after.slice(0, start) + out + after.slice(end);
}

/**
 * What is inside a URL or an attached text file, rewritten where PII is: an image URL's query (`?email=jane@…`) and a
 * base64 text file (a data URL, or Anthropic's `{ type: "base64", media_type: "text/plain", data }`) are sent to the
 * provider like any prose. Undefined when the string is neither (the usual rules apply).
 */
function rewriteInside(value: string, key: string, parent: JsonObject | undefined, rewrite: RewriteString): string | undefined {
  // Any scheme with an authority (`https://`, `ftp://bob%40x.io:pw@host/`, `s3://`, `gs://`): the provider gets the URL.
  if ((key === 'url' || key === 'image_url' || key === 'file_url') && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return rewriteUrl(value, key, rewrite);
  const dataUrl = DATA_URL.exec(value) ?? /^data:()((?:;[^;,]*)*?)(;base64)?,/i.exec(value);
  // Percent-encoded (not base64), a data URL is text unless its type says binary: `data:,bob%40…` is text/plain
  // (RFC 2397), and so is `data:application/javascript,…`.
  const percentText = (media: string) => !BINARY_MEDIA.test(media) && media !== 'application/octet-stream';
  if (dataUrl && (TEXT_MEDIA.test(dataUrl[1]!) || (dataUrl[3] !== undefined ? sniffedText(value.slice(dataUrl[0].length), dataUrl[1]!) : percentText(dataUrl[1]!)))) {
    const body = value.slice(dataUrl[0].length);
    const media = `${dataUrl[1]}${dataUrl[2] ?? ''}`;
    const text = forMedia(rewrite, media);
    const next = dataUrl[3] ? rewriteBase64Text(body, key, text, media) : rewritePercentText(body, key, text);
    return next === body ? value : `${dataUrl[0]}${next}`;
  }
  // A file part's bytes in bare base64 (Chat `file.file_data`, Responses `input_file.file_data`, no `data:` prefix): the
  // file's name says its type, else the bytes do (an outside review's CSV went out unread).
  if (key === 'file_data' && RAW_BASE64.test(value)) {
    const media = mediaTypeOfName(parent?.filename);
    if (TEXT_MEDIA.test(media) || sniffedText(value, media)) return rewriteBase64Text(value, key, forMedia(rewrite, media), media);
    return undefined;
  }
  if (key === 'data' && parent?.type === 'base64' && typeof parent.media_type === 'string' && (TEXT_MEDIA.test(parent.media_type) || sniffedText(value, parent.media_type))) return rewriteBase64Text(value, key, forMedia(rewrite, parent.media_type), parent.media_type);
  return undefined;
}

/** A JSON string literal, matched from outside any string: in valid JSON text, `"` only opens or closes one. */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/**
 * JSON text (tool-call arguments, a tool result) whose strings' `\uXXXX` escapes are decoded, or undefined when the
 * text is not JSON or holds no such escape. A provider decodes them, so `bob\u0040example.com` is an address to it,
 * and Python's `json.dumps` writes every non-ASCII character that way (`jos\u00e9@…`). Each string holding one is
 * written again whole, as `JSON.stringify` writes it: the same JSON value, now readable, so a rewrite inside it stays
 * valid JSON. A string that is JSON itself (a result inside arguments) is decoded in turn, up to eight levels deep (an outside review hid a value three levels down).
 */
export function decodeJsonEscapes(text: string, depth = 8): string | undefined {
  if (!text.includes('\\u')) return undefined;
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[' && first !== '"') return undefined;
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  let changed = false;
  const out = text.replace(JSON_STRING, (literal) => {
    if (!literal.includes('\\u')) return literal;
    const value = JSON.parse(literal) as string;
    const next = JSON.stringify((depth > 0 ? decodeJsonEscapes(value, depth - 1) : undefined) ?? value);
    if (next !== literal) changed = true;
    return next;
  });
  return changed ? out : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Rewrites the string values of `value` (not its keys) that `skip` does not exclude; array items count as under
 * their array's key. Returns `value` itself when nothing changed, so untouched requests pass byte for byte.
 */
function rewriteStrings(value: unknown, key: string, rewrite: RewriteString, skip: (key: string, parent: JsonObject | undefined) => boolean, parent?: JsonObject): unknown {
  if (typeof value === 'string') {
    const inner = rewriteInside(value, key, parent, rewrite);
    if (inner !== undefined) return inner;
    return skip(key, parent) || isBlob(value) ? value : rewrite(value, key);
  }
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((item) => {
      const next = rewriteStrings(item, key, rewrite, skip, parent);
      if (next !== item) changed = true;
      return next;
    });
    return changed ? out : value;
  }
  if (!isObject(value)) return value;
  let out: JsonObject | undefined;
  for (const [k, v] of Object.entries(value)) {
    const next = rewriteStrings(v, k, rewrite, skip, value);
    if (next !== v) (out ??= { ...value })[k] = next;
  }
  return out ?? value;
}

/** `data` is text only in a text source (`{ type: 'text', data: '…' }`, an Anthropic document); elsewhere it is bytes. */
const skipOpaque = (key: string, parent: JsonObject | undefined): boolean => OPAQUE_SKIP.has(key) || (key === 'data' && parent?.type !== 'text');
const skipSchema = (key: string): boolean => SCHEMA_SKIP.has(key);

/** The text inside a part or field the neutral model carries as raw JSON. */
export function rewriteOpaque(value: unknown, rewrite: RewriteString): unknown {
  return rewriteStrings(value, '', rewrite, skipOpaque);
}

/** A definition's description and its JSON Schema's strings (descriptions, titles, enum values, defaults, examples). */
function rewriteDefinition(definition: unknown, rewrite: RewriteString): unknown {
  if (!isObject(definition)) return definition;
  let out: JsonObject | undefined;
  for (const key of ['description', 'parameters', 'input_schema', 'schema', 'function', 'custom', 'json_schema', 'format']) {
    const value = definition[key];
    if (value === undefined) continue;
    let next: unknown;
    if (key === 'description') next = typeof value === 'string' ? rewrite(value, key) : value;
    else if (key === 'function' || key === 'custom' || key === 'json_schema' || key === 'format') next = rewriteDefinition(value, rewrite);
    else next = rewriteStrings(value, key, rewrite, skipSchema);
    if (next !== value) (out ??= { ...definition })[key] = next;
  }
  return out ?? definition;
}

/**
 * The top-level fields of a request that carry text for the model besides its messages: tool and function
 * definitions (OpenAI `tools[].function`, Responses and Anthropic `tools[]`, legacy `functions`), structured-output
 * schemas (`response_format.json_schema`, Responses `text.format`), a predicted output (`prediction`) and prompt
 * template variables (Responses `prompt.variables`). Hosted tools' settings (servers, headers) are left alone.
 */
export function rewriteRequestFields(extra: JsonObject, rewrite: RewriteString): JsonObject {
  let out: JsonObject | undefined;
  const set = (key: string, next: unknown): void => {
    if (next !== extra[key]) (out ??= { ...extra })[key] = next;
  };
  for (const key of ['tools', 'functions']) {
    const list = extra[key];
    if (Array.isArray(list)) set(key, mapChanged(list, (tool) => rewriteDefinition(tool, rewrite)));
  }
  if (isObject(extra.response_format)) set('response_format', rewriteDefinition(extra.response_format, rewrite));
  if (isObject(extra.text)) set('text', rewriteDefinition(extra.text, rewrite));
  if (extra.prediction !== undefined) set('prediction', rewriteOpaque(extra.prediction, rewrite));
  if (isObject(extra.prompt) && extra.prompt.variables !== undefined) {
    const variables = rewriteOpaque(extra.prompt.variables, rewrite);
    if (variables !== extra.prompt.variables) set('prompt', { ...extra.prompt, variables });
  }
  return out ?? extra;
}

function mapChanged(list: unknown[], fn: (item: unknown) => unknown): unknown[] {
  let changed = false;
  const out = list.map((item) => {
    const next = fn(item);
    if (next !== item) changed = true;
    return next;
  });
  return changed ? out : list;
}
