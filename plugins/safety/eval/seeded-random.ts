// mulberry32: a small seeded generator, so generated fixtures are the same on every run.

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Small draws on top of `seededRandom`: integers, picks, strings of an alphabet, digit runs, hex. */
export interface SeededGen {
  next(): number;
  int(lo: number, hi: number): number; // inclusive
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  str(alphabet: string, n: number): string;
  hex(n: number): string;
  digits(n: number): string; // first digit is never 0
  bytes(n: number): Uint8Array;
}

export function seededGen(seed: number): SeededGen {
  const next = seededRandom(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  const str = (alphabet: string, n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[int(0, alphabet.length - 1)];
    return s;
  };
  return {
    next,
    int,
    pick: <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!,
    chance: (p: number) => next() < p,
    str,
    hex: (n: number) => str('0123456789abcdef', n),
    digits: (n: number) => String(int(1, 9)) + str('0123456789', n - 1),
    bytes: (n: number) => Uint8Array.from({ length: n }, () => int(0, 255)),
  };
}
