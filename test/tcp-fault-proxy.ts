// A TCP proxy a test can break on purpose: cut (every connection reset and the port closed, as when a database
// server goes down), restore (listening again on the same port), freeze (connections stay open and nothing passes,
// as with a paused process) and thaw (what was held is delivered).
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;
  /** What arrived while frozen, delivered in order on thaw (a paused process reads it when it wakes). */
  const held: Array<() => void> = [];
  const pipe = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (frozen) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  };
  const onConnection = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    pipe(client, upstream);
    pipe(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  };
  let server: Server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const closeServer = () =>
    new Promise<void>((resolve) => {
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.destroy();
      }
      pairs.clear();
      server.close(() => resolve());
    });
  return {
    port,
    cut: closeServer,
    async restore() {
      server = createServer(onConnection);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const deliver of held.splice(0)) deliver();
    },
    close: closeServer,
  };
}
