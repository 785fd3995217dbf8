// `iron server` as a user runs it: a real process on a random port, a SQLite file, the first admin from env.
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = new URL('../core/cli/main.ts', import.meta.url).pathname;

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

  it('--init-admin asks for the first admin on the terminal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-server-cli-'));
    const child = spawn(process.execPath, [cli, 'server', '--port', '0', '--db', join(dir, 'iron.db'), '--init-admin'], {
      env: { PATH: process.env.PATH ?? '', IRON_LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (data: Buffer) => {
        stderr += data.toString();
        if (stderr.endsWith('admin email: ')) child.stdin.write('first@example.com\n');
        if (stderr.endsWith('(at least 12 characters): ')) child.stdin.write('typed on the terminal\n');
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    });
    try {
      const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'first@example.com', password: 'typed on the terminal' }) });
      expect(login.status).toBe(200);
      expect((await login.json()).user.role).toBe('admin');
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});

