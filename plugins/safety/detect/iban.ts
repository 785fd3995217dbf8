// IBAN_CODE: country code, check digits and the country's exact length, validated with ibantools' mod-97 check.
import { countrySpecs, isValidIBAN } from 'ibantools';
import type { Recognizer } from '../types.ts';
import { isAsciiAlnum } from './chars.ts';

// Where an IBAN can begin: two letters and two digits at a word start (case-insensitive: people type gb29nwbk…), or
// right after the word IBAN (`IBANDE89…`); a space may part the country from its check digits (`DE 89 3704…`).
// Found from the check digits, the letters looked for behind them: a pattern that begins with a letter class is tried
// at nearly every character of prose (~2 ms/MB, measured), one that begins with two digits at few (~0.7).
const START = /\d\d(?<=(?:(?<![A-Za-z0-9])|(?<=(?<![A-Za-z0-9])(?:IBAN|Iban|iban)))[A-Za-z]{2} ?\d\d)/g;

/** Between groups: one `-`, `.`, `/` or `_`, or 1–3 blanks with one line break at most; how long, or 0. */
function separatorAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 45 || c === 46 || c === 47 || c === 95) return 1;
  let n = 0;
  let breaks = 0;
  for (; n < 3; n++) {
    const b = text.charCodeAt(i + n);
    if (b === 10) breaks++;
    else if (b !== 32 && b !== 9 && b !== 13) break;
  }
  return breaks > 1 ? 0 : n;
}


export const findIbans: Recognizer = (text, out) => {
  START.lastIndex = 0;
  for (let m = START.exec(text); m !== null; m = START.exec(text)) {
    const start = m.index - (text.charCodeAt(m.index - 1) === 32 ? 3 : 2);
    const country = text.slice(start, start + 2).toUpperCase();
    const length = countrySpecs[country]?.chars;
    if (!length) continue;
    // Collect exactly `length` letters and digits, allowing a separator between groups.
    let i = start;
    let electronic = '';
    while (i < text.length && electronic.length < length) {
      const c = text.charCodeAt(i);
      if (isAsciiAlnum(c)) {
        electronic += text[i];
        i++;
        continue;
      }
      const separator = electronic.length >= 2 ? separatorAt(text, i) : 0;
      if (separator > 0 && isAsciiAlnum(text.charCodeAt(i + separator))) i += separator;
      else break;
    }
    if (electronic.length !== length || (i < text.length && isAsciiAlnum(text.charCodeAt(i)))) continue;
    if (!isValidIBAN(electronic.toUpperCase())) continue;
    out.push({ type: 'IBAN_CODE', start, end: i, score: 0.95 });
    START.lastIndex = i;
  }
};
