// The client sends the outbox in full batches: a partial batch waits for flushIntervalMs, unless a send is asked for
// at once (a stopped agent) — also while another send is in flight.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncClient } from './client.ts';
import { Outbox } from './outbox.ts';

/** A stand-in for the server's ingest route: records each request's event count, answers after `delayMs`. */
async function ingest(delayMs = 0): Promise<{ server: Server; url: string; batches: number[]; answered: () => Promise<void> }> {
  const batches: number[] = [];
  let waiters: Array<() => void> = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => {
      setTimeout(() => {
        batches.push((JSON.parse(body) as { events: unknown[] }).events.length);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":0,"duplicates":0}');
        for (const wake of waiters) wake();
        waiters = [];
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const answered = () => new Promise<void>((resolve) => waiters.push(resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, batches, answered };
}

const append = (outbox: Outbox, from: number, n: number) => {
  for (let i = from; i < from + n; i++) outbox.append(`e${i}`, `{"id":"e${i}"}`);
};

let close: Array<() => void> = [];
afterEach(() => {
  for (const done of close) done();
  close = [];
});

describe('SyncClient batches', () => {
  it('sends the full batches that wait and leaves a partial one for flushIntervalMs', async () => {
    const { server, url, batches } = await ingest();
    const outbox = new Outbox(':memory:', 1000, 'x', 10);
    const client = new SyncClient(outbox, { server: url, token: 'iron_pat_x', batchSize: 10, flushIntervalMs: 60_000 }, pino({ level: 'silent' }));
    close.push(() => (client.close(), outbox.close(), server.close()));
    append(outbox, 0, 25);
    client.kick();
    await expect.poll(() => batches).toEqual([10, 10]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The 5 left wait for the interval (a minute here), not the end of the last send.
    expect(batches).toEqual([10, 10]);
    expect(outbox.size).toBe(5);
    client.kick(true);
    await expect.poll(() => batches).toEqual([10, 10, 5]);
    expect(outbox.size).toBe(0);
  });

  it('sends a partial batch right after the send in flight when asked to send at once meanwhile', async () => {
    const { server, url, batches, answered } = await ingest(100);
    const outbox = new Outbox(':memory:', 1000, 'x', 10);
    const client = new SyncClient(outbox, { server: url, token: 'iron_pat_x', batchSize: 10, flushIntervalMs: 60_000 }, pino({ level: 'silent' }));
    close.push(() => (client.close(), outbox.close(), server.close()));
    append(outbox, 0, 10);
    client.kick();
    const first = answered();
    append(outbox, 10, 3);
    client.kick(true); // (an AgentStopped) while the first batch is in flight
    await first;
    await expect.poll(() => batches, { timeout: 2000 }).toEqual([10, 3]);
  });
});
