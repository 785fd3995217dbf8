// US_SSN: AAA-GG-SSSS in the ranges the Social Security Administration issues; bare 9 digits only with context.
import type { Recognizer } from '../types.ts';
import { ContextWords, hasContext } from './context.ts';
import { DigitPattern } from './digit-runs.ts';

// Commas delimit (a CSV row `Tom Baker,670-64-5425,1980-02-11`); a dot or dash then a digit continues another number.
// `_` delimits too (`agent_536-22-1234`, a Chat message's name): a bare 9-digit run after it needs a word as anywhere.
// `-` after a letter delimits too (`user-536-22-1947`; after a digit or alone it continues another number), and `/`
// on either side (`/ssn/536-22-1947/`, a URL's path): a bare 9-digit run there still needs a word.
// Dots are read too (`SSN 412.55.0873`), only right after a word saying so: dotted digits are versions and addresses.
// Tried at each digit run that can start one (see digit-runs.ts).
const CANDIDATE = new DigitPattern(/(?<![A-Za-z0-9.]|(?<![A-Za-z])-)(\d{3})([- .]?)(\d{2})\2(\d{4})(?![A-Za-z0-9]|[.\-]\d)/, {
  lengths: [9],
  separated: { lengths: [3], by: '- .' },
  after: 'apart',
});
const SSN_WORDS = new ContextWords(['ssn', 'ssns', 'social', 'security', 'ss', 'ssa', 'taxpayer', 'tin', 'itin']);
/** Numbers the SSA published or reserved as examples (Woolworth's wallet card, advertising). */
const EXAMPLES = new Set(['078051120', '219099999', '123456789', '987654320', '987654321', '987654322', '987654323', '987654324', '987654325', '987654326', '987654327', '987654328', '987654329']);

/** Area 000, 666 and 900–999, group 00 and serial 0000 are never issued. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  return !EXAMPLES.has(area + group + serial);
}

export const findUsSsns: Recognizer = (text, out) => {
  const candidates = CANDIDATE.scan(text);
  for (let m = candidates.next(0); m !== null; m = candidates.next(m.index + m[0].length)) {
    const [candidate, area, separator, group, serial] = m as unknown as [string, string, string, string, string];
    if (!ssnValid(area, group, serial)) continue;
    const start = m.index;
    const end = start + candidate.length;
    if (separator === '.' && !hasContext(text, start, end, SSN_WORDS, 24, 0)) continue;
    const context = hasContext(text, start, end, SSN_WORDS);
    // Dashes are how SSNs are written; spaces or no separator are ambiguous without a word saying so.
    const score = separator === '-' ? (context ? 1 : 0.6) : context ? 0.85 : 0.2;
    out.push({ type: 'US_SSN', start, end, score });
  }
};
