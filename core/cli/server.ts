// `iron server`: runs the control plane (Fastify + MikroORM) on a SQLite file by default, PostgreSQL by URL.
// Every start-up problem (a port in use, a database that cannot be opened, a bad first admin) is an IronError with
// one line that says what to fix; the CLI prints it and exits 78.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { ConfigError, IronError, IRON_SERVER_START_FAILED } from '../errors.ts';
import { logLevelFromEnv } from '../logger.ts';

export interface ServerCommandOptions {
  port: number;
  host: string;
  db?: string;
  initAdmin?: boolean;
}

interface Admin {
  email: string;
  password: string;
  /** Where it came from, for messages: the environment or --init-admin. */
  source: 'env' | 'init';
}

/** The same rule as the login form's `format: email` (ajv-formats' full email format). */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function checkAdmin(admin: Admin, minLength: number): Admin {
  const emailName = admin.source === 'env' ? 'IRON_ADMIN_EMAIL' : 'the admin email';
  const passwordName = admin.source === 'env' ? 'IRON_ADMIN_PASSWORD' : 'the admin password';
  if (!EMAIL.test(admin.email)) throw new ConfigError(`${emailName}: expected an email address, got ${JSON.stringify(admin.email)}`, { path: emailName });
  if (admin.password.length < minLength) throw new ConfigError(`${passwordName}: must have at least ${minLength} characters (it has ${admin.password.length})`, { path: passwordName });
  return admin;
}

/** Reads lines from standard input: the first two non-empty ones, for a piped `--init-admin`. */
async function readPipedLines(count: number): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (line.trim() !== '') lines.push(line.trim());
    if (lines.length === count) break;
  }
  rl.close();
  return lines;
}

/** Asks on the terminal; the password is not echoed, and asked twice. */
async function askOnTerminal(minLength: number): Promise<{ email: string; password: string }> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const question = (text: string, hidden = false) =>
    new Promise<string>((resolve) => {
      process.stderr.write(text);
      muted = hidden;
      rl.question('', (answer) => {
        muted = false;
        if (hidden) process.stderr.write('\n');
        resolve(answer.trim());
      });
    });
  try {
    const email = await question('admin email: ');
    const password = await question(`admin password (at least ${minLength} characters): `, true);
    const again = await question('the same password again: ', true);
    if (password !== again) throw new ConfigError('the admin password: the two entries differ; run iron server --init-admin again', { path: 'the admin password' });
    return { email, password };
  } finally {
    rl.close();
  }
}

async function initAdmin(minLength: number): Promise<Admin> {
  if (process.stdin.isTTY) return { ...(await askOnTerminal(minLength)), source: 'init' };
  const [email, password] = await readPipedLines(2);
  if (email === undefined || password === undefined) {
    throw new ConfigError('--init-admin: standard input ended before an email line and a password line (pipe them, one a line, or run it on a terminal)', { path: 'init-admin' });
  }
  return { email, password, source: 'init' };
}

/** The database option checked before anything opens it: a supported URL, or a SQLite file in a writable folder. */
function checkDatabase(db: string): void {
  if (/^postgres(ql)?:\/\//.test(db) || db === ':memory:') return;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) throw new ConfigError(`--db: unsupported database URL ${JSON.stringify(db.replace(/\/\/[^@/]*@/, '//…@'))}: give a SQLite file path or a postgres:// URL`, { path: 'db' });
  const file = resolve(db);
  const folder = dirname(file);
  if (!existsSync(folder)) throw new ConfigError(`--db: the folder ${folder} does not exist: create it, or choose another path for the SQLite file`, { path: 'db' });
  if (existsSync(file) && statSync(file).isDirectory()) throw new ConfigError(`--db: ${file} is a folder, not a SQLite file`, { path: 'db' });
  try {
    accessSync(existsSync(file) ? file : folder, constants.W_OK);
  } catch {
    throw new ConfigError(`--db: cannot write to ${existsSync(file) ? file : folder} (permission denied)`, { path: 'db' });
  }
}

/** Where a postgres:// URL points, without its password, for messages. */
function describeDatabase(db: string): string {
  if (!/^postgres(ql)?:\/\//.test(db)) return resolve(db);
  try {
    const url = new URL(db);
    return `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

function openError(error: unknown, db: string): IronError {
  if (error instanceof IronError) return error;
  const err = error as NodeJS.ErrnoException & { errors?: Array<{ code?: string }> };
  const code = err.code ?? err.errors?.[0]?.code;
  const reason = code === 'ECONNREFUSED' ? 'connection refused (is the server running?)' : code === 'ENOTFOUND' ? 'host not found' : (err.message ?? String(error)).split('\n')[0];
  return new IronError(IRON_SERVER_START_FAILED, `--db: cannot open the database (${describeDatabase(db)}): ${reason}. Check --db or IRON_DATABASE_URL`, { cause: error });
}

function listenError(error: unknown, host: string, port: number): IronError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new IronError(IRON_SERVER_START_FAILED, `--port: ${host}:${port} is already in use: choose another port with --port (0 for a free one), or stop what listens there`, { cause: error });
  if (code === 'EACCES') return new IronError(IRON_SERVER_START_FAILED, `--port: no permission to listen on port ${port} (ports below 1024 need privileges): choose a higher one`, { cause: error });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new IronError(IRON_SERVER_START_FAILED, `--host: ${host} is not an address of this machine`, { cause: error });
  return new IronError(IRON_SERVER_START_FAILED, `cannot listen on ${host}:${port}: ${(error as Error).message}`, { cause: error });
}

export async function serverCommand(options: ServerCommandOptions): Promise<void> {
  const env = process.env;
  const db = options.db ?? env.IRON_DATABASE_URL ?? './iron.db';
  checkDatabase(db);
  const { buildApp } = await import('../../server/app.ts');
  const { MIN_PASSWORD_LENGTH, userCount } = await import('../../server/auth/admin.ts');
  let admin: Admin | undefined;
  if (options.initAdmin) admin = checkAdmin(await initAdmin(MIN_PASSWORD_LENGTH), MIN_PASSWORD_LENGTH);
  else if (env.IRON_ADMIN_EMAIL || env.IRON_ADMIN_PASSWORD) {
    if (!env.IRON_ADMIN_EMAIL || !env.IRON_ADMIN_PASSWORD) throw new ConfigError(`${env.IRON_ADMIN_EMAIL ? 'IRON_ADMIN_PASSWORD' : 'IRON_ADMIN_EMAIL'}: set both IRON_ADMIN_EMAIL and IRON_ADMIN_PASSWORD for the first admin`, { path: 'IRON_ADMIN_EMAIL' });
    admin = checkAdmin({ email: env.IRON_ADMIN_EMAIL, password: env.IRON_ADMIN_PASSWORD, source: 'env' }, MIN_PASSWORD_LENGTH);
  }

  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp({
      db,
      ...(env.IRON_JWT_SECRET ? { jwtSecret: env.IRON_JWT_SECRET } : {}),
      logger: { level: logLevelFromEnv(env) ?? 'info' },
    });
  } catch (error) {
    throw openError(error, db);
  }
  if (app.serverKey.source === 'database') {
    process.stderr.write('iron server: the key that signs access tokens and seals webhook secrets is kept in the database; set IRON_JWT_SECRET or IRON_KEY_FILE (the same on every instance) to keep it out of it\n');
  }
  const users = await userCount(app.orm);
  if (admin && users > 0) {
    if (admin.source === 'init') {
      await app.close();
      throw new ConfigError(`--init-admin: this server already has ${users} user${users === 1 ? '' : 's'}; it only creates the first admin (admins add people on the dashboard's Users page)`, { path: 'init-admin' });
    }
    process.stderr.write('iron server: IRON_ADMIN_EMAIL is ignored: the server already has users (it only seeds the first admin)\n');
  } else if (admin) {
    const { ensureAdmin } = await import('../../server/auth/admin.ts');
    await ensureAdmin(app.orm, admin.email, admin.password);
    process.stderr.write(`iron server: created the first admin, ${admin.email.toLowerCase()}\n`);
  }

  let url: string;
  try {
    url = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    throw listenError(error, options.host, options.port);
  }
  process.stderr.write(`iron server listening on ${url} (dashboard: ${url}/, API docs: ${url}/docs)\n`);
  if (!admin && users === 0) {
    process.stderr.write(
      'iron server: no users yet, so nobody can sign in. Create the first admin: stop the server and run\n' +
        '  iron server --init-admin          (asks on the terminal, or reads an email line and a password line from stdin)\n' +
        '  or start it with IRON_ADMIN_EMAIL=you@example.com IRON_ADMIN_PASSWORD=… (at least 12 characters)\n',
    );
  }
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
