// What the recognizers read: typographic spaces, dashes and full-width digits folded to ASCII, one UTF-16 unit for
// one, so every offset found in the folded text is the same offset in the original.

/**
 * No-break space (U+00A0), the Unicode spaces U+2000–U+200A (figure, thin, hair…), narrow no-break space (U+202F,
 * French typography), medium mathematical space (U+205F), ideographic space (U+3000): written between the groups of
 * phone, card and account numbers as often as a plain space. Hyphen, non-breaking hyphen and figure dash
 * (U+2010–U+2012) and the full-width forms of `+`, `-` and the digits (`＋８１ ９０－１２３４－５６７８`).
 */
const FOLDABLE = /[\u00a0\u2000-\u200a\u2010-\u2012\u202f\u205f\u3000\uff0b\uff0d\uff10-\uff19]/;
const FOLDABLE_ALL = new RegExp(FOLDABLE.source, 'g');

function fold(c: string): string {
  const code = c.charCodeAt(0);
  if (code >= 0xff10) return String.fromCharCode(code - 0xff10 + 48);
  if (code === 0xff0b) return '+';
  if (code === 0xff0d || (code >= 0x2010 && code <= 0x2012)) return '-';
  return ' ';
}

/**
 * `text` with those characters replaced by their ASCII forms; the same string (no copy) when it has none. (One scan:
 * such characters are rare, so a call per character costs less than a second pass.)
 * @example foldForRecognizers('carte 4111\u00a01111\u00a01111\u00a01111') // → 'carte 4111 1111 1111 1111'
 */
export function foldForRecognizers(text: string): string {
  return FOLDABLE.test(text) ? text.replace(FOLDABLE_ALL, fold) : text;
}
