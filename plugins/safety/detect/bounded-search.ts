// Searches that look a bounded way: an unbounded `indexOf` or `lastIndexOf` per candidate made a long text without the
// character quadratic (1 MB of `hasło ` took 1.1 s), and read a megabyte's CSV rows a quarter slower.

/** The first `code` in `[from, to)`, or -1. */
export function indexWithin(text: string, code: number, from: number, to: number): number {
  const limit = Math.min(text.length, to);
  for (let k = from; k < limit; k++) if (text.charCodeAt(k) === code) return k;
  return -1;
}

/** Where the line at `i` ends, looked for at most `max` characters on (then `i + max`). */
export function lineEndAt(text: string, i: number, max: number): number {
  const limit = Math.min(text.length, i + max);
  let k = i;
  while (k < limit && text.charCodeAt(k) !== 10) k++;
  return k;
}

/** Where the line at `i` starts, looked for at most `max` characters back (then `i - max`). */
export function lineStartAt(text: string, i: number, max: number): number {
  const limit = Math.max(0, i - max);
  let k = i;
  while (k > limit && text.charCodeAt(k - 1) !== 10) k--;
  return k;
}
