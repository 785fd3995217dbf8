// The webhook delivery worker: turns live events into queued deliveries, POSTs them signed, retries with exponential
// backoff. The database is the queue (see queue.ts): a delivery is `pending` until it is `delivered` or `failed`, so
// deliveries pending at shutdown (or after a crash) are picked up by the next start. One scheduler per server: a
// timer for the next due delivery (never one per attempt), claims in batches, fair across projects, with per-project
// caps on webhooks, queued deliveries and attempts per minute, so no member can take the server down with them.
import { envNumber } from '../env.ts';
import type { FastifyBaseLogger } from 'fastify';
import type { EventEmitter } from 'node:events';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { LiveEvent } from '../context.ts';
import type { Orm } from '../db.ts';
import { claimDue, enqueueDeliveries, eventsById, nextDue, recordOutcome, release, type Claimed } from './queue.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, sign } from './sign.ts';
import { allowPrivateTargets, deliveryDispatcher, refusedTarget } from './targets.ts';

/** The event types a webhook may subscribe to: the ones someone must act on, not the telemetry stream. */
export const WEBHOOK_EVENT_TYPES = ['BudgetWarning', 'PiiAlert', 'CircuitOpened'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface DeliveryOptions {
  /** First retry delay; doubles per attempt (1 s, 2 s, 4 s, 8 s by default). IRON_WEBHOOK_BACKOFF_MS. */
  backoffMs?: number;
  /** Attempts before a delivery is `failed`. Default 5. IRON_WEBHOOK_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** Longest wait between looks at the queue (other instances' work, leases that ran out). Default 1 s. IRON_WEBHOOK_POLL_MS. */
  pollMs?: number;
  /** Per-request timeout. Default 5 s. IRON_WEBHOOK_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
  /** Webhooks a project may have. Default 10. IRON_WEBHOOK_MAX_PER_PROJECT. */
  maxPerProject?: number;
  /** Pending deliveries a project may have queued; beyond, new ones are dropped with a warning. Default 10,000. IRON_WEBHOOK_MAX_QUEUED. */
  maxQueuedPerProject?: number;
  /** Attempts per minute per project (this server). Default 600. IRON_WEBHOOK_ATTEMPTS_PER_MINUTE. */
  attemptsPerMinute?: number;
  /** Private and plain-http targets allowed (self-hosted setups). Default off. IRON_WEBHOOK_ALLOW_PRIVATE=1. */
  allowPrivate?: boolean;
}

type Resolved = Required<DeliveryOptions>;

export function resolveDeliveryOptions(options: DeliveryOptions = {}): Resolved {
  return {
    backoffMs: options.backoffMs ?? envNumber('IRON_WEBHOOK_BACKOFF_MS') ?? 1000,
    maxAttempts: options.maxAttempts ?? envNumber('IRON_WEBHOOK_MAX_ATTEMPTS') ?? 5,
    pollMs: options.pollMs ?? envNumber('IRON_WEBHOOK_POLL_MS') ?? 1000,
    timeoutMs: options.timeoutMs ?? envNumber('IRON_WEBHOOK_TIMEOUT_MS') ?? 5000,
    concurrency: options.concurrency ?? 16,
    maxPerProject: options.maxPerProject ?? envNumber('IRON_WEBHOOK_MAX_PER_PROJECT') ?? 10,
    maxQueuedPerProject: options.maxQueuedPerProject ?? envNumber('IRON_WEBHOOK_MAX_QUEUED') ?? 10_000,
    attemptsPerMinute: options.attemptsPerMinute ?? envNumber('IRON_WEBHOOK_ATTEMPTS_PER_MINUTE') ?? 600,
    allowPrivate: options.allowPrivate ?? allowPrivateTargets(),
  };
}

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || (error as { code?: string }).code === 'UND_ERR_ABORTED') return `timed out after ${timeoutMs} ms`;
    const own = (error as { code?: string }).code;
    if (own === 'IRON_PRIVATE_ADDRESS') return error.message;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause && (cause as { code?: string }).code === 'IRON_PRIVATE_ADDRESS') return String(cause.message);
    const detail = own ?? cause?.code ?? cause?.message;
    return (detail && !error.message.includes(detail) ? `${error.message}: ${detail}` : error.message).slice(0, 500);
  }
  return String(error).slice(0, 500);
}

/** Request slots one project can never take: kept for the others' deliveries. */
const RESERVED_SLOTS = 4;

/** Requests that finish within this long of each other share one look at the queue. */
const SLOT_BATCH_MS = 20;

/** Events kept in memory for their deliveries; older ones are read back from the events table. */
const MAX_CACHED_EVENTS = 10_000;

/** Attempts per project in the last minute (this process), to spread a busy project's retries over time. */
class AttemptBudget {
  readonly #perMinute: number;
  readonly #recent = new Map<string, number[]>();
  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }
  left(projectId: string, now = Date.now()): number {
    const times = this.#recent.get(projectId);
    if (!times) return this.#perMinute;
    while (times.length > 0 && times[0]! <= now - 60_000) times.shift();
    if (times.length === 0) this.#recent.delete(projectId);
    return this.#perMinute - times.length;
  }
  /** When the first project out of attempts gets one back (ms), if any is out. */
  nextRefill(): number | undefined {
    let earliest: number | undefined;
    for (const times of this.#recent.values()) {
      if (times.length >= this.#perMinute) earliest = Math.min(earliest ?? Infinity, times[0]! + 60_000);
    }
    return earliest;
  }
  spend(projectId: string, now = Date.now()): void {
    const times = this.#recent.get(projectId) ?? [];
    times.push(now);
    this.#recent.set(projectId, times);
  }
}

export class WebhookWorker {
  readonly #orm: Orm;
  readonly #live: EventEmitter;
  readonly #log: FastifyBaseLogger;
  readonly #options: Resolved;
  readonly #dispatcher: Dispatcher;
  readonly #abort = new AbortController();
  readonly #budget: AttemptBudget;
  /** Every async job this worker started, so stop() can wait for them before the database closes. */
  readonly #jobs = new Set<Promise<unknown>>();
  #inFlight = 0;
  /** Requests in flight per project: claims give the next free slot to the project with the fewest. */
  readonly #inFlightByProject = new Map<string, number>();
  /** And per webhook: inside a project, the next free slot goes to its webhook with the fewest. */
  readonly #inFlightByWebhook = new Map<string, number>();
  /** The one timer: the next look at the queue. */
  #timer: NodeJS.Timeout | undefined;
  #scanning = false;
  #scanAgain = false;
  #pollSoon = false;
  #slotTimer: NodeJS.Timeout | undefined;
  #running = false;
  /** Recently queued events, so an attempt need not read them back; bounded (oldest out), the database has them all. */
  readonly #recentEvents = new Map<string, LiveEvent>();
  /** Projects told (in the log) that their queue is full, and when: once a minute at most. */
  readonly #warnedFull = new Map<string, number>();

  /** The stored (sealed) signing secret back in clear. */
  readonly #openSecret: (stored: string) => string;

  constructor(orm: Orm, live: EventEmitter, log: FastifyBaseLogger, options: DeliveryOptions = {}, openSecret: (stored: string) => string = (stored) => stored) {
    this.#openSecret = openSecret;
    this.#orm = orm;
    this.#live = live;
    this.#log = log;
    this.#options = resolveDeliveryOptions(options);
    this.#budget = new AttemptBudget(this.#options.attemptsPerMinute);
    this.#dispatcher = deliveryDispatcher(this.#options.allowPrivate);
  }

  get options(): Readonly<Resolved> {
    return this.#options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#live.on('event', this.#onEvent);
    this.poll(); // deliveries left pending by the previous run
  }

  /** Stops taking work, aborts requests in flight (their deliveries stay pending, due now) and waits for writes. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#live.off('event', this.#onEvent);
    clearTimeout(this.#timer);
    clearTimeout(this.#slotTimer);
    this.#abort.abort();
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
    await this.#dispatcher.close().catch(() => undefined);
  }

  /**
   * Asks for a look at the queue: on the next turn of the event loop (requests and I/O go first), coalesced, and
   * never two at once (one asked for during a look runs once more afterwards).
   */
  poll(): void {
    if (!this.#running || this.#pollSoon) return;
    this.#pollSoon = true;
    setImmediate(() => {
      this.#pollSoon = false;
      this.#look();
    });
  }

  #look(): void {
    if (!this.#running) return;
    if (this.#scanning) {
      this.#scanAgain = true;
      return;
    }
    this.#scanning = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#track(
      this.#scan()
        .catch((error: unknown) => {
          this.#log.error({ err: error }, 'webhook queue scan failed');
          return false;
        })
        .then((budgetBound) => this.#schedule(budgetBound))
        .finally(() => {
          this.#scanning = false;
          if (this.#scanAgain) {
            this.#scanAgain = false;
            this.poll();
          }
        }),
    );
  }

  /** A request finished: look again shortly, once for all that finish meanwhile (a backlog drains in batches). */
  #slotFreed(): void {
    if (!this.#running || this.#slotTimer) return;
    this.#slotTimer = setTimeout(() => {
      this.#slotTimer = undefined;
      this.poll();
    }, SLOT_BATCH_MS);
    this.#slotTimer.unref();
  }

  /**
   * The next look: when the next delivery falls due, at most pollMs from now. When due deliveries were left because
   * their projects used up their attempts for the minute, not before the first of those comes back.
   */
  async #schedule(budgetBound: boolean): Promise<void> {
    if (!this.#running) return;
    const now = Date.now();
    let wait = this.#options.pollMs;
    try {
      const due = await nextDue(this.#orm.em.fork());
      if (due !== null) wait = Math.min(wait, Math.max(5, due - now + 5));
    } catch (error) {
      this.#log.error({ err: error }, 'webhook queue: reading the next due time failed');
    }
    const refill = budgetBound ? this.#budget.nextRefill() : undefined;
    if (refill !== undefined) wait = Math.max(wait, Math.min(this.#options.pollMs, refill - now + 5));
    if (!this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.poll(), wait);
    this.#timer.unref();
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

  /** Each project's enqueues run one after another: two batches counting the queue at once would both fit under the cap. */
  readonly #enqueues = new Map<string, Promise<unknown>>();
  /** Deliveries dropped per project since its last warning (said once a minute at most, with the running count). */
  readonly #droppedSinceWarning = new Map<string, number>();

  #enqueue(projectId: string, events: LiveEvent[]): Promise<void> {
    const previous = this.#enqueues.get(projectId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#enqueueNow(projectId, events));
    this.#enqueues.set(projectId, next);
    void next.finally(() => {
      if (this.#enqueues.get(projectId) === next) this.#enqueues.delete(projectId);
    }).catch(() => undefined);
    return next;
  }

  async #enqueueNow(projectId: string, events: LiveEvent[]): Promise<void> {
    const { queued, dropped } = await enqueueDeliveries(this.#orm.em.fork(), projectId, events, this.#options.maxQueuedPerProject);
    if (queued > 0) {
      for (const event of events) {
        if (this.#recentEvents.size >= MAX_CACHED_EVENTS) this.#recentEvents.delete(this.#recentEvents.keys().next().value!);
        this.#recentEvents.set(event.id, event);
      }
    }
    if (dropped > 0) {
      const total = (this.#droppedSinceWarning.get(projectId) ?? 0) + dropped;
      const last = this.#warnedFull.get(projectId) ?? 0;
      if (Date.now() - last > 60_000) {
        this.#warnedFull.set(projectId, Date.now());
        this.#droppedSinceWarning.delete(projectId);
        this.#log.warn({ projectId, dropped: total }, `webhook queue of project ${projectId} is full (its webhooks share ${this.#options.maxQueuedPerProject} pending deliveries, IRON_WEBHOOK_MAX_QUEUED, each up to its share): ${total} deliveries dropped${last ? ' since the last warning' : ''}`);
      } else this.#droppedSinceWarning.set(projectId, total);
    }
    if (queued > 0) this.poll();
  }

  /** Claims and starts what is due; true when due deliveries were left because their projects ran out of attempts. */
  async #scan(): Promise<boolean> {
    const room = this.#options.concurrency - this.#inFlight;
    if (room <= 0 || !this.#running) return false;
    const em = this.#orm.em.fork();
    let budgetBound = false;
    const claimed = await claimDue(em, {
      limit: room,
      perProject: (projectId) => {
        const left = this.#budget.left(projectId);
        if (left <= 0) budgetBound = true;
        // No project holds every slot: with receivers that never answer, another project's alert would wait a
        // whole timeout for one to free.
        const share = Math.max(1, this.#options.concurrency - RESERVED_SLOTS) - (this.#inFlightByProject.get(projectId) ?? 0);
        return Math.max(0, Math.min(room, left, share));
      },
      leaseUntil: Date.now() + this.#options.timeoutMs + 10_000,
      inFlight: (projectId) => this.#inFlightByProject.get(projectId) ?? 0,
      inFlightOfWebhook: (webhookId) => this.#inFlightByWebhook.get(webhookId) ?? 0,
    });
    if (claimed.length === 0) return budgetBound;
    const events = await eventsById(em, claimed.map((delivery) => delivery.eventId).filter((id) => !this.#recentEvents.has(id)));
    for (const delivery of claimed) {
      const recent = this.#recentEvents.get(delivery.eventId);
      if (recent) events.set(delivery.eventId, recent);
    }
    for (const delivery of claimed) {
      this.#budget.spend(delivery.projectId);
      this.#inFlight++;
      count(this.#inFlightByProject, delivery.projectId, 1);
      count(this.#inFlightByWebhook, delivery.webhookId, 1);
      this.#track(
        this.#attempt(delivery, events.get(delivery.eventId))
          .catch((error: unknown) => this.#log.error({ err: error, deliveryId: delivery.id }, 'webhook delivery failed unexpectedly'))
          .finally(() => {
            this.#inFlight--;
            count(this.#inFlightByProject, delivery.projectId, -1);
            count(this.#inFlightByWebhook, delivery.webhookId, -1);
            this.#slotFreed();
          }),
      );
    }
    return budgetBound;
  }

  async #attempt(delivery: Claimed, event: LiveEvent | undefined): Promise<void> {
    const em = this.#orm.em.fork();
    const attempts = delivery.attempts + 1;
    if (!event) return recordOutcome(em, delivery.id, { status: 'failed', attempts: delivery.attempts, responseStatus: null, lastError: 'the event is no longer stored' });
    const refused = refusedTarget(delivery.url, this.#options.allowPrivate);
    if (refused) return recordOutcome(em, delivery.id, { status: 'failed', attempts, responseStatus: null, lastError: refused });

    const body = JSON.stringify({ id: event.id, type: event.type, time: event.time, projectId: event.projectId, agentId: event.agentId, payload: event.payload });
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      const response = await request(delivery.url, {
        method: 'POST',
        dispatcher: this.#dispatcher,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'iron-cage-webhooks/1',
          [SIGNATURE_HEADER]: sign(this.#openSecret(delivery.secret), body),
          [EVENT_ID_HEADER]: event.id,
        },
        body,
        // Redirects are not followed (undici's request never does): the signed body would land somewhere the owner
        // did not register, and a redirect could point inside the network.
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#abort.signal]),
      });
      responseStatus = response.statusCode;
      await response.body.dump().catch(() => undefined); // the body is not used; free the connection
      if (responseStatus < 200 || responseStatus >= 300) error = `HTTP ${responseStatus}`;
    } catch (caught) {
      if (this.#abort.signal.aborted) {
        // Shutting down: not the receiver's fault, so not an attempt. Due again at the next start.
        await release(em, delivery.id);
        return;
      }
      error = describeError(caught, this.#options.timeoutMs);
    }
    if (error === null) return recordOutcome(em, delivery.id, { status: 'delivered', attempts, responseStatus: responseStatus! });
    // A private address found at connect time will not become public by waiting.
    if (attempts >= this.#options.maxAttempts || error.startsWith('refused: ')) return recordOutcome(em, delivery.id, { status: 'failed', attempts, responseStatus, lastError: error });
    const delay = this.#options.backoffMs * 2 ** (attempts - 1);
    await recordOutcome(em, delivery.id, { status: 'pending', attempts, responseStatus, lastError: error, nextAttemptAt: Date.now() + delay });
  }
}

/** Adds `by` to `key`'s count, dropping keys that reach 0 (the maps hold only what is in flight). */
function count(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
