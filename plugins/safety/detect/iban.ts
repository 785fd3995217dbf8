// IBAN_CODE: country code, check digits and the country's exact length, validated with ibantools' mod-97 check.
import { countrySpecs, isValidBBAN } from 'ibantools';
import type { Recognizer } from '../types.ts';
import { isAsciiAlnum, isAsciiLetter } from './chars.ts';
import { DigitPattern } from './digit-runs.ts';

// Where an IBAN can begin: two letters and two digits at a word start (case-insensitive: people type gb29nwbk…), or
// right after the word IBAN (`IBANDE89…`); a space may part the country from its check digits (`DE 89 3704…`).
// Found from the check digits, the letters looked for behind them: a pattern that begins with a letter class is tried
// at nearly every character of prose (~2 ms/MB, measured), one that begins with two digits at few (~0.7).
// Tried at each digit run after two letters, or two letters and a space (see digit-runs.ts).
const START = new DigitPattern(/\d\d(?<=(?:(?<![A-Za-z0-9])|(?<=(?<![A-Za-z0-9])(?:IBAN|Iban|iban)))[A-Za-z]{2} ?\d\d)/, {
  lengths: Array.from({ length: 30 }, (_, k) => k + 2),
  after: ibanLettersBefore,
});

/** Whether the check digits at `start` follow two letters (and a blank or not) that start a word or follow the word IBAN. */
function ibanLettersBefore(text: string, start: number): boolean {
  const letters = countryStart(text, start);
  if (letters < 0 || !isAsciiLetter(text.charCodeAt(letters + 1)) || !isAsciiLetter(text.charCodeAt(letters))) return false;
  if (!isAsciiAlnum(text.charCodeAt(letters - 1))) return true;
  return letters >= 4 && IBAN_WORDS.includes(text.slice(letters - 4, letters)) && !isAsciiAlnum(text.charCodeAt(letters - 5));
}
const IBAN_WORDS = ['IBAN', 'Iban', 'iban'];

/** Where the country code of the check digits at `digits` starts: two letters before them, or before them and a blank. */
function countryStart(text: string, digits: number): number {
  return digits - (text.charCodeAt(digits - 1) === 32 ? 3 : 2);
}

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

/**
 * ibantools' `isValidIBAN` for an upper-case IBAN of its country's length, with the mod-97 check first and by character
 * codes (ibantools builds a string of each letter's code and reduces it six digits at a time: half the time of 1 MB of
 * IBANs). ibantools still checks the BBAN's format and its national check digits.
 */
function isValidIban(iban: string, country: string): boolean {
  const d0 = iban.charCodeAt(2) - 48;
  const d1 = iban.charCodeAt(3) - 48;
  // (Check digits are 02–98: ibantools compares them with 98 minus a remainder, so 00, 01 and 99 never pass there.)
  const check = d0 * 10 + d1;
  return d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && check >= 2 && check <= 98 && mod97(iban) === 1 && isValidBBAN(iban.slice(4), country);
}

/** ISO 13616's check: the IBAN with its first four characters moved to the end, letters as 10–35, modulo 97. */
function mod97(iban: string): number {
  let rest = 0;
  for (let k = 0; k < iban.length; k++) {
    const c = iban.charCodeAt((k + 4) % iban.length);
    if (c >= 48 && c <= 57) rest = (rest * 10 + c - 48) % 97;
    else if (c >= 65 && c <= 90) rest = (rest * 100 + c - 55) % 97;
    else return -1;
  }
  return rest;
}

export const findIbans: Recognizer = (text, out) => {
  const starts = START.scan(text);
  // (Past the last check digits, or where an IBAN found ends.)
  let from = 0;
  for (let m = starts.next(0); m !== null; m = starts.next(from)) {
    from = m.index + m[0].length;
    const start = countryStart(text, m.index);
    const country = text.slice(start, start + 2).toUpperCase();
    const length = countrySpecs[country]?.chars;
    if (!length) continue;
    // Collect exactly `length` letters and digits, allowing a separator between groups (sliced a group at a time).
    let i = start;
    let electronic = '';
    let collected = 0;
    let group = start;
    while (i < text.length && collected < length) {
      if (isAsciiAlnum(text.charCodeAt(i))) {
        collected++;
        i++;
        continue;
      }
      const separator = collected >= 2 ? separatorAt(text, i) : 0;
      if (separator > 0 && isAsciiAlnum(text.charCodeAt(i + separator))) {
        electronic += text.slice(group, i);
        i += separator;
        group = i;
      } else break;
    }
    if (collected !== length || (i < text.length && isAsciiAlnum(text.charCodeAt(i)))) continue;
    electronic = (electronic + text.slice(group, i)).toUpperCase();
    if (!isValidIban(electronic, country)) continue;
    out.push({ type: 'IBAN_CODE', start, end: i, score: 0.95 });
    from = i;
  }
};
