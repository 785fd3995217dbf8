// CREDIT_CARD: 13–19 digits, contiguous or in the groups cards are printed in, with a Luhn check and a known issuer.
import type { Recognizer } from '../types.ts';
import { CONTEXT_AFTER, CONTEXT_BEFORE, ContextWords, hasContext, lettersWithin } from './context.ts';
import { DigitPattern } from './digit-runs.ts';

// A digit run with optional single space/dash separators, not inside a longer token. Commas, semicolons, pipes, tabs
// and quotes delimit it like spaces (CSV rows, tables, JSON arrays): `4111111111111111,123,12/27` is a card, a CVV and
// an expiry (a thousands group never has 12 digits, so a comma after one cannot continue a number). A last group of
// one or two digits ends a 13- or 14-digit card (`4222 2222 2222 2`, Diners `3056 9309 0259 04`); 6-13 is how
// 19-digit cards are printed (`491761 0000000000003`). Not after `+`: that is a phone's country code.
// Dots group a card as well (`4111.1111.1111.1111`), and 4-8-4 (`4111 11111111 1111`) is printed too. `_` delimits
// (`card_4111111111111111`): Luhn and the issuer decide, and a word before it (`order_4111…`) still counts. So does
// `-` after a letter (`user-4111…`; after anything else it is a minus sign), and `/` on either side: a card in a URL's
// path (`/checkout/4111111111111111/confirm`) — Luhn and a network's prefix and length keep ids there (`/users/12345/`)
// out, and a word before it says what else it is (`/orders/4532…`).
// (The first digit is matched before the look-behind is asked: a look-behind first is tried at every character of the
// text; this reads 0.9× the time on mixed prompt text and 0.65× on number-dense text, same matches.)
// Tried at each digit run that can start one (see digit-runs.ts).
const CANDIDATE = new DigitPattern(/\d(?<=(?<![A-Za-z0-9.+]|(?<![A-Za-z])-)\d)(?:\d{11,18}|\d{5}[ -]\d{13}|\d{3}(?:[ .-]\d{3,8}){2,4}(?:[ .-]\d{1,2})?)(?![A-Za-z0-9]|[.\-]\d)/, {
  lengths: [12, 13, 14, 15, 16, 17, 18, 19],
  separated: { lengths: [4, 6], by: ' -.' },
  after: 'apart, not +',
});

/** `Order number: `, `order no. `, right before the number (the window above reads 12 characters, one word). */
const ORDER_NUMBER_BEFORE = /\border[ _-]?(?:number|no\.?|nr\.?)["']?[ \t]*[:=#]?[ \t]*["']?$/i;

const CARD_WORDS = new ContextWords([
  'card', 'credit', 'debit', 'visa', 'mastercard', 'amex', 'discover', 'cc', 'pan', 'payment', 'pay', 'charge', 'cvv', 'expiry', 'exp', 'jcb', 'diners', 'unionpay', 'maestro', 'mir',
  // French, German, Spanish, Italian, Portuguese, Dutch, Polish, Nordic, Finnish, Hungarian, Indonesian
  'carte', 'bancaire', 'karte', 'kreditkarte', 'kartennummer', 'tarjeta', 'crédito', 'débito', 'carta', 'cartão', 'cartao', 'kaart', 'creditcard', 'betaalkaart',
  'karty', 'karta', 'kartę', 'kreditkort', 'betalkort', 'kortnummer', 'luottokortti', 'kártya', 'kartu',
]);
const NOT_CARD_WORDS = new ContextWords(['order', 'ordernumber', 'orderid', 'orderno', 'tracking', 'invoice', 'isbn', 'id', 'ean', 'gtin', 'upc', 'sku', 'ref', 'reference', 'timestamp', 'epoch', 'snowflake', 'serial', 'imei']);

const MAESTRO_RANGES = new Set([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763]);

/**
 * Card networks by prefix, with the lengths they issue: `strong` for the major networks' current ranges, `weak`
 * for short Maestro numbers and legacy JCB ranges, which plain 12–15 digit ids pass too often to trust alone.
 */
function issuerStrength(d: string): 'strong' | 'weak' | null {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === '4') return n === 13 || n === 16 || n === 19 ? 'strong' : null; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16 ? 'strong' : null; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15 ? 'strong' : null; // American Express
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) return n >= 16 && n <= 19 ? 'strong' : null; // Discover
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14 && n <= 19 ? 'strong' : null; // Diners Club
  if (p2 === 35) return n >= 16 && n <= 19 ? (p4 >= 3528 && p4 <= 3589 ? 'strong' : 'weak') : null; // JCB
  if ((p4 === 1800 || p4 === 2131) && n === 15) return 'weak'; // JCB, legacy ranges
  // UnionPay: 62, and the 81 BINs it issues from 810000 to 817199 (Adyen's UnionPay test card is 8171 9999 2766 0000).
  if (p2 === 62 || (p4 >= 8100 && p4 <= 8171)) return n >= 16 && n <= 19 ? 'strong' : null;
  // Troy (Turkey): 979200–979289 (its 65 BINs are Discover's, above), 16 digits.
  if (p6 >= 979200 && p6 <= 979289) return n === 16 ? 'strong' : null;
  if (p4 >= 2200 && p4 <= 2204) return n >= 16 && n <= 19 ? 'strong' : null; // Mir
  // Maestro: its issuers' own ranges (5018, 5020, 5038, 5893, 6304, 6759, 6761–6763) at card lengths are cards; the
  // rest of 50 and 56–69 is shared with too many plain ids.
  if (MAESTRO_RANGES.has(p4) && n >= 16 && n <= 19) return 'strong';
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && n >= 12 && n <= 19) return 'weak'; // Maestro
  return null;
}

/** A grouping's group lengths folded into one number (4-6-5 → (4·32 + 6)·32 + 5), so runs are checked without strings. */
function shapeKey(lengths: readonly number[], from = 0, to = lengths.length): number {
  let key = 0;
  for (let i = from; i < to; i++) key = key * 32 + lengths[i]!;
  return key;
}

/**
 * Printed groupings: 4-4-4-4(-3), Amex 4-6-5 (and 4-4-4-3), Diners 4-6-4 and 4-4-4-2, 19 digits as 6-13; 4-4-4 and
 * 4-4-5 are 12- and 13-digit Maestro and Visa numbers, 4-3-3-3 and 4-4-4-1 how a 13-digit Visa is printed.
 */
const CARD_SHAPES = new Set(
  ['4-4-4-4', '4-4-4-4-3', '4-4-4-4-2', '4-4-4-4-1', '4-4-4-1', '4-4-4-2', '4-4-4-3', '4-6-5', '4-6-4', '4-4-5', '4-4-4', '4-3-3-3', '6-13', '4-8-4'].map((shape) =>
    shapeKey(shape.split('-').map(Number)),
  ),
);

const SIXTEEN = shapeKey([4, 4, 4, 4]);

/** Two dashed pairs with a space between, `4111-1111 1111-1111` (not any mix: `4111 1111-1111 1111` is no card's print). */
function mixedSpacesAndDashes(text: string, first: number, last: number): boolean {
  return last === first + 3 && text.charCodeAt(groupStarts[first + 1]! - 1) === 45 && text.charCodeAt(groupStarts[first + 2]! - 1) === 32 && text.charCodeAt(groupStarts[first + 3]! - 1) === 45;
}

// The groups of the current candidate: where each starts in the text and its length (reused: no allocation per match).
const groupStarts: number[] = [];
const groupLengths: number[] = [];

/** Luhn over the digits of groups `[first, last]`, read from the text in place. */
function luhnOfGroups(text: string, first: number, last: number): boolean {
  let sum = 0;
  let double = false;
  for (let g = last; g >= first; g--) {
    for (let i = groupStarts[g]! + groupLengths[g]! - 1; i >= groupStarts[g]!; i--) {
      let d = text.charCodeAt(i) - 48;
      if (double && (d *= 2) > 9) d -= 9;
      sum += d;
      double = !double;
    }
  }
  return sum % 10 === 0;
}

/**
 * The first run of whole groups of the candidate that is a card: the whole candidate, then shorter runs, longest
 * first, then leftmost. A card followed by its CVV (`4111 1111 1111 1111 123`) or after a row id
 * (`1042 4242 4242 4242 4242`) reads as one five-group run that is no card, while four of its groups are one.
 */
function cardRun(text: string): { first: number; last: number; digits: string; issuer: 'strong' | 'weak' } | null {
  const count = groupStarts.length;
  for (let size = count; size >= 1; size--) {
    // (Only the whole candidate, or runs of at least three groups.)
    if (size < count && size < 3) break;
    for (let first = 0; first + size <= count; first++) {
      const last = first + size - 1;
      let digitCount = 0;
      for (let g = first; g <= last; g++) digitCount += groupLengths[g]!;
      if (digitCount < 12 || digitCount > 19) continue;
      if (size > 1) {
        const separator = text.charCodeAt(groupStarts[first + 1]! - 1);
        let same = true;
        // (Dashed pairs, `4111-1111 1111-1111`, in the common 4-4-4-4 only.)
        for (let g = first + 2; g <= last && same; g++) same = text.charCodeAt(groupStarts[g]! - 1) === separator;
        const shape = shapeKey(groupLengths, first, last + 1);
        if (!same && !(shape === SIXTEEN && mixedSpacesAndDashes(text, first, last))) continue;
        if (!CARD_SHAPES.has(shape)) continue;
      }
      if (!luhnOfGroups(text, first, last)) continue;
      let digits = '';
      for (let g = first; g <= last; g++) digits += text.slice(groupStarts[g]!, groupStarts[g]! + groupLengths[g]!);
      if (/^(\d)\1+$/.test(digits)) continue;
      const issuer = issuerStrength(digits);
      if (issuer) return { first, last, digits, issuer };
    }
  }
  return null;
}

const ID_WORDS = new ContextWords(['id']);
const OTHER_NOT_CARD_WORDS = new ContextWords(['order', 'tracking', 'invoice', 'isbn', 'ean', 'gtin', 'upc', 'sku', 'ref', 'reference', 'timestamp', 'epoch', 'snowflake', 'serial', 'imei']);
const MAX_ARRAY_BACK = 400;
/** The last number found in an id array and that array's `[` (a list of numbers is read back to its `[` once, not per element). */
let lastInArray = { end: -1, bracket: -1 };

/**
 * Where the JSON number array holding `[start, …)` opens, when only numbers, commas and blanks stand between (up to
 * 400 characters back), or -1.
 */
function arrayOpening(text: string, start: number): number {
  let i = start - 1;
  while (i >= 0 && text.charCodeAt(i) === 32) i--;
  if (text.charCodeAt(i) !== 91 && text.charCodeAt(i) !== 44) return -1;
  for (; i >= 0 && start - i <= MAX_ARRAY_BACK; i--) {
    if (i === lastInArray.end - 1) return lastInArray.bracket;
    const c = text.charCodeAt(i);
    if (c === 91) return i;
    if (!((c >= 48 && c <= 57) || c === 44 || c === 32 || c === 45 || c === 10)) return -1;
  }
  return -1;
}

/**
 * In a JSON number array under an `id`/`ids` key (`{"ids":[…]}`), every element is an id, however far from the key —
 * but a major network's Luhn-valid 16 digits is a card (`{"ids":[4111111111111111,42]}`). Ids in such arrays are
 * rarely 16 digits: snowflakes (Twitter, Discord, Instagram) and 64-bit trace ids have 17–19, Facebook's 15,
 * Shopify's 13–14; measured on seeded arrays of each: 1–4 % of them had a Luhn-valid element of a card's prefix and
 * length past the key's reach, read as a card until now; 0 now. A random 16-digit id passes Luhn and a prefix about
 * one time in twenty. Returns undefined outside such an array, else whether the number is an id.
 */
function idInArray(text: string, start: number, end: number, digits: string, strength: 'strong' | 'weak'): boolean | undefined {
  const bracket = arrayOpening(text, start);
  if (bracket < 0) return undefined;
  lastInArray = { end, bracket };
  if (!hasContext(text, bracket, bracket, ID_WORDS, 12, 0)) return undefined;
  if (hasContext(text, bracket, bracket, OTHER_NOT_CARD_WORDS, 24, 0)) return true; // `order_ids`
  return !(strength === 'strong' && digits.length === 16 && end - start === 16);
}

export const findCreditCards: Recognizer = (text, out) => {
  lastInArray = { end: -1, bracket: -1 };
  const candidates = CANDIDATE.scan(text);
  // (Past the last candidate, or where a card found in it ends.)
  let from = 0;
  for (let m = candidates.next(0); m !== null; m = candidates.next(from)) {
    const matchEnd = m.index + m[0].length;
    from = matchEnd;
    groupStarts.length = 0;
    groupLengths.length = 0;
    for (let i = m.index; i < matchEnd; ) {
      const groupStart = i;
      while (i < matchEnd && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      groupStarts.push(groupStart);
      groupLengths.push(i - groupStart);
      i++; // the separator
    }
    const run = cardRun(text);
    if (!run) continue;
    const { digits } = run;
    const start = groupStarts[run.first]!;
    const end = groupStarts[run.last]! + groupLengths[run.last]!;
    // In a URL's path, 17–19 digits are snowflake ids (`/channels/381870553235193857/…`), which a network's prefix
    // and Luhn pass one time in ten or so: there a card is one of the lengths nearly every card has, 13–16.
    if (digits.length > 16 && (text.charCodeAt(start - 1) === 47 || text.charCodeAt(end) === 47)) {
      from = end;
      continue;
    }
    // Printed in a card's groups (4-4-4-4), a weak issuer's Luhn-valid number is a card as much as a major one's.
    const strength = run.issuer === 'weak' && run.last > run.first && digits.length >= 16 ? 'strong' : run.issuer;
    // A weak issuer's Luhn-valid 16–19 digits (Maestro `5000550000000029`) is a card unless a word says otherwise.
    let score = strength === 'strong' ? 0.8 : digits.length >= 16 ? 0.5 : 0.4;
    // (Only a number after `[` or a comma: most candidates are not in an array.)
    // In a number array under an `ids` key: what idInArray says, however far from the key. (Only a number after `[`, a
    // comma or a space is looked at: most candidates are not in an array.)
    const before = text.charCodeAt(start - 1);
    const idArray = before === 91 || before === 44 || before === 32 ? idInArray(text, start, end, digits, strength) : undefined;
    if (idArray === true) score -= 0.5;
    // (A list of numbers has no word around them: one short scan instead of the words' several.)
    else if (lettersWithin(text, start - CONTEXT_BEFORE, end + CONTEXT_AFTER)) {
      if (hasContext(text, start, end, CARD_WORDS)) score += 0.5;
      // A word saying what else the number is: right before a major network's Luhn-valid number (`order id 4111…`,
      // `Order number: 4111…`, `"orderNumber":"4111…"`);
      // around a weak issuer's. (A record's `id` key sits a field or two away in every JSON object and CSV row: after
      // a strong number it is the next field's, `{"card": "4111…", "id": 4821}`.) Not of a major network's number
      // printed in a card's groups (`ref:4111 1111 1111 1111`, `id=5500-0000-0000-0004`): ids and references are
      // not written that way.
      else if (idArray === undefined && !(strength === 'strong' && run.last > run.first) && (hasContext(text, start, end, NOT_CARD_WORDS, strength === 'strong' ? 12 : 24, strength === 'strong' ? 0 : 8) || ORDER_NUMBER_BEFORE.test(text.slice(Math.max(0, start - 24), start)))) score -= 0.5;
    }
    if (score > 0) out.push({ type: 'CREDIT_CARD', start, end, score: Math.min(1, score) });
    // The next card may follow in the same run of groups (a list of cards, `4111 … 1111 4242 … 4242`).
    from = end;
  }
};
