// Sends the outbox to the server in batches: acknowledged events are removed; while the server is away it retries
// with backoff; a refused token stops sync with an error that says so.
import type { Logger } from 'pino';
import { request } from 'undici';
import type { Outbox } from './outbox.ts';

export interface SyncClientOptions {
  server: string;
  token: string;
  batchSize: number;
  flushIntervalMs: number;
}

const MAX_BACKOFF_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

export class SyncClient {
  readonly #outbox: Outbox;
  readonly #options: SyncClientOptions;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #backoffMs = 0;
  #closed = false;
  /** Asked to send at once (a stopped agent) while a send was in flight: the drain goes on with a partial batch. */
  #sendNow = false;
  /** Aborts a send still in flight when the runtime closes: a server that never answers must not hold it open. */
  readonly #stopping = new AbortController();
  sent = 0;
  /** Set when the server refused the token: nothing more is sent. */
  stopped: string | undefined;
  lastError: string | undefined;

  constructor(outbox: Outbox, options: SyncClientOptions, logger: Logger) {
    this.#outbox = outbox;
    this.#options = options;
    this.#logger = logger;
  }

  /** Something was appended: send now if a batch is full, else within flushIntervalMs. */
  kick(now = false): void {
    if (this.#sending) this.#sendNow ||= now;
    if (this.#closed || this.stopped || this.#sending) return;
    if (now || this.#outbox.size >= this.#options.batchSize) {
      this.#clearTimer();
      this.#sending = this.#drain().finally(() => {
        this.#sending = undefined;
        if (this.#outbox.size > 0 && !this.stopped && !this.#closed) this.#schedule(this.#backoffMs || this.#options.flushIntervalMs);
      });
    } else if (!this.#timer) this.#schedule(this.#options.flushIntervalMs);
  }

  #schedule(ms: number): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.kick(true);
    }, ms);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Sends a batch, then more while full ones wait, until a send fails. What is left, a partial batch, waits for
   * flushIntervalMs (kick's `finally`): sending whatever came during the last send made batches of ~30 events under
   * load, each one more request and transaction for the server, whose CPU a small host shares with the runtime.
   */
  async #drain(): Promise<void> {
    do {
      this.#sendNow = false;
      const batch = this.#outbox.peekBatch(this.#options.batchSize);
      if (!batch) return;
      const ok = await this.#send(batch.items, batch.events, batch.lastSeq);
      if (!ok) return;
    } while (!this.stopped && this.#outbox.size > 0 && (this.#outbox.size >= this.#options.batchSize || this.#sendNow));
  }

  /** Sends `count` events, `items` being their JSON joined by commas (Outbox.peekBatch). */
  async #send(items: string, count: number, lastSeq: number): Promise<boolean> {
    let status: number;
    let text: string;
    try {
      // undici's request, not fetch: at thousands of events a second the WHATWG layers cost more than the send.
      const response = await request(`${this.#options.server}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#options.token}` },
        body: `{"events":[${items}]}`,
        signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), this.#stopping.signal]),
      });
      status = response.statusCode;
      text = await response.body.text().catch(() => '');
    } catch (error) {
      return this.#retryLater(`the server at ${this.#options.server} cannot be reached: ${(error as Error).message}`);
    }
    if (status >= 200 && status < 300) {
      this.#outbox.ack(lastSeq);
      this.#backoffMs = 0;
      this.lastError = undefined;
      // Events the server could not store (a value out of range) are said loudly, once; the rest of the batch is in.
      const rejected = rejectedOf(text);
      this.sent += count - rejected.length;
      if (rejected.length > 0) {
        this.lastError = `the server rejected ${rejected.length} of ${count} events: ${rejected.slice(0, 3).map((r) => r.message).join('; ')}`;
        this.#logger.error(`${this.lastError}; they were removed from the outbox`);
      }
      return true;
    }
    if (status === 401 || status === 403) {
      this.stopped = `sync stopped: the server refused the API token (${status}; revoked, expired or not an API token). ${this.#outbox.size} events stay in the outbox and are sent once a valid token is configured (sync.token or IRON_TOKEN)`;
      this.#logger.error(this.stopped);
      return false;
    }
    if (status === 400 || status === 413) {
      // The server will never take this batch: keeping it would block everything behind it. Say it loudly.
      this.#outbox.ack(lastSeq);
      this.lastError = `the server rejected ${count} events (${status}): ${text.slice(0, 300)}`;
      this.#logger.error(`${this.lastError}; they were removed from the outbox`);
      return true;
    }
    return this.#retryLater(`the server answered ${status}: ${text.slice(0, 200)}`);
  }

  #retryLater(reason: string): false {
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(250, this.#backoffMs * 2)) * (0.5 + Math.random() / 2);
    if (this.lastError !== reason) this.#logger.warn(`${reason}; ${this.#outbox.size} events wait in the outbox, retrying`);
    this.lastError = reason;
    return false;
  }

  /** Sends what is left, for at most `timeoutMs`; resolves with the number of events still waiting. */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#outbox.size > 0 && !this.stopped && Date.now() < deadline) {
      if (this.#sending) await within(this.#sending, deadline - Date.now());
      else {
        this.#clearTimer();
        const before = this.#outbox.size;
        this.#sending = this.#drain().finally(() => (this.#sending = undefined));
        await within(this.#sending, deadline - Date.now());
        // Nothing went out (the server is away): pause a little before the next try, within the deadline.
        if (this.#outbox.size === before) await within(new Promise(() => undefined), Math.min(200, deadline - Date.now()));
      }
    }
    return this.#outbox.size;
  }

  close(): void {
    this.#closed = true;
    this.#clearTimer();
    this.#stopping.abort();
  }
}

/** The `rejected` list of an ingest answer (empty for an older server that has none). */
function rejectedOf(text: string): Array<{ index: number; message: string }> {
  try {
    const body = JSON.parse(text) as { rejected?: unknown };
    return Array.isArray(body.rejected) ? (body.rejected as Array<{ index: number; message: string }>) : [];
  } catch {
    return [];
  }
}

/** Waits for `promise`, at most `ms`; the timer is cleared either way, so it never holds the process open. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
