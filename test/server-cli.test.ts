// `iron server` as a user runs it: a real process on a random port, a SQLite file, the first admin from env.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = new URL('../core/cli/main.ts', import.meta.url).pathname;

/** `iron server ARGS` as a process: resolves `listening` with its URL once it says so. */
function startServer(args: string[], env: Record<string, string>, input?: string) {
  const child = spawn(process.execPath, [cli, 'server', '--port', '0', ...args], { env: { PATH: process.env.PATH ?? '', IRON_LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(input ?? '');
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
  });
  const listening = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  listening.catch(() => undefined);
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, listening, stderr: () => stderr, stdout: () => stdout, stop };
}

/** Runs `iron server ARGS` to its exit (a start-up error), with a deadline. */
/** The same server URL with another database name. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function runServer(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number | null; stderr: string }> {
  const server = startServer(args, env, input);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      server.child.kill('SIGKILL');
      resolve(null);
    }, 15_000);
    server.child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  return { code, stderr: server.stderr() };
}

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
const hasScript = spawnSync('script', ['--version']).status === 0;

/**
 * `iron server ARGS` on a real terminal: util-linux `script` gives it a pseudo-terminal, so the prompts, the echo (or
 * its absence) and Ctrl-C/Ctrl-D are the terminal's own. `output()` is everything the terminal showed.
 */
function startOnTerminal(args: string[]) {
  const command = ['exec', process.execPath, cli, 'server', '--port', '0', ...args].map((arg, i) => (i === 0 ? arg : quote(arg))).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', TERM: 'xterm', IRON_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let seen = 0;
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (data: Buffer) => {
    output += data.toString();
    for (const waiter of waiters.splice(0)) waiter();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** Resolves once the terminal shows `text` after what earlier waits consumed. */
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(text)} on the terminal: ${output}`)), 15_000);
      const check = () => {
        const at = output.indexOf(text, seen);
        if (at === -1) return void waiters.push(check);
        seen = at + text.length;
        clearTimeout(timer);
        resolve();
      };
      check();
    });
  const type = (keys: string) => child.stdin.write(keys);
  /** Ctrl-C, as someone at the terminal stops the server; killed if it does not stop. */
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.stdin.write('\x03');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, waitFor, type, exited, output: () => output, stop };
}

describe('iron server', () => {
  it('starts on a SQLite file, creates the first admin from env, serves the API, and stops cleanly on SIGTERM (143)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const db = join(dir, 'iron.db');
    const child = spawn(process.execPath, [cli, 'server', '--port', '0', '--db', db], {
      env: { PATH: process.env.PATH ?? '', IRON_ADMIN_EMAIL: 'root@example.com', IRON_ADMIN_PASSWORD: 'a very long password', IRON_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (data: Buffer) => {
        stderr += data.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    });
    try {
      expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok' });
      expect((await fetch(`${url}/api/projects`)).status).toBe(401);
      const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'root@example.com', password: 'a very long password' }) });
      expect(login.status).toBe(200);
      const { accessToken } = (await login.json()) as { accessToken: string };
      const projects = await fetch(`${url}/api/projects`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(projects.status).toBe(200);
      expect(existsSync(db)).toBe(true);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
    }
  });

  it('Ctrl-C (SIGINT) closes it cleanly and exits 130, as shells report it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const server = startServer(['--db', join(dir, 'iron.db')], {});
    await server.listening;
    const exited = new Promise<number | null>((resolve) => server.child.on('exit', (code) => resolve(code)));
    server.child.kill('SIGINT');
    expect(await exited).toBe(130);
  });

  it('--init-admin with piped input creates the first admin, never echoes the password, and goes on serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const db = join(dir, 'iron.db');
    // Blank lines are skipped and the email is trimmed; the password is kept as typed (the login form keeps it too).
    const first = startServer(['--db', db, '--init-admin'], {}, '\n  First@example.com \n typed into a pipe \n');
    const url = await first.listening;
    try {
      expect(first.stderr()).toContain('created the first admin, first@example.com');
      expect(first.stderr()).not.toContain('typed into a pipe');
      expect(first.stdout()).not.toContain('typed into a pipe');
      const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'first@example.com', password: ' typed into a pipe ' }) });
      expect(login.status).toBe(200);
      expect((await login.json()).user.role).toBe('admin');
      // The file holds password and token hashes and the signing key: its owner alone reads it.
      expect(statSync(db).mode & 0o777).toBe(0o600);
    } finally {
      await first.stop();
    }
    // A second --init-admin on the same database is refused: it only ever creates the first admin.
    const again = await runServer(['--db', db, '--init-admin'], {}, 'other@example.com\nanother long password\n');
    expect(again.code).toBe(78);
    expect(again.stderr).toContain('iron: IRON_CONFIG_INVALID: --init-admin: this server already has 1 user; it only creates the first admin');
  });

  it.skipIf(!hasScript)('--init-admin on a terminal asks again after a mistake, never shows the password, and goes on serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const terminal = startOnTerminal(['--db', join(dir, 'iron.db'), '--init-admin']);
    try {
      await terminal.waitFor('admin email: ');
      terminal.type('not an email\r');
      await terminal.waitFor('the admin email: expected an email address, got "not an email"; try again');
      await terminal.waitFor('admin email: ');
      terminal.type('tty@example.com\r');
      await terminal.waitFor('admin password (12 to 1024 characters): ');
      terminal.type('typed on the terminal\r');
      await terminal.waitFor('the same password again: ');
      terminal.type('typed something else\r');
      await terminal.waitFor('the admin password: the two entries differ; try again');
      await terminal.waitFor('admin password (12 to 1024 characters): ');
      terminal.type('typed on the terminal\r');
      await terminal.waitFor('the same password again: ');
      terminal.type('typed on the terminal\r');
      await terminal.waitFor('created the first admin, tty@example.com');
      await terminal.waitFor('listening on ');
      await terminal.waitFor('\n');
      const url = /listening on (http:\/\/\S+)/.exec(terminal.output())![1]!;
      expect(terminal.output()).not.toContain('typed on the terminal');
      expect(terminal.output()).not.toContain('typed something else');
      const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'tty@example.com', password: 'typed on the terminal' }) });
      expect(login.status).toBe(200);
    } finally {
      await terminal.stop();
    }
    // Stopped with Ctrl-C at the terminal: 130, as shells report it.
    expect(await terminal.exited).toBe(130);
  });

  it.skipIf(!hasScript)('--init-admin on a terminal: Ctrl-D is a configuration error (78), Ctrl-C an interruption (130), never a silent 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const eof = startOnTerminal(['--db', join(dir, 'iron.db'), '--init-admin']);
    await eof.waitFor('admin email: ');
    eof.type('\x04');
    expect(await eof.exited).toBe(78);
    expect(eof.output()).toContain('iron: IRON_CONFIG_INVALID: --init-admin: the input ended before the first admin was complete; run iron server --init-admin again');
    const interrupted = startOnTerminal(['--db', join(dir, 'iron.db'), '--init-admin']);
    await interrupted.waitFor('admin email: ');
    interrupted.type('tty@example.com\r');
    await interrupted.waitFor('admin password (12 to 1024 characters): ');
    interrupted.type('\x03');
    expect(await interrupted.exited).toBe(130);
    expect(interrupted.output()).not.toMatch(/\n\s+at /);
  });

  it('a fresh server without an admin says how to create one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const server = startServer(['--db', join(dir, 'iron.db')], {});
    await server.listening;
    try {
      await expect.poll(() => server.stderr()).toContain('no users yet, so nobody can sign in. Create the first admin');
      expect(server.stderr()).toContain('iron server --init-admin');
    } finally {
      await server.stop();
    }
  });

  it('start-up lines are plain text on stderr; the server log is pino JSON on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const server = startServer(['--db', join(dir, 'iron.db')], { IRON_LOG_LEVEL: 'info' });
    const url = await server.listening;
    try {
      await expect.poll(() => server.stderr()).toContain('no users yet');
      expect((await fetch(`${url}/health`)).status).toBe(200);
      await expect.poll(() => server.stdout()).toContain('request completed');
      const stdout = server.stdout().trimEnd().split('\n');
      for (const line of stdout) expect(() => JSON.parse(line), line).not.toThrow();
      expect(server.stdout()).not.toContain('iron server listening');
      expect(server.stderr()).toContain(`iron server listening on ${url} (dashboard: ${url}/, API docs: ${url}/docs)`);
      for (const line of server.stderr().trimEnd().split('\n')) expect(line.startsWith('{'), line).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('--log-format pretty (or IRON_LOG_FORMAT=pretty) writes the server log as readable lines', async () => {
    for (const [args, env] of [[['--log-format', 'pretty'], {}], [[], { IRON_LOG_FORMAT: 'pretty' }]] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
      // --log-format is an option of `iron` itself: it goes before the command.
      const child = spawn(process.execPath, [cli, ...args, 'server', '--port', '0', '--db', join(dir, 'iron.db')], { env: { PATH: process.env.PATH ?? '', IRON_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      const url = await new Promise<string>((resolve) => child.stderr.on('data', (data: Buffer) => {
        stderr += data.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      }));
      await fetch(`${url}/health`);
      await expect.poll(() => stdout).toContain('request completed');
      for (const line of stdout.trimEnd().split('\n')) expect(line, line).toMatch(/^iron (info|warn|error|debug): /);
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('listening on every interface, it shows a dashboard URL a browser opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const server = startServer(['--db', join(dir, 'iron.db'), '--host', '::'], {});
    const url = await server.listening;
    try {
      expect(url).toMatch(/^http:\/\/localhost:\d+$/);
      expect(server.stderr()).toContain(`(dashboard: ${url}/, API docs: ${url}/docs)`);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('every start-up mistake exits 78 with one line that says what to fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const taken = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as AddressInfo).port)));
    const db = join(dir, 'iron.db');
    // Accepts connections and never answers: a PostgreSQL URL pointing at the wrong service, or a black hole.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    const silentPort = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as AddressInfo).port)));
    const emptyKeyDb = join(dir, 'empty-key.db');
    writeFileSync(`${emptyKeyDb}.key`, '');
    const cases: Array<{ args: string[]; env?: Record<string, string>; input?: string; says: string }> = [
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: 'notanemail', IRON_ADMIN_PASSWORD: 'a long enough password' }, says: 'iron: IRON_CONFIG_INVALID: IRON_ADMIN_EMAIL: expected an email address, got "notanemail"' },
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: 'a@example.com', IRON_ADMIN_PASSWORD: 'short' }, says: 'IRON_ADMIN_PASSWORD: must have at least 12 characters (it has 5)' },
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: 'a@example.com' }, says: 'IRON_ADMIN_PASSWORD: set both IRON_ADMIN_EMAIL and IRON_ADMIN_PASSWORD' },
      { args: ['--db', db, '--init-admin'], input: 'only-an-email@example.com\n', says: '--init-admin: standard input ended before an email line and a password line' },
      { args: ['--db', db, '--init-admin'], input: 'not an email\na long enough password\n', says: 'the admin email: expected an email address' },
      { args: ['--db', db, '--port', String(port)], says: `iron: IRON_SERVER_START_FAILED: --port: 127.0.0.1:${port} is already in use: choose another port with --port` },
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: `${'a'.repeat(310)}@example.com`, IRON_ADMIN_PASSWORD: 'a long enough password' }, says: 'IRON_ADMIN_EMAIL: must have at most 320 characters (it has 322)' },
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: 'a@example.com', IRON_ADMIN_PASSWORD: 'p'.repeat(1025) }, says: 'IRON_ADMIN_PASSWORD: must have at most 1024 characters (it has 1025)' },
      { args: ['--db', db, '--init-admin'], input: 'a@example.com\nshort\n', says: 'iron: IRON_CONFIG_INVALID: the admin password: must have at least 12 characters (it has 5)' },
      // The environment's admin is not silently dropped for the one --init-admin asks for.
      { args: ['--db', db, '--init-admin'], env: { IRON_ADMIN_EMAIL: 'env@example.com', IRON_ADMIN_PASSWORD: 'a long enough password' }, input: 'a@example.com\nshort\n', says: 'iron server: IRON_ADMIN_EMAIL and IRON_ADMIN_PASSWORD are ignored: --init-admin asks for the first admin' },
      // A usage mistake is one line naming the command's own help.
      { args: ['--db', db, '--port', 'eighty'], says: "(see 'iron server --help')" },
      { args: ['--db', db, '--init-admin'], says: '--init-admin: standard input ended before an email line and a password line' },
      // Validated by main.ts's option parser and env checks: the exit code is what this file holds them to.
      { args: ['--db', db, '--port', '70000'], says: '70000' },
      { args: ['--db', 'mysql://root@db/iron'], says: '--db: unsupported database URL "mysql://…@db/iron": give a SQLite file path or a postgres:// URL' },
      { args: ['--db', join(dir, 'no-such-folder', 'iron.db')], says: `--db: the folder ${join(dir, 'no-such-folder')} does not exist` },
      { args: ['--db', 'postgres://iron:secret-pw@127.0.0.1:1/iron'], says: 'iron: IRON_SERVER_START_FAILED: --db: cannot open the database (PostgreSQL at 127.0.0.1:1/iron): connection refused (is the server running?). Check --db or IRON_DATABASE_URL' },
      { args: ['--db', `postgres://iron:secret-pw@127.0.0.1:${silentPort}/iron?connect_timeout=1`], says: `iron: IRON_SERVER_START_FAILED: --db: cannot open the database (PostgreSQL at 127.0.0.1:${silentPort}/iron): no answer within 1 s` },
      { args: ['--db', 'postgres://iron:secret-pw@127.0.0.1:5432/iron?connect_timeout=soon'], says: 'iron: IRON_CONFIG_INVALID: --db: connect_timeout in the database URL: expected a number of seconds (0: wait forever), got "soon"' },
      { args: ['--db', 'postgres://iron:secret-pw@127.0.0.1:5432:1/iron'], says: 'iron: IRON_CONFIG_INVALID: --db: not a valid URL: expected postgres://user:password@host:5432/database' },
      { args: ['--db', db], env: { IRON_KEY_FILE: join(dir, 'no-such-folder', 'iron.key') }, says: `iron: IRON_CONFIG_INVALID: IRON_KEY_FILE: cannot create the server key file ${join(dir, 'no-such-folder', 'iron.key')}: its folder does not exist` },
      { args: ['--db', emptyKeyDb], says: `iron: IRON_CONFIG_INVALID: the server key file ${emptyKeyDb}.key is empty: delete it and the server makes a new key` },
      { args: ['--db', db], env: { IRON_LOG_LEVEL: 'bogus' }, says: 'IRON_LOG_LEVEL' },
      // Settings from the environment are checked before the database opens, each named with what it takes.
      { args: ['--db', db], env: { IRON_TRUST_PROXY: 'nginx' }, says: 'iron: IRON_CONFIG_INVALID: IRON_TRUST_PROXY is "nginx": "nginx" is not an IP address or CIDR' },
      { args: ['--db', db], env: { IRON_TRUST_PROXY: '10.0.0.2, 10.0.0.0/33' }, says: '"10.0.0.0/33" is not an IP address or CIDR' },
      { args: ['--db', db], env: { IRON_WS_MAX_PER_PRINCIPAL: '0' }, says: 'iron: IRON_CONFIG_INVALID: IRON_WS_MAX_PER_PRINCIPAL is "0": expected a positive whole number' },
      { args: ['--db', db], env: { IRON_WS_MAX_PER_PROJECT: '-3' }, says: 'IRON_WS_MAX_PER_PROJECT is "-3": expected a positive whole number' },
      { args: ['--db', db], env: { IRON_INGEST_BATCHES_PER_MINUTE: 'abc' }, says: 'IRON_INGEST_BATCHES_PER_MINUTE is "abc": expected a positive whole number' },
      { args: ['--db', db], env: { IRON_MAX_EVENT_CHARS: 'lots' }, says: 'IRON_MAX_EVENT_CHARS is "lots"' },
      { args: ['--db', db], env: { IRON_WS_MAX_PER_PRINCIPAL: '1.5' }, says: 'IRON_WS_MAX_PER_PRINCIPAL is "1.5": expected a positive whole number' },
      { args: ['--db', db], env: { IRON_WEBHOOK_TIMEOUT_MS: '1e3' }, says: 'IRON_WEBHOOK_TIMEOUT_MS is "1e3"' },
      { args: ['--db', db], env: { IRON_LOGIN_RATE_LIMIT: '0x10' }, says: 'IRON_LOGIN_RATE_LIMIT is "0x10"' },
      { args: ['--db', ''], says: 'iron: IRON_CONFIG_INVALID: --db is empty: give a SQLite file path' },
      { args: ['--db', 'postgres://postgres@127.0.0.1:5432'], says: 'iron: IRON_CONFIG_INVALID: --db: the PostgreSQL URL names no database: end it with /<database>' },
      { args: ['--db', 'postgres://postgres@127.0.0.1:5432/'], says: '--db: the PostgreSQL URL names no database' },
      // A database name with a typo is not created (a second, empty control plane): it is a start-up error.
      ...(process.env.IRON_TEST_PG_URL
        ? [{ args: ['--db', withDatabase(process.env.IRON_TEST_PG_URL, 'iron_typo_never_created')], says: 'database "iron_typo_never_created" does not exist: create it first' }]
        : []),
    ];
    try {
      for (const { args, env, input, says } of cases) {
        const result = await runServer(args, env ?? {}, input);
        expect({ args, code: result.code }).toEqual({ args, code: 78 });
        expect(result.stderr).toContain(says);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(result.stderr).not.toContain('secret-pw');
        // A start that failed leaves no database or key file behind that it created (a typo'd port made an iron.db).
        expect({ args, left: readdirSync(dir).sort() }).toEqual({ args, left: ['empty-key.db.key'] });
      }
    } finally {
      taken.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 120_000);
});

