import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.ts';

describe('toCsv', () => {
  it('quotes commas, quotes and line breaks, and ends every line with CRLF', () => {
    expect(toCsv(['model', 'cost'], [['gpt-4o, mini', 1.5], ['say "hi"', 2], ['two\nlines', 0]])).toBe('model,cost\r\n"gpt-4o, mini",1.5\r\n"say ""hi""",2\r\n"two\nlines",0\r\n');
  });

  it('neutralizes text that a spreadsheet would run as a formula, but not numbers', () => {
    expect(toCsv(['name'], [['=HYPERLINK("http://x")'], ['+1'], ['@SUM(A1)'], ['-2']])).toBe("name\r\n\"'=HYPERLINK(\"\"http://x\"\")\"\r\n'+1\r\n'@SUM(A1)\r\n'-2\r\n");
    expect(toCsv(['delta'], [[-2]])).toBe('delta\r\n-2\r\n');
  });
});
