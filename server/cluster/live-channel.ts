// Live events across server instances. `app.live` carries the events this instance stored (the webhook worker
// queues deliveries from it: once, where the event was ingested); `app.fanout` carries what WebSocket clients see —
// this instance's events at once, and every other instance's through a channel they all listen on: PostgreSQL
// LISTEN/NOTIFY (no new moving part), or Redis pub/sub when IRON_REDIS_URL is set. A single SQLite server needs none.
//
// Events stored in the same turn of the event loop go out as one notification (split to stay under PostgreSQL's
// 8,000-byte payload limit); an event too big for one is announced by id and read back from the events table by the
// instances that receive it. Notifications from one connection arrive in the order sent, and this instance sends
// one batch at a time, so each instance's events reach every other in the order it stored them. A listener
// connection that drops reconnects (backoff up to 5 s) and tells the WebSocket clients that events may be missing
// (`app.fanout` 'dropped'), so the dashboard refetches instead of trusting a gappy stream.
import { createHash, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { LiveEvent } from '../context.ts';
import type { Orm } from '../db.ts';
import { eventsById } from '../webhooks/queue.ts';

export type ChannelKind = 'local' | 'postgres' | 'redis';

export interface LiveChannel {
  readonly kind: ChannelKind;
  /** Whether other instances' events can reach this one now (always true for `local`). */
  readonly connected: boolean;
  /** Asks the channel's connections to answer within `timeoutMs`: a paused Redis keeps its socket open, so `connected` alone cannot tell. */
  answers(timeoutMs: number): Promise<boolean>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** PostgreSQL's NOTIFY payload limit is 8,000 bytes; keep a margin for the envelope. */
const MAX_PAYLOAD_BYTES = 7_600;
const RECONNECT_MAX_MS = 5_000;

/** One notification: the sender, and events inline or by id. */
interface Message {
  from: string;
  events?: LiveEvent[];
  ids?: string[];
}

/** Splits `events` into messages that each fit one notification. */
export function messagesFor(from: string, events: LiveEvent[]): string[] {
  const out: string[] = [];
  let batch: string[] = [];
  let ids: string[] = [];
  const envelope = Buffer.byteLength(JSON.stringify({ from, events: [] }));
  let size = envelope;
  const flush = () => {
    if (batch.length > 0) out.push(`{"from":${JSON.stringify(from)},"events":[${batch.join(',')}]}`);
    batch = [];
    size = envelope;
  };
  for (const event of events) {
    const json = JSON.stringify(event);
    const bytes = Buffer.byteLength(json) + 1;
    if (envelope + bytes > MAX_PAYLOAD_BYTES) {
      // Too big for any notification: by id (ids are short; the receiver reads the event back).
      flush();
      ids.push(event.id);
      continue;
    }
    if (ids.length > 0) {
      out.push(JSON.stringify({ from, ids }));
      ids = [];
    }
    if (size + bytes > MAX_PAYLOAD_BYTES) flush();
    batch.push(json);
    size += bytes;
  }
  flush();
  if (ids.length > 0) out.push(JSON.stringify({ from, ids }));
  return out;
}

interface Transport {
  kind: ChannelKind;
  connect(onMessage: (payload: string) => void, onLost: (error: unknown) => void): Promise<void>;
  publish(payload: string): Promise<void>;
  /** A round trip on the listening connection (and the publishing one, where it is open). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The channel name: one per database schema, so test schemas (and tenants) sharing a database stay apart. */
function channelName(schema: string | undefined): string {
  return schema ? `iron_live_${schema}` : 'iron_live';
}

async function postgresTransport(url: string): Promise<Transport> {
  const { default: pg } = await import('pg');
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  const channel = channelName(schema);
  let listener: InstanceType<typeof pg.Client> | undefined;
  let publisher: InstanceType<typeof pg.Client> | undefined;
  return {
    kind: 'postgres',
    async connect(onMessage, onLost) {
      const client = new pg.Client({ connectionString: parsed.toString(), connectionTimeoutMillis: 5_000, keepAlive: true });
      client.on('notification', (message) => {
        if (message.channel === channel && message.payload) onMessage(message.payload);
      });
      client.on('error', onLost);
      client.on('end', () => onLost(new Error('the listener connection ended')));
      await client.connect();
      await client.query(`listen ${channel}`);
      listener = client;
    },
    async publish(payload) {
      // Its own connection: one session sends every batch, so they arrive in the order sent.
      if (!publisher) {
        const client = new pg.Client({ connectionString: parsed.toString(), connectionTimeoutMillis: 5_000, keepAlive: true });
        client.on('error', () => {
          if (publisher === client) publisher = undefined;
        });
        await client.connect();
        publisher = client;
      }
      try {
        await publisher.query('select pg_notify($1, $2)', [channel, payload]);
      } catch (error) {
        await publisher.end().catch(() => undefined);
        publisher = undefined;
        throw error;
      }
    },
    async ping() {
      if (!listener) throw new Error('the listener is not connected');
      // LISTEN again is a no-op round trip that also proves the subscription is there.
      await listener.query(`listen ${channel}`);
    },
    async close() {
      const clients = [listener, publisher];
      listener = publisher = undefined;
      for (const client of clients) {
        client?.removeAllListeners('end');
        client?.removeAllListeners('error');
        client?.on('error', () => undefined);
        await client?.end().catch(() => undefined);
      }
    },
  };
}

/** A short name for the database the instances share: deployments (or tests) sharing one Redis stay apart. */
export function databaseTag(db: string): string {
  const parsed = /^postgres(ql)?:\/\//.test(db) ? new URL(db) : undefined;
  const identity = parsed ? `${parsed.hostname}:${parsed.port}${parsed.pathname}?${parsed.searchParams.get('schema') ?? ''}` : db;
  return createHash('sha256').update(identity).digest('hex').slice(0, 12);
}

async function redisTransport(url: string, db: string): Promise<Transport> {
  const { Redis } = await import('ioredis');
  const channel = `iron_live_${databaseTag(db)}`;
  let subscriber: InstanceType<typeof Redis> | undefined;
  let publisher: InstanceType<typeof Redis> | undefined;
  return {
    kind: 'redis',
    async connect(onMessage, onLost) {
      // ioredis reconnects by itself; a connection lost and back may have missed messages.
      subscriber = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
      publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      subscriber.on('message', (from, payload: string) => {
        if (from === channel) onMessage(payload);
      });
      let ready = false;
      subscriber.on('ready', () => {
        if (ready) onLost(new Error('the Redis subscriber reconnected'));
        ready = true;
      });
      subscriber.on('error', () => undefined);
      publisher.on('error', () => undefined);
      await subscriber.connect();
      await publisher.connect();
      await subscriber.subscribe(channel);
    },
    async publish(payload) {
      await publisher!.publish(channel, payload);
    },
    async ping() {
      if (!subscriber || !publisher) throw new Error('not connected');
      await Promise.all([subscriber.ping(), publisher.ping()]);
    },
    async close() {
      subscriber?.disconnect();
      publisher?.disconnect();
    },
  };
}

/**
 * The channel for this server: Redis when `redisUrl` is set, PostgreSQL LISTEN/NOTIFY for a postgres:// database,
 * else local only (one SQLite server: `app.live` is all there is).
 */
export async function createLiveChannel(options: { orm: Orm; live: EventEmitter; fanout: EventEmitter; db: string; redisUrl?: string; log: FastifyBaseLogger }): Promise<LiveChannel> {
  const { orm, live, fanout, log } = options;
  const postgres = /^postgres(ql)?:\/\//.test(options.db);
  const relay = (event: LiveEvent) => fanout.emit('event', event);
  if (!options.redisUrl && !postgres) {
    return {
      kind: 'local',
      connected: true,
      async answers() {
        return true;
      },
      async start() {
        live.on('event', relay);
      },
      async stop() {
        live.off('event', relay);
      },
    };
  }
  const transport = options.redisUrl ? await redisTransport(options.redisUrl, options.db) : await postgresTransport(options.db);
  const self = randomUUID();
  let connected = false;
  let stopped = false;
  let pending: LiveEvent[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let reconnectMs = 250;
  let reconnectTimer: NodeJS.Timeout | undefined;
  /** Received messages are handled one at a time, in order (an id message waits for its read). */
  let receiving: Promise<void> = Promise.resolve();

  const receive = (payload: string): void => {
    let message: Message;
    try {
      message = JSON.parse(payload) as Message;
    } catch {
      return;
    }
    if (message.from === self) return;
    receiving = receiving.then(async () => {
      if (message.events) for (const event of message.events) fanout.emit('event', event);
      if (message.ids?.length) {
        const found = await eventsById(orm.em.fork(), message.ids).catch((error: unknown) => {
          log.warn({ err: error }, 'live channel: could not read announced events');
          return new Map<string, LiveEvent>();
        });
        for (const id of message.ids) {
          const event = found.get(id);
          if (event) fanout.emit('event', event);
        }
      }
    });
  };

  const lost = (error: unknown): void => {
    if (stopped || !connected) return;
    connected = false;
    log.warn({ err: error, channel: transport.kind }, 'live channel lost: reconnecting; WebSocket clients are told events may be missing');
    scheduleReconnect();
  };

  const connect = async (): Promise<void> => {
    await transport.close();
    await transport.connect(receive, lost);
    connected = true;
    reconnectMs = 250;
  };

  const scheduleReconnect = (): void => {
    if (stopped || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connect().then(
        () => {
          log.info({ channel: transport.kind }, 'live channel reconnected');
          // The gap: whatever was published while it was down.
          fanout.emit('dropped', 'the live event channel between server instances reconnected: events from other instances may be missing');
        },
        (error: unknown) => {
          log.warn({ err: error, retryInMs: reconnectMs }, 'live channel: reconnect failed');
          reconnectMs = Math.min(RECONNECT_MAX_MS, reconnectMs * 2);
          scheduleReconnect();
        },
      );
    }, reconnectMs);
    reconnectTimer.unref();
  };

  const flush = (): void => {
    const events = pending;
    pending = [];
    flushing = flushing.then(async () => {
      for (const payload of messagesFor(self, events)) {
        try {
          await transport.publish(payload);
        } catch (error) {
          // This instance's own clients have them; the others are told through their own reconnect, or miss them.
          log.warn({ err: error, events: events.length }, 'live channel: could not publish events to the other instances');
          return;
        }
      }
    });
  };

  const onStored = (event: LiveEvent): void => {
    relay(event);
    if (pending.length === 0) setImmediate(flush);
    pending.push(event);
  };

  return {
    kind: transport.kind,
    get connected() {
      return connected;
    },
    async answers(timeoutMs) {
      if (!connected) return false;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      try {
        return await Promise.race([transport.ping().then(() => true, () => false), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async start() {
      live.on('event', onStored);
      try {
        await connect();
      } catch (error) {
        // Start anyway: this instance serves its own events; the channel comes when the database or Redis answers.
        log.warn({ err: error, channel: transport.kind }, 'live channel: not connected yet; retrying');
        scheduleReconnect();
      }
    },
    async stop() {
      stopped = true;
      live.off('event', onStored);
      clearTimeout(reconnectTimer);
      if (pending.length > 0) flush();
      await flushing;
      await receiving;
      await transport.close();
    },
  };
}
