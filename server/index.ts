// `iron-cage/server`: build the control-plane app, or start it listening.
import type { FastifyInstance } from 'fastify';
import { buildApp, type ServerOptions } from './app.ts';

export { buildApp, type ServerOptions } from './app.ts';
export { openDatabase } from './db.ts';

export interface StartOptions extends ServerOptions {
  host?: string;
  port?: number;
}

/** Builds the app and listens (default 127.0.0.1:8787). Returns the app and its URL. */
export async function startServer(options: StartOptions = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp(options);
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8787 });
  return { app, url: address };
}
