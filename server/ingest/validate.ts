// What one ingested event may carry: values every read path can store, sum and serialize. An event outside these
// ranges is rejected alone (the rest of its batch is stored): one odd event must neither break pages for good
// (a cost of 1e308 summed to Infinity, a year 10000 date) nor fail its whole batch again and again.
import { envNumber } from '../env.ts';
import { stringProblem } from '../text.ts';
import { timeOf, type IncomingEvent } from './projections.ts';

/** 2000-01-01: nothing Iron Cage records happened before. */
const EARLIEST_MS = Date.UTC(2000, 0, 1);
/** Runtimes' clocks may run ahead of the server's, not by more than this. */
const FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;
/** No amount of money an event names is larger (a cost, a spend, a limit). */
const MAX_USD = 1e9;
/** No token count or duration an event names is larger. */
const MAX_COUNT = 1e12;
/** Deeper payloads are not events: refused before anything walks them. */
const MAX_DEPTH = 32;
/**
 * The most characters (strings and keys) one event may hold. Runtimes never send prompt text, so their largest
 * events are a few kB; without a bound one API token could store megabytes per event and every read of alerts or
 * traces would carry them. IRON_MAX_EVENT_CHARS.
 */
export const MAX_EVENT_CHARS = 32 * 1024;

/** IRON_MAX_EVENT_CHARS, parsed again only when the variable changes (read for every event). */
let charsSetting: { raw: string | undefined; value: number } | undefined;
function maxEventChars(): number {
  const raw = process.env.IRON_MAX_EVENT_CHARS;
  if (charsSetting === undefined || charsSetting.raw !== raw) charsSetting = { raw, value: envNumber('IRON_MAX_EVENT_CHARS') ?? MAX_EVENT_CHARS };
  return charsSetting.value;
}

const COUNT_FIELDS = new Set(['latencyMs', 'count', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens', 'thresholdPct', 'cooldownMs', 'exitCode']);
/** Counted in whole units (a latency or a warning threshold such as 0.5 % is not). */
const WHOLE_FIELDS = new Set(['count', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The envelope every event has: id, type, time, and an optional agentId (checked per event, not per batch). */
function envelopeReason(event: Record<string, unknown>): string | undefined {
  const { id, type, time, agentId } = event;
  if (typeof id !== 'string' || id.length < 1 || id.length > 200) return 'id: must be a string of 1 to 200 characters';
  if (typeof type !== 'string' || type.length < 1 || type.length > 100) return 'type: must be a string of 1 to 100 characters';
  if (!(typeof time === 'number' && time >= 0) && !(typeof time === 'string' && ISO_DATE_TIME.test(time))) return 'time: must be epoch milliseconds or an ISO 8601 date-time';
  if (agentId !== undefined && !(typeof agentId === 'string' && UUID.test(agentId))) return 'agentId: must be a UUID';
  return undefined;
}

/** Why the event cannot be stored (a path and what is wrong), or undefined when it can. */
export function rejectReason(event: IncomingEvent, now = Date.now()): string | undefined {
  const envelope = envelopeReason(event as unknown as Record<string, unknown>);
  if (envelope) return envelope;
  const time = timeOf(event.time);
  if (!Number.isFinite(time)) return 'time: must be a valid date';
  if (time < EARLIEST_MS) return `time: ${new Date(time).toISOString()} is before 2000-01-01`;
  if (time > now + FUTURE_SKEW_MS) return `time: ${Number.isFinite(new Date(time).getTime()) ? new Date(time).toISOString() : time} is more than a day ahead of the server's clock`;
  const size = { left: maxEventChars() };
  const reason = checkValue(event, '', Kind.Any, 0, size);
  if (reason) return reason;
  // What the totals and leases sum: a cost report without its cost would be stored as $0.
  const { costUsd } = event as { costUsd?: unknown };
  if (event.type === 'CostUpdate' && typeof costUsd !== 'number') return `costUsd: a CostUpdate carries its cost as a number of USD, got ${JSON.stringify(costUsd) ?? 'none'}`;
  if (size.left < 0) return `event: holds more than ${maxEventChars()} characters of text (IRON_MAX_EVENT_CHARS); events carry figures and short messages, never documents`;
  return undefined;
}

/** What a key's value must be, by the key's last dotted segment: an amount of USD, a count, a whole count, or anything. */
const Kind = { Any: 0, Usd: 1, Count: 2, WholeCount: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

function kindOf(key: string): Kind {
  const dot = key.lastIndexOf('.');
  const name = dot < 0 ? key : key.slice(dot + 1);
  if (name.endsWith('Usd')) return Kind.Usd;
  if (!COUNT_FIELDS.has(name)) return Kind.Any;
  return WHOLE_FIELDS.has(name) ? Kind.WholeCount : Kind.Count;
}

/** A child's path, as messages name it (`usage.inputTokens`, `valueHashes[0]`); built only for a message or a container. */
function childPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

// The walk runs for every field of every ingested event: paths are built only when a message needs one.
function checkValue(value: unknown, path: string, kind: Kind, depth: number, size: { left: number }): string | undefined {
  if (value === null || typeof value !== 'object') return checkLeaf(value, path, undefined, kind, size);
  // Amounts and counts are numbers, whatever else an event carries: as [5] or {} the totals would count them as 0.
  if (kind !== Kind.Any) return `${path}: must be a number, got ${Array.isArray(value) ? 'a list' : 'an object'}`;
  if (depth >= MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // An element's path ends in `]`: never an amount or a count.
      const reason = item !== null && typeof item === 'object' ? checkValue(item, childPath(path, i), Kind.Any, depth + 1, size) : checkLeaf(item, path, i, Kind.Any, size);
      if (reason || size.left < 0) return reason;
    }
    return undefined;
  }
  for (const key in value) {
    size.left -= key.length;
    const keyProblem = stringProblem(key);
    if (keyProblem) return `${path || 'event'}: a key ${keyProblem}`;
    const item = (value as Record<string, unknown>)[key];
    const itemKind = kindOf(key);
    const reason = item !== null && typeof item === 'object' ? checkValue(item, childPath(path, key), itemKind, depth + 1, size) : checkLeaf(item, path, key, itemKind, size);
    if (reason || size.left < 0) return reason;
  }
  return undefined;
}

/** A value that is not a container, at `childPath(parent, key)` (at `parent` itself without a key). */
function checkLeaf(value: unknown, parent: string, key: string | number | undefined, kind: Kind, size: { left: number }): string | undefined {
  const at = () => (key === undefined ? parent : childPath(parent, key));
  if (typeof value === 'string') {
    size.left -= value.length;
    if (size.left < 0) return undefined;
    // As a string, true or null-like text the totals would count an amount as 0, silently.
    if (kind !== Kind.Any) return `${at()}: must be a number, got the string ${JSON.stringify(value.slice(0, 40))}`;
    const problem = stringProblem(value);
    return problem ? `${at() || 'value'}: ${problem}` : undefined;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${at()}: must be a finite number`;
    if (kind === Kind.Any) return undefined;
    // Amounts and counts are never negative: a runtime does not send one, and the totals would quietly skip it.
    if (kind === Kind.Usd) {
      if (value < 0) return `${at()}: ${value} is negative: an amount of USD is 0 or more`;
      if (value > MAX_USD) return `${at()}: ${value} is more than ${MAX_USD} USD`;
      return undefined;
    }
    if (value < 0 || value > MAX_COUNT) return `${at()}: ${value} is out of range (0 to ${MAX_COUNT})`;
    if (kind === Kind.WholeCount && !Number.isInteger(value)) return `${at()}: ${value} is not a whole number`;
    return undefined;
  }
  if (value === null) return undefined; // "none" (an unlimited budget's limitUsd)
  if (kind !== Kind.Any && typeof value === 'boolean') return `${at()}: must be a number, got ${String(value)}`;
  return undefined;
}
