// Text throughput of a long-running process: measured once the code is warm, with the cold start reported beside it.

export interface Throughput {
  /** MB/s of the measured runs, after the warm-up. */
  mbs: number;
  /** MB/s of the very first run (what a fresh process gets on its first text). */
  coldMbs: number;
}

/**
 * Runs `fn` on `text` until the warm-up has taken `warmMs` (at least `minWarmRuns` runs) and then, with `settle`, until
 * the rate stops rising; then measures runs until `measureMs` have passed (at least `minRuns`). The gateway runs for
 * hours, so the steady rate is its rate. (V8 takes ~60 runs of the detector on 2 MB of mixed text, 2–4 s on this
 * machine, to optimize its dozens of functions and regexes: a fixed 1.5 s warm-up measured part of that climb.)
 */
export function steadyThroughput(text: string, fn: (text: string) => unknown, options: { warmMs: number; measureMs: number; minWarmRuns?: number; minRuns?: number; settle?: Settle }): Throughput {
  const bytes = Buffer.byteLength(text);
  const { warmMs, measureMs, minWarmRuns = 3, minRuns = 3, settle } = options;
  const warm = performance.now();
  fn(text);
  const coldMbs = bytes / 1e6 / ((performance.now() - warm) / 1000);
  for (let runs = 1; runs < minWarmRuns || performance.now() - warm < warmMs; runs++) fn(text);
  if (settle) settleRate(text, fn, settle, warm);
  const t0 = performance.now();
  let runs = 0;
  while (runs < minRuns || performance.now() - t0 < measureMs) {
    fn(text);
    runs++;
  }
  return { mbs: (bytes * runs) / 1e6 / ((performance.now() - t0) / 1000), coldMbs };
}

/** Warm-up windows of `windowMs` run until one is no more than `rise` (0.03: 3 %) faster than the one before, or `maxMs` since the start. */
export interface Settle {
  windowMs: number;
  rise: number;
  maxMs: number;
}

function settleRate(text: string, fn: (text: string) => unknown, settle: Settle, since: number): void {
  let last = windowRate(text, fn, settle.windowMs);
  while (performance.now() - since < settle.maxMs) {
    const rate = windowRate(text, fn, settle.windowMs);
    if (rate <= last * (1 + settle.rise)) return;
    last = rate;
  }
}

/** Runs per ms over one window of at least `windowMs` and two runs. */
function windowRate(text: string, fn: (text: string) => unknown, windowMs: number): number {
  const t0 = performance.now();
  let runs = 0;
  while (runs < 2 || performance.now() - t0 < windowMs) {
    fn(text);
    runs++;
  }
  return runs / (performance.now() - t0);
}
