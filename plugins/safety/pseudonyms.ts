// Reversible placeholders: the same value gets the same `<TYPE_N>` for a whole agent run, and answers get values back.
import { escapeRegExp } from './detect/chars.ts';
import type { PiiFinding } from './types.ts';

/** A placeholder's name, `EMAIL_ADDRESS_1`: every pattern that reads placeholders (here, in redact.ts, json-text.ts) is built from it. */
export const PLACEHOLDER_NAME = String.raw`[A-Z][A-Z0-9_]*?_\d+`;

/**
 * A placeholder as written, or percent-encoded (`%3CEMAIL_ADDRESS_1%3E`) as a URL carries it: the cage writes it so
 * into image URLs, and a model repeating such a URL writes it so in its answer.
 */
const PLACEHOLDER = new RegExp(String.raw`<(${PLACEHOLDER_NAME})>|%3[Cc](${PLACEHOLDER_NAME})%3[Ee]|&lt;(${PLACEHOLDER_NAME})&gt;`, 'g');
/** In JSON text a placeholder may come back with `<` and `>` escaped, as Go and HTML-safe encoders write them: `\u003cEMAIL_ADDRESS_1\u003e`. */
const JSON_PLACEHOLDER = new RegExp(String.raw`(?:<|(?<!\\)\\u003[cC])(${PLACEHOLDER_NAME})(?:>|\\u003[eE])|%3[Cc](${PLACEHOLDER_NAME})%3[Ee]|&lt;(${PLACEHOLDER_NAME})&gt;`, 'g');
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;

/** Values made of digits, letters and separators only: no `%` or `+` of theirs is part of the value (a phone's leading `+` aside). */
const SEPARATED_VALUES = new Set(['CREDIT_CARD', 'PHONE_NUMBER', 'IBAN_CODE', 'US_SSN', 'IP_ADDRESS']);
/** How many times a URL may have encoded a value (`%252540` is `@` encoded three times), as the detector reads it. */
const MAX_DECODE_LEVELS = 3;

/**
 * The value as the vault knows it, so that one value gets one placeholder however a URL or the prose wrote it — and
 * two values never share one. Cards, phones, IBANs, SSNs and IPs: escapes decoded (up to three levels) and a `+` after
 * the first character read as a space (`4111+1111+1111+1111`, a query's spaces; a phone's leading `+` stays). E-mail
 * addresses written with their `@` encoded: escapes decoded (`bob%40example.com`), a `+` kept (`bob+tag@…`). Anything else — a secret, a custom
 * pattern's value — exactly as written: `ab+cd12` and `ab cd12`, `Zx%41` and `ZxA` are different passwords.
 */
export function sameValueKey(type: string, value: string): string {
  const separated = SEPARATED_VALUES.has(type);
  // An address whose `@` is written as is holds its escapes as characters (`bob%2Btag@x.io` is not `bob+tag@x.io`):
  // a URL that encodes an address encodes its `@` too (`bob%40x.io`, `bob%2540x.io`).
  if (!separated && (type !== 'EMAIL_ADDRESS' || value.includes('@'))) return value;
  let decoded = value;
  for (let level = 0; level < MAX_DECODE_LEVELS && decoded.includes('%'); level++) {
    const next = percentDecodedKey(decoded);
    if (next === decoded) break;
    decoded = next;
  }
  if (!separated || decoded.length < 2 || !decoded.includes('+', 1)) return decoded;
  return decoded[0] + decoded.slice(1).replaceAll('+', ' ');
}

function percentDecodedKey(value: string): string {
  return value.replace(ESCAPES, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** A value put back where a URL carried its placeholder percent-encoded: as it was written if it was encoded, else encoded. */
export function urlValue(value: string): string {
  if (/%[0-9A-Fa-f]{2}/.test(value)) return value;
  return encodeComponent(value);
}

/** `encodeURIComponent` that encodes `!'()*` too (RFC 3986 reserves them), as a query value is written. */
export function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Values shorter than this are not looked for verbatim (`knownValuesIn`): too likely to be part of something else. */
const MIN_KNOWN_VALUE = 6;
/** How many of the values last put back into answers are looked for (`knownValuesIn`): the pattern stays small. */
const MAX_KNOWN_VALUES = 1000;

export class PseudonymVault {
  readonly #byValue = new Map<string, string>();
  readonly #byPlaceholder = new Map<string, string>();
  readonly #counters = new Map<string, number>();
  /** The values last put back into answers (value → type), oldest first, at most MAX_KNOWN_VALUES. */
  readonly #restored = new Map<string, string>();
  #restoredVersion = 0;
  #lastRestored: string | undefined;
  /** Those values as a pattern (longest first): rebuilt when they change. */
  #known: { pattern: RegExp; version: number } | undefined;

  /**
   * The placeholder of `value`, minted on first sight: `<EMAIL_ADDRESS_1>`, `<EMAIL_ADDRESS_2>`… The same value
   * percent-encoded (`bob%40example.com`, `bob%40example%2ecom`) is the same value; answers get it back as first written.
   */
  placeholderFor(type: string, value: string): string {
    const key = `${type}\u0000${sameValueKey(type, value)}`;
    let placeholder = this.#byValue.get(key);
    if (!placeholder) {
      const n = (this.#counters.get(type) ?? 0) + 1;
      this.#counters.set(type, n);
      placeholder = `<${type}_${n}>`;
      this.#byValue.set(key, placeholder);
      this.#byPlaceholder.set(placeholder, value);
    }
    return placeholder;
  }

  get size(): number {
    return this.#byPlaceholder.size;
  }

  /**
   * Where the values this vault last put back into answers (the last MAX_KNOWN_VALUES, of six characters or more) stand
   * written as they were in `text`, whatever is around them: a model can glue two placeholders, or one to a digit
   * (`<EMAIL_ADDRESS_1><PHONE_NUMBER_1>`, `<CREDIT_CARD_1>5`), into a text no recognizer reads, which the agent then
   * sends back (an outside review).
   */
  knownValuesIn(text: string): PiiFinding[] {
    if (this.#restored.size === 0) return [];
    if (this.#known?.version !== this.#restoredVersion) {
      const values = [...this.#restored.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.#known = { pattern: new RegExp(values.join('|'), 'g'), version: this.#restoredVersion };
    }
    const { pattern } = this.#known;
    const found: PiiFinding[] = [];
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) found.push({ type: this.#restored.get(m[0])!, start: m.index, end: m.index + m[0].length, score: 1 });
    return found;
  }

  /** Notes a value put back into an answer (newest last), for `knownValuesIn`. */
  #noteRestored(placeholder: string, value: string): void {
    if (value.length < MIN_KNOWN_VALUE) return;
    if (this.#lastRestored === value) return;
    this.#lastRestored = value;
    this.#restored.delete(value);
    this.#restored.set(value, placeholder.slice(1, placeholder.lastIndexOf('_')));
    if (this.#restored.size > MAX_KNOWN_VALUES) this.#restored.delete(this.#restored.keys().next().value!);
    this.#restoredVersion++;
  }

  /**
   * Puts the original values back in place of the placeholders this vault minted (others stay as written).
   * `escape` encodes a value for where it lands, e.g. inside a JSON string of tool-call arguments.
   */
  restore(text: string, escape?: (value: string) => string): string {
    if (this.#byPlaceholder.size === 0) return text;
    if (!text.includes('<') && !text.includes('%3') && !text.includes('&lt;') && !(escape && text.includes('\\u003'))) return text;
    return text.replace(escape ? JSON_PLACEHOLDER : PLACEHOLDER, (written, name: string | undefined, encoded: string | undefined, entity: string | undefined) => {
      const placeholder = `<${name ?? encoded ?? entity}>`;
      const value = this.#byPlaceholder.get(placeholder);
      if (value === undefined) return written;
      this.#noteRestored(placeholder, value);
      // Percent-encoded, it stands in a URL: the value goes in encoded for one. Written `&lt;…&gt;`, it stands in XML or
      // HTML (an SVG the cage wrote it into, a page the model writes): the value goes in escaped for them.
      const inPlace = encoded !== undefined ? urlValue(value) : entity !== undefined ? xmlValue(value) : value;
      return escape ? escape(inPlace) : inPlace;
    });
  }

  /**
   * JSON text as the provider wrote it (`written`) and with its escapes decoded (`decoded`): the written one with its
   * placeholders restored, unless only the decoded one holds a placeholder (a letter of it escaped,
   * `<\u0045MAIL_ADDRESS_1>`): then the decoded one, restored. Unchanged, the written one.
   */
  restoreEither(written: string, decoded: string, escape?: (value: string) => string): string {
    const fromWritten = this.restore(written, escape);
    if (fromWritten !== written) return fromWritten;
    const fromDecoded = this.restore(decoded, escape);
    return fromDecoded !== decoded ? fromDecoded : written;
  }

  /**
   * `cut` moved back to the start of a placeholder it would split (`%3CEMAIL_ADDRESS_1%` | `3E`: a stream may hold
   * back from the `3E`, read as the start of a digit group), so each side is restored whole.
   */
  static unsplit(text: string, cut: number): number {
    const from = Math.max(0, cut - 48);
    const window = text.slice(from, cut + 48);
    for (const m of window.matchAll(PLACEHOLDER)) {
      const start = from + m.index;
      if (start < cut && start + m[0].length > cut) return start;
    }
    return cut;
  }

  /**
   * Where an unfinished placeholder (`<EMAIL_ADD`, or percent-encoded `%3CEMAIL_ADD`, `%3CEMAIL_ADDRESS_1%3`) starts
   * at the end of `text`, or -1: a stream holds it back.
   */
  static partialAt(text: string): number {
    const open = text.lastIndexOf('<');
    if (open !== -1 && text.length - open <= 40 && /^<[A-Z0-9_]*$/.test(text.slice(open))) return open;
    const tail = text.slice(-48);
    const encoded = /%(?:3(?:[Cc][A-Z0-9_]*(?:%3?)?)?)?$|&(?:l(?:t(?:;[A-Z0-9_]*(?:&(?:gt?)?)?)?)?)?$/.exec(tail);
    return encoded ? text.length - tail.length + encoded.index : -1;
  }
}

/**
 * A value for XML or HTML text: `&`, `<` and `>` as entities; one written so already (the agent's own `&lt;…&gt;` text,
 * kept by a LITERAL placeholder) goes back as written.
 */
function xmlValue(value: string): string {
  if (value.startsWith('&lt;')) return value;
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Encodes a value for the inside of a JSON string literal (tool-call arguments are JSON text). */
export function jsonStringEscape(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}
