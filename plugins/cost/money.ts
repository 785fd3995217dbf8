// Money as integer micro-USD: sums never drift, and only the edges (config, APIs, headers) speak USD.

/** One millionth of a US dollar. */
export type Micros = number;

export const MICROS_PER_USD = 1_000_000;

/** USD (config, APIs) to micro-USD, rounded to the nearest micro. */
export function usdToMicros(usd: number): Micros {
  return Math.round(usd * MICROS_PER_USD);
}

export function microsToUsd(micros: Micros): number {
  return micros / MICROS_PER_USD;
}

/** USD with six decimals, as the `x-iron-cost-usd` header and the CLI show it. */
export function formatUsd(micros: Micros): string {
  return microsToUsd(micros).toFixed(6);
}
