// Column headers: in a CSV, TSV or markdown table, the name at the top of a value's column says what the value is
// (`id,name,phone` over `1042,Ana Silva,416-979-2000`), however far the row is from the header.
import { realSlice } from './narrow-view.ts';

/** Comma, semicolon, tab, pipe. */
const DELIMITER_CODES = [44, 59, 9, 124];
/** How many lines up a header is looked for when no earlier row of the same block was seen. */
const MAX_LINES_UP = 10_000;

/** True when `[start, end)` is a whole field: a delimiter or a line's edge on each side, past blanks and quotes. */
export function isField(text: string, start: number, end: number): boolean {
  let before = start - 1;
  while (before >= 0 && isPadding(text.charCodeAt(before))) before--;
  if (before >= 0 && text.charCodeAt(before) !== 10 && !DELIMITER_CODES.includes(text.charCodeAt(before))) return false;
  let after = end;
  while (after < text.length && isPadding(text.charCodeAt(after))) after++;
  return after >= text.length || text.charCodeAt(after) === 10 || DELIMITER_CODES.includes(text.charCodeAt(after));
}

/** Blanks and quotes around a field's value: space, `"`, `'`, carriage return. */
function isPadding(c: number): boolean {
  return c === 32 || c === 34 || c === 39 || c === 13;
}

/**
 * A row's delimiter (the one `[from, to)` has most of, outside quotes) and how many it has; count 0 when it has none.
 * The lines above it with as many of that delimiter are its block, and the top one is its header.
 */
export function rowShape(text: string, from: number, to: number): { delimiter: number; count: number } {
  const counts = [0, 0, 0, 0];
  let quoted = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (!quoted) {
      const k = DELIMITER_CODES.indexOf(c);
      if (k >= 0) counts[k]!++;
    }
  }
  let delimiter = -1;
  let count = 0;
  for (let k = 0; k < 4; k++) if (counts[k]! > count) [delimiter, count] = [DELIMITER_CODES[k]!, counts[k]!];
  return { delimiter, count };
}

/** How many `delimiter`s `[from, to)` has outside double quotes. */
export function delimiterCount(text: string, from: number, to: number, delimiter: number): number {
  return delimitersOf(text, from, to, delimiter).length;
}

/** Where `delimiter` stands in `[from, to)` outside double quotes (`"Silva, Ana"` is one field). */
function delimitersOf(text: string, from: number, to: number, delimiter: number): number[] {
  const at: number[] = [];
  let quoted = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === delimiter && !quoted) at.push(i);
  }
  return at;
}

/**
 * Answers "what is the header of the column at this offset?" for one text. Rows are read once each: the answer for a
 * row is remembered, and the block a later row belongs to is found by walking up only to the last row already read.
 */
export class ColumnHeaders {
  readonly #text: string;
  readonly #lines: LineStarts;
  // The line last asked about: its start, delimiter, field starts and the header's fields (null: no header).
  #lineStart = -1;
  #lineEnd = -1;
  #fieldStarts: number[] = [];
  #header: string[] | null = null;
  // The block of lines with the same delimiter count that the last asked line was in.
  #block = { delimiter: -1, count: -1, top: -1, through: -1, header: null as string[] | null };

  constructor(text: string, lines: LineStarts = new LineStarts(text)) {
    this.#text = text;
    this.#lines = lines;
  }

  /** The lower-cased header of the column `pos` is in, or undefined when `pos` is not in a row under a header. */
  headerAt(pos: number): string | undefined {
    // Candidates come in text order, many per line: the line last read answers without a search.
    if (pos < this.#lineStart || pos > this.#lineEnd) {
      const lineStart = this.#lines.startOf(pos);
      if (lineStart === 0) return undefined;
      this.#readLine(lineStart);
    }
    if (!this.#header) return undefined;
    // The fields that start at or before `pos`, counted by a binary search: counting them one by one made a row of
    // 100,000 numbers under a header as wide quadratic (1 MB: 2 s, 4 MB: 34 s; an outside hunt's).
    return this.#header[countBelow(this.#fieldStarts, pos + 1)];
  }

  #readLine(lineStart: number): void {
    const text = this.#text;
    this.#lineStart = lineStart;
    this.#header = null;
    this.#fieldStarts = [];
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    this.#lineEnd = lineEnd;
    const { delimiter, count } = rowShape(text, lineStart, lineEnd);
    if (count === 0) return;
    this.#fieldStarts = delimitersOf(text, lineStart, lineEnd, delimiter).map((at) => at + 1);
    // Walk up while the lines above have as many delimiters; a row of the block already read ends the walk.
    const block = this.#block;
    const sameBlock = block.delimiter === delimiter && block.count === count;
    let top = lineStart;
    for (let lines = 0; top > 0 && lines < MAX_LINES_UP; lines++) {
      const above = this.#lines.startOf(top - 1);
      if (sameBlock && above === block.through) {
        top = block.top;
        break;
      }
      if (above === top - 1 || delimiterCount(text, above, top - 1, delimiter) !== count) break;
      top = above;
    }
    if (top === lineStart) return;
    if (sameBlock && top === block.top) block.through = lineStart; // (the next row of the same block: no new object)
    else this.#block = { delimiter, count, top, through: lineStart, header: splitFields(text, top, text.indexOf('\n', top), delimiter) };
    this.#header = this.#block.header;
  }
}

function splitFields(text: string, from: number, to: number, delimiter: number): string[] {
  const fields: string[] = [];
  let quoted = false;
  let start = from;
  for (let i = from; i <= to; i++) {
    const c = i === to ? delimiter : text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === delimiter && !quoted) {
      fields.push(realSlice(text, start, i).toLowerCase());
      start = i + 1;
    }
  }
  return fields;
}

/**
 * An insert's first words as a pattern's source, with the modifiers dialects put between them (`INSERT IGNORE INTO`,
 * SQLite's `INSERT OR REPLACE INTO`, MySQL's `LOW_PRIORITY`): what the detector and the stream read an insert by.
 */
export const INSERT_INTO_SOURCE = String.raw`\binsert\s+(?:(?:ignore|low_priority|delayed|high_priority|or\s+(?:replace|ignore|abort|fail|rollback))\s+)?into`;

/**
 * Column names of SQL inserts: in `INSERT INTO t (name, tel) VALUES ('Dupont', '01 42…'), ('Leroy', '06 12…')`, the
 * field's column is named before VALUES, however many rows above it. The statements are found once per text, and
 * only when a candidate asks (most texts have none).
 */
export class SqlColumns {
  readonly #text: string;
  #values: number[] | undefined;
  #semicolons: number[] | undefined;
  constructor(text: string) {
    this.#text = text;
  }

  /** The lower-cased column name of the quoted field starting at `start` inside a VALUES row, or undefined. */
  columnAt(start: number): string | undefined {
    const text = this.#text;
    const quote = text.charCodeAt(start - 1);
    if (quote !== 39 && quote !== 34) return undefined;
    // The row: back to its `(`, outside quotes, counting the commas before the field (a row is bounded).
    let commas = 0;
    let quoted = false;
    let i = start - 2;
    for (; i >= 0 && start - i < 512; i--) {
      const c = text.charCodeAt(i);
      if (c === quote) quoted = !quoted;
      else if (quoted) continue;
      else if (c === 44) commas++;
      else if (c === 40 || c === 41 || c === 59 || c === 10) break;
    }
    if (text.charCodeAt(i) !== 40) return undefined;
    this.#values ??= positions(text, /\bvalues\s*\(/gi);
    const values = before(this.#values, i + 1);
    if (values < 0) return undefined;
    this.#semicolons ??= positions(text, /;/g);
    if (before(this.#semicolons, i) > values) return undefined; // another statement in between
    const names = /\(([^()]{1,512})\)\s*$/.exec(realSlice(text, Math.max(0, values - 520), values))?.[1]?.split(',');
    return names?.[commas]?.trim().replace(/^[`"'[]|[`"'\]]$/g, '').toLowerCase();
  }
}

function positions(text: string, pattern: RegExp): number[] {
  const at: number[] = [];
  for (const m of text.matchAll(pattern)) at.push(m.index);
  return at;
}

/** How many of the sorted `list`'s first `length` values are below `limit`. */
function countBelow(list: ArrayLike<number>, limit: number, length = list.length): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The greatest value in the sorted `list` (its first `length` values) below `limit`, or -1. */
function before(list: ArrayLike<number>, limit: number, length = list.length): number {
  const count = countBelow(list, limit, length);
  return count === 0 ? -1 : list[count - 1]!;
}

/** How many rows up the header of a table aligned with blanks is looked for (pandas prints 60 rows at most). */
const MAX_ALIGNED_ROWS = 64;
const MAX_CELL = 64;

/**
 * Where a text's lines start, found once. Searching back for the line break before each candidate read a long line
 * again for every number on it: one line break, then 1 MB of comma-separated phone-like numbers, took 18 s.
 */
export class LineStarts {
  readonly #text: string;
  /** The positions of the text's line breaks, ascending (made on first use). */
  #breaks: Int32Array | undefined;
  #count = 0;

  constructor(text: string) {
    this.#text = text;
  }

  /** The start of the line `pos` is on: just after the last line break before `pos`, or 0. */
  startOf(pos: number): number {
    return before((this.#breaks ??= this.#find()), pos, this.#count) + 1;
  }

  /** How many line breaks the text has. */
  get count(): number {
    this.#breaks ??= this.#find();
    return this.#count;
  }

  #find(): Int32Array {
    const text = this.#text;
    let breaks = new Int32Array(64);
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) {
      if (this.#count === breaks.length) {
        const bigger = new Int32Array(breaks.length * 2);
        bigger.set(breaks);
        breaks = bigger;
      }
      breaks[this.#count++] = at;
    }
    return breaks;
  }
}

/** What the walk up from a line found for one field's columns: the header, or none, after how many rows. */
interface AlignedVerdict {
  header: string | undefined;
  /** Rows read to reach it; more than MAX_ALIGNED_ROWS: none within reach. */
  rows: number;
}

/**
 * Rows read up a text's aligned tables, at most this many per line of the text on average, beyond a first allowance:
 * past it, no more header is looked for. A real table reads about one row a value (the row above already answered);
 * only a text made to miss that (rows of alternating widths, each walked 64 rows up) reaches the bound.
 */
const ALIGNED_ROWS_PER_LINE = 4;
const ALIGNED_ROWS_ALLOWANCE = 100_000;

/**
 * The header of the column `[start, end)` is in, in a table aligned with blanks rather than delimited (pandas'
 * `print(df)` in a notebook, `docker ps`): the field stands two blanks or a line's edge away from its neighbours, and
 * each line above holds a cell at the same place, right- or left-aligned with it, up to a cell without a digit, the
 * header. Lower-cased, or undefined. One per text; asked in text order.
 *
 * ```
 *    id         name        phone
 * 0  42  Maria Silva  089/1234567
 * ```
 *
 * The rows of a table all walk up to the same header: what the walk from the row above found for the same columns is
 * kept, and a row reads only the row above it (1 MB of `(415) 867` lines walked 64 rows each: 1.4 s).
 */
export class AlignedHeaders {
  readonly #text: string;
  readonly #lines: LineStarts;
  /** The verdicts of the line last asked about, and of the one before it, by columns. */
  #line = -1;
  #verdicts = new Map<number, AlignedVerdict>();
  #previousLine = -1;
  #previous = new Map<number, AlignedVerdict>();
  #rowsLeft: number | undefined;

  constructor(text: string, lines: LineStarts = new LineStarts(text)) {
    this.#text = text;
    this.#lines = lines;
  }

  headerAt(start: number, end: number): string | undefined {
    const text = this.#text;
    const lineStart = this.#lines.startOf(start);
    if (lineStart === 0 || !blankBounded(text, start, end, lineStart)) return undefined;
    if (lineStart !== this.#line) {
      [this.#previousLine, this.#previous] = [this.#line, this.#verdicts];
      this.#line = lineStart;
      this.#verdicts = new Map();
    }
    const from = start - lineStart;
    const to = end - lineStart;
    // (Columns as one number: a line is far shorter than 2^26 characters.)
    const key = from * 67_108_864 + to;
    let verdict = this.#verdicts.get(key);
    if (verdict === undefined) this.#verdicts.set(key, (verdict = this.#walk(lineStart, from, to, key)));
    return verdict.rows <= MAX_ALIGNED_ROWS ? verdict.header : undefined;
  }

  #walk(lineStart: number, from: number, to: number, key: number): AlignedVerdict {
    this.#rowsLeft ??= ALIGNED_ROWS_ALLOWANCE + ALIGNED_ROWS_PER_LINE * this.#lines.count;
    let below = lineStart;
    for (let rows = 0; rows < MAX_ALIGNED_ROWS; rows++) {
      if (below === 0) return { header: undefined, rows };
      // The row above was asked about the same columns: its walk goes on from here.
      const known = below === this.#previousLine ? this.#previous.get(key) : undefined;
      if (known !== undefined) return { header: known.header, rows: known.rows + rows };
      if (this.#rowsLeft-- <= 0) return { header: undefined, rows: MAX_ALIGNED_ROWS + 1 };
      const above = this.#lines.startOf(below - 1);
      const cell = cellOver(this.#text, above, below - 1, from, to);
      if (cell === undefined) return { header: undefined, rows: rows + 1 };
      if (!/\d/.test(cell)) return { header: cell.toLowerCase(), rows: rows + 1 };
      below = above;
    }
    return { header: undefined, rows: MAX_ALIGNED_ROWS + 1 };
  }
}

/** Two blanks (or the line's edge) on each side of `[start, end)`. */
function blankBounded(text: string, start: number, end: number, lineStart: number): boolean {
  const edgeBefore = start === lineStart || (text.charCodeAt(start - 1) === 32 && (start - 1 === lineStart || text.charCodeAt(start - 2) === 32));
  const c = text.charCodeAt(end);
  const edgeAfter = end >= text.length || c === 10 || c === 13 || (c === 32 && text.charCodeAt(end + 1) === 32);
  return edgeBefore && edgeAfter;
}

/**
 * The cell of the line `[lineStart, lineEnd)` over the columns `[from, to)` when it ends at `to` or starts at `from`
 * (a cell may hold single blanks: `Maria Silva`, `Mobile Phone`), else undefined.
 */
function cellOver(text: string, lineStart: number, lineEnd: number, from: number, to: number): string | undefined {
  let lineTo = lineEnd;
  if (text.charCodeAt(lineTo - 1) === 13) lineTo--;
  const blank = (i: number) => i < lineStart || i >= lineTo || text.charCodeAt(i) === 32;
  const gap = (i: number) => blank(i) && blank(i + 1);
  // A non-blank place under the field's columns (its last column, else its first), then the cell around it.
  const at = blank(lineStart + to - 1) ? lineStart + from : lineStart + to - 1;
  if (blank(at)) return undefined;
  // (A cell is short: a long line of prose or minified code is not walked.)
  let cellStart = at;
  while (!gap(cellStart - 2) && at - cellStart < MAX_CELL) cellStart--;
  let cellEnd = at + 1;
  while (!gap(cellEnd) && cellEnd - at < MAX_CELL) cellEnd++;
  if (!gap(cellStart - 2) || !gap(cellEnd)) return undefined;
  if (cellEnd - lineStart !== to && cellStart - lineStart !== from) return undefined;
  return realSlice(text, cellStart, cellEnd);
}
