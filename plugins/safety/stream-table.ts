// A streamed table's header: the detector names a cell by the top line of its block (the lines above it with as many
// of its delimiter: columns.ts), however many rows up. A stream keeps only a little released text as context, so it
// follows the released lines and keeps that top line, to put back before the context (an outside review: from the
// fifth row on, password cells went out in clear where the same answer whole was redacted).
import { delimiterCount, INSERT_INTO_SOURCE, rowShape } from './detect/columns.ts';

/**
 * Rows longer than this are not held whole, nor kept as a header (a scan reads the kept header every time): the bound
 * of anything held (MAX_HOLD_CHARS). A second outside review found rows of 1–4 KB losing their header at 1 KB.
 */
export const MAX_TABLE_LINE = 4096;

export class StreamedTable {
  /** Released text of the line not ended yet; undefined once it is longer than MAX_TABLE_LINE. */
  #line: string | undefined = '';
  /** The last ended line, and the shape (delimiter, count) of the block it ends. */
  #last: string | undefined;
  #shape = { delimiter: -1, count: 0 };
  /** The top line of that block, and how many lines the block has. */
  #top: string | undefined;
  #lines = 0;
  /** How many of the block's delimiter the line still arriving has so far (released part). */
  #lineDelimiters = 0;
  /** Whether the released part of the line still arriving names an insert (`insert into`). */
  #lineInsert = false;
  /**
   * An SQL insert whose rows are still coming, up to its VALUES (`INSERT INTO users (name, password) VALUES`): the
   * detector names a row's field by the column list before VALUES (columns.ts SqlColumns).
   */
  #statement: string | undefined;
  /** An insert's head written over several lines (`INSERT INTO users (` then a column per line), until its VALUES. */
  #head: string | undefined;
  /**
   * An insert's row still open at the end of the released lines (written a value per line: `  (` `    'alice',`…), from
   * the start of the line its `(` is on; and where that line starts, counted in characters added.
   */
  #tuple: string | undefined;
  #tupleFrom = 0;
  /** The open row's depth of parentheses and the quote it is inside (0: none), at the end of the released lines. */
  #depth = 0;
  #quote = 0;
  /** Characters added so far. */
  #added = 0;

  /** The same state, to follow text that may not be released yet. */
  copy(): StreamedTable {
    const copy = new StreamedTable();
    copy.#line = this.#line;
    copy.#last = this.#last;
    copy.#shape = this.#shape;
    copy.#top = this.#top;
    copy.#lines = this.#lines;
    copy.#lineDelimiters = this.#lineDelimiters;
    copy.#lineInsert = this.#lineInsert;
    copy.#statement = this.#statement;
    copy.#head = this.#head;
    copy.#tuple = this.#tuple;
    copy.#tupleFrom = this.#tupleFrom;
    copy.#depth = this.#depth;
    copy.#quote = this.#quote;
    copy.#added = this.#added;
    return copy;
  }

  /** Follows `text`, released after what came before. */
  add(text: string): void {
    let from = 0;
    const added = this.#added;
    this.#added += text.length;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', from)) {
      const long = this.#line === undefined || end - from + this.#line.length > MAX_TABLE_LINE;
      const line = long ? undefined : this.#line + text.slice(from, end);
      const delimiters = long && this.#top !== undefined ? this.#lineDelimiters + delimiterCount(text, from, end, this.#shape.delimiter) : 0;
      const inRows = this.#statement !== undefined;
      this.#ended(line, delimiters);
      const lineFrom = added + end - (line?.length ?? 0);
      if (inRows || line === undefined || this.#statement === undefined) this.#followRow(line, lineFrom);
      else {
        // The line that ends the insert's head: a first row may open after its VALUES.
        const values = line.search(/values\b(?![\s\S]*values\b)/i);
        this.#followRow(values === -1 ? line : line.slice(values + 6), lineFrom);
      }
      this.#line = '';
      this.#lineDelimiters = 0;
      this.#lineInsert = false;
      from = end + 1;
    }
    if (this.#line !== undefined) {
      const before = this.#line.length;
      this.#line = before + text.length - from > MAX_TABLE_LINE ? undefined : this.#line + text.slice(from);
      // (Read where the new text joins the old: the words may be cut between two releases.)
      if (this.#line !== undefined && !this.#lineInsert) this.#lineInsert = INSERT_INTO.test(this.#line.slice(Math.max(0, before - 12)));
    }
    if (this.#top !== undefined) this.#lineDelimiters += delimiterCount(text, from, text.length, this.#shape.delimiter);
  }

  /** A line ended: `line` itself, or undefined when too long to keep, then with `delimiters` of the block's delimiter. */
  #ended(line: string | undefined, delimiters: number): void {
    if (line !== undefined && this.#statement !== undefined && /;\s*$/.test(line)) this.#statement = undefined;
    let head = line;
    if (line !== undefined && this.#head !== undefined) {
      head = this.#head = `${this.#head}\n${line}`;
      if (head.length > MAX_INSERT_HEAD || line.includes(';')) this.#head = undefined;
    } else if (line !== undefined && INSERT_INTO.test(line)) {
      const start = INSERT_HEAD_START.exec(line);
      if (start) this.#head = start[0];
    }
    const insert = head === undefined ? null : INSERT_HEAD.exec(head);
    if (insert) {
      this.#statement = head!.slice(insert.index, insert.index + insert[0].length);
      this.#head = undefined;
    }
    // A row too long to keep is still a row of its block when it has the block's count: the rows after it keep the header.
    if (line === undefined && this.#top !== undefined && delimiters === this.#shape.count) {
      this.#lines++;
      this.#last = undefined;
      return;
    }
    const shape = line === undefined ? { delimiter: -1, count: 0 } : rowShape(line, 0, line.length);
    if (line === undefined || shape.count === 0) {
      this.#last = line;
      this.#top = undefined;
      this.#shape = shape;
      return;
    }
    const last = this.#last;
    if (this.#top === undefined || shape.delimiter !== this.#shape.delimiter || shape.count !== this.#shape.count) {
      // A new block: the line above is its top when it has as many of this line's delimiter (a header's own most
      // frequent delimiter may differ), else this line is.
      const above = last !== undefined && delimiterCount(last, 0, last.length, shape.delimiter) === shape.count;
      this.#top = above ? last : line;
      this.#lines = above ? 2 : 1;
    } else this.#lines++;
    this.#last = line;
    this.#shape = shape;
  }

  /**
   * Follows an insert's row over the line `line` (ended, starting at `lineFrom` in characters added), when the insert's
   * rows were coming before it: a row still open at its end (a value per line) is kept, from its `(` line, as the
   * context of the row's next lines. Undefined: no row read (not in an insert, or a line too long to keep).
   */
  #followRow(line: string | undefined, lineFrom: number): void {
    if (line === undefined || this.#statement === undefined) {
      this.#tuple = undefined;
      this.#depth = 0;
      this.#quote = 0;
      return;
    }
    let depth = this.#depth;
    let quote = this.#quote;
    let opened = -1;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 39 || c === 34) quote = c;
      else if (c === 40) {
        if (depth === 0) opened = i;
        depth++;
      } else if (c === 41 && depth > 0) depth--;
    }
    this.#depth = depth;
    this.#quote = quote;
    if (depth === 0) {
      this.#tuple = undefined;
      return;
    }
    // (A row longer than a row is held is no context: the detector reads a row within that.)
    const tuple = opened !== -1 ? `${line}\n` : this.#tuple === undefined ? undefined : `${this.#tuple}${line}\n`;
    if (opened !== -1) this.#tupleFrom = lineFrom;
    this.#tuple = tuple !== undefined && tuple.length <= MAX_TABLE_LINE ? tuple : undefined;
    if (this.#tuple === undefined) {
      this.#depth = 0;
      this.#quote = 0;
    }
  }

  /**
   * Where the insert's row still open began (the start of its `(` line, in characters added), when one is: its lines
   * are held together until it closes, so that the detector reads the row whole.
   */
  get openRowFrom(): number | undefined {
    return this.#tuple === undefined ? undefined : this.#tupleFrom;
  }

  /** Characters added so far (what `openRowFrom` counts in). */
  get added(): number {
    return this.#added;
  }

  /**
   * Whether an SQL insert's rows (or its head's lines) are still coming, and the line still arriving may be one of them
   * (short enough).
   */
  get inStatement(): boolean {
    return (this.#statement !== undefined || this.#head !== undefined) && this.#line !== undefined;
  }

  /** Whether the line still arriving is too long to keep, in a block: the rows after it wait until it is released. */
  get inLongRow(): boolean {
    return this.#top !== undefined && this.#line === undefined;
  }

  /** Whether the released text ends in a block of delimited lines, and the line still arriving may be one of its rows. */
  get inBlock(): boolean {
    return this.#top !== undefined && this.#line !== undefined;
  }

  /**
   * The block's delimiter and count when the line still arriving may be one of its rows, to be held whole until it
   * ends: a cell is named by its column only once its row has all its delimiters (`| u0 | Pz0!k0Qw ` is not yet a row
   * of `| user | password |`). A block of two lines or more, or a lone line that reads as a header (short fields, no
   * sentence); undefined otherwise, and once the line has more delimiters than a row has.
   */
  get arrivingRow(): { delimiter: number; count: number } | undefined {
    if (!this.inBlock || this.#lineDelimiters > this.#shape.count) return undefined;
    if (this.#lines < 2 && !readsAsHeader(this.#top!, this.#shape.delimiter)) return undefined;
    return this.#shape;
  }

  /** How many of the block's delimiter the released part of the line still arriving has. */
  get lineDelimiters(): number {
    return this.#lineDelimiters;
  }

  /** Released text of the line still arriving, or undefined when it is too long to be a row. */
  get lineText(): string | undefined {
    return this.#line;
  }

  /** Whether the released part of the line still arriving names an insert (its first row may share the line). */
  get lineHasInsert(): boolean {
    return this.#lineInsert;
  }

  /**
   * The context a row still arriving is read with: the block's header (or the insert's column list), the line before
   * this one when it is a row, and this line from its start. Undefined outside a block or an insert (`inBlock`,
   * `inStatement`).
   */
  rowContext(): string | undefined {
    if (this.#line === undefined) return undefined;
    // (An insert's head still arriving line by line is the context of its lines: the column list's start.)
    if (this.#head !== undefined) return `${this.#head}\n${this.#line}`;
    const header = this.#statement ?? this.#top;
    if (header === undefined) return undefined;
    // (A row written a value per line: its lines so far.)
    if (this.#statement !== undefined && this.#tuple !== undefined) return `${header}\n${this.#tuple}${this.#line}`;
    // (Not the line the header ends with: an insert's `) VALUES` twice is no column list.)
    // (An insert's row written comma first, `, ('bo', '…')`, follows VALUES without its comma: the rows before it are not here.)
    const lastLine = this.#statement !== undefined && this.#last !== undefined ? this.#last.replace(/^\s*,\s*/, '') : this.#last;
    // (Nor the close of a row written a value per line, `  ),`: before the next row it reads as no row at all.)
    const kept = lastLine !== undefined && (this.#statement !== undefined ? !header.endsWith(lastLine) && !/^\s*\)\s*,?\s*$/.test(lastLine) : this.#last !== this.#top);
    const last = kept ? `${lastLine}\n` : '';
    return `${header}\n${last}${this.#line}`;
  }

  /** Released characters of the line still arriving, or undefined when it is too long to be a row. */
  get lineLength(): number | undefined {
    return this.#line?.length;
  }
}

/** An insert's first words. */
export const INSERT_INTO = new RegExp(String.raw`${INSERT_INTO_SOURCE}\b`, 'i');
/**
 * An insert's first line when its column list or its VALUES goes on below: the table's name, then `(` and names or
 * nothing, or the whole list (not prose).
 */
const INSERT_HEAD_START = new RegExp(String.raw`${INSERT_INTO_SOURCE}\s+[\w."\`[\]]+\s*(?:\([^();]*\)?)?$`, 'i');
/** The longest insert head followed over several lines (the detector reads a column list within 400 characters). */
const MAX_INSERT_HEAD = 600;
/** An SQL insert's head whose rows follow on the next lines: its column list, then VALUES at the line's end (or its first row). */
const INSERT_HEAD = new RegExp(String.raw`${INSERT_INTO_SOURCE}\s+[^;]{1,400}?\)\s*values\b(?=\s*(\(.*,\s*)?$)`, 'i');

/**
 * Column names: fields of at most 40 characters and 4 words, none ending a sentence (`user,password`,
 * `| id | phone number |`; not `Sure, here is the plan.`).
 */
function readsAsHeader(line: string, delimiter: number): boolean {
  if (line.length > 512) return false;
  return line.split(String.fromCharCode(delimiter)).every((field) => {
    const name = field.trim();
    return name.length <= 40 && name.split(/\s+/).length <= 4 && !/[.!?:](\s|$)/.test(name);
  });
}
