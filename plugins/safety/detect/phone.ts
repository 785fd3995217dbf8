// PHONE_NUMBER: digit groups in the shapes people write phone numbers in (international `+cc`, `(area)`, extensions),
// scored by shape, confirmed by libphonenumber-js when they carry a country code, and by context words when short.
import { isValidPhoneNumber as libphonenumberValid, type CountryCode } from 'libphonenumber-js';
import type { Recognizer } from '../types.ts';
import { isAsciiAlnum, isAsciiLetter, isDigit, isWordChar } from './chars.ts';
import { AlignedHeaders, ColumnHeaders, isField, LineStarts, SqlColumns } from './columns.ts';
import { fastInternationalVerdict, trunkPrefixOf } from './phone-validity.ts';
import { CONTEXT_AFTER, CONTEXT_BEFORE, ContextWords, hasContext, lengthsOfAny, lettersWithin, someWordBackward, WordStarts } from './context.ts';
import { codeAt, realSlice } from './narrow-view.ts';
import { digitRuns, runAtOrAfter } from './digit-runs.ts';
import { ssnValid } from './us-ssn.ts';
import { lineStartAt } from './bounded-search.ts';

const MAX_GROUPS = 7;

/**
 * libphonenumber's verdict, remembered for the last few thousand values: a hostile text repeats one candidate
 * (`+33 +33 …`, `+1 4242 4242 …`) a hundred thousand times. Two generations of a Map, swapped when the newer is
 * full: O(1) per value (deleting a Map's oldest key walks over the holes earlier deletes left). Fewer than 7 digits
 * is never a whole international number (the shortest, +290 and +683, have 7).
 */
let verdicts = new Map<string, boolean>();
let olderVerdicts = new Map<string, boolean>();
const MAX_VERDICTS = 4096;
function isValidPhoneNumber(value: string, region?: CountryCode): boolean {
  let digits = 0;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) digits++;
  if (digits < (region ? 4 : 7)) return false;
  const key = region ? `${region}\u0000${value}` : value;
  const known = verdicts.get(key) ?? olderVerdicts.get(key);
  if (known !== undefined) return known;
  // Most `+` numbers get the library's verdict from its patterns compiled once; the rest from the library itself.
  const valid = (region ? undefined : fastInternationalVerdict(value)) ?? (region ? libphonenumberValid(value, region) : libphonenumberValid(value));
  if (verdicts.size >= MAX_VERDICTS) {
    olderVerdicts = verdicts;
    verdicts = new Map();
  }
  verdicts.set(key, valid);
  return valid;
}
/**
 * `Tel` that starts a place's name, not a phone label: Tel Aviv, the towns Tel Mond and Tel Sheva, and the tells
 * (archaeological mounds) people write about: Tel Megiddo, Tel Hazor, Tel Arad, Tel Lachish.
 */
/**
 * A phone word before these names something else: a city (`Tel Aviv`), or what is counted of phones (`mobile users
 * 48213377`, `phone calls: 4158675`: an outside review's figures read as numbers to dial).
 */
const COUNTED = ['users', 'sessions', 'calls', 'minutes', 'traffic', 'apps', 'app', 'devices', 'subscribers', 'usage', 'views', 'visits', 'revenue', 'sales', 'share', 'downloads', 'installs', 'games'];
const NOT_TEL = { tel: ['aviv', 'mond', 'sheva', 'megiddo', 'hazor', 'arad', 'lachish'], phone: COUNTED, mobile: COUNTED, cell: COUNTED, call: COUNTED };
/** x123, ext. 123, #123 right after the number. */
const EXTENSION = /^ ?(?:x|ext\.? ?|extension ?|#)\d{1,6}/i;
const PHONE_WORDS = new ContextWords([
  'phone', 'telephone', 'tel', 'ph', 'mobile', 'mob', 'cell', 'cellphone', 'call', 'fax', 'office', 'desk', 'home', 'work', 'reach',
  'contact', 'whatsapp', 'sms', 'text', 'dial', 'number', 'answer', 'answering', 'ring', 'registered', 'hotline', 'landline', 'direct',
  'extension', 'ext', 'voicemail', 'telefon', 'tlf', 'nr', 'signal', 'telegram', 'pager', 'message', 'messages', 'texting', 'phoned',
  // French, German, Dutch, Spanish, Portuguese, Italian, Nordic
  'téléphone', 'tél', 'télé', 'appelez', 'appeler', 'appelle', 'joindre', 'portable', 'numéro', 'rufen', 'anrufen', 'telefonnummer',
  'rufnummer', 'festnetz', 'handy', 'handynummer', 'erreichbar', 'mobil', 'mobilnummer', 'telefoon', 'telefoonnummer', 'mobiel', 'gsm',
  'bellen', 'telefono', 'teléfono', 'móvil', 'movil', 'número', 'celular', 'llamar', 'llame', 'contacto', 'telemóvel', 'telemovel',
  'ligue', 'chiamare', 'chiama', 'cellulare', 'puhelin',
  // The verbs of "call me" as people write them: "ruf mich an unter", "bel me op", "llámame al", "contattami al".
  'ruf', 'rufe', 'ruft', 'erreichst', 'erreichen', 'bel', 'belt', 'bereikbaar', 'bereiken', 'llámame', 'llamame', 'llamarme',
  'llámeme', 'llámenos', 'llamadme', 'chiamami', 'chiamatemi', 'chiamarmi', 'contattami', 'contattarmi', 'telefonami',
  'raggiungibile',
  // Polish, Hungarian, Czech, Finnish, Portuguese (Brazil), Turkish, Swedish
  'telefonu', 'telefonem', 'telefoniczny', 'numer', 'komórka', 'komórkowy', 'komórki', 'zadzwoń', 'dzwoń', 'kontakt', 'kontaktowy',
  'telefonszám', 'telefonszámom', 'telefonszáma', 'mobilszám', 'hívjon', 'hívj', 'telefonní', 'mobilní', 'puh', 'puhelinnumero',
  'matkapuhelin', 'telefone', 'contato', 'cel', 'fone', 'ligar', 'numara', 'numarası', 'numaram', 'cep', 'mobilnummer', 'ring',
  // An outside review's sentences (review 11): "Rappelez-moi au", "Meine Nummer ist", "Oficina:", "Ufficio di Roma:",
  // "Contacte-me pelo", Turkish "Telefonum …" and "… numaralı telefondan arayın" (words after the number).
  'rappelez', 'rappeler', 'rappelle', 'nummer', 'oficina', 'ufficio', 'büro', 'bureau', 'kantoor', 'contacte', 'contacta',
  'telefonum', 'numaralı', 'telefondan', 'arayın', 'arayin',
  // Swiss German's mobile and Swedish "tfn" (telefon) (outside review 16).
  'natel', 'tfn',
  // Keys of JSON and logs written as one word (`"contactPhone":`, `msisdn=`): the reader does not split camelCase.
  'msisdn', 'phonenumber', 'phoneno', 'phonenum', 'mobilephone', 'mobilenumber', 'mobileno', 'contactphone', 'contactnumber',
  'homephone', 'workphone', 'businessphone', 'primaryphone', 'telno', 'telephonenumber', 'cellnumber',
], { notBefore: NOT_TEL, except: ['calls'], camelSuffixes: ['phone', 'tel', 'mobile', 'msisdn'] });
/**
 * Words that name a phone and nothing else: right before a 4- or 5-digit number (the whole national number in small
 * countries and territories: `tel=51234`, `mobile: 7012`), they make it one. Not "number", "text" or "office".
 */
const PHONE_ONLY_WORDS = new ContextWords([
  'phone', 'telephone', 'tel', 'mobile', 'cell', 'cellphone', 'call', 'fax', 'whatsapp', 'sms', 'dial', 'hotline', 'landline',
  'téléphone', 'tél', 'appelez', 'appeler', 'portable', 'telefon', 'telefonnummer', 'rufnummer', 'handy', 'anrufen', 'rufen',
  'telefoon', 'mobiel', 'gsm', 'teléfono', 'telefono', 'móvil', 'celular', 'llamar', 'llame', 'telemóvel', 'cellulare', 'chiamare',
  'telefonu', 'komórka', 'telefonszám', 'telefonszámom', 'puh', 'puhelin', 'telefone', 'cel', 'fone', 'mobilnummer', 'mobil',
  'natel', 'tfn',
], { notBefore: NOT_TEL });

/** A phone-only word within 24 characters before `start` (`rufen Sie mich unter 40123`), or one of the unspaced scripts'. */
function phoneWordJustBefore(text: string, start: number): boolean {
  return hasContext(text, start, start, PHONE_ONLY_WORDS, 24, 0) || unspacedPhoneWordBefore(text, start);
}

/** The index of the last non-blank character before `i` (-1 if none). */
function skipBackBlanks(text: string, i: number): number {
  let j = i - 1;
  while (j >= 0 && text.charCodeAt(j) === 32) j--;
  return j;
}

/** A short number a phone word makes a phone: 4 or 5 digits, not a year (`call 2026`); or one in a `phone` column. */
function shortPhone(text: string, start: number, end: number, digits: number, columns: Columns): boolean {
  if (digits !== 5 && digits !== 4) return false;
  if (end - start === 4 && yearDigits(text.charCodeAt(start), text.charCodeAt(start + 1))) return false;
  return labelledAsPhone(text, start) || unspacedPhoneWordBefore(text, start) || callMeBefore(text, start) || columns.saysPhone(start, end);
}

/** The first two digits of a four-digit year: `19` or `20`. */
function yearDigits(first: number, second: number): boolean {
  return (first === 49 && second === 57) || (first === 50 && second === 48);
}

/** The words CALL_ME ends in ("on", "at", "unter", "au", "al", "a", "allo", "op"), and the longest's length. */
const CALL_ME_LAST = new Set(['on', 'at', 'unter', 'au', 'al', 'a', 'allo', 'op']);
const MAX_CALL_ME_LAST = 5;

/**
 * CALL_ME right before `start`. Most 4- and 5-digit numbers (ports, counts, line numbers) have no such word right
 * before them: one look at that word saves the regex, which tries each of the 40 characters before (~0.4 ms/MB of
 * mixed text, measured).
 */
function callMeBefore(text: string, start: number): boolean {
  // (As the regex reads the 40 characters before: `\s*:?\s*` then the word.)
  const floor = Math.max(0, start - 40);
  let end = start;
  while (end > floor && isSpace(text.charCodeAt(end - 1))) end--;
  if (end > floor && text.charCodeAt(end - 1) === 58) end--;
  while (end > floor && isSpace(text.charCodeAt(end - 1))) end--;
  let from = end;
  while (from > floor && end - from <= MAX_CALL_ME_LAST && isAsciiLetter(text.charCodeAt(from - 1))) from--;
  if (from === end || end - from > MAX_CALL_ME_LAST || !CALL_ME_LAST.has(text.slice(from, end).toLowerCase())) return false;
  return CALL_ME.test(realSlice(text, Math.max(0, start - 40), start));
}

/** What the regex's `\s` is. */
function isSpace(c: number): boolean {
  return c < 128 ? c === 32 || (c >= 9 && c <= 13) : /\s/.test(String.fromCharCode(c));
}


/** The column headers of one text, read only when a candidate needs them (most texts have no table). */
class Columns {
  #headers: ColumnHeaders | undefined;
  readonly #text: string;
  readonly #firstNewline: number;
  /** The text's line starts, found on first use: both kinds of table read them. */
  readonly #lines: LineStarts;
  constructor(text: string) {
    this.#text = text;
    this.#firstNewline = text.indexOf('\n');
    this.#lines = new LineStarts(text);
  }
  /** The header of the column of the field `[start, end)` (lower-cased), or undefined when it is no field of a table. */
  header(start: number, end: number): string | undefined {
    // (A number the short-number check asked about is asked again as a candidate: the last answer is kept.)
    if (start === this.#lastStart && end === this.#lastEnd) return this.#lastHeader;
    this.#lastStart = start;
    this.#lastEnd = end;
    // A row under a header is on a later line; a number in prose is no field (`in 2026, the …`).
    if (this.#firstNewline === -1 || start <= this.#firstNewline || !isField(this.#text, start, end)) return (this.#lastHeader = undefined);
    return (this.#lastHeader = (this.#headers ??= new ColumnHeaders(this.#text, this.#lines)).headerAt(start));
  }
  #lastStart = -1;
  #lastEnd = -1;
  #lastHeader: string | undefined;
  saysPhone(start: number, end: number): boolean {
    return columnSaysPhone(this.header(start, end));
  }
  #sql: SqlColumns | undefined;
  #aligned: AlignedHeaders | undefined;
  /** A quoted field of a SQL VALUES row under a phone column (asked only of numbers the words around left short). */
  sqlSaysPhone(start: number): boolean {
    return columnSaysPhone((this.#sql ??= new SqlColumns(this.#text)).columnAt(start));
  }
  /** A cell of a table aligned with blanks (pandas' printout) under a phone column (asked as `sqlSaysPhone` is). */
  alignedSaysPhone(start: number, end: number): boolean {
    return this.#firstNewline !== -1 && start > this.#firstNewline && columnSaysPhone((this.#aligned ??= new AlignedHeaders(this.#text, this.#lines)).headerAt(start, end));
  }
  /** Any column's word: a delimited table's header, a SQL insert's column list, an aligned table's header. */
  anySaysPhone(start: number, end: number): boolean {
    return this.saysPhone(start, end) || this.sqlSaysPhone(start) || this.alignedSaysPhone(start, end);
  }
}

/** "Call me on …" in the languages of the context words: a person asking to be phoned at the number that follows. */
const CALL_ME = new RegExp(
  '(?:' +
  [
    '\\b(?:call|text|ring|phone|reach)\\s+(?:me|us)\\s+(?:(?:tomorrow|today|tonight|anytime|later|back)\\s+)?(?:on|at)',
    // "ruf mich (morgen) (an) unter", "du erreichst mich unter", "rufen Sie uns an unter"
    '\\b(?:mich|uns|mir)\\s+(?:(?:morgen|heute|gerne?|doch|einfach|bitte|jederzeit|an)\\s+){0,2}unter',
    '(?:appelez|appelle|appeler)-(?:moi|nous)\\s+(?:(?:demain|ce soir)\\s+)?au',
    '\\bll[aá]m(?:ame|eme|enos|adme|arme)\\s+(?:(?:mañana|hoy|luego)\\s+)?al?',
    '\\b(?:chiamami|chiamatemi|chiamarmi|contattami|telefonami)\\s+(?:(?:domani|pure|oggi)\\s+)?(?:al|allo)',
    '\\bbel\\s+(?:me|mij|ons)\\s+(?:(?:even|morgen|gerust|maar)\\s+){0,2}op',
  ].join('|') + ')\\s*:?\\s*$',
  'iu',
);

/** Nouns that label a phone number (not verbs: `API call 12345 failed`, `the call took 1532 ms` are no phones). */
const PHONE_NOUNS = new ContextWords([
  'phone', 'telephone', 'tel', 'mobile', 'cell', 'cellphone', 'fax', 'whatsapp', 'sms', 'hotline', 'landline', 'téléphone', 'tél',
  'portable', 'telefon', 'telefonnummer', 'rufnummer', 'handy', 'handynummer', 'telefoon', 'telefoonnummer', 'mobiel', 'gsm', 'teléfono',
  'telefono', 'móvil', 'celular', 'telemóvel', 'cellulare', 'telefonu', 'komórka', 'telefonszám', 'puh', 'puhelin', 'telefone', 'cel', 'fone',
  'mobil', 'natel', 'tfn',
]);

/** A table column named like a phone (`phone`, `Mobile Phone`, `phone_number`, `tel`, `msisdn`): its values are phones. */
const PHONE_COLUMN_WORDS = new ContextWords([
  'msisdn', 'phonenumber', 'phoneno', 'phonenum', 'mobilephone', 'mobilenumber', 'mobileno', 'cellphone', 'cellnumber', 'telno', 'telephonenumber',
  'contactnumber', 'telefonnummer', 'mobilnummer', 'gsm', 'numerotelefonu', 'telefonszám',
]);
function columnSaysPhone(header: string | undefined): boolean {
  return header !== undefined && remembered(PHONE_HEADERS, header, () => headerHas(header, (word) => PHONE_NOUNS.has(word) || PHONE_COLUMN_WORDS.has(word)) && !MEASURE_WORDS.has(lastWordOf(header)));
}
/**
 * A column that counts or measures something about phones (`phone_calls`, `mobile_sessions`, `phone_minutes`): its
 * values are figures, not numbers to dial (an outside review's CSV of call counts was redacted row by row).
 */
const MEASURE_WORDS = new Set([
  'calls', 'count', 'counts', 'sessions', 'users', 'minutes', 'mins', 'seconds', 'secs', 'duration', 'total', 'totals', 'volume', 'rate',
  'pct', 'percent', 'share', 'sales', 'revenue', 'orders', 'visits', 'views', 'clicks', 'installs', 'downloads', 'messages', 'sent',
  'received', 'usage', 'cost', 'spend', 'price', 'qty', 'quantity', 'ms', 'avg', 'average', 'max', 'min', 'sum', 'type', 'verified', 'status',
  // An extension is dialled after a number, inside one switchboard: not a number of its own (`phone_ext`).
  'ext', 'extension',
  // What else a column says of phones: ids, times, systems, models (`mobile_app_id`, `phone_verified_at`, `cell_tower_id`).
  'id', 'ids', 'at', 'os', 'model', 'brand', 'version', 'last',
]);
/** Whether a phone was found ending just before `start`, past one blank (the findings so far end with it). */
function afterPhoneFound(out: Parameters<Recognizer>[1], start: number): boolean {
  const last = out.at(-1);
  return last !== undefined && last.type === 'PHONE_NUMBER' && last.end >= start - 2 && last.end < start;
}

/** `AAA-GG-SSSS` in the ranges the SSA issues. */
function ssnShaped(text: string, start: number, shape: Shape): boolean {
  if (shape.groups.join() !== '3,2,4' || shape.separators.join('') !== '--') return false;
  return ssnValid(text.slice(start, start + 3), text.slice(start + 4, start + 6), text.slice(start + 7, start + 11));
}

/** A key or label right before its value: `"phone_calls": `, `phone_ext=`, `callCount: `, a table row's `| calls | `. */
const KEY_BEFORE = /([A-Za-z][A-Za-z0-9_-]{0,40})["']?[ \t]*[:=|][ \t]*["']?$/;

/**
 * Whether the key right before a number says it measures or counts (`{"phone_calls": 4155552671}`, `phone_ext=…`,
 * `callCount: …`, `| calls | …`): a figure, as under such a column (an outside review found these keys' values
 * redacted as phones).
 */
function keyMeasures(text: string, start: number): boolean {
  const key = KEY_BEFORE.exec(text.slice(Math.max(0, start - 48), start))?.[1];
  if (key === undefined) return false;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[_-]+/);
  return MEASURE_WORDS.has(words.at(-1) ?? '') || (words.at(-1) === 'number' && words.at(-2) === 'order');
}

/** The last word of a lower-cased header (`phone_calls` → calls, `mobile sessions` → sessions). */
function lastWordOf(header: string): string {
  const match = /[\p{L}]+(?=[^\p{L}]*$)/u.exec(header);
  return match ? match[0] : '';
}
/**
 * Verdicts on header names, remembered: a table asks its few headers once per value (a CSV of 150,000 phones spent a
 * quarter of its time splitting `phone` into words).
 */
const PHONE_HEADERS = new Map<string, boolean>();
const CODE_HEADERS = new Map<string, boolean>();
function remembered(verdicts: Map<string, boolean>, header: string, decide: () => boolean): boolean {
  let verdict = verdicts.get(header);
  if (verdict === undefined) {
    if (verdicts.size >= 1024) verdicts.clear();
    verdicts.set(header, (verdict = decide()));
  }
  return verdict;
}
/** A column of product codes (`upc`, `EAN-13`, `gtin_14`, `barcode`): 12 and 13 digits there are valid phones in many regions. */
const CODE_COLUMN_WORDS = new ContextWords(['upc', 'ean', 'gtin', 'sku', 'barcode', 'isbn', 'issn', 'asin', 'mpn', 'imei']);
function columnSaysCode(header: string | undefined): boolean {
  return header !== undefined && remembered(CODE_HEADERS, header, () => headerHas(header, (word) => CODE_COLUMN_WORDS.has(word)));
}
/** Whether one of the header's words (`phone_number`, `Mobile Phone`, `mobilePhone`, already lower-cased) passes `test`. */
function headerHas(header: string | undefined, test: (word: string) => boolean): boolean {
  if (header === undefined || header.length > 40) return false;
  let found = false;
  header.replace(/[\p{L}]+/gu, (word) => {
    if (!found && test(word)) found = true;
    return word;
  });
  return found;
}
/** What may stand between a label and its number: on one line (a CSV header's `mobile` is not the next row's id's label). */
const LABEL_JOINERS = /^[ \t:=."'#(№-]{0,4}$/;
const LABEL_VERBS = new Set(['is', 'ist', 'es', 'est', 'è', 'é', 'lautet']);

/**
 * A short number labelled as a phone: the noun right before it, with only a separator or "is" between
 * (`tel=51234`, `mobile: "7012"`, `my phone is 51234`) — not a count after a noun (`Mobile users: 48213`).
 */
function labelledAsPhone(text: string, start: number): boolean {
  let joined = start;
  while (joined > 0 && start - joined < 5 && !isLetter(text.charCodeAt(joined - 1)) && !isDigit(text.charCodeAt(joined - 1))) joined--;
  // (No letter right before the joiners: no word, so no label; most numbers, and no slice to test.)
  if (joined === 0 || !isLetter(text.charCodeAt(joined - 1))) return false;
  if (!LABEL_JOINERS.test(realSlice(text, joined, start))) return false;
  const wordAt = (end: number) => {
    let s = end;
    while (s > 0 && end - s < 20 && isLetter(text.charCodeAt(s - 1)) && codeAt(text, s - 1) < 0x3000) s--;
    return { start: s, word: realSlice(text, s, end).toLowerCase() };
  };
  let { start: s, word } = wordAt(joined);
  if (LABEL_VERBS.has(word)) {
    let k = s;
    while (k > 0 && s - k < 3 && text.charCodeAt(k - 1) === 32) k--;
    ({ start: s, word } = wordAt(k));
  }
  return word !== '' && PHONE_NOUNS.has(word);
}

/** Phone words of scripts written without spaces, looked for as text just before the number (`電話番号：03-1234-5678`). */
const PHONE_WORDS_UNSPACED = [
  // (Full-width `ＴＥＬ` is folded to `TEL`, a context word.)
  '電話', '携帯', '連絡先', '电话', '手机', '전화', '휴대폰', '연락처', '핸드폰',
  // Words of other scripts, which the context-word reader (Latin letters) does not read: Russian `Тел.`, `моб.`, Greek `τηλ.`, Arabic.
  'тел', 'Тел', 'ТЕЛ', 'моб', 'Моб', 'τηλ', 'Τηλ', 'هاتف', 'جوال',
  // Taiwan's `手機`, Hebrew `טלפון` and `נייד`, Russian `сот.` (outside review 10).
  '手機', 'טלפון', 'נייד', 'сот', 'Сот',
  // Russian "call" (`Звоните`, `позвоните`, `перезвонить на`), Chinese "dial" and "call at" (`请拨打`, `致电`), Japanese
  // "inquiries" (`お問い合わせは`) (outside review 11).
  'звони', 'Звони', 'ЗВОНИ', '拨打', '撥打', '致电', '致電', '問い合わせ',
];

/**
 * One of them right after the number (`03-1234-5678までお電話ください`, "please call 03-… by phone"; `138 0013 8000 联系我`
 * is not one: "contact me" names no phone).
 */
function unspacedPhoneWordAfter(text: string, end: number): boolean {
  let to = end;
  while (to < text.length && to - end < 12 && codeAt(text, to) < 0x370) to++;
  if (to === text.length || to - end >= 12) return false;
  const after = realSlice(text, end, Math.min(text.length, end + 12));
  return PHONE_WORDS_UNSPACED.some((word) => after.includes(word));
}

function unspacedPhoneWordBefore(text: string, start: number): boolean {
  // Every such word is written in letters from U+0370 up: most numbers have none of them before, and need no search.
  let from = start;
  while (from > 0 && start - from < 12 && codeAt(text, from - 1) < 0x370) from--;
  if (from === 0 || start - from >= 12) return false;
  const before = realSlice(text, Math.max(0, start - 12), start);
  return PHONE_WORDS_UNSPACED.some((word) => before.includes(word));
}
const NOT_PHONE_WORDS = new ContextWords([
  'isbn', 'issn', 'order', 'invoice', 'tracking', 'sku', 'serial', 'version', 'ver', 'build', 'id', 'ids', 'ref', 'reference', 'price',
  'count', 'qty', 'quantity',
  'total', 'amount', 'usd', 'eur', 'bytes', 'kb', 'mb', 'gb', 'ms', 'seconds', 'page', 'pages', 'pp', 'chapter', 'zip', 'postal', 'lat',
  'lon', 'lng', 'latitude', 'longitude', 'coordinates', 'pid', 'port', 'checksum', 'hash', 'epoch', 'timestamp', 'unix', 'part',
  'account', 'routing', 'iban', 'sort', 'ticket', 'case', 'batch', 'lot', 'patent', 'doi', 'ean', 'upc', 'gtin', 'imei',
  'license', 'licence', 'passport', 'dl', 'ssn', 'social', 'card', 'visa', 'credit',
  // Company and tax ids, grouped in threes like phones (`SIRET 732 829 320 00074`, `EIN 12-3456789`): France's
  // SIRET, SIREN, RCS and TVA, VAT, Germany's Steuernummer, USt-IdNr and HRB, the Netherlands' KvK and BTW, Spain's
  // CIF, NIF and NIE, Italy's partita IVA and codice fiscale, Poland's NIP, REGON and KRS, Brazil's CNPJ and CPF,
  // Australia's ABN, ACN and TFN, India's GSTIN, the EU's EORI, Switzerland's UID.
  'siret', 'siren', 'rcs', 'tva', 'vat', 'steuer', 'steuernummer', 'steuernr', 'stnr', 'ust', 'ustid', 'ustidnr', 'idnr', 'hrb', 'hra',
  'kvk', 'btw', 'cif', 'nif', 'iva', 'fiscale', 'nip', 'regon', 'krs', 'cnpj', 'cpf', 'abn', 'acn', 'gst', 'gstin',
  'eori', 'uid',
  // The same in Spanish, Portuguese and Italian, where safety.phoneRegions reads bare national numbers (outside review 12).
  'pedido', 'pedidos', 'factura', 'facturas', 'facturamos', 'fatura', 'fattura', 'referencia', 'referência', 'riferimento',
  'lote', 'lotto', 'ordine', 'encomenda', 'unidades', 'unità', 'seguidores', 'importe', 'precio', 'preço', 'prezzo', 'cantidad',
  'quantidade', 'quantità', 'expediente', 'albarán',
  // A draw's numbers, grouped in twos as France writes phones: `Winning numbers: 04 12 23 37 45` (outside review 16).
  'winning', 'lottery', 'jackpot',
  // (In capitals only: `ein` is German for "a", `nie` Polish for "not", `tin` a metal, `tfn` Swedish for a phone.)
], { capitalsOnly: ['EIN', 'NIE', 'TIN', 'ITIN', 'TFN'] });
/** A number right before a street name is a house number: `58 2347 Lauzon Parkway`, `9931 14 Iliou Street`. */
const STREET_WORDS = new ContextWords([
  'street', 'st', 'lane', 'ln', 'road', 'rd', 'avenue', 'ave', 'av', 'blvd', 'boulevard', 'drive', 'dr', 'way', 'court', 'ct', 'parkway',
  'pkwy', 'rue', 'via', 'place', 'pl', 'square', 'sq', 'terrace', 'highway', 'hwy', 'circle', 'cir', 'alley', 'trail', 'plaza', 'gasse',
  'strasse', 'straße', 'str', 'vej', 'veien', 'gatan', 'utca', 'calle', 'rua', 'piazza', 'corso', 'chemin', 'allee',
]);

interface Shape {
  end: number;
  groups: number[];
  separators: string[];
  plus: boolean;
  paren: boolean;
  extension: boolean;
}

/** How many digits `groups` (a shape's, or the first of them) hold. */
function digitsIn(groups: readonly number[]): number {
  let sum = 0;
  for (const g of groups) sum += g;
  return sum;
}

/**
 * Characters that, right before a digit run, make it part of something else (`#123`, `v1.2`, `$5`, `-7`). Not `=`
 * or `:`: `tel=+33…` and `phone:0412…` are how logs and configs write numbers.
 */
const BAD_BEFORE = new Set([...'.-/+@#$€£¥%&*^~\\'].map((c) => c.charCodeAt(0)));
/** After the run: a letter or digit continues a token; `.5`, `:5`, `-5`, `/5` continue a number. */
const CONTINUES_NUMBER = new Set([...'.:-/'].map((c) => c.charCodeAt(0)));

/** A comma continues a number only as a thousands group (`1,234`): otherwise it delimits, as in a CSV row. */
function thousandsFollow(text: string, at: number): boolean {
  return text.charCodeAt(at) === 44 && isDigit(text.charCodeAt(at + 1)) && isDigit(text.charCodeAt(at + 2)) && isDigit(text.charCodeAt(at + 3)) && !isDigit(text.charCodeAt(at + 4));
}

/** Reads the digit groups starting at `start`; returns null when the run is not phone-shaped at all. */
function readShape(text: string, start: number): Shape | null {
  let pos = start;
  const shape: Shape = { end: start, groups: [], separators: [], plus: false, paren: false, extension: false };
  if (text.charCodeAt(pos) === 43) {
    shape.plus = true;
    pos++;
  }
  for (;;) {
    if (text.charCodeAt(pos) === 40) {
      // More groups than any phone has (`(0)(0)(0)…`): as below, skip them in one go. Every start reads at most
      // MAX_GROUPS groups, so a run of them is read a bounded number of times, not once per start.
      if (shape.groups.length >= MAX_GROUPS) return tooManyGroups(shape, text, pos);
      // (area), the (0) trunk prefix of +41 (0)96 …, or a country code in brackets: (+44) 7911 284530
      const code = shape.groups.length === 0 && text.charCodeAt(pos + 1) === 43;
      const from = code ? pos + 2 : pos + 1;
      let close = from;
      while (close < text.length && close - pos <= 6 && isDigit(text.charCodeAt(close))) close++;
      // After a number's blank, brackets that are no group (`+44 20 7946 0958 (24h)`), or an area code that starts the
      // next number (`(415) 555-2671 (415) 555-2672`; not the `(0)` trunk prefix, nor `+1 (415)`): it ends at the blank.
      const bracketEnds = text.charCodeAt(close) !== 41 || close === from;
      const nextNumber = !bracketEnds && shape.groups.length >= (shape.plus ? 2 : 1) && !(close - from === 1 && text.charCodeAt(from) === 48);
      if ((bracketEnds || nextNumber) && shape.groups.length > 0 && shape.separators.at(-1) === ' ') {
        shape.separators.pop();
        pos--;
        break;
      }
      if (bracketEnds) return null;
      shape.groups.push(close - from);
      if (code) shape.plus = true;
      else shape.paren = true;
      pos = close + 1;
      if (text.charCodeAt(pos) === 32 || text.charCodeAt(pos) === 45 || text.charCodeAt(pos) === 46) {
        if (!isDigit(text.charCodeAt(pos + 1)) && !(code && text.charCodeAt(pos) === 32 && text.charCodeAt(pos + 1) === 40)) break; // (+44) (0)20 …
        shape.separators.push(text[pos] as string);
        pos++;
      } else shape.separators.push('');
      continue;
    }
    let end = pos;
    while (end < text.length && end - pos <= 15 && isDigit(text.charCodeAt(end))) end++;
    if (end === pos || end - pos > 15) return null;
    shape.groups.push(end - pos);
    pos = end;
    const c = text.charCodeAt(pos);
    // The `(0)` trunk prefix glued to the country code, as European signatures write it: `+44(0)20 7946 0958`.
    if (c === 40 && shape.plus && shape.groups.length === 1 && text.charCodeAt(pos + 1) === 48 && text.charCodeAt(pos + 2) === 41) {
      shape.separators.push('');
      continue;
    }
    if ((c === 32 || c === 45 || c === 46) && (isDigit(text.charCodeAt(pos + 1)) || (c === 32 && text.charCodeAt(pos + 1) === 40 && isDigit(text.charCodeAt(pos + 2))))) {
      // More groups than any phone number has: a table row, a sequence. Skip the whole run in one go.
      if (shape.groups.length >= MAX_GROUPS) return tooManyGroups(shape, text, pos);
      shape.separators.push(text[pos] as string);
      pos++;
      continue;
    }
    break;
  }
  // Extension: x123, ext. 123, #123
  const next = text.charCodeAt(pos);
  const match = shape.groups.length > 1 && (next === 32 || next === 120 || next === 88 || next === 101 || next === 69 || next === 35) ? EXTENSION.exec(text.slice(pos, pos + 20)) : null;
  if (match) {
    shape.extension = true;
    pos += match[0].length;
  }
  shape.end = pos;
  return shape;
}

/**
 * A run with more groups than a phone number has (a table row, a sequence): no shape; the scan goes on after it, and
 * after every glued `(…)` group (`(0)(0)(0)…`, `+(0)+(0)…`), which would otherwise each start a new read.
 */
function tooManyGroups(shape: Shape, text: string, pos: number): Shape {
  let end = pos;
  for (let c = text.charCodeAt(end); c === 40 || c === 41 || c === 43 || isDigit(c); c = text.charCodeAt(++end));
  shape.end = skipRun(text, end);
  shape.groups.length = 0;
  return shape;
}

function isYear(digits: string): boolean {
  return /^(?:19|20)\d\d$/.test(digits);
}

/** The end of an e-mail address: a phone's `+` right after it starts the phone. */
const AFTER_ADDRESS = /[\w.%+-]@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;

/** Dates (2024-11-25, 25.11.2024), year ranges (2019-2024) and decimals (3.14159): digit groups that are not phones. */
/** A UUID from its first character (8-4-4-4-12 hex digits). */
const UUID_FROM = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9a-zA-Z])/;

const ISO_DATE_INSIDE = /(?<!\d)(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)/;

function looksLikeDateOrDecimal(value: string, shape: Shape): boolean {
  if (shape.separators.length === 1 && shape.separators[0] === '.' && !shape.plus) return true;
  // Every date shape below has a year, a four-digit group, and another group. (Most candidates have none: no split, no strings.)
  if (shape.groups.length < 2 || !shape.groups.includes(4)) return false;
  // An ISO date anywhere in the run (`30 2024-05-06 #1234`, `2024-05-06 4111`: a time's minutes, a log line's id).
  if (ISO_DATE_INSIDE.test(value)) return true;
  const parts = value.split(/[ .\-()+]+/).filter((p) => p !== '');
  const [a = '', b = '', c = ''] = parts;
  const month = (s: string) => s.length <= 2 && Number(s) >= 1 && Number(s) <= 12;
  const day = (s: string) => s.length <= 2 && Number(s) >= 1 && Number(s) <= 31;
  if (isYear(a) && month(b) && (c === '' || day(c)) && parts.length <= 4) return true;
  if (day(a) && month(b) && isYear(c) && parts.length <= 4) return true;
  if (month(a) && day(b) && isYear(c) && parts.length <= 4) return true;
  if (parts.length === 2 && isYear(a) && isYear(b)) return true;
  if (shape.separators.length === 1 && shape.separators[0] === '.' && !shape.plus) return true;
  return false;
}

/**
 * A range, `room 301-305`, `lines 1200-1250`: two dashed groups of one length, the second a little greater. (A phone
 * of that shape has a phone's label right before it: `mobile: 211-234`.)
 */
function looksLikeRange(shape: Shape, value: string): boolean {
  const { groups } = shape;
  if (groups.length !== 2 || shape.separators[0] !== '-' || groups[0] !== groups[1] || shape.plus || shape.paren) return false;
  const from = Number(value.slice(0, groups[0]));
  const to = Number(value.slice(groups[0]! + 1));
  return to > from && to - from < 100;
}

/**
 * Shapes of other numbers: single-digit groups inside (ISBNs 978-3-16-148410-0, versions 10.0.22621.1) and
 * thousands written with spaces (3 141 592 653). A leading country code and `(0)` are the phone exceptions.
 */
function looksLikeOtherNumber(shape: Shape, value: string): boolean {
  const { groups, separators } = shape;
  for (let i = 1; i < groups.length; i++) {
    const paren = i > 0 && separators[i - 1] === '' ; // the group right after `(0)` is glued to it
    // After a trunk prefix (`06 1 234 5678`: Hungary's 06, then Budapest's area code 1) a one-digit area code is a phone's.
    const afterTrunk = i === 1 && groups[0] === 2 && value.charCodeAt(0) === 48 && !shape.plus;
    if (groups[i] === 1 && !paren && !afterTrunk && !(shape.paren && i === 1 && shape.plus)) return true;
  }
  if (!shape.plus && !shape.paren && separators.every((s) => s === ' ') && (groups[0] ?? 0) <= 2 && groups.length >= 4 && groups.slice(1).every((g) => g === 3)) return true;
  return false;
}

/**
 * A count written in thousands that a phone word stands near (`Mobile subscriptions reached 45 120 000`, `Called
 * 12 345 678 times`, `calls handled: 1 245 678`; outside review 16): 1–3 digits, not `0`, then groups of three after
 * blanks or dots, and a round thousand, a counted noun after it or a counting word before. Phones are written in that
 * shape too (`912 345 678` in Spain and Poland, `21 234 567` in Latvia), so the shape alone does not decide. Asked
 * only of numbers about to be reported.
 */
function countInThousands(text: string, shape: Shape, value: string, start: number, end: number): boolean {
  const { groups, separators } = shape;
  if (shape.plus || shape.paren || shape.extension || groups.length < 3 || groups[0]! > 3 || value.charCodeAt(0) === 48) return false;
  if (separators[0] !== ' ' && separators[0] !== '.') return false;
  for (let k = 1; k < groups.length; k++) if (groups[k] !== 3 || separators[k - 1] !== separators[0]) return false;
  // (A round number right after a phone's label stays one: `Mobil: 612 345 000`.)
  return (value.endsWith('000') && !labelledAsPhone(text, start)) || COUNTED_NOUNS.has(wordAfter(text, end)) || COUNTING_WORDS.has(wordBefore(text, start));
}
/** What a count counts, right after it: `12 345 678 times`, `1 523 412 points`. */
const COUNTED_NOUNS = new ContextWords([
  'time', 'unit', 'point', 'pts', 'user', 'subscriber', 'subscription', 'customer', 'people', 'person', 'call', 'message', 'minute',
  'hour', 'view', 'visit', 'download', 'install', 'device', 'session', 'item', 'copy', 'copies', 'vote', 'row', 'record', 'request',
  'byte', 'euro', 'dollar', 'km', 'kg', 'ton', 'tonne', 'inhabitant', 'resident',
  'mal', 'stück', 'nutzer', 'kunden', 'anrufe', 'einwohner', 'fois', 'abonné', 'appel', 'utilisateur', 'habitant', 'veces', 'usuario',
  'llamada', 'cliente', 'unidades', 'vezes', 'chamada', 'utilizador', 'volte', 'chiamate', 'utenti', 'abitanti',
]);
/** Words right before a count (past a colon): `sold: 12 450 000`, `calls handled: 1 245 678`, `nearly 912 345 000`. */
const COUNTING_WORDS = new Set([
  'sold', 'handled', 'shipped', 'processed', 'served', 'recorded', 'counted', 'totalled', 'totaled', 'exceeded', 'surpassed',
  'approximately', 'approx', 'nearly', 'almost', 'roughly', 'than', 'verkauft', 'vendus', 'vendidos', 'vendidas',
]);

/** The lower-cased word right after `end`, past one blank, or ''. */
function wordAfter(text: string, end: number): string {
  const from = text.charCodeAt(end) === 32 ? end + 1 : end;
  let to = from;
  while (to < text.length && to - from < 16 && isLetter(text.charCodeAt(to))) to++;
  return realSlice(text, from, to).toLowerCase();
}

/** The lower-cased word right before `start`, past blanks and a colon (`sold: 12 450 000` → sold), or ''. */
function wordBefore(text: string, start: number): string {
  let end = skipBackBlanks(text, start) + 1;
  if (text.charCodeAt(end - 1) === 58) end = skipBackBlanks(text, end - 1) + 1;
  let from = end;
  while (from > 0 && end - from < 16 && isLetter(text.charCodeAt(from - 1))) from--;
  return realSlice(text, from, end).toLowerCase();
}

/** `555-123-4567`, `555.123.4567`, `(555) 123-4567`: three groups of 3, 3 and 4 digits, dashes, dots or the area in brackets. */
function writtenAsNanpPhone(shape: Shape): boolean {
  const { groups, separators } = shape;
  if (groups.length !== 3 || groups[0] !== 3 || groups[1] !== 3 || groups[2] !== 4) return false;
  return shape.paren || (separators[0] !== ' ' && separators[0] === separators[1]);
}

function consistent(separators: string[]): boolean {
  const real = separators.filter((s) => s !== '');
  return real.every((s) => s === real[0]);
}

/** How phone-like the shape is, before context: 0 = not a phone. */
function shapeScore(value: string, shape: Shape, digits: number): number {
  const { groups } = shape;
  if (digits < 6 || digits > 15) return 0;
  if (shape.plus) return 0; // (a `+` number libphonenumber did not validate: a signed amount, a made-up number)
  if (shape.extension) return digits >= 7 ? 0.7 : 0;
  const sizes = groups.join('-');
  // North American: 555-123-4567, 001-555-123-4567, 1-800-555-1234, (555) 123-4567
  if (/^(?:(?:1|001)-)?3-3-4$/.test(sizes) && consistent(shape.separators)) return 0.65;
  if (shape.paren) return digits >= 7 ? 0.6 : 0.3;
  if (groups.length === 1) return digits >= 10 && digits <= 11 ? 0.3 : 0;
  // Mixed separators or an over-long group: not how numbers are written, context cannot save it.
  if (!consistent(shape.separators) && !/^\d+ \d/.test(value)) return 0;
  if (groups.some((g) => g > 8)) return 0;
  if (digits >= 10 && groups.length >= 3) return 0.45;
  if (digits >= 7) return 0.45;
  return 0.3;
}

/** The recognizer with default regions: national numbers valid there are found without a context word. */
export function createPhoneRecognizer(regions: readonly CountryCode[] = []): Recognizer {
  return (text, out) => {
    const columns = new Columns(text);
    findPhones(text, out, regions, columns);
    findSlashedPhones(text, out, columns);
  };
}

/** German and Austrian national numbers with the area code before a slash: `Telefon 089/1234567`, `Tel. 0511/123 45 67`. */
const SLASHED = /(?<![\w/.-])0\d{2,4}\/\d{2,8}(?: \d{2,4}){0,3}(?![\w/]|[.-]\d)/g;
/**
 * The rarer forms, read where the phone scan stops at them (a pass of their own costs ~1 ms/MB, measured): spaces
 * around the slash (`089 / 1234567`), a trunk `0` apart from the area code (`0 30 / 27 59 44 12`) and a country code
 * (`+49 30/12345678`).
 */
const SLASHED_AT = /(?:0 ?\d{2,4}|\+\d{1,3} \d{1,5}) ?\/ ?\d{2,8}(?: \d{2,4}){0,3}(?![\w/]|[.-]\d)/y;

/**
 * Only after a word that names a phone or under a phone column (a table's, a SQL insert's): the shape alone is a
 * fraction, a date or a path as often.
 */
function findSlashedPhones(text: string, out: Parameters<Recognizer>[1], columns: Columns): void {
  if (!text.includes('/')) return;
  SLASHED.lastIndex = 0;
  for (let m = SLASHED.exec(text); m !== null; m = SLASHED.exec(text)) slashedPhone(text, m.index, m[0], out, columns);
}

/** A slashed number at `start` (already known not to continue a word or another number): where it ends, or -1. */
function slashedPhoneAt(text: string, start: number, out: Parameters<Recognizer>[1], columns: Columns): number {
  SLASHED_AT.lastIndex = start;
  const m = SLASHED_AT.exec(text);
  return m && slashedPhone(text, start, m[0], out, columns) ? start + m[0].length : -1;
}

/** National ones after a phone word or under a phone column; `+` ones when libphonenumber validates them. */
function slashedPhone(text: string, start: number, value: string, out: Parameters<Recognizer>[1], columns: Columns): boolean {
  const digits = value.replace(/\D/g, '').length;
  if (digits < 7 || digits > 15) return false;
  const phone = value.charCodeAt(0) === 43 ? isValidPhoneNumber(value.replace(/ ?\/ ?/, ' ')) : digits <= 13 && (phoneWordJustBefore(text, start) || columns.anySaysPhone(start, start + value.length));
  if (phone) out.push({ type: 'PHONE_NUMBER', start, end: start + value.length, score: value.charCodeAt(0) === 43 ? 0.95 : 0.9 });
  return phone;
}

export const findPhoneNumbers: Recognizer = createPhoneRecognizer();

/** Finds the next digit; `test` on a global regex skips text faster than a charCodeAt loop and allocates nothing. */
const NEXT_DIGIT = /\d/g;

function findPhones(text: string, out: Parameters<Recognizer>[1], regions: readonly CountryCode[], columns: Columns): void {
  const runs = digitRuns(text);
  let r = 0;
  let i = 0;
  while (i < text.length) {
    // The next digit from `i` on: from the runs listed, or (a text dense with digits) a regex's search.
    if (runs.dense) {
      NEXT_DIGIT.lastIndex = i;
      if (!NEXT_DIGIT.test(text)) break;
      i = NEXT_DIGIT.lastIndex - 1;
    } else {
      r = runAtOrAfter(runs, r, i);
      if (r === runs.length) break;
      i = Math.max(i, runs.at[r]!);
    }
    const lead0 = codeAt(text, i - 1); // (`€12345678`: a stand-in of the narrow view is read as what it stands for)
    // Part of a word or of another number (`x86`, `sha256`, `v2.3.1`, `$5`, `#12`): skip the whole token.
    if (i > 0 && (isWordChar(lead0) || (BAD_BEFORE.has(lead0) && lead0 !== 43))) {
      const urlEnd = lead0 === 47 || lead0 === 37 ? urlPhoneAt(text, i, out) : -1;
      i = urlEnd > 0 ? urlEnd : skipRun(text, i);
      continue;
    }
    // Fast path: a short number not followed by another group (a year, a count, a port) is no phone.
    let runEnd = i;
    while (runEnd < text.length && isDigit(text.charCodeAt(runEnd))) runEnd++;
    let shortKnown = false;
    const shortStart = i;
    if (runEnd - i < 6 && lead0 !== 40 && lead0 !== 43) {
      const sep = text.charCodeAt(runEnd);
      const next = text.charCodeAt(runEnd + 1);
      // (The cheap look at what follows first: most short runs end there, and only those ask the words around.)
      const continues = (sep === 32 || sep === 45 || sep === 46) && (isDigit(next) || next === 40);
      if (!continues && !(shortKnown = shortPhone(text, i, runEnd, runEnd - i, columns))) {
        if (sep === 32 && next === 47 && lead0 !== 47 && text.charCodeAt(i) === 48) slashedPhoneAt(text, i, out, columns); // `089 / 1234567`
        i = runEnd + 1;
        continue;
      }
    }
    let start = i;
    const lead = text.charCodeAt(i - 1);
    if (lead === 43 || lead === 40) start = i - 1; // +44…, (555)…
    if (lead === 43 && text.charCodeAt(i - 2) === 40 && bracketedCode(text, i)) start = i - 2; // (+44) …
    const shape = readShape(text, start);
    if (!shape || shape.groups.length === 0) {
      i = shape ? shape.end : skipRun(text, i);
      continue;
    }
    // A house number after the phone with no comma (`(415) 867-5309 12 Main St`): the last group is the street's.
    if (shape.groups.length >= 3 && shape.separators.at(-1) === ' ' && shape.groups.at(-1)! <= 4 && streetFollows(text, shape.end)) {
      shape.end -= shape.groups.pop()! + 1;
      shape.separators.pop();
    }
    cutAtLastBlanks(text, shape);
    i = Math.max(shape.end, i + 1);
    const before = codeAt(text, start - 1);
    // An access log's status and size after the request (`"GET /contact HTTP/1.1" 200 5123`): skipped whole.
    if (before === 32 && text.charCodeAt(start - 2) === 34 && statusAfterRequest(text, start)) continue;
    const after = text.charCodeAt(shape.end);
    // A `+` number glued to punctuation or `_` (`**+44 20 7946 0958**`, `Tel.+49 30 901820`, `user-+14155552671`,
    // `#+1…`, `/+1…`, `call_+1…_2024.wav`): the `+` starts it, so only when libphonenumber validates it (below). Not
    // after a letter or digit (`a+14155552671`, `1.0.0+20240101`: an expression, a version's build).
    // (Or glued to an e-mail address before it, `bob@corp.io+44 7911 123456`: an answer's placeholders put back glued.)
    const glued = shape.plus && ((start > 0 && !isAsciiAlnum(before) && (before === 95 || BAD_BEFORE.has(before))) || after === 95 || (isAsciiAlnum(before) && AFTER_ADDRESS.test(text.slice(Math.max(0, start - 80), start))));
    if (start > 0 && (isWordChar(before) || BAD_BEFORE.has(before)) && !(glued && (!isAsciiAlnum(before) || isAsciiLetter(before)))) {
      i = skipRun(text, i);
      continue;
    }
    // (`,123` after a group of 1–3 digits is a thousands group; after `555-0132` it is the next CSV field.) A UUID whose
    // first group is all digits (`07421709-f5fa-4797-…`) is no phone either.
    if ((isWordChar(after) && !(glued && after === 95)) || after === 64 || (CONTINUES_NUMBER.has(after) && isDigit(text.charCodeAt(shape.end + 1))) || (!shape.plus && shape.groups.at(-1)! <= 3 && thousandsFollow(text, shape.end)) || (after === 45 && UUID_FROM.test(text.slice(start, start + 37)))) {
      if (after === 47 && shape.plus) slashedPhoneAt(text, start, out, columns); // `+49 30/12345678`
      i = skipRun(text, i);
      continue;
    }
    const plusValid = shape.plus && validInternational(text, start, shape);
    if (glued && !plusValid) continue;
    const digits = digitsIn(shape.groups);
    // (A whole short number is one group or two: `51234`, `71 234`; the tail of a longer one, `45 67`, is not.)
    const previous = codeAt(text, skipBackBlanks(text, start));
    // (The fast path above already asked this of the same run: `shortKnown`.)
    const short = digits < 6 && shape.groups.length <= 2 && !isDigit(previous) && !BAD_BEFORE.has(previous) && (shortKnown && start === shortStart && shape.end === runEnd ? true : shortPhone(text, start, shape.end, digits, columns));
    // `Telefon: 0511 / 123 45 67`: the number goes on after the slash.
    if (text.charCodeAt(shape.end) === 32 && text.charCodeAt(shape.end + 1) === 47 && text.charCodeAt(start) === 48) {
      const slashedEnd = slashedPhoneAt(text, start, out, columns);
      if (slashedEnd > 0) {
        i = slashedEnd;
        continue;
      }
    }
    if ((digits < 6 && !short) || digits > 15) continue;
    const end = shape.end;
    const value = text.slice(start, end);
    if (!shape.plus && shape.groups.length === 1 && (digits === 10 || digits === 13) && isUnixTime(value) && timeLabelled(text, start)) continue;
    if (looksLikeRange(shape, value) && !labelledAsPhone(text, start)) continue;
    // With a country code, libphonenumber's metadata for that country decides, whatever the grouping people use
    // there (`+33 1 42 72 46 15`, `+54 9 11 2345-6789`): shape rules are for numbers without one.
    // `00` is the international prefix outside North America: `0031 6 1234 5678` is `+31 6 1234 5678`.
    const international = shape.plus ? plusValid : value.startsWith('00') && value.charCodeAt(2) !== 48 && isValidPhoneNumber(`+${value.slice(2)}`);
    // Under a column named `phone`, `Mobile`, `tel` (CSV, TSV, markdown tables): the header is the number's label.
    // Under another column's header, the header row's names are not this number's words: `order_id,phone` over
    // `40213381,020 7946 0958` says nothing about 40213381; only the row's own words count.
    const column = shape.plus ? undefined : columns.header(start, end);
    const inPhoneColumn = columnSaysPhone(column);
    if (!inPhoneColumn && columnSaysCode(column)) continue;
    const reach = column === undefined ? CONTEXT_BEFORE : Math.min(CONTEXT_BEFORE, start - lineStartAt(text, start, CONTEXT_BEFORE + 1));
    // A configured region's validity makes a national number a phone only when it is written as one: most digit runs
    // of 6–12 digits are valid somewhere in Germany, as are counts, ids and amounts in the United States.
    const valid = international || (regions.length > 0 && nationalPhoneOfRegion(text, shape, value, start, end, reach, inPhoneColumn, regions));
    let score: number;
    if (valid) score = international ? 0.95 : 0.8;
    else {
      if (looksLikeDateOrDecimal(value, shape) || looksLikeOtherNumber(shape, value)) continue;
      score = shapeScore(value, shape, digits);
      // A phone word next to it: national formats group digits every way (`011 15-2345-6789`, `01 234567890`).
      // (Grouped from 7 digits; a single run from 8, since 7-digit counts and sizes sit next to "message" or "number".)
      // (A `+` number libphonenumber does not know is a phone only so labelled: `"tel": "+44 7700 900123"`, a drama
      // number; `Revenue +12 345 678` is an amount.)
      // (Under a phone column's header, a single run of 7 is a local number: `name,phone` over `Ann,5550123`.)
      if (score === 0 && !(shape.plus && short) && (short || (digits >= (shape.groups.length >= 2 || inPhoneColumn ? 7 : 8) && (inPhoneColumn || hasContext(text, start, end, PHONE_WORDS, reach) || unspacedPhoneWordBefore(text, start))))) score = 0.2;
      if (score === 0) continue;
    }
    const shapeOnly = score;
    // (The header row's other names — `id`, `order` — sit within reach of the first rows: the column's own wins.)
    if (inPhoneColumn || (digits >= 8 && signatureLabelBefore(text, start))) score += 0.4;
    // No letter around it (a list of numbers): no word to weigh; that check is one short scan, the words' several.
    else if (lettersWithin(text, start - CONTEXT_BEFORE, end + CONTEXT_AFTER)) score += contextWeight(text, start, end, reach);
    // A later row of a SQL insert, far from its column names: `VALUES ('Dupont', '01 42 72 46 15'), ('Leroy', '06 12 34 56 78')`.
    // A row of a table aligned with blanks (pandas' printout in a notebook), under its `phone` header. There too the
    // column's own name wins over its neighbours' (`(id, phone) VALUES (1,'06 12 48 77 31')`: `id` is the nearer word
    // to the first row; an outside review found it missed).
    let underPhoneColumn = inPhoneColumn;
    if (score < 0.5 && !inPhoneColumn && (columns.sqlSaysPhone(start) || columns.alignedSaysPhone(start, end))) {
      score = shapeOnly + 0.4;
      underPhoneColumn = true;
    }
    // (Not after a number libphonenumber validated with its country code: `+44 20 7946 0958 10 Downing St`.)
    // (Nor after a number written as North America writes phones, `415-867-5309 Main St`, `(415) 867-5309 Oak Ave`: no
    // house number is.)
    if (score > 0 && !(international && shape.plus) && !writtenAsNanpPhone(shape) && streetFollows(text, end)) score -= 0.5;
    if (score <= 0 || (!underPhoneColumn && countInThousands(text, shape, value, start, end))) continue;
    if (!shape.plus && !underPhoneColumn && keyMeasures(text, start)) continue;
    // An SSN written as one (`536-22-1947`) right after a phone its word labels (`phone: 415-555-2671 536-22-1947`):
    // the word is the phone's, and the SSN recognizer reports the number.
    if (!underPhoneColumn && afterPhoneFound(out, start) && ssnShaped(text, start, shape)) continue;
    out.push({ type: 'PHONE_NUMBER', start, end, score: Math.min(1, score) });
  }
}

/**
 * A number followed, past a blank, by more digits that cannot be part of it: it runs on into a word or another number
 * (`+44 20 7946 0958 24/7`, `call 415-555-2671 2 times`, `9am-5pm`) or has more digits than any phone (a second one:
 * `415-555-2671 415-555-2672`). The groups from its last blank on are cut, as often as that
 * holds: what is left is read as a number of its own, and the scan goes on at the blank (an outside review found
 * every such phone dropped whole).
 */
function cutAtLastBlanks(text: string, shape: Shape): void {
  // Only a number written as a phone is (a `+`, brackets, `-` or `.` between groups): groups parted by blanks alone
  // are cards, IBANs and figures as often, and reading them again from each blank tripled the time of 1 MB of IBANs.
  if (!(shape.plus || shape.paren || shape.separators.includes('-') || shape.separators.includes('.'))) return;
  while (!shape.extension && shape.groups.length >= 2 && (endsBadly(text, shape) || blankAfterOtherSeparators(shape))) {
    const k = shape.separators.lastIndexOf(' ');
    // (What is left must be a number's length: `+49 30/12345678` is one number, written with a slash.)
    if (k < 0 || digitsIn(shape.groups.slice(0, k + 1)) < 6) return;
    shape.end = text.lastIndexOf(' ', shape.end - 1);
    shape.groups.length = k + 1;
    shape.separators.length = k;
  }
}

/**
 * A last group after a blank, when the number's groups before it are joined by another separator (`-` or `.`; a blank
 * after a bracketed area code aside): `415-555-2671 7 days`, `(415) 555-2671 9 am`, `1-800-555-0199 24 hours`.
 * (Not `06 12 34 56 78`, blanks throughout.)
 */
function blankAfterOtherSeparators(shape: Shape): boolean {
  const last = shape.separators.length - 1;
  if (last < 1 || shape.separators[last] !== ' ' || shape.plus) return false;
  const from = shape.paren && shape.separators[0] === ' ' ? 1 : 0;
  const joiner = shape.separators[from];
  if (last - from < 1 || (joiner !== '-' && joiner !== '.')) return false;
  for (let k = from; k < last; k++) if (shape.separators[k] !== joiner) return false;
  return true;
}

function endsBadly(text: string, shape: Shape): boolean {
  const after = text.charCodeAt(shape.end);
  // (`_` after a `+` number is a file name's, `…_2024.wav`: left to the glued rule.)
  if ((isWordChar(after) && after !== 95) || after === 64 || (CONTINUES_NUMBER.has(after) && isDigit(text.charCodeAt(shape.end + 1)))) return true;
  return digitsIn(shape.groups) > 15;
}

/**
 * `(+44) 7911 284530`: 1–3 digits from `i` (after `(+`), then `)` and the number's next digit or its `(0)`, past one
 * separator.
 */
function bracketedCode(text: string, i: number): boolean {
  let close = i;
  while (close - i < 3 && isDigit(text.charCodeAt(close))) close++;
  if (text.charCodeAt(close) !== 41) return false;
  const next = text.charCodeAt(close + 1);
  const then = text.charCodeAt(close + 2);
  return isDigit(next) || next === 40 || ((next === 32 || next === 45 || next === 46) && isDigit(then)) || (next === 32 && then === 40);
}

/**
 * Whether libphonenumber validates the `+` number at `start`. When more digit groups follow it (a postcode, a house
 * number: `+33 6 12 34 56 78 75001 Paris`), the longest run of its groups that it validates is the number: `shape`
 * is cut to it.
 */
function validInternational(text: string, start: number, shape: Shape): boolean {
  let value = text.slice(start, shape.end);
  if (validAsDialled(value)) return true;
  const groups = [...shape.groups];
  while (groups.length > 2 && LAST_GROUP.test(value)) {
    value = value.replace(LAST_GROUP, '');
    groups.pop();
    if (validAsDialled(value)) {
      shape.end = start + value.length;
      shape.groups = groups;
      return true;
    }
  }
  return false;
}
const LAST_GROUP = /[ .-]+\(?\d+\)?$/;

/**
 * A `+` number as libphonenumber reads it: a country code in brackets written as one (`(+44) 7911 284530`, which it
 * rejects), and a Mexican mobile with the `1` Mexico dialled before mobiles until 2019 (`+52 1 55 2941 8820`: the
 * metadata no longer knows it) checked without it.
 */
function validAsDialled(written: string): boolean {
  const value = written.charCodeAt(0) === 40 ? `+${written.slice(2).replace(/\) ?/, ' ')}` : written;
  if (isValidPhoneNumber(value)) return true;
  return OLD_MEXICAN_MOBILE.test(value) && isValidPhoneNumber(value.replace(OLD_MEXICAN_MOBILE, '+52 '));
}
const OLD_MEXICAN_MOBILE = /^\+52[ .-]?1[ .-]?(?=\d)/;

/**
 * A national number valid in one of the configured regions and written as a phone there: with its trunk prefix
 * (`0612345678`, `030 1234567`), in North America's 3-3-4 or with an area code in brackets, with a phone word or
 * column, or (North America has no trunk prefix) ten bare digits as a field of a row (`1042,Ana,2015550123`). Not a
 * date, a decimal, a version or an ISBN; not a count or id in prose (`we shipped 4155550123 units`).
 */
function nationalPhoneOfRegion(text: string, shape: Shape, value: string, start: number, end: number, reach: number, inPhoneColumn: boolean, regions: readonly CountryCode[]): boolean {
  if (looksLikeDateOrDecimal(value, shape) || looksLikeOtherNumber(shape, value)) return false;
  const valid = (among: readonly CountryCode[]) => among.some((region) => isValidPhoneNumber(value, region));
  if (shape.groups.length === 1 && value.length === 10 && isField(text, start, end) && valid(regions.filter((region) => NANP_REGIONS.has(region)))) return true;
  if (inPhoneColumn) return valid(regions);
  // Not after a word saying what else it is, which may stand further back than for a number of a phone's own shape:
  // `ISBN … got 0306406152`, `Pedido 91 123 45 67`, `Fattura 02 1234 5678`.
  if (lettersWithin(text, start - CONTEXT_BEFORE, start) && hasContext(text, start, end, NOT_PHONE_WORDS, CONTEXT_BEFORE, 0)) return false;
  if (writtenAsNationalPhone(text, shape, value, start, end, reach) && valid(regions)) return true;
  // (Each region by its own way and its own validity: Spain's bare grouping does not make a Chinese mobile of a log's figures.)
  return regions.some((region) => writtenAsRegionWrites(shape, value, region) && isValidPhoneNumber(value, region));
}

/**
 * Written the way a configured region writes its national numbers when its trunk prefix is not `0` (the rule above):
 * after Russia's, Belarus's or Kazakhstan's `8`, in groups, ten digits or more (`8 903 123-45-67`), or, in a region
 * with no trunk prefix (Spain, Portugal, Italy, Denmark…), in three groups or more with one kind of separator, 9 to
 * 11 digits (`91 123 45 67`). An outside review found these missed with the region named. Thousands in groups of
 * three stay numbers (`912 345 678` needs a phone word), and China's mobiles, written without China's trunk `0`, too.
 */
function writtenAsRegionWrites(shape: Shape, value: string, region: CountryCode): boolean {
  const digits = digitsIn(shape.groups);
  // Not an SSN's 3-2-4 (`666-12-3456`), nor thousands in groups of three (`299 792 458 m/s`), which are valid
  // numbers in Portugal as often as not.
  if (shape.groups.length < 2 || digits < 9 || (shape.groups.join('-') === '3-2-4' && shape.separators[0] === '-') || THOUSANDS.test(value)) return false;
  const trunk = trunkPrefixOf(region);
  // (The trunk and a whole national number: `8` and ten digits in Russia; `8601 2024` is a year after a standard's number.)
  if (trunk !== '' && trunk !== '0' && trunk !== '1') return value.startsWith(trunk) && digits >= 10 && shape.groups[0]! <= trunk.length + 3;
  return trunk === '' && shape.groups.length >= 3 && digits <= 11 && consistent(shape.separators);
}
const THOUSANDS = /^\d{1,3}(?:[ .,]\d{3}){2,}$/;

/** Regions of the North American Numbering Plan (+1), whose national numbers have no trunk prefix. */
const NANP_REGIONS = new Set<string>(['US', 'CA', 'AG', 'AI', 'AS', 'BB', 'BM', 'BS', 'DM', 'DO', 'GD', 'GU', 'JM', 'KN', 'KY', 'LC', 'MP', 'MS', 'PR', 'SX', 'TC', 'TT', 'VC', 'VG', 'VI']);

function writtenAsNationalPhone(text: string, shape: Shape, value: string, start: number, end: number, reach: number): boolean {
  const sizes = shape.groups.join('-');
  // From 8 digits (`<Buffer 01 02 03>` is bytes), and not an SSN's 3-2-4 (`078-05-1120`).
  if (value.charCodeAt(0) === 48 && value.charCodeAt(1) !== 48 && digitsIn(shape.groups) >= 8 && !(sizes === '3-2-4' && shape.separators[0] === '-')) return true;
  if (shape.paren || (/^(?:(?:1|001)-)?3-3-4$/.test(sizes) && consistent(shape.separators))) return true;
  // A word that names a phone, not one that only may (`received message larger than max (5242880 vs. 4194304)`).
  return hasContext(text, start, end, PHONE_ONLY_WORDS, reach) || unspacedPhoneWordBefore(text, start);
}

/**
 * What the words around a number say: a word before it that says what else the number is (ISBN, order, licence)
 * outweighs a generic one like "number"; one after it only counts when no phone word is near:
 * `{"phone": "(415) 555-0132", "zip": "94103"}`. A phone word right before it wins over another word further back
 * (`Customer ID: 88. Phone: (614) 821-4645`).
 */
function contextWeight(text: string, start: number, end: number, reach: number): number {
  // The words before, nearest first, read once for the three sets (a walk per set was most of the cost of a labelled
  // number). The nearest word that is a phone-only word within 16 (not "number": "routing number 021000021") or an
  // other-thing word within 32 decides; else a phone word within `reach` counts. A word counts when it starts inside
  // its set's window.
  const phoneOnlyFrom = start - Math.min(16, reach);
  const notPhoneFrom = start - 32;
  const phoneFrom = start - reach;
  let nearest = 0;
  let phoneBefore = false;
  someWordBackward(
    text,
    Math.min(phoneOnlyFrom, notPhoneFrom, phoneFrom),
    start,
    (word, wordEnd, wordStart) => {
      if (wordStart >= notPhoneFrom && NOT_PHONE_WORDS.hasAt(text, word, wordEnd)) nearest = -0.4;
      else if (wordStart >= phoneOnlyFrom && PHONE_ONLY_WORDS.hasAt(text, word, wordEnd)) nearest = 0.4;
      else if (!phoneBefore && wordStart >= phoneFrom && PHONE_WORDS.hasAt(text, word, wordEnd)) phoneBefore = true;
      return nearest !== 0;
    },
    WORDS_BEFORE_LENGTHS,
    WORDS_BEFORE_STARTS,
  );
  if (nearest !== 0) return nearest;
  if (phoneBefore || hasContext(text, start, end, PHONE_WORDS, 0) || unspacedPhoneWordBefore(text, start) || unspacedPhoneWordAfter(text, end)) return 0.4;
  if (hasContext(text, start, end, NOT_PHONE_WORDS, 0, 12)) return -0.4;
  return 0;
}
const WORDS_BEFORE_LENGTHS = lengthsOfAny(PHONE_ONLY_WORDS, NOT_PHONE_WORDS, PHONE_WORDS);
const WORDS_BEFORE_STARTS = WordStarts.ofAny(PHONE_ONLY_WORDS.starts, NOT_PHONE_WORDS.starts, PHONE_WORDS.starts);

/**
 * A phone inside a URL, where a path or an escape glues it to what is before: a WhatsApp link's international number
 * without its `+` (`https://wa.me/33612345678`) and a `+` written `%2B` in a query (`?phone=%2B14155550123`). Both only
 * when libphonenumber validates the number with that country code, so paths and ids (`/v2/orders/4155550123`) are
 * not read. `i` is the run's first digit; returns where the scan goes on, or -1.
 */
function urlPhoneAt(text: string, i: number, out: Parameters<Recognizer>[1]): number {
  let from = i;
  let start = i;
  if (text.charCodeAt(i - 1) === 37) {
    // `%2B` then the digits
    if (text.charCodeAt(i) !== 50 || (text.charCodeAt(i + 1) | 32) !== 98 || !isDigit(text.charCodeAt(i + 2))) return -1;
    from = i + 2;
    start = i - 1;
  } else if (!(i >= 6 && text.charCodeAt(i - 4) === 46 && text.slice(i - 6, i).toLowerCase() === 'wa.me/' && !isWordChar(text.charCodeAt(i - 7)) && text.charCodeAt(i - 7) !== 45)) return -1;
  let end = from;
  while (end < text.length && end - from <= 15 && isDigit(text.charCodeAt(end))) end++;
  const after = text.charCodeAt(end);
  if (isWordChar(after) || after === 37 || (CONTINUES_NUMBER.has(after) && isDigit(text.charCodeAt(end + 1)))) return -1;
  if (end - from < 7 || end - from > 15 || !isValidPhoneNumber(`+${text.slice(from, end)}`)) return -1;
  out.push({ type: 'PHONE_NUMBER', start, end, score: 0.95 });
  return end;
}

/**
 * A status code (100–599) right after an access log's quoted request, `"GET /contact HTTP/1.1" 200 5123` (Apache and
 * nginx, combined and common formats), or after the `"-"` they log for a request that never came. `start` is the
 * status's first digit, after `" `.
 */
function statusAfterRequest(text: string, start: number): boolean {
  const first = text.charCodeAt(start);
  if (first < 49 || first > 53 || !isDigit(text.charCodeAt(start + 2)) || isDigit(text.charCodeAt(start + 3))) return false;
  const quote = start - 2;
  if (text.charCodeAt(quote - 1) === 45 && text.charCodeAt(quote - 2) === 34) return true; // "-"
  // `HTTP/1.1"`, `HTTP/2.0"`, `HTTP/2"`
  let k = quote - 1;
  if (isDigit(text.charCodeAt(k)) && text.charCodeAt(k - 1) === 46) k -= 2;
  return isDigit(text.charCodeAt(k)) && text.charCodeAt(k - 1) === 47 && text.slice(k - 5, k - 1) === 'HTTP';
}

/** Seconds or milliseconds since 1970 between 2001 and 2038: `1710498225`, `1710498225123`. */
function isUnixTime(value: string): boolean {
  const seconds = value.length === 13 ? Number(value) / 1000 : Number(value);
  return seconds >= 1e9 && seconds < 2 ** 31;
}

/** Keys whose value is a time: `ts`, `updated_at`, `createdAt`, `started`, `exp`. */
const TIME_KEYS = new Set(['ts', 'time', 'timestamp', 'epoch', 'at', 'date', 'datetime', 'started', 'ended', 'created', 'updated', 'modified', 'expires', 'exp', 'iat', 'nbf', 'since', 'until', 'seen', 'start', 'end', 'when', 'unix', 'zeitstempel']);

/** A time key right before the number, past `=`, `:`, quotes and blanks (`"updated_at":1710498225`, `call started=1710498225`). */
function timeLabelled(text: string, start: number): boolean {
  let end = start;
  let assigned = false;
  while (end > 0 && start - end < 4 && /[\s:="']/.test(text[end - 1] as string)) if (/[:=]/.test(text[--end] as string)) assigned = true;
  if (!assigned) return false; // (`call me at 1710498225` is prose: only a key's `:` or `=` makes `at` a key)
  let s = end;
  while (s > 0 && end - s < 32 && /[A-Za-z_]/.test(text[s - 1] as string)) s--;
  // The key's last word: `updated_at` → at, `createdAt` → at, `ts` → ts.
  const last = text.slice(s, end).replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase().split('_').pop() ?? '';
  return TIME_KEYS.has(last);
}

/** Skips to the end of a run of digits and separators, so a rejected run is not re-read from its middle. */
function skipRun(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    // (A comma before seven digits or more ends the token: no thousands group has them, a CSV's next field may be a
    // phone. `1,N1,4158675309` under `id,name,phone` lost its phone to the `N1` before it: an outside review's.)
    if (c === 44 && phoneFieldAt(text, i + 1)) break;
    if (isWordChar(c) || c === 46 || c === 45 || c === 44 || c === 58 || c === 47) i++;
    else break;
  }
  return Math.max(i, from + 1);
}

/**
 * Whether a field of seven digits or more starts at `i` (digits, blanks, `-`, `.`, brackets, a `+`, to the next comma
 * or line end): no thousands group, which has three digits then a comma (`$1,234,567`).
 */
function phoneFieldAt(text: string, i: number): boolean {
  let digits = 0;
  let k = i;
  for (; k < text.length && k - i < 32; k++) {
    const c = text.charCodeAt(k);
    if (isDigit(c)) digits++;
    else if (!(c === 32 || c === 45 || c === 46 || c === 40 || c === 41 || c === 43)) break;
  }
  if (digits < 7) return false;
  let run = i;
  while (run < text.length && isDigit(text.charCodeAt(run))) run++;
  return !(run - i === 3 && text.charCodeAt(run) === 44);
}

/** An e-mail signature's labels: `M:` mobile, `T:` telephone, `P:` phone, `F:` fax. */
const SIGNATURE_LABELS = new Set(['m', 't', 'p', 'f', 'mob', 'ph', 'tel', 'cell', 'fax']);
/**
 * An e-mail signature's label at the start of the number's line, or after a `|` (`M: 07911 123456`, `… | T: 020 7946
 * 0958`): one of SIGNATURE_LABELS, a colon, blanks (an outside review found the `M:` line missed).
 */
function signatureLabelBefore(text: string, start: number): boolean {
  let i = start;
  while (i > 0 && start - i < 4 && text.charCodeAt(i - 1) === 32) i--;
  if (i === start || text.charCodeAt(i - 1) !== 58) return false;
  let end = i - 1;
  if (text.charCodeAt(end - 1) === 32) end--; // French typography's space before the colon: `T : 01 44 55 66 77`
  let from = end;
  while (from > 0 && end - from < 4 && isAsciiLetter(text.charCodeAt(from - 1))) from--;
  if (from === end || end - from > 4 || !SIGNATURE_LABELS.has(text.slice(from, end).toLowerCase())) return false;
  let k = from;
  while (k > 0 && text.charCodeAt(k - 1) === 32) k--;
  const before = text.charCodeAt(k - 1);
  return k === 0 || before === 10 || before === 13 || before === 124;
}

/**
 * True when one of the next three words is a street word (the number is a house number, not a phone): in the same
 * part of the line, with no other number before it. After a comma, a semicolon, a line break or another number, the
 * street has its own house number (`Jane Smith, (415) 867-5309, 12 Main St`: an outside review found the phone lost).
 */
function streetFollows(text: string, end: number): boolean {
  let words = 0;
  let i = end;
  const limit = Math.min(text.length, end + 32);
  while (i < limit && words < 3) {
    for (let c = text.charCodeAt(i); i < limit && !isLetter(c); c = text.charCodeAt(++i)) {
      if (c === 44 || c === 59 || c === 10 || isDigit(c)) return false;
    }
    const start = i;
    while (i < limit && isLetter(text.charCodeAt(i))) i++;
    if (i > start) {
      words++;
      if (i - start <= STREET_WORDS.lengths.max && STREET_WORDS.has(text.slice(start, i).toLowerCase())) return true;
    }
  }
  return false;
}

/** ASCII letters and any non-ASCII character (street names are often not English: Straße, Høgdavegen). */
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127;
}
