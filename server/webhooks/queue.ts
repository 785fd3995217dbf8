// The webhook queue in the database: bounded fan-out at enqueue, fair batched claims, and the writes after an attempt.
// Every statement is one round trip over an index (status, next_attempt_at), whatever the backlog: a project with ten
// thousand failing deliveries costs the others nothing but their share of the worker.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { dialectOf, kysely, msOf, parsePayload, type DbTime } from '../ingest/db.ts';
import type { LiveEvent } from '../context.ts';

/** A webhook's `events` column as read by a plain query: JSON text on SQLite, already parsed on PostgreSQL. */
export function subscribedTypes(value: unknown): string[] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed.filter((type): type is string => typeof type === 'string') : [];
}

export interface Claimed {
  id: string;
  webhookId: string;
  eventId: string;
  attempts: number;
  projectId: string;
  url: string;
  secret: string;
}

const INSERT_ROWS = 200;
/** Webhooks whose due heads one claim statement reads (SQLite allows 500 terms in a compound SELECT). */
const HEADS_PER_STATEMENT = 100;

/**
 * Queues a delivery per (event, subscribed webhook), oldest events first. The project's `maxQueued` pending
 * deliveries are shared out among its webhooks, each holding at most its share: a receiver that never answers fills
 * only its own, and the project's healthy webhooks keep theirs. Returns how many were queued and how many did not fit.
 */
export async function enqueueDeliveries(em: EntityManager, projectId: string, events: LiveEvent[], maxQueued: number): Promise<{ queued: number; dropped: number }> {
  const db = kysely(em);
  const hooks = (await db.selectFrom('webhooks').select(['id', 'events']).where('project_id', '=', projectId).execute()).map((row) => ({ id: row.id, events: subscribedTypes(row.events) }));
  if (hooks.length === 0) return { queued: 0, dropped: 0 };
  const wanted: Array<{ webhookId: string; event: LiveEvent }> = [];
  for (const event of events) for (const hook of hooks) if (hook.events.includes(event.type)) wanted.push({ webhookId: hook.id, event });
  if (wanted.length === 0) return { queued: 0, dropped: 0 };
  const pending = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => ['webhook_id', eb.fn.countAll<number | string>().as('n')])
    .where('status', '=', 'pending')
    .where('webhook_id', 'in', hooks.map((hook) => hook.id))
    .groupBy('webhook_id')
    .execute();
  const share = Math.floor(maxQueued / hooks.length);
  const room = new Map(hooks.map((hook) => [hook.id, share]));
  for (const row of pending) room.set(row.webhook_id, Math.max(0, share - Number(row.n)));
  const rows = wanted.filter(({ webhookId }) => {
    const left = room.get(webhookId)!;
    if (left <= 0) return false;
    room.set(webhookId, left - 1);
    return true;
  });
  const dialect = dialectOf(em);
  const now = dialect.time(Date.now());
  for (let i = 0; i < rows.length; i += INSERT_ROWS) {
    // A big fan-out is written in pieces with a turn of the event loop between them: requests are served meanwhile.
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    await db
      .insertInto('webhook_deliveries')
      .values(rows.slice(i, i + INSERT_ROWS).map(({ webhookId, event }) => ({ id: randomUUID(), webhook_id: webhookId, event_id: event.id, event_type: event.type, status: 'pending' as const, attempts: 0, next_attempt_at: now, created_at: now })))
      .execute();
  }
  return { queued: rows.length, dropped: wanted.length - rows.length };
}

/**
 * Claims due deliveries: at most `perProject` per project and `limit` in all, the longest-waiting first within each
 * project, so one project's backlog never keeps another's deliveries waiting. A claim moves the delivery's next
 * attempt to `leaseUntil`: if this process dies mid-request, the delivery is due again then; and of two processes
 * claiming the same row only one update matches (the other sees the moved time).
 */
export async function claimDue(
  em: EntityManager,
  options: { limit: number; perProject: (projectId: string) => number; leaseUntil: number; inFlight?: (projectId: string) => number; inFlightOfWebhook?: (webhookId: string) => number },
): Promise<Claimed[]> {
  const db = kysely(em);
  const dialect = dialectOf(em);
  const now = dialect.time(Date.now());
  // Each webhook's longest-waiting due deliveries (a range of the (webhook, status, next attempt) index), at most
  // `limit` each: the fairness loop below picks from their union. Webhooks are few per project (at most 10).
  const webhooks = await db
    .selectFrom('webhooks as w')
    .select(['w.id as id', 'w.project_id as project_id'])
    .where((eb) => eb.exists(eb.selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.webhook_id', '=', 'w.id').where('d.status', '=', 'pending').where('d.next_attempt_at', '<=', now)))
    .execute();
  const candidates: Array<{ id: string; attempts: number; project_id: string; webhook_id: string; next_attempt_at: unknown }> = [];
  const projectOf = new Map(webhooks.map((webhook) => [webhook.id, webhook.project_id]));
  // One statement per HEADS_PER_STATEMENT webhooks (a UNION ALL of index range scans), not one each: a freed slot's
  // claim is a few round trips whatever the number of webhooks waiting.
  for (let i = 0; i < webhooks.length; i += HEADS_PER_STATEMENT) {
    const heads = webhooks.slice(i, i + HEADS_PER_STATEMENT).map((webhook, k) =>
      db
        .selectFrom((eb) =>
          eb
            .selectFrom('webhook_deliveries as d')
            .select(['d.id as id', 'd.webhook_id as webhook_id', 'd.attempts as attempts', 'd.next_attempt_at as next_attempt_at'])
            .where('d.webhook_id', '=', webhook.id)
            .where('d.status', '=', 'pending')
            .where('d.next_attempt_at', '<=', now)
            .orderBy('d.next_attempt_at')
            .orderBy('d.id')
            .limit(options.limit)
            .as(`h${k}`),
        )
        .selectAll(),
    );
    const rows = await heads.slice(1).reduce((union, head) => union.unionAll(head), heads[0]!).execute();
    for (const row of rows) candidates.push({ ...row, attempts: Number(row.attempts), project_id: projectOf.get(row.webhook_id)! });
  }
  candidates.sort((a, b) => (msOf(a.next_attempt_at as DbTime) ?? 0) - (msOf(b.next_attempt_at as DbTime) ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Fair shares, on two levels: each slot goes to the project with the fewest requests in flight (its own, plus what
  // this claim gave it), and within it to the webhook with the fewest, the longest-waiting first among equals. A
  // project whose deliveries hang on a dead receiver holds the slots only while nobody else waits: the next slot that
  // frees goes to the other project; and inside a project, to its webhooks that still answer.
  type Row = (typeof candidates)[number];
  const queues = new Map<string, Map<string, Row[]>>();
  for (const row of candidates) {
    let hooks = queues.get(row.project_id);
    if (!hooks) queues.set(row.project_id, (hooks = new Map()));
    const queue = hooks.get(row.webhook_id);
    if (queue) queue.push(row);
    else hooks.set(row.webhook_id, [row]);
  }
  const waitedSince = (row: Row) => msOf(row.next_attempt_at as DbTime) ?? 0;
  const load = new Map([...queues.keys()].map((projectId) => [projectId, options.inFlight?.(projectId) ?? 0]));
  const hookLoad = new Map(candidates.map((row) => [row.webhook_id, options.inFlightOfWebhook?.(row.webhook_id) ?? 0]));
  const allowed = new Map([...queues.keys()].map((projectId) => [projectId, options.perProject(projectId)]));
  /** The webhook of `hooks` to serve next: fewest in flight, then longest waiting. */
  const nextHook = (hooks: Map<string, Row[]>): Row[] | undefined => {
    let best: [string, Row[]] | undefined;
    for (const entry of hooks) {
      if (entry[1].length === 0) continue;
      if (!best) {
        best = entry;
        continue;
      }
      const [mine, theirs] = [hookLoad.get(entry[0])!, hookLoad.get(best[0])!];
      if (mine < theirs || (mine === theirs && waitedSince(entry[1][0]!) < waitedSince(best[1][0]!))) best = entry;
    }
    return best?.[1];
  };
  const chosen: string[] = [];
  while (chosen.length < options.limit) {
    let best: string | undefined;
    let bestQueue: Row[] | undefined;
    for (const [projectId, hooks] of queues) {
      if (allowed.get(projectId)! <= 0) continue;
      const queue = nextHook(hooks);
      if (!queue) continue;
      if (best === undefined) {
        [best, bestQueue] = [projectId, queue];
        continue;
      }
      const [mine, theirs] = [load.get(projectId)!, load.get(best)!];
      if (mine < theirs || (mine === theirs && waitedSince(queue[0]!) < waitedSince(bestQueue![0]!))) [best, bestQueue] = [projectId, queue];
    }
    if (best === undefined) break;
    const row = bestQueue!.shift()!;
    chosen.push(row.id);
    load.set(best, load.get(best)! + 1);
    hookLoad.set(row.webhook_id, hookLoad.get(row.webhook_id)! + 1);
    allowed.set(best, allowed.get(best)! - 1);
  }
  if (chosen.length === 0) return [];
  const claimed = await db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: dialect.time(options.leaseUntil) })
    .where('id', 'in', chosen)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .returning(['id'])
    .execute();
  if (claimed.length === 0) return [];
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .select(['d.id as id', 'd.webhook_id as webhookId', 'd.event_id as eventId', 'd.attempts as attempts', 'w.project_id as projectId', 'w.url as url', 'w.secret as secret'])
    .where('d.id', 'in', claimed.map((row) => row.id))
    .execute();
  return rows.map((row) => ({ ...row, attempts: Number(row.attempts) }));
}

/** The stored events of claimed deliveries, in one query. */
export async function eventsById(em: EntityManager, ids: string[]): Promise<Map<string, LiveEvent>> {
  const events = new Map<string, LiveEvent>();
  if (ids.length === 0) return events;
  const rows = await kysely(em).selectFrom('events').selectAll().where('id', 'in', [...new Set(ids)]).execute();
  for (const row of rows) {
    events.set(row.id, { id: row.id, projectId: row.project_id, agentId: row.agent_id, type: row.type, time: new Date(msOf(row.time)!).toISOString(), payload: parsePayload(row.payload) });
  }
  return events;
}

export type Outcome =
  | { status: 'delivered'; attempts: number; responseStatus: number }
  | { status: 'failed'; attempts: number; responseStatus: number | null; lastError: string }
  | { status: 'pending'; attempts: number; responseStatus: number | null; lastError: string; nextAttemptAt: number };

/** Writes an attempt's outcome. */
export async function recordOutcome(em: EntityManager, id: string, outcome: Outcome): Promise<void> {
  const dialect = dialectOf(em);
  const now = Date.now();
  const values: Record<string, unknown> = { status: outcome.status, attempts: outcome.attempts, response_status: outcome.responseStatus };
  if (outcome.status === 'delivered') Object.assign(values, { last_error: null, next_attempt_at: null, delivered_at: dialect.time(now) });
  else if (outcome.status === 'failed') Object.assign(values, { last_error: outcome.lastError, next_attempt_at: null });
  else Object.assign(values, { last_error: outcome.lastError, next_attempt_at: dialect.time(outcome.nextAttemptAt) });
  await kysely(em).updateTable('webhook_deliveries').set(values).where('id', '=', id).execute();
}

/** Gives a claimed delivery back, due now, without counting an attempt (the server is shutting down). */
export async function release(em: EntityManager, id: string): Promise<void> {
  await kysely(em).updateTable('webhook_deliveries').set({ next_attempt_at: dialectOf(em).time(Date.now()) }).where('id', '=', id).execute();
}

/** When the next pending delivery falls due (ms), or null when none is pending. */
export async function nextDue(em: EntityManager): Promise<number | null> {
  const row = await kysely(em)
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.min<DbTime>('next_attempt_at').as('due'))
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return msOf(row?.due ?? null);
}
