// Text throughput of a long-running process: measured once the code is warm, with the cold start reported beside it.

export interface Throughput {
  /** MB/s of the measured runs, after the warm-up. */
  mbs: number;
  /** MB/s of the very first run (what a fresh process gets on its first text). */
  coldMbs: number;
}

/**
 * Runs `fn` on `text` until the warm-up has taken `warmMs` (at least `minWarmRuns` runs; V8 takes ~15 MB of mixed
 * text, about a second, to optimize the detector's dozens of functions and regexes), then measures runs until
 * `measureMs` have passed (at least `minRuns`). The gateway runs for hours, so the steady rate is its rate.
 */
export function steadyThroughput(text: string, fn: (text: string) => unknown, options: { warmMs: number; measureMs: number; minWarmRuns?: number; minRuns?: number }): Throughput {
  const bytes = Buffer.byteLength(text);
  const { warmMs, measureMs, minWarmRuns = 3, minRuns = 3 } = options;
  const warm = performance.now();
  fn(text);
  const coldMbs = bytes / 1e6 / ((performance.now() - warm) / 1000);
  for (let runs = 1; runs < minWarmRuns || performance.now() - warm < warmMs; runs++) fn(text);
  const t0 = performance.now();
  let runs = 0;
  while (runs < minRuns || performance.now() - t0 < measureMs) {
    fn(text);
    runs++;
  }
  return { mbs: (bytes * runs) / 1e6 / ((performance.now() - t0) / 1000), coldMbs };
}
