// IBAN_CODE: country code, check digits and the country's exact length, validated with ibantools' mod-97 check.
import { countrySpecs, isValidIBAN } from 'ibantools';
import type { Recognizer } from '../types.ts';

// Where an IBAN can begin: two letters and two digits at a word start (case-insensitive: people type gb29nwbk…).
const START = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}/g;

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export const findIbans: Recognizer = (text, out) => {
  START.lastIndex = 0;
  for (let m = START.exec(text); m !== null; m = START.exec(text)) {
    const country = m[0].slice(0, 2).toUpperCase();
    const length = countrySpecs[country]?.chars;
    if (!length) continue;
    // Collect exactly `length` letters and digits, allowing single spaces or dashes between groups.
    let i = m.index;
    let electronic = '';
    while (i < text.length && electronic.length < length) {
      const c = text.charCodeAt(i);
      if (isAlnum(c)) {
        electronic += text[i];
        i++;
      } else if ((c === 32 || c === 45) && electronic.length >= 4 && i + 1 < text.length && isAlnum(text.charCodeAt(i + 1))) i++;
      else break;
    }
    if (electronic.length !== length || (i < text.length && isAlnum(text.charCodeAt(i)))) continue;
    if (!isValidIBAN(electronic.toUpperCase())) continue;
    out.push({ type: 'IBAN_CODE', start: m.index, end: i, score: 0.95 });
    START.lastIndex = i;
  }
};
