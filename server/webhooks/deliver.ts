// The webhook delivery worker: turns live events into WebhookDelivery rows, POSTs them signed, retries with
// exponential backoff. The database is the queue: a delivery is `pending` until it is `delivered` or `failed`,
// so deliveries pending at shutdown (or after a crash) are picked up by the next start's poll.
import type { FastifyBaseLogger } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { LiveEvent } from '../context.ts';
import type { Orm } from '../db.ts';
import { IngestedEvent, Webhook, WebhookDelivery } from '../entities/index.ts';
import { kysely } from '../ingest/db.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, sign } from './sign.ts';

/** The event types a webhook may subscribe to: the ones someone must act on, not the telemetry stream. */
export const WEBHOOK_EVENT_TYPES = ['BudgetWarning', 'PiiAlert', 'CircuitOpened'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface DeliveryOptions {
  /** First retry delay; doubles per attempt (1 s, 2 s, 4 s, 8 s by default). IRON_WEBHOOK_BACKOFF_MS. */
  backoffMs?: number;
  /** Attempts before a delivery is `failed`. Default 5. IRON_WEBHOOK_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** How often the queue is scanned for due deliveries (restarts, other instances). Default 5 s. IRON_WEBHOOK_POLL_MS. */
  pollMs?: number;
  /** Per-request timeout. Default 5 s. IRON_WEBHOOK_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
}

type Resolved = Required<DeliveryOptions>;

/** A webhook's `events` column as read by a plain query: JSON text on SQLite, already parsed on PostgreSQL. */
function subscribedTypes(value: unknown): string[] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed.filter((type): type is string => typeof type === 'string') : [];
}

function envNumber(name: string): number | undefined {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function resolveDeliveryOptions(options: DeliveryOptions = {}): Resolved {
  return {
    backoffMs: options.backoffMs ?? envNumber('IRON_WEBHOOK_BACKOFF_MS') ?? 1000,
    maxAttempts: options.maxAttempts ?? envNumber('IRON_WEBHOOK_MAX_ATTEMPTS') ?? 5,
    pollMs: options.pollMs ?? envNumber('IRON_WEBHOOK_POLL_MS') ?? 5000,
    timeoutMs: options.timeoutMs ?? envNumber('IRON_WEBHOOK_TIMEOUT_MS') ?? 5000,
    concurrency: options.concurrency ?? 16,
  };
}

/** Events kept in memory while their deliveries are pending; above this the worker reads them back from the events table. */
const MAX_CACHED_EVENTS = 10_000;

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message;
    return (detail ? `${error.message}: ${detail}` : error.message).slice(0, 500);
  }
  return String(error).slice(0, 500);
}

export class WebhookWorker {
  readonly #orm: Orm;
  readonly #live: EventEmitter;
  readonly #log: FastifyBaseLogger;
  readonly #options: Resolved;
  readonly #abort = new AbortController();
  /** Delivery ids being attempted by this process (the DB lease guards against other processes). */
  readonly #inFlight = new Set<string>();
  /** Every async job this worker started, so stop() can wait for them before the database closes. */
  readonly #jobs = new Set<Promise<unknown>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #events = new Map<string, { event: LiveEvent; pending: number }>();
  #poller: NodeJS.Timeout | undefined;
  #polling = false;
  #pollAgain = false;
  #running = false;

  constructor(orm: Orm, live: EventEmitter, log: FastifyBaseLogger, options: DeliveryOptions = {}) {
    this.#orm = orm;
    this.#live = live;
    this.#log = log;
    this.#options = resolveDeliveryOptions(options);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#live.on('event', this.#onEvent);
    this.#poller = setInterval(() => this.poll(), this.#options.pollMs);
    this.#poller.unref();
    this.poll(); // deliveries left pending by the previous run
  }

  /** Stops taking work, aborts requests in flight (their deliveries stay pending, due now) and waits for writes. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#live.off('event', this.#onEvent);
    clearInterval(this.#poller);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#abort.abort();
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  /** Scans for due deliveries now (coalesced: a scan requested during a scan runs once more afterwards). */
  poll(): void {
    if (!this.#running) return;
    if (this.#polling) {
      this.#pollAgain = true;
      return;
    }
    this.#polling = true;
    this.#track(
      this.#scan()
        .catch((error: unknown) => this.#log.error({ err: error }, 'webhook queue scan failed'))
        .finally(() => {
          this.#polling = false;
          if (this.#pollAgain) {
            this.#pollAgain = false;
            this.poll();
          }
        }),
    );
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#jobs.add(promise);
    promise.finally(() => this.#jobs.delete(promise)).catch(() => {});
    return promise;
  }

  /** Webhook-worthy events published in the current tick, per project: one webhook lookup per batch, not per event. */
  readonly #queued = new Map<string, LiveEvent[]>();

  readonly #onEvent = (event: LiveEvent): void => {
    if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(event.type)) return;
    const queued = this.#queued.get(event.projectId);
    if (queued) return void queued.push(event);
    const events = [event];
    this.#queued.set(event.projectId, events);
    // Ingest publishes a batch's events synchronously: they are all queued when this runs.
    queueMicrotask(() => {
      this.#queued.delete(event.projectId);
      this.#track(this.#enqueue(event.projectId, events).catch((error: unknown) => this.#log.error({ err: error, eventIds: events.map((e) => e.id) }, 'webhook enqueue failed')));
    });
  };

  async #enqueue(projectId: string, events: LiveEvent[]): Promise<void> {
    // Every ingest batch asks: one plain query for the subscriptions, the entity manager only when there are some.
    const em = this.#orm.em.fork();
    const rows = await kysely(em).selectFrom('webhooks').select(['id', 'events']).where('project_id', '=', projectId).execute();
    if (rows.length === 0) return;
    const projectHooks = rows.map((row) => ({ id: row.id, events: subscribedTypes(row.events) }));
    const now = new Date();
    for (const event of events) {
      const hooks = projectHooks.filter((hook) => hook.events.includes(event.type));
      if (hooks.length === 0) continue;
      for (const hook of hooks) {
        em.create(WebhookDelivery, { id: randomUUID(), webhookId: hook.id, eventId: event.id, eventType: event.type, status: 'pending', attempts: 0, nextAttemptAt: now });
      }
      if (this.#events.size < MAX_CACHED_EVENTS) {
        const cached = this.#events.get(event.id);
        this.#events.set(event.id, { event, pending: (cached?.pending ?? 0) + hooks.length });
      }
    }
    await em.flush();
    this.poll();
  }

  async #scan(): Promise<void> {
    const room = this.#options.concurrency - this.#inFlight.size;
    if (room <= 0) return;
    const due = await this.#orm.em
      .fork()
      .find(WebhookDelivery, { status: 'pending', nextAttemptAt: { $lte: new Date() } }, { orderBy: { nextAttemptAt: 'asc' }, limit: room + this.#inFlight.size });
    for (const delivery of due) {
      if (this.#inFlight.has(delivery.id) || this.#inFlight.size >= this.#options.concurrency || !this.#running) continue;
      this.#inFlight.add(delivery.id);
      this.#track(
        this.#attempt(delivery.id, delivery.attempts)
          .catch((error: unknown) => this.#log.error({ err: error, deliveryId: delivery.id }, 'webhook delivery failed unexpectedly'))
          .finally(() => this.#inFlight.delete(delivery.id)),
      );
    }
  }

  async #attempt(id: string, seenAttempts: number): Promise<void> {
    const em = this.#orm.em.fork();
    const now = Date.now();
    // Claim with a lease: only one process wins the conditional update, and if this one dies mid-request the
    // delivery becomes due again once the lease runs out.
    const claimed = await em.nativeUpdate(
      WebhookDelivery,
      { id, status: 'pending', attempts: seenAttempts, nextAttemptAt: { $lte: new Date(now) } },
      { nextAttemptAt: new Date(now + this.#options.timeoutMs + 10_000) },
    );
    if (claimed === 0) return;
    const delivery = await em.findOneOrFail(WebhookDelivery, { id });
    const hook = await em.findOne(Webhook, { id: delivery.webhookId });
    if (!hook) return this.#finish(em, id, delivery.eventId, { status: 'failed', attempts: seenAttempts, lastError: 'the webhook was deleted', nextAttemptAt: null });
    const event = this.#events.get(delivery.eventId)?.event ?? (await this.#storedEvent(em, delivery.eventId));
    if (!event) return this.#finish(em, id, delivery.eventId, { status: 'failed', attempts: seenAttempts, lastError: 'the event is no longer stored', nextAttemptAt: null });

    const body = JSON.stringify({ id: event.id, type: event.type, time: event.time, projectId: event.projectId, agentId: event.agentId, payload: event.payload });
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'iron-cage-webhooks/1',
          [SIGNATURE_HEADER]: sign(hook.secret, body),
          [EVENT_ID_HEADER]: event.id,
        },
        body,
        // Redirects are not followed: the signed body would land somewhere the owner did not register.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#abort.signal]),
      });
      responseStatus = response.status;
      await response.body?.cancel().catch(() => {}); // the body is not used; free the connection
      if (response.status < 200 || response.status >= 300) error = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    } catch (caught) {
      if (this.#abort.signal.aborted) {
        // Shutting down: not the receiver's fault, so not an attempt. Due again at the next start.
        await em.nativeUpdate(WebhookDelivery, { id }, { nextAttemptAt: new Date() });
        return;
      }
      error = describeError(caught, this.#options.timeoutMs);
    }

    const attempts = seenAttempts + 1;
    if (error === null) {
      return this.#finish(em, id, delivery.eventId, { status: 'delivered', attempts, responseStatus, lastError: null, nextAttemptAt: null, deliveredAt: new Date() });
    }
    if (attempts >= this.#options.maxAttempts) {
      return this.#finish(em, id, delivery.eventId, { status: 'failed', attempts, responseStatus, lastError: error, nextAttemptAt: null });
    }
    const delay = this.#options.backoffMs * 2 ** (attempts - 1);
    await em.nativeUpdate(WebhookDelivery, { id }, { attempts, responseStatus, lastError: error, nextAttemptAt: new Date(Date.now() + delay) });
    // A timer for this retry, so it does not wait for the next poll; the poll still covers restarts.
    if (this.#running) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.poll();
      }, delay + 5);
      timer.unref();
      this.#timers.add(timer);
    }
  }

  async #finish(
    em: ReturnType<Orm['em']['fork']>,
    id: string,
    eventId: string,
    data: { status: 'delivered' | 'failed'; attempts: number; responseStatus?: number | null; lastError: string | null; nextAttemptAt: null; deliveredAt?: Date },
  ): Promise<void> {
    await em.nativeUpdate(WebhookDelivery, { id }, data);
    const cached = this.#events.get(eventId);
    if (cached && --cached.pending <= 0) this.#events.delete(eventId);
  }

  async #storedEvent(em: ReturnType<Orm['em']['fork']>, eventId: string): Promise<LiveEvent | null> {
    const row = await em.findOne(IngestedEvent, { id: eventId });
    if (!row) return null;
    return { id: row.id, projectId: row.projectId, agentId: row.agentId ?? null, type: row.type, time: row.time.toISOString(), payload: row.payload };
  }
}
