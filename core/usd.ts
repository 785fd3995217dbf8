// The dollar amounts a budget can be: at least one micro-dollar (the unit spend is counted in: less would round to a
// limit of zero) and at most $1e9 (past that a limit is no limit, and sums lose their cents).
export const MIN_USD = 0.000001;
export const MAX_USD = 1e9;
export const USD_RANGE = 'a number of USD from 0.000001 to 1e9';

export function isUsdAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= MIN_USD && value <= MAX_USD;
}
