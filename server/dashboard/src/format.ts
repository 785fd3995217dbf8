// How numbers, money and times read on screen: every page formats through these, so a figure reads the same everywhere.

/** Shown where there is no value (no cost recorded, no duration): never a made-up zero. */
export const NONE = '—';

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
// Sub-cent amounts (one call's cost) keep two significant digits however small: $0.000031, never $0.0000.
const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumSignificantDigits: 2 });
const integer = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/**
 * Money: cents for sums people budget in, two significant digits below a cent, and {@link NONE} when there is no
 * amount (null: no cost was recorded). `formatUsd(0.000031)` → `$0.000031`, `formatUsd(12.5)` → `$12.50`.
 */
export function formatUsd(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return NONE;
  return value !== 0 && Math.abs(value) < 0.01 ? usdSmall.format(value) : usd.format(value);
}

/** One call's cost: its amount, `unpriced` when the model had no price (unknown, not zero), {@link NONE} when none was recorded. */
export function formatCost(call: { costUsd: number | null; unpriced?: boolean }): string {
  if (call.costUsd === null && call.unpriced) return 'unpriced';
  return formatUsd(call.costUsd);
}

/**
 * A run's spend: {@link NONE} when no cost can have been recorded (no calls, or every call failed and nothing was
 * charged), so a run whose calls were all refused does not read as a priced $0.00.
 */
export function formatRunCost(run: { costUsd: number; calls: number; failedCalls: number }): string {
  if (run.costUsd === 0 && run.failedCalls >= run.calls) return NONE;
  return formatUsd(run.costUsd);
}

export const formatInt = (value: number): string => integer.format(value);
export const formatCompact = (value: number): string => compact.format(value);
export const formatPct = (value: number): string => `${(value * 100).toFixed(value > 0 && value < 0.1 ? 1 : 0)}%`;

export function formatTime(iso: string): string {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export function formatAgo(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/**
 * A duration as people read it (event payloads carry fractional ms): `0.4 ms`, `21 ms`, `1.4 s`, `42 s`, `3 min 5 s`,
 * `2 h 5 min`. Rounded before the unit is chosen, so 999.6 ms reads `1.0 s`, not `1000 ms`.
 */
export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return NONE;
  if (ms < 9.95) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 999.5) return `${Math.round(ms)} ms`;
  if (ms < 9950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const shortId = (id: string): string => id.slice(0, 8);

/** Start of today and of this month in UTC: the server's day and month buckets are UTC. */
export function startOfUtcDay(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}
export function startOfUtcMonth(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}
