// One batch on its way into the database, whatever the dialect: its events without repeats, each with the row to
// insert, and the result reported once the database said which of them were new.
import type { LiveEvent } from '../context.ts';
import { withoutPrompts, type Dialect } from './db.ts';
import { timeOf, type IncomingEvent } from './projections.ts';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** The newly stored events, in batch order, for the live hub (publish only after commit). */
  stored: LiveEvent[];
}

export interface UniqueEvent {
  event: IncomingEvent;
  time: number;
  payload: Record<string, unknown>;
  /** The events row, in INSERT_EVENTS column order. */
  row: unknown[];
}

/** The batch without repeated ids (the first wins), each event with its row; prompts dropped unless stored. */
export function uniqueEvents(projectId: string, events: IncomingEvent[], storePrompts: boolean, db: Dialect): UniqueEvent[] {
  const unique: UniqueEvent[] = [];
  const seen = new Set<string>();
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    const time = timeOf(event.time);
    const payload = storePrompts ? event : withoutPrompts(event);
    unique.push({ event, time, payload, row: [event.id, projectId, event.agentId ?? null, event.type, db.time(time), db.json(payload)] });
  }
  return unique;
}

/** The events the database took (`inserted` ids), in batch order. */
export function freshEvents(unique: UniqueEvent[], inserted: Set<string>): UniqueEvent[] {
  return inserted.size === unique.length ? unique : unique.filter((u) => inserted.has(u.event.id));
}

export function ingestResult(projectId: string, events: IncomingEvent[], unique: UniqueEvent[], inserted: Set<string>): IngestResult {
  const stored: LiveEvent[] = [];
  // A batch's events often share their millisecond (a call's completion and cost): its ISO text is made once.
  let lastTime = Number.NaN;
  let lastIso = '';
  for (const { event, time, payload } of unique) {
    if (!inserted.has(event.id)) continue;
    if (time !== lastTime) {
      lastTime = time;
      lastIso = new Date(time).toISOString();
    }
    stored.push({ id: event.id, projectId, agentId: event.agentId ?? null, type: event.type, time: lastIso, payload });
  }
  return { accepted: stored.length, duplicates: events.length - stored.length, stored };
}
