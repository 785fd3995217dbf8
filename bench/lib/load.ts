// A small HTTP load generator on loopback: N connections, bounded request count, first-byte and total latency.
// Closed loop (each connection sends as soon as its last answer arrived: measures saturation) or paced
// (requests start on a fixed schedule: measures latency at a given load, the way gateways are usually compared).
import type { EventEmitter } from 'node:events';
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  requests: number;
  /** Stop early after this long, whatever the count (bounded runs). */
  maxMs?: number;
  /** Paced mode: start requests at this many per second in total (spread over the connections). */
  ratePerSec?: number;
}

export interface LoadResult {
  firstByteMs: number[];
  totalMs: number[];
  errors: number;
  non2xx: number;
  elapsedMs: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const result: LoadResult = { firstByteMs: [], totalMs: [], errors: 0, non2xx: 0, elapsedMs: 0 };
  const body = Buffer.from(options.body);
  const headers = { ...options.headers, 'content-type': 'application/json', 'content-length': String(body.length) };
  const deadline = performance.now() + (options.maxMs ?? 60_000);
  let issued = 0;
  const started = performance.now();

  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      let first = 0;
      const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers }, (res) => {
        if ((res.statusCode ?? 0) >= 300) result.non2xx += 1;
        res.on('data', () => {
          if (first === 0) first = performance.now();
        });
        res.on('end', () => {
          const end = performance.now();
          result.firstByteMs.push((first || end) - t0);
          result.totalMs.push(end - t0);
          resolve();
        });
        res.on('error', () => {
          result.errors += 1;
          resolve();
        });
      });
      req.on('error', () => {
        result.errors += 1;
        resolve();
      });
      req.end(body);
    });

  const worker = async () => {
    while (issued < options.requests && performance.now() < deadline) {
      const index = issued++;
      if (options.ratePerSec) {
        const due = started + (index * 1000) / options.ratePerSec;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await one();
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  result.elapsedMs = performance.now() - started;
  agent.destroy();
  return result;
}

export interface CannonOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  /** How long to send, back to back on every connection. */
  durationMs: number;
}

/**
 * The same measurement with autocannon (closed loop, one request in flight per connection). Its own latency
 * histogram has whole-millisecond buckets, too coarse for sub-millisecond overheads, so every answer's first-byte
 * and last-byte times are taken here from the client's events.
 */
export async function runAutocannon(options: CannonOptions): Promise<LoadResult> {
  const result: LoadResult = { firstByteMs: [], totalMs: [], errors: 0, non2xx: 0, elapsedMs: 0 };
  let firstSent = Number.POSITIVE_INFINITY;
  let lastEnd = 0;
  let bodies = 0;
  const setupClient = (client: EventEmitter) => {
    let sent = 0;
    let first = 0;
    client.on('request', () => {
      sent = performance.now();
      if (sent < firstSent) firstSent = sent;
      first = 0;
    });
    client.on('body', () => {
      if (first === 0) first = performance.now();
    });
    client.on('response', (status: number) => {
      const end = performance.now();
      lastEnd = end;
      if (status < 200 || status >= 300) return;
      result.firstByteMs.push((first || end) - sent);
      result.totalMs.push(end - sent);
    });
  };
  const summary = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { ...options.headers, 'content-type': 'application/json' },
    body: options.body,
    // `[<id>]` in the body becomes a new number on every request (see gatewayRequestBody). (Not autocannon's own
    // idReplacement: its ids vary in length and it announces a fixed one, so a server waits for bytes that never come.)
    ...(options.body.includes('[<id>]') ? { requests: [{ setupRequest: (request: { body?: string }) => ({ ...request, body: options.body.replace('[<id>]', String(++bodies)) }) }] } : {}),
    connections: options.connections,
    duration: options.durationMs / 1000,
    // It stops at its next sample after the duration: sample often, so a short run is as short as asked.
    sampleInt: 50,
    timeout: 10,
    setupClient,
  });
  // Throughput over the time requests were really in flight (not connection set-up and tear-down).
  result.elapsedMs = Math.max(0, lastEnd - firstSent);
  result.errors = summary.errors + summary.timeouts;
  result.non2xx = summary.non2xx;
  return result;
}

/**
 * The chat request every gateway comparison sends (`npm run bench`'s side by side and the profiling tools alike, so a
 * profile reads the load the bench measured): a prompt of ~400 characters with one email address in it, new on every
 * request (autocannon puts a fresh id where `[<id>]` is): the safety plugin remembers what it scanned, and a prompt
 * sent again would be read from that memory, as a conversation's history is.
 */
export function gatewayRequestBody(stream: boolean): string {
  return JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 200, messages: [{ role: 'user', content: `request [<id>]: ${'benchmark prompt of a typical size for jane.doe@example.org '.repeat(6)}` }], stream });
}
