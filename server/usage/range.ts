// Parses and checks a usage time range: default the last 30 days, refuse reversed or over-long ranges with a 400 naming the field.
import { badRequest } from '../errors.ts';

export const DEFAULT_RANGE_DAYS = 30;
export const MAX_RANGE_DAYS = 400;
const DAY_MS = 86_400_000;

// A date (UTC midnight) or a date-time WITH a zone: a zone-less time would be read in the server's local zone.
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

function parse(field: 'from' | 'to', value: string): Date {
  const time = ISO.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw badRequest(`querystring/${field}: expected an ISO 8601 date or date-time with a zone (2026-01-31 or 2026-01-31T12:00:00Z), got ${JSON.stringify(value)}`, { path: `querystring/${field}` });
  return new Date(time);
}

/** `[from, to)`; `to` defaults to now and `from` to 30 days before `to`. */
export function parseRange(query: { from?: string; to?: string }, now = new Date()): { from: Date; to: Date } {
  const to = query.to !== undefined ? parse('to', query.to) : now;
  const from = query.from !== undefined ? parse('from', query.from) : new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
  if (from.getTime() > to.getTime()) throw badRequest(`querystring/from: from (${from.toISOString()}) is after to (${to.toISOString()})`, { path: 'querystring/from' });
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) throw badRequest(`querystring/to: the range is longer than ${MAX_RANGE_DAYS} days; ask for several shorter ranges`, { path: 'querystring/to' });
  return { from, to };
}
