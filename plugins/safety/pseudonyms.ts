// Reversible placeholders: the same value gets the same `<TYPE_N>` for a whole agent run, and answers get values back.

const PLACEHOLDER = /<([A-Z][A-Z0-9_]*?_\d+)>/g;
/** In JSON text a placeholder may come back with `<` and `>` escaped, as Go and HTML-safe encoders write them: `\u003cEMAIL_ADDRESS_1\u003e`. */
const JSON_PLACEHOLDER = /(?:<|(?<!\\)\\u003[cC])([A-Z][A-Z0-9_]*?_\d+)(?:>|\\u003[eE])/g;

export class PseudonymVault {
  readonly #byValue = new Map<string, string>();
  readonly #byPlaceholder = new Map<string, string>();
  readonly #counters = new Map<string, number>();

  /** The placeholder of `value`, minted on first sight: `<EMAIL_ADDRESS_1>`, `<EMAIL_ADDRESS_2>`… */
  placeholderFor(type: string, value: string): string {
    const key = `${type}\u0000${value}`;
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
   * Puts the original values back in place of the placeholders this vault minted (others stay as written).
   * `escape` encodes a value for where it lands, e.g. inside a JSON string of tool-call arguments.
   */
  restore(text: string, escape?: (value: string) => string): string {
    if (this.#byPlaceholder.size === 0) return text;
    if (!escape) {
      if (!text.includes('<')) return text;
      return text.replace(PLACEHOLDER, (placeholder) => this.#byPlaceholder.get(placeholder) ?? placeholder);
    }
    if (!text.includes('<') && !text.includes('\\u003')) return text;
    return text.replace(JSON_PLACEHOLDER, (written, name: string) => {
      const value = this.#byPlaceholder.get(`<${name}>`);
      return value === undefined ? written : escape(value);
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

  /** Where an unfinished placeholder (`<EMAIL_ADD`) starts at the end of `text`, or -1: a stream holds it back. */
  static partialAt(text: string): number {
    const open = text.lastIndexOf('<');
    if (open === -1 || text.length - open > 40) return -1;
    return /^<[A-Z0-9_]*$/.test(text.slice(open)) ? open : -1;
  }
}

/** Encodes a value for the inside of a JSON string literal (tool-call arguments are JSON text). */
export function jsonStringEscape(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}
