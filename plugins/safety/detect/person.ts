// PERSON recognizer: finds personal names in free text with the `compromise` NLP library plus cheap rules
// (runs of name-tagged words, honorifics, "my name is" cues, repeats and lists, address/place/company filters).
// Opt-in: compromise is large and slow (≈0.08 MB/s), so it is loaded lazily and every scan is bounded in size
// and time. Quality on the Presidio sets (see person.test.ts): precision ≈0.92, recall ≈0.77.

import type { PiiFinding, Recognizer, ScanLimit } from '../types.ts';

export interface PersonOptions {
  /** Only the first `maxChars` UTF-16 code units of a text are scanned for names. Default 20,000. */
  maxChars?: number;
  /** Stop starting new windows once this many milliseconds have passed. Default 50. */
  timeBudgetMs?: number;
  /**
   * Drop findings scored below this. Default 0 (keep all). Scores: 0.85 a multi-word name with a known name word;
   * 0.75 a single name after an honorific or a cue ("my name is"), or two unknown capitalised words that look
   * like a name; 0.6 a single capitalised name.
   */
  minScore?: number;
  /** Told when a text was not searched to its end (its time budget or `maxChars` ran out). Names past that point are not found. */
  onLimit?: (limit: ScanLimit) => void;
}

type Nlp = typeof import('compromise').default;

/**
 * What we read of compromise's JSON for one term with `{ terms: { offset: true } }`. Its offsets are UTF-16
 * indices into the parsed string (they are sums of JS string lengths); each one is still checked against the text.
 */
interface NlpTerm {
  text: string;
  tags: string[];
  offset: { start: number; length: number };
}

/** One word as we see it: compromise splits "Jean-Luc" into two terms, we join hyphen-linked terms back. */
interface Word {
  text: string;
  lower: string;
  start: number;
  end: number;
  tags: Set<string>;
  /** The text between this word and the next one (for the last word: the next two characters). */
  gap: string;
  /** First word of a sentence or of a line. */
  lineStart: boolean;
  hyphenated: boolean;
}

const DEFAULT_MAX_CHARS = 20_000;
const DEFAULT_TIME_BUDGET_MS = 50;
/** Windows keep compromise's work per call small so the clock can be checked often. */
const WINDOW_CHARS = 2_000;

const SCORE_MULTI = 0.85;
const SCORE_CUED = 0.75;
const SCORE_SINGLE = 0.6;

const HONORIFICS = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'madam', 'dame', 'lady', 'lord', 'mister']);
/** Lower-case particles that sit inside surnames: "Donald van der Voet", "Ana da Silva". */
const PARTICLES = new Set(['van', 'von', 'der', 'den', 'de', 'da', 'di', 'del', 'della', 'dos', 'das', 'du', 'la', 'le', 'ter', 'ten', 'bin', 'ibn', 'al', 'el', 'af', 'zu']);
/** Words before a capitalised phrase that make it a street, not a person ("Rue Victor Hugo", "Via Carlo Cattaneo"). */
const STREET_BEFORE = new Set(['rue', 'via', 'viale', 'piazza', 'avenida', 'av', 'avenue', 'calle', 'rua', 'ul', 'utca', 'plaza', 'praça', 'praca', 'camino', 'carrera', 'c/', 'allee', 'boulevard', 'bd', 'chemin', 'largo', 'travessa', 'estrada', 'paseo', 'ulica']);
/** Words after a capitalised phrase that make it a street ("King Street", "Dózsa György út"). */
const STREET_AFTER = new Set(['street', 'st', 'road', 'rd', 'avenue', 'ave', 'lane', 'ln', 'drive', 'dr', 'boulevard', 'blvd', 'way', 'court', 'ct', 'place', 'pl', 'square', 'sq', 'terrace', 'highway', 'hwy', 'parkway', 'pkwy', 'crescent', 'close', 'strasse', 'straße', 'str', 'út', 'utca', 'allee', 'platz', 'weg', 'gasse', 'vej', 'gade', 'katu', 'tie', 'laan', 'straat', 'plein']);
/** First words of place names that otherwise look like a person's name ("San Luis", "Port Edward"). */
const PLACE_START = new Set(['san', 'santa', 'santo', 'são', 'saint', 'sainte', 'st', 'sankt', 'port', 'fort', 'mount', 'mt', 'glen', 'lake', 'cite', 'cité', 'colle', 'villa', 'los', 'las', 'el', 'puerto', 'porto', 'bad', 'nova', 'novo', 'nueva', 'nuevo', 'new', 'north', 'south', 'east', 'west', 'upper', 'lower', 'great', 'little']);
/** Words after a capitalised phrase that make it an organisation ("Jones Partners", "Smith & Co"). */
const ORG_WORDS = new Set(['inc', 'llc', 'ltd', 'corp', 'co', 'gmbh', 'plc', 'group', 'partners', 'associates', 'company', 'foundation', 'bank', 'university', 'institute', 'labs', 'technologies', 'solutions', 'systems', 'consulting', 'holdings']);
const NAME_TAGS = ['Person', 'FirstName', 'LastName', 'MaleName', 'FemaleName'];
const FIRST_NAME_TAGS = ['FirstName', 'MaleName', 'FemaleName'];
/** Tags that make a capitalised word something other than a name. */
const NON_NAME_TAGS = ['Place', 'Organization', 'Country', 'City', 'Region', 'Date', 'Month', 'WeekDay', 'Value', 'Verb', 'Adjective', 'Adverb', 'Determiner', 'Preposition', 'Conjunction', 'Pronoun', 'Url', 'Email', 'HashTag', 'AtMention', 'Acronym', 'Expression', 'QuestionWord', 'Demonym', 'Unit', 'Currency'];
/** Tags compromise gives a capitalised word it does not know: such words may be names next to a known name. */
const UNKNOWN_TAGS = new Set(['ProperNoun', 'Noun', 'Singular', 'Possessive']);

/** A capitalised word as names are written: "Smith", "Ólafsdóttir", "O'Brien", "McIntosh", "Jean-Luc". Not CamelCase ("HttpClient"), not ALL CAPS. */
const NAME_WORD = /^(?:Mc|O['’]|D['’])?\p{Lu}[\p{Ll}\p{M}]+(?:[-'’](?:\p{Lu}[\p{Ll}\p{M}]*|[\p{Ll}\p{M}]+))*$/u;
const LOWER_WORD = /^[\p{Ll}\p{M}]+(?:[-'’][\p{Ll}\p{M}]+)*$/u;
const INITIAL = /^\p{Lu}$/u;
const POSSESSIVE = /['’]s?$/;
const COMBINING = /\p{M}/u;
const SPACES_ONLY = /^[ \t\u00a0]+$/;
/** A gap that keeps two words on one line of an address: spaces, after an optional abbreviation dot or slash. */
const SAME_LINE = /^[./]?[ \t\u00a0]+$/;

const hasAny = (tags: Set<string>, list: readonly string[]): boolean => list.some((t) => tags.has(t));

/**
 * Loads compromise lazily (dynamic import) so users who never enable PERSON never pay its load time.
 *
 * Bounds: compromise is synchronous and slow, so the recognizer scans the text in windows of at most
 * 2,000 characters (cut at line or sentence ends), and stops starting new windows once `timeBudgetMs`
 * has passed or `maxChars` characters have been scanned; it reports what it found so far. Text beyond
 * that bound is NOT scanned for names (the structured recognizers still scan everything). At compromise's
 * ≈0.08 MB/s the default 50 ms covers ≈4–6 KB, so with the defaults the time budget usually binds before
 * `maxChars`; the first window is always scanned, so a call can overrun the budget by one window (≈25 ms).
 */
export async function loadPersonRecognizer(options: PersonOptions = {}): Promise<Recognizer> {
  const mod = await import('compromise');
  const nlp: Nlp = mod.default;
  // The first parse builds compromise's lookup caches (tens of ms): pay it here, not inside a time budget.
  nlp('Dr. Ana Smith met John.').json({ offset: true });
  const lexicon = (nlp.model() as { one?: { lexicon?: Record<string, unknown> } }).one?.lexicon ?? {};
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const budget = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  const minScore = options.minScore ?? 0;

  return (written: string, out: PiiFinding[]): void => {
    const t0 = performance.now();
    const text = fieldsAsLines(written);
    const scanEnd = scanLimit(text, maxChars);
    const found: PiiFinding[] = [];
    const ctx: Ctx = { lexicon, names: new Set() };
    let pos = 0;
    while (pos < scanEnd) {
      if (pos > 0 && performance.now() - t0 >= budget) break;
      const end = windowEnd(text, pos, scanEnd);
      findInWindow(nlp, ctx, text, pos, end, found);
      pos = end;
    }
    if (pos < text.length) options.onLimit?.({ type: 'PERSON', scannedChars: pos, textChars: text.length, timeBudgetMs: budget });
    for (const f of dedupe(found)) if (f.score >= minScore) out.push(f);
  };
}

/** A comma, semicolon or tab glued to the next field (`1042,Ana Silva,ana@x.com`, TSV). */
const FIELD_DELIMITER = /[,;\t](?=\S)/g;

/**
 * CSV and TSV rows read as one line per field: compromise reads `1042,Ana Silva,ana@x.com` as one token run and finds
 * no name; `1042\nAna Silva\nana@x.com` has one. One character for one, so offsets hold. (A comma followed by a space,
 * as in prose or `"Silva, Ana"`, is left alone.)
 */
function fieldsAsLines(text: string): string {
  return text.includes(',') || text.includes('\t') || text.includes(';') ? text.replace(FIELD_DELIMITER, '\n') : text;
}

/** Where scanning stops: `maxChars`, moved back to a whitespace so a name is not cut in half. */
function scanLimit(text: string, maxChars: number): number {
  if (text.length <= maxChars) return text.length;
  const floor = Math.max(0, maxChars - 100);
  for (let i = maxChars; i > floor; i--) if (/\s/.test(text[i]!)) return i;
  return maxChars;
}

/** End of the window starting at `start`: the last line break, else sentence end, else space before the size cap. */
function windowEnd(text: string, start: number, limit: number): number {
  if (limit - start <= WINDOW_CHARS) return limit;
  const cap = start + WINDOW_CHARS;
  const floor = start + WINDOW_CHARS / 2;
  let space = -1;
  let sentence = -1;
  for (let i = cap; i > floor; i--) {
    const c = text[i - 1]!;
    if (c === '\n') return i;
    if (sentence < 0 && (c === ' ' || c === '\t') && /[.!?]/.test(text[i - 2] ?? '')) sentence = i;
    if (space < 0 && /\s/.test(c)) space = i;
  }
  if (sentence > 0) return sentence;
  if (space > 0) return space;
  // No whitespace at all: cut anywhere, but never between the halves of a surrogate pair.
  const code = text.charCodeAt(cap - 1);
  return code >= 0xd800 && code <= 0xdbff ? cap - 1 : cap;
}

/** Per-text state: compromise's lexicon, and the words of confident names seen so far (to catch repeat mentions). */
interface Ctx {
  lexicon: Record<string, unknown>;
  names: Set<string>;
}

/** Parses one window and appends its name findings (absolute offsets) to `found`. */
function findInWindow(nlp: Nlp, ctx: Ctx, text: string, from: number, to: number, found: PiiFinding[]): void {
  const slice = text.slice(from, to);
  const sentences = nlp(slice).json({ offset: true, terms: { offset: true } }) as { terms: NlpTerm[] }[];
  const parsed: Sentence[] = [];
  const firstOfWindow = found.length;
  for (const s of sentences) {
    const words = toWords(s.terms, slice, from);
    const sentence = { words, c: classify(words, ctx.lexicon) };
    parsed.push(sentence);
    findInSentence(sentence, ctx, found);
  }
  // Second pass: a word already seen in a confident name is a name again ("Joakim Westgård ... starring Westgård").
  if (ctx.names.size > 0) for (const s of parsed) findRepeats(s, ctx, found);
  for (const s of parsed) findLists(s, found, firstOfWindow);
}

/** Joins hyphen-linked terms into words; skips any term whose offset does not match the text (never report a drifted span). */
function toWords(terms: NlpTerm[], slice: string, base: number): Word[] {
  const words: Word[] = [];
  for (const t of terms) {
    const start = t.offset.start;
    // Contractions ("I'm") add empty terms; keep only terms that are really at their offset.
    if (t.text.length === 0 || slice.slice(start, start + t.text.length) !== t.text) continue;
    // Compromise leaves a trailing combining mark out of the term ("Jose\u0301"): take it back, the span must be the name as written.
    let len = t.text.length;
    while (start + len < slice.length && COMBINING.test(slice[start + len]!)) len++;
    const text = len === t.text.length ? t.text : slice.slice(start, start + len);
    const prev = words[words.length - 1];
    if (prev && prev.end === base + start - 1 && slice[start - 1] === '-') {
      prev.text = slice.slice(prev.start - base, start + len);
      prev.lower = prev.text.toLowerCase();
      prev.end = base + start + len;
      for (const tag of t.tags) prev.tags.add(tag);
      prev.hyphenated = true;
      continue;
    }
    if (prev) prev.gap = slice.slice(prev.end - base, start);
    words.push({
      text,
      lower: text.toLowerCase(),
      start: base + start,
      end: base + start + len,
      tags: new Set(t.tags),
      gap: '',
      lineStart: words.length === 0 || /\n/.test(prev?.gap ?? ''),
      hyphenated: false,
    });
  }
  const last = words[words.length - 1];
  if (last) last.gap = slice.slice(last.end - base, last.end - base + 2);
  return words;
}

interface Sentence {
  words: Word[];
  c: Classes;
}

/** Word classes. `lexicon` is compromise's own word list: a word in it with a non-name tag is a common word. */
interface Classes {
  bare: string[];
  cap: boolean[];
  lower: boolean[];
  named: boolean[];
  first: boolean[];
  unknown: boolean[];
  honorific: boolean[];
  initial: boolean[];
  common: boolean[];
  /** Function words (adverbs, conjunctions...) per the lexicon: never the first word of a name. */
  functional: boolean[];
  used: boolean[];
}

const FUNCTION_TAGS = ['Adverb', 'Conjunction', 'Preposition', 'Determiner', 'Pronoun', 'QuestionWord', 'Expression', 'Copula', 'Modal', 'Negative'];

function classify(words: Word[], lexicon: Record<string, unknown>): Classes {
  const c: Classes = { bare: [], cap: [], lower: [], named: [], first: [], unknown: [], honorific: [], initial: [], common: [], functional: [], used: [] };
  for (const w of words) {
    const bare = w.lower.replace(/['’]s?$/, '');
    const lex = lexicon[bare];
    const lexTags = lex === undefined ? [] : Array.isArray(lex) ? (lex as string[]) : [String(lex)];
    const common = lexTags.length > 0 && !lexTags.some((t) => NAME_TAGS.includes(t) || t === 'Honorific');
    c.bare.push(bare);
    c.cap.push(NAME_WORD.test(w.text));
    c.lower.push(LOWER_WORD.test(w.text));
    c.honorific.push(w.tags.has('Honorific') || HONORIFICS.has(bare));
    c.named.push(hasAny(w.tags, NAME_TAGS) && !w.tags.has('Honorific') && !w.tags.has('Pronoun') && !hasAny(w.tags, NON_NAME_TAGS));
    c.first.push(hasAny(w.tags, FIRST_NAME_TAGS));
    c.unknown.push(!common && [...w.tags].every((t) => UNKNOWN_TAGS.has(t)));
    c.initial.push(INITIAL.test(w.text));
    c.common.push(common);
    c.functional.push(common && lexTags.some((t) => FUNCTION_TAGS.includes(t)));
    c.used.push(false);
  }
  return c;
}

/** Whether words i and i+1 belong to one phrase: only spaces between them, or "Dr. " / "A. " after an abbreviation. */
function linked(words: Word[], c: Classes, i: number): boolean {
  const w = words[i];
  if (!w || i + 1 >= words.length) return false;
  if (SPACES_ONLY.test(w.gap)) return true;
  return (c.initial[i]! || c.honorific[i]!) && /^\.[ \t\u00a0]*$/.test(w.gap);
}

/** A word that can continue a name next to a known name: a capitalised name or unknown word, not a common word. */
function nameish(c: Classes, i: number): boolean {
  return c.cap[i]! && !c.common[i]! && (c.named[i]! || c.unknown[i]!);
}

/** Cues after which the next words are a name: "my name is", "name's", "Name:", "I'm", "I am", "call me". */
const CUES: readonly (readonly string[])[] = [['name', 'is'], ["name's"], ['name', ':'], ["i'm"], ['i', 'am'], ['call', 'me'], ['calls', 'me'], ['called']];
/** Words that are often followed by a name in messages: "said Anna", "Hi Anna", "starring Anna". */
const SPEECH_BEFORE = new Set(['said', 'says', 'asked', 'asks', 'told', 'tell', 'ask', 'hi', 'hey', 'hello', 'dear', 'thanks', 'starring', 'married', 'meet']);
/** Words that often follow a name: "Anna said", "Anna wrote". */
const SPEECH_AFTER = new Set(['said', 'says', 'asked', 'asks', 'told', 'wrote', 'writes', 'replied', 'replies', 'explained', 'shouted', 'answered', 'added']);
/** Surname endings common across Europe and Asia: evidence that two unknown capitalised words are a name. */
const SURNAME_END = /(?:ss[oe]n|[^aeiou]sen|d[oó]ttir|ova|[^aeiou]ov|[^aeiou]eva?|sk[iay]|vi[cć]h?|enko|escu|[^aeiou]ez|elli|etti|moto|yama|shvili|dze|oglu|berg|stein|mann)$/;

/** Whether a cue like "my name is" / "Name:" / "I'm" ends at word i (the name would follow): 0 no, 1 weak cue, 2 cue about names. */
function cueEndsAt(words: Word[], i: number): 0 | 1 | 2 {
  for (const cue of CUES) {
    const last = cue[cue.length - 1]!;
    if (last === ':') {
      const w = words[i];
      if (w && w.lower === cue[0] && /^:[ \t]*$/.test(w.gap)) return 2;
      continue;
    }
    let ok = i + 1 >= cue.length;
    for (let k = 0; ok && k < cue.length; k++) {
      const w = words[i - cue.length + 1 + k]!;
      ok = w.lower === cue[k] && (k === cue.length - 1 || SPACES_ONLY.test(w.gap));
    }
    if (ok && SPACES_ONLY.test(words[i]!.gap)) return cue[0] === 'name' || cue[0] === "name's" || cue[1] === 'me' ? 2 : 1;
  }
  return 0;
}

type Evidence = 'honorific' | 'cue' | 'speech' | 'speaker' | 'name' | 'initial' | 'pair' | 'lower' | 'possessive' | 'repeat' | 'list';

/** Looks for where a name starts at word i; returns its evidence or null. */
function seedAt(words: Word[], c: Classes, i: number): Evidence | null {
  const next = i + 1;
  if (c.honorific[i] && linked(words, c, i) && c.cap[next] && !c.honorific[next]) return 'honorific';
  if (next < words.length && !c.common[next]) {
    const cue = cueEndsAt(words, i);
    // After "my name is" even a lower-case unknown word is a name ("my name is vitoria"); after "I'm" it must look like one.
    if (cue > 0 && (c.cap[next] || (c.lower[next] && (c.named[next] || (cue === 2 && c.unknown[next]))))) return 'cue';
  }
  if (SPEECH_BEFORE.has(words[i]!.lower) && linked(words, c, i) && nameish(c, next)) return 'speech';
  return null;
}

/**
 * Finds names in one sentence: a seed (a word compromise tags as a name, or a cue) grown over the neighbouring
 * name-like words. Compromise alone finds ≈68% of the Presidio names; the cue rules below bring it to ≈77%.
 */
function findInSentence(s: Sentence, ctx: Ctx, found: PiiFinding[]): void {
  const { words, c } = s;
  const n = words.length;
  let i = 0;
  while (i < n) {
    let a = -1;
    let evidence: Evidence | null = seedAt(words, c, i);
    if (evidence) a = i + 1;
    else if (c.named[i] && c.cap[i]) {
      a = i;
      evidence = 'name';
    } else if (nameish(c, i) && linked(words, c, i) && c.initial[i + 1] && linked(words, c, i + 1) && nameish(c, i + 2)) {
      // "Kristíana R Valbergsdóttir": word, middle initial, word.
      a = i;
      evidence = 'initial';
    } else if (words[i]!.lineStart && c.cap[i] && !c.common[i] && (/^:\s*["“]/.test(words[i]!.gap) || (/^:[ \t]+$/.test(words[i]!.gap) && c.cap[i + 1] && (c.named[i] || foreign(words[i]!.text))))) {
      // Dialogue speaker labels: `Zuzana: "Who are you?"`. Log prefixes ("Error: ...") have no quote and no name look.
      a = i;
      evidence = 'speaker';
    } else if (nameish(c, i) && linked(words, c, i) && nameish(c, i + 1) && (foreign(words[i]!.text) || foreign(words[i + 1]!.text))) {
      // Two unknown capitalised words, one with non-English letters or a surname ending ("Krisztián Szöllösy",
      // "Christoffer Bertelsen"): without that evidence, title-case technical phrases ("Redis Sentinel") would match.
      a = i;
      evidence = 'pair';
    } else if (c.first[i] && c.lower[i] && linked(words, c, i) && c.lower[i + 1] && !c.common[i + 1] && (c.named[i + 1] || c.unknown[i + 1])) {
      // Lower-case text: a known first name followed by a surname-like word ("lena andersson").
      a = i;
      evidence = 'lower';
    } else if (nameish(c, i) && /['’]s$/.test(words[i]!.text) && foreign(words[i]!.text.slice(0, -2)) && c.lower[i + 1] && linked(words, c, i)) {
      // "Božica's address": a possessive of a name-looking unknown word (not of "Redis's", which has no name look).
      a = i;
      evidence = 'possessive';
    } else if (nameish(c, i) && linked(words, c, i) && SPEECH_AFTER.has(words[i + 1]!.lower)) {
      // "Lugo said".
      a = i;
      evidence = 'speech';
    }
    if (a < 0 || evidence === null) {
      i++;
      continue;
    }
    // Grow right over names, unknown capitalised words, middle initials and particles ("van der").
    const lowerRun = evidence === 'lower' || (evidence === 'cue' && c.lower[a]!);
    const grows = (k: number): boolean =>
      lowerRun ? c.lower[k]! && !c.common[k]! && (c.named[k]! || c.unknown[k]!) : nameish(c, k) || (evidence === 'cue' && c.cap[k]! && !c.functional[k]!);
    let b = a;
    // A possessive ends the name ("Marc Masson's Cautionary Tales"); lower-case names are at most two words ("lena andersson").
    const maxLen = lowerRun ? 1 : 4;
    while (b - a < maxLen && linked(words, c, b) && !POSSESSIVE.test(words[b]!.text)) {
      const k = b + 1;
      if (grows(k)) b = k;
      else if ((c.initial[k] || PARTICLES.has(words[k]!.text)) && linked(words, c, k) && grows(k + 1)) b = k + 1;
      // After a middle initial the next capitalised word is a surname even if it is also a word ("Katie E Miles").
      else if (c.initial[k] && linked(words, c, k) && c.cap[k + 1] && !c.functional[k + 1]) b = k + 1;
      else if (PARTICLES.has(words[k]!.text) && PARTICLES.has(words[k + 1]?.text ?? '') && linked(words, c, k) && linked(words, c, k + 1) && grows(k + 2)) b = k + 2;
      else break;
    }
    // Grow left over capitalised names and initials ("J. R. Tolkien").
    if (evidence === 'name') {
      while (a > 0 && linked(words, c, a - 1) && ((nameish(c, a - 1) && !c.honorific[a - 1]) || c.initial[a - 1]) && !c.used[a - 1] && !POSSESSIVE.test(words[a - 1]!.text)) a--;
      if (a > 0 && c.honorific[a - 1] && linked(words, c, a - 1)) evidence = 'honorific';
    }
    while (a < b && c.initial[a]) a++;
    i = b + 1;
    const f = judge(words, c, a, b, evidence);
    if (f) {
      found.push(f);
      for (let k = a; k <= b; k++) c.used[k] = true;
      if (f.score >= SCORE_CUED) for (let k = a; k <= b; k++) if (c.cap[k] && !c.common[k] && c.bare[k]!.length >= 3) ctx.names.add(c.bare[k]!);
    }
  }
}

/** Non-English letters or a common surname ending: evidence that an unknown capitalised pair is a person's name. */
function foreign(word: string): boolean {
  return /[^\x00-\x7f]/.test(word) || (word.length >= 5 && SURNAME_END.test(word.toLowerCase()));
}

/** Marks capitalised words that repeat a word of a confident name found earlier in the text. */
function findRepeats(s: Sentence, ctx: Ctx, found: PiiFinding[]): void {
  const { words, c } = s;
  for (let i = 0; i < words.length; i++) {
    if (c.used[i] || !c.cap[i] || !ctx.names.has(c.bare[i]!)) continue;
    const f = judge(words, c, i, i, 'repeat');
    if (f) {
      found.push(f);
      c.used[i] = true;
    }
  }
}

/**
 * Lists of single capitalised words ("Daisy, Christina, Hleb and Sarah"): when most items are names, the rest are too.
 * A list of three surnames only ("Jones, Mitchell and Williams") is a firm's name: its findings are dropped.
 */
function findLists(s: Sentence, found: PiiFinding[], firstOfWindow: number): void {
  const { words, c } = s;
  let i = 0;
  while (i < words.length) {
    if (!c.cap[i] || (linked(words, c, i) && c.cap[i + 1])) {
      i++;
      continue;
    }
    const items = [i];
    let j = i;
    for (;;) {
      const gap = words[j]!.gap;
      const nx = words[j + 1];
      if (/^,[ \t]+$/.test(gap) && nx && c.cap[j + 1] && !(linked(words, c, j + 1) && c.cap[j + 2])) j += 1;
      else if (/^,?[ \t]+$/.test(gap) && nx && (nx.lower === 'and' || nx.lower === 'or') && linked(words, c, j + 1) && c.cap[j + 2] && !(linked(words, c, j + 2) && c.cap[j + 3])) {
        items.push(j + 2);
        j += 2;
        break;
      } else break;
      items.push(j);
    }
    i = j + 1;
    if (items.length < 2) continue;
    const named = items.filter((k) => c.used[k] || c.named[k]);
    if (items.length === 3 && named.length === 3 && items.every((k) => !c.first[k])) {
      for (const k of items) {
        const at = found.findIndex((f, x) => x >= firstOfWindow && f.start === words[k]!.start);
        if (at >= 0) found.splice(at, 1);
      }
      continue;
    }
    if (items.length < 3 || named.length * 2 < items.length) continue;
    for (const k of items) {
      if (c.used[k] || c.common[k] || !(c.named[k] || c.unknown[k])) continue;
      const f = judge(words, c, k, k, 'list');
      if (f) {
        found.push(f);
        c.used[k] = true;
      }
    }
  }
}

/** Applies the post-filters to the run of words a..b and returns the finding, or null. */
function judge(words: Word[], c: Classes, a: number, b: number, evidence: Evidence): PiiFinding | null {
  // A function word opening a sentence is not part of the name ("Then Bob").
  if (a < b && c.functional[a] && !c.first[a]) a++;
  const before = a > 0 && SAME_LINE.test(words[a - 1]!.gap) ? words[a - 1] : undefined;
  const after = b + 1 < words.length && SAME_LINE.test(words[b]!.gap) ? words[b + 1] : undefined;
  // Addresses and companies named after people: "12 Victor Hugo", "Rue Victor Hugo", "King Street", "Jones Partners".
  if (before && (/\d/.test(before.text) || STREET_BEFORE.has(before.lower))) return null;
  if (after && (/^\d/.test(after.text) || STREET_AFTER.has(after.lower) || ORG_WORDS.has(after.lower.replace(/\.$/, '')) || after.tags.has('Organization'))) return null;
  // Place names built like names: "San Luis", "Saint Clair", "Port Edward"; "Rogers, Barbados"; "Melo, CA 13241".
  if (PLACE_START.has(words[a]!.lower)) return null;
  const next = words[b + 1];
  if (next && /^,[ \t]+$/.test(words[b]!.gap) && (hasAny(next.tags, ['Country', 'Region', 'Place']) || (/^\p{Lu}{2}$/u.test(next.text) && /^[ \t]+\d/.test(next.gap + (words[b + 2]?.text ?? ''))))) return null;
  const single = a === b;
  const w = words[a]!;
  if (single) {
    if (!c.cap[a] && evidence !== 'cue') return null;
    if (c.common[a] && (evidence === 'name' || evidence === 'repeat')) return null;
    // A lone hyphenated surname pair is almost always a company ("Garcia-Roberson").
    if (w.hyphenated && !c.first[a] && evidence === 'name') return null;
  }
  const start = w.start;
  let end = words[b]!.end;
  const poss = POSSESSIVE.exec(words[b]!.text);
  if (poss) end -= poss[0].length;
  if (end - start < 3) return null;
  const strong = evidence === 'honorific' || evidence === 'cue' || evidence === 'speaker';
  const score = !single ? (evidence === 'pair' ? SCORE_CUED : SCORE_MULTI) : strong ? SCORE_CUED : SCORE_SINGLE;
  return { type: 'PERSON', start, end, score };
}

/** Sorts findings and keeps one per overlapping group: the higher score, then the longer span. */
function dedupe(found: PiiFinding[]): PiiFinding[] {
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: PiiFinding[] = [];
  for (const f of found) {
    const last = kept[kept.length - 1];
    if (last && f.start < last.end) {
      if (f.score > last.score || (f.score === last.score && f.end - f.start > last.end - last.start)) kept[kept.length - 1] = f;
      continue;
    }
    kept.push(f);
  }
  return kept;
}
