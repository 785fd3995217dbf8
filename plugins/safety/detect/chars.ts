// ASCII character classes of UTF-16 code units, shared by the recognizers that walk text a code unit at a time.

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isAsciiAlnum(c: number): boolean {
  return isDigit(c) || isAsciiLetter(c);
}

/** A letter, digit or `_`: what continues a word or an identifier. */
export function isWordChar(c: number): boolean {
  return isAsciiAlnum(c) || c === 95;
}

/** `text` as a regular expression that matches it literally (`RegExp.escape` is Node 24's, not 22's). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
