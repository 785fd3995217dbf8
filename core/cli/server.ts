// `iron server`: runs the control plane (Fastify + MikroORM) on a SQLite file by default, PostgreSQL by URL.
import { createInterface } from 'node:readline/promises';
import { startServer } from '../../server/index.ts';

export interface ServerCommandOptions {
  port: number;
  host: string;
  db?: string;
  initAdmin?: boolean;
}

async function askAdmin(): Promise<{ email: string; password: string }> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  try {
    const email = (await rl.question('admin email: ')).trim();
    const password = (await rl.question('admin password (at least 12 characters): ')).trim();
    return { email, password };
  } finally {
    rl.close();
  }
}

export async function serverCommand(options: ServerCommandOptions): Promise<void> {
  const env = process.env;
  const admin = options.initAdmin ? await askAdmin() : env.IRON_ADMIN_EMAIL && env.IRON_ADMIN_PASSWORD ? { email: env.IRON_ADMIN_EMAIL, password: env.IRON_ADMIN_PASSWORD } : undefined;
  const { app, url } = await startServer({
    host: options.host,
    port: options.port,
    db: options.db ?? env.IRON_DATABASE_URL ?? './iron.db',
    ...(env.IRON_JWT_SECRET ? { jwtSecret: env.IRON_JWT_SECRET } : {}),
    ...(admin ? { admin } : {}),
    logger: { level: env.IRON_LOG_LEVEL ?? 'info' },
  });
  process.stderr.write(`iron server listening on ${url} (dashboard: ${url}/, API docs: ${url}/docs)\n`);
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
