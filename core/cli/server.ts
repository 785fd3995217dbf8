// `iron server`: runs the control plane (Fastify + MikroORM) on a SQLite file by default, PostgreSQL by URL.
// Every start-up problem (a port in use, a database that cannot be opened, a bad first admin) is an IronError with
// one line that says what to fix; the CLI prints it and exits 78.
import { accessSync, constants, existsSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { ConfigError, IronError, IRON_SERVER_START_FAILED } from '../errors.ts';
import { logFormatFromEnv, logLevelFromEnv, prettyDestination, type LogFormat } from '../logger.ts';
import { EXIT_SIGINT, EXIT_SIGTERM } from './exit-codes.ts';

export interface ServerCommandOptions {
  port: number;
  host: string;
  db?: string;
  initAdmin?: boolean;
  /** --log-format: request and server logs as readable lines (pretty) or pino JSON. */
  logFormat?: LogFormat;
}

interface Admin {
  email: string;
  password: string;
  /** Where it came from, for messages: the environment or --init-admin. */
  source: 'env' | 'init';
}

/** The lengths POST /api/users accepts (and the login route: an admin it could not sign in would be no admin). */
const MAX_EMAIL_LENGTH = 320;
const MAX_PASSWORD_LENGTH = 1024;

/**
 * ajv-formats' full `email` format (what POST /api/users checks) with domain labels of at most 63 characters, which
 * the dashboard's login field (`type=email`) also requires: an address both accept.
 */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function emailProblem(email: string, name: string): string | undefined {
  if (!EMAIL.test(email)) return `${name}: expected an email address, got ${JSON.stringify(email.slice(0, 80))}`;
  if (email.length > MAX_EMAIL_LENGTH) return `${name}: must have at most ${MAX_EMAIL_LENGTH} characters (it has ${email.length})`;
  return undefined;
}

function passwordProblem(password: string, name: string, minLength: number): string | undefined {
  if (password.length < minLength) return `${name}: must have at least ${minLength} characters (it has ${password.length})`;
  if (password.length > MAX_PASSWORD_LENGTH) return `${name}: must have at most ${MAX_PASSWORD_LENGTH} characters (it has ${password.length})`;
  return undefined;
}

function checkAdmin(admin: Admin, minLength: number): Admin {
  const emailName = admin.source === 'env' ? 'IRON_ADMIN_EMAIL' : 'the admin email';
  const passwordName = admin.source === 'env' ? 'IRON_ADMIN_PASSWORD' : 'the admin password';
  const problem = emailProblem(admin.email, emailName) ?? passwordProblem(admin.password, passwordName, minLength);
  if (problem) throw new ConfigError(problem, { path: problem.slice(0, problem.indexOf(':')) });
  return admin;
}

/** The first admin from IRON_ADMIN_EMAIL / IRON_ADMIN_PASSWORD, checked; undefined when neither is set. */
function adminFromEnv(env: NodeJS.ProcessEnv, minLength: number): Admin | undefined {
  if (!env.IRON_ADMIN_EMAIL && !env.IRON_ADMIN_PASSWORD) return undefined;
  if (!env.IRON_ADMIN_EMAIL || !env.IRON_ADMIN_PASSWORD) {
    const missing = env.IRON_ADMIN_EMAIL ? 'IRON_ADMIN_PASSWORD' : 'IRON_ADMIN_EMAIL';
    throw new ConfigError(`${missing}: set both IRON_ADMIN_EMAIL and IRON_ADMIN_PASSWORD for the first admin`, { path: missing });
  }
  return checkAdmin({ email: env.IRON_ADMIN_EMAIL, password: env.IRON_ADMIN_PASSWORD, source: 'env' }, minLength);
}

/**
 * Reads the first two non-empty lines of standard input, for a piped `--init-admin`: the email (trimmed) and the
 * password (as typed: the login form does not trim it either).
 */
async function readPipedLines(): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() !== '') lines.push(line);
    if (lines.length === 2) break;
  }
  rl.close();
  return lines;
}

/** Ctrl-C at a prompt: the CLI exits 130, as a shell reports an interrupted command. */
class Interrupted extends Error {}

const TRIES = 3;

/**
 * Asks on the terminal (prompts on stderr). The password is not echoed and is asked twice; a wrong answer is
 * explained and asked again, up to three times. Ctrl-D ends it as a configuration error, Ctrl-C as an interruption.
 */
async function askOnTerminal(minLength: number): Promise<{ email: string; password: string }> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const ended = new Promise<never>((_resolve, reject) => {
    rl.once('SIGINT', () => reject(new Interrupted()));
    rl.once('close', () => reject(new ConfigError('--init-admin: the input ended before the first admin was complete; run iron server --init-admin again', { path: 'init-admin' })));
  });
  ended.catch(() => undefined);
  const ask = async (text: string, hidden = false): Promise<string> => {
    // A visible prompt belongs to readline, which redraws it with the line; a hidden one is written here, since
    // readline's own writes (the typed characters) go nowhere while it is muted.
    if (hidden) {
      process.stderr.write(text);
      muted = true;
    }
    try {
      return await Promise.race([new Promise<string>((resolve) => rl.question(hidden ? '' : text, resolve)), ended]);
    } catch (error) {
      // Ctrl-C or Ctrl-D on a visible prompt: what follows starts on a line of its own.
      if (!hidden) process.stderr.write('\n');
      throw error;
    } finally {
      if (hidden) {
        muted = false;
        process.stderr.write('\n');
      }
    }
  };
  const retry = async <T>(attempt: () => Promise<T | string>): Promise<T> => {
    for (let tries = 1; ; tries++) {
      const result = await attempt();
      if (typeof result !== 'string') return result;
      if (tries === TRIES) throw new ConfigError(result, { path: 'init-admin' });
      process.stderr.write(`${result}; try again\n`);
    }
  };
  try {
    const email = await retry(async () => {
      const answer = (await ask('admin email: ')).trim();
      return emailProblem(answer, 'the admin email') ?? { email: answer };
    });
    const password = await retry(async () => {
      const first = await ask(`admin password (${minLength} to ${MAX_PASSWORD_LENGTH} characters): `, true);
      const problem = passwordProblem(first, 'the admin password', minLength);
      if (problem) return problem;
      if ((await ask('the same password again: ', true)) !== first) return 'the admin password: the two entries differ';
      return { password: first };
    });
    return { ...email, ...password };
  } finally {
    rl.close();
  }
}

/** The first admin for `--init-admin`: asked on a terminal, else read from piped standard input. */
async function initAdmin(minLength: number): Promise<Admin> {
  if (process.stdin.isTTY) return { ...(await askOnTerminal(minLength)), source: 'init' };
  const [email, password] = await readPipedLines();
  if (email === undefined || password === undefined) {
    throw new ConfigError('--init-admin: standard input ended before an email line and a password line (pipe them, one a line, or run it on a terminal)', { path: 'init-admin' });
  }
  return checkAdmin({ email: email.trim(), password, source: 'init' }, minLength);
}

/** The database option checked before anything opens it: a supported URL, or a SQLite file in a writable folder. */
function checkDatabase(db: string): void {
  if (db.trim() === '') throw new ConfigError('--db is empty: give a SQLite file path (e.g. ./iron.db) or a postgres:// URL, or leave it out for ./iron.db', { path: 'db' });
  if (db === ':memory:') return;
  if (/^postgres(ql)?:\/\//.test(db)) {
    // Without a database name the driver would pick the user's name: say so before anything connects.
    if (URL.canParse(db) && /^\/?$/.test(new URL(db).pathname)) throw new ConfigError('--db: the PostgreSQL URL names no database: end it with /<database> (e.g. postgres://user@host:5432/iron), after creating it with createdb', { path: 'db' });
    return;
  }
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

/**
 * The files a start creates for a SQLite database (the file, its WAL and shared-memory files, the key file beside it)
 * that were not there before it: a start that fails takes them away again, so a typo'd port leaves no iron.db behind.
 */
function filesToCreate(db: string, env: NodeJS.ProcessEnv): () => void {
  if (/^postgres(ql)?:\/\//.test(db) || db === ':memory:') return () => undefined;
  const file = resolve(db);
  const files = [file, `${file}-wal`, `${file}-shm`, `${file}-journal`, ...(env.IRON_KEY_FILE ? [] : [`${file}.key`])].filter((name) => !existsSync(name));
  return () => {
    for (const name of files) rmSync(name, { force: true });
  };
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

function openError(error: unknown, db: string, timeoutS: number | undefined): IronError {
  if (error instanceof IronError) return error;
  const err = error as NodeJS.ErrnoException & { errors?: Array<{ code?: string }> };
  const code = err.code ?? err.errors?.[0]?.code;
  const message = (err.message ?? String(error)).split('\n')[0]!;
  const reason =
    code === '3D000'
      ? `${message}: create it first (createdb, or CREATE DATABASE), or correct its name`
      : code === 'ECONNREFUSED'
      ? 'connection refused (is the server running?)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : /connection timeout/i.test(message)
          ? `no answer within ${timeoutS} s (a firewall dropping the connection, or not PostgreSQL on that port? connect_timeout=<seconds> in the URL waits longer)`
          : message;
  return new IronError(IRON_SERVER_START_FAILED, `--db: cannot open the database (${describeDatabase(db)}): ${reason}. Check --db or IRON_DATABASE_URL`, { cause: error });
}

function listenError(error: unknown, host: string, port: number): IronError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new IronError(IRON_SERVER_START_FAILED, `--port: ${host}:${port} is already in use: choose another port with --port (0 for a free one), or stop what listens there`, { cause: error });
  if (code === 'EACCES') return new IronError(IRON_SERVER_START_FAILED, `--port: no permission to listen on port ${port} (ports below 1024 need privileges): choose a higher one`, { cause: error });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new IronError(IRON_SERVER_START_FAILED, `--host: ${host} is not an address of this machine`, { cause: error });
  return new IronError(IRON_SERVER_START_FAILED, `cannot listen on ${host}:${port}: ${(error as Error).message}`, { cause: error });
}

/** The URL to show: one a browser opens (`[::]` and `0.0.0.0` mean every interface, this machine included). */
function browsableUrl(url: string): string {
  return url.replace(/^(https?:\/\/)(?:\[::\]|0\.0\.0\.0)(?=:)/, '$1localhost');
}

export async function serverCommand(options: ServerCommandOptions): Promise<void> {
  const env = process.env;
  const db = options.db ?? env.IRON_DATABASE_URL ?? './iron.db';
  checkDatabase(db);
  const { buildApp } = await import('../../server/app.ts');
  const { connectTimeoutSeconds } = await import('../../server/db.ts');
  const { ensureAdmin, MIN_PASSWORD_LENGTH, userCount } = await import('../../server/auth/admin.ts');
  let timeoutS: number | undefined;
  try {
    timeoutS = /^postgres(ql)?:\/\//.test(db) ? connectTimeoutSeconds(db) : undefined;
  } catch (error) {
    const invalid = (error as NodeJS.ErrnoException).code === 'ERR_INVALID_URL';
    const message = invalid ? 'not a valid URL: expected postgres://user:password@host:5432/database' : (error as Error).message;
    throw new ConfigError(`--db: ${message}`, { path: 'db', cause: error });
  }
  // The environment's admin is checked before the database opens; --init-admin asks once it is known to be needed.
  let admin = options.initAdmin ? undefined : adminFromEnv(env, MIN_PASSWORD_LENGTH);
  if (options.initAdmin && (env.IRON_ADMIN_EMAIL || env.IRON_ADMIN_PASSWORD)) {
    process.stderr.write('iron server: IRON_ADMIN_EMAIL and IRON_ADMIN_PASSWORD are ignored: --init-admin asks for the first admin\n');
  }

  const removeCreated = filesToCreate(db, env);
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp({
      db,
      ...(env.IRON_JWT_SECRET !== undefined ? { jwtSecret: env.IRON_JWT_SECRET } : {}),
      // Readable lines on a terminal, pino JSON otherwise (or as --log-format / IRON_LOG_FORMAT say), on stdout.
      logger: { level: logLevelFromEnv(env) ?? 'info', ...((options.logFormat ?? logFormatFromEnv(env) ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty' ? { stream: prettyDestination(1) } : {}) },
    });
  } catch (error) {
    removeCreated();
    throw openError(error, db, timeoutS);
  }
  if (app.serverKey.source === 'database') {
    process.stderr.write('iron server: the key that signs access tokens and seals webhook secrets is kept in the database; set IRON_JWT_SECRET or IRON_KEY_FILE (the same on every instance) to keep it out of it\n');
  }
  const users = await userCount(app.orm);
  if (options.initAdmin) {
    // Only ever the first admin: with users, --init-admin could be a way in for whoever can start the server, so it
    // is refused before asking for anything (an admin resets passwords on the dashboard's Users page).
    if (users > 0) {
      await app.close();
      removeCreated();
      throw new ConfigError(`--init-admin: this server already has ${users} user${users === 1 ? '' : 's'}; it only creates the first admin (admins add people on the dashboard's Users page)`, { path: 'init-admin' });
    }
    try {
      admin = await initAdmin(MIN_PASSWORD_LENGTH);
    } catch (error) {
      await app.close();
      removeCreated();
      if (error instanceof Interrupted) process.exit(130);
      throw error;
    }
  }
  if (admin && users > 0) {
    process.stderr.write('iron server: IRON_ADMIN_EMAIL is ignored: the server already has users (it only seeds the first admin)\n');
  } else if (admin) {
    await ensureAdmin(app.orm, admin.email, admin.password);
    process.stderr.write(`iron server: created the first admin, ${admin.email.toLowerCase()}\n`);
  }

  let url: string;
  try {
    url = browsableUrl(await app.listen({ host: options.host, port: options.port }));
  } catch (error) {
    await app.close();
    removeCreated();
    throw listenError(error, options.host, options.port);
  }
  // Closed cleanly (requests answered, database flushed), then the shell's code for the signal: 130 or 143. Set
  // before the "listening" line: whoever waits for that line may send a signal at once.
  const stop = async (signal: NodeJS.Signals) => {
    await app.close();
    process.exit(signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Start-up lines are for people, on stderr; the request log goes to stdout (JSON, or readable lines).
  process.stderr.write(`iron server listening on ${url} (dashboard: ${url}/, API docs: ${url}/docs)\n`);
  if (!admin && users === 0) {
    process.stderr.write(
      'iron server: no users yet, so nobody can sign in. Create the first admin: stop the server and run\n' +
        '  iron server --init-admin          (asks on the terminal, or reads an email line and a password line from stdin)\n' +
        `  or start it with IRON_ADMIN_EMAIL=you@example.com IRON_ADMIN_PASSWORD=… (at least ${MIN_PASSWORD_LENGTH} characters)\n`,
    );
  }
}
