// `iron server` as a user runs it: a real process on a random port, a SQLite file, the first admin from env.
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = new URL('../core/cli/main.ts', import.meta.url).pathname;

/** `iron server ARGS` as a process: resolves `listening` with its URL once it says so. */
function startServer(args: string[], env: Record<string, string>, input?: string) {
  const child = spawn(process.execPath, [cli, 'server', '--port', '0', ...args], { env: { PATH: process.env.PATH ?? '', IRON_LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
  child.stdin.end(input ?? '');
  let stderr = '';
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
  return { child, listening, stderr: () => stderr, stop };
}

/** Runs `iron server ARGS` to its exit (a start-up error), with a deadline. */
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

describe('iron server', () => {
  it('starts on a SQLite file, creates the first admin from env, serves the API, and stops cleanly on SIGTERM', async () => {
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
      expect(await exited).toBe(0);
    }
  });

  it('--init-admin with piped input creates the first admin, never echoes the password, and goes on serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const db = join(dir, 'iron.db');
    const first = startServer(['--db', db, '--init-admin'], {}, 'first@example.com\ntyped into a pipe\n');
    const url = await first.listening;
    try {
      expect(first.stderr()).toContain('created the first admin, first@example.com');
      expect(first.stderr()).not.toContain('typed into a pipe');
      const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'first@example.com', password: 'typed into a pipe' }) });
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

  it('every start-up mistake exits 78 with one line that says what to fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const taken = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as AddressInfo).port)));
    const db = join(dir, 'iron.db');
    const cases: Array<{ args: string[]; env?: Record<string, string>; input?: string; says: string }> = [
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: 'notanemail', IRON_ADMIN_PASSWORD: 'a long enough password' }, says: 'iron: IRON_CONFIG_INVALID: IRON_ADMIN_EMAIL: expected an email address, got "notanemail"' },
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: 'a@example.com', IRON_ADMIN_PASSWORD: 'short' }, says: 'IRON_ADMIN_PASSWORD: must have at least 12 characters (it has 5)' },
      { args: ['--db', db], env: { IRON_ADMIN_EMAIL: 'a@example.com' }, says: 'IRON_ADMIN_PASSWORD: set both IRON_ADMIN_EMAIL and IRON_ADMIN_PASSWORD' },
      { args: ['--db', db, '--init-admin'], input: 'only-an-email@example.com\n', says: '--init-admin: standard input ended before an email line and a password line' },
      { args: ['--db', db, '--init-admin'], input: 'not an email\na long enough password\n', says: 'the admin email: expected an email address' },
      { args: ['--db', db, '--port', String(port)], says: `iron: IRON_SERVER_START_FAILED: --port: 127.0.0.1:${port} is already in use: choose another port with --port` },
      { args: ['--db', db, '--port', '70000'], says: "argument '70000' is invalid. expected a port from 0 to 65535" },
      { args: ['--db', 'mysql://root@db/iron'], says: '--db: unsupported database URL "mysql://…@db/iron": give a SQLite file path or a postgres:// URL' },
      { args: ['--db', join(dir, 'no-such-folder', 'iron.db')], says: `--db: the folder ${join(dir, 'no-such-folder')} does not exist` },
      { args: ['--db', 'postgres://iron:secret-pw@127.0.0.1:1/iron'], says: 'iron: IRON_SERVER_START_FAILED: --db: cannot open the database (PostgreSQL at 127.0.0.1:1/iron): connection refused (is the server running?). Check --db or IRON_DATABASE_URL' },
      { args: ['--db', db], env: { IRON_LOG_LEVEL: 'bogus' }, says: 'IRON_LOG_LEVEL: expected one of' },
    ];
    try {
      for (const { args, env, input, says } of cases) {
        const result = await runServer(args, env ?? {}, input);
        expect({ args, code: result.code }).toEqual({ args, code: 78 });
        expect(result.stderr).toContain(says);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(result.stderr).not.toContain('secret-pw');
      }
    } finally {
      taken.close();
    }
  }, 60_000);
});

