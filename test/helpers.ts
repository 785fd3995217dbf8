// Shared set-up for end-to-end tests: a runtime whose openai/anthropic providers point at the fake provider.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { Runtime, type RuntimeOptions } from '../core/index.ts';
import type { FakeProvider } from './fake-provider/index.ts';

export const REAL_OPENAI_KEY = 'sk-real-openai-key-never-shown';
export const REAL_ANTHROPIC_KEY = 'sk-ant-real-key-never-shown';

/** Env as a deployment would set it: real keys and the provider base URLs (here: the fake provider). */
export function providerEnv(fake: FakeProvider): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    OPENAI_API_KEY: REAL_OPENAI_KEY,
    IRON_OPENAI_BASE_URL: `${fake.url}/v1`,
    ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY,
    IRON_ANTHROPIC_BASE_URL: fake.url,
  };
}

export function runtimeFor(fake: FakeProvider, options: RuntimeOptions = {}): Runtime {
  return new Runtime({ env: providerEnv(fake), logLevel: 'silent', ...options });
}

export const fixture = (name: string): string => new URL(`./fixtures/agents/${name}`, import.meta.url).pathname;

const CLI = new URL('../core/cli/main.ts', import.meta.url).pathname;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A real `iron server` process on `port` with a SQLite file, ready when it says it listens. */
export async function startIronServer(db: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'server', '--port', String(port), '--db', db], {
    env: { PATH: process.env.PATH ?? '', IRON_LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  return child;
}

/**
 * A provider that answers every request with the body set last (`answer`), in one write: SSE, or JSON when it starts
 * with `{`. For tests that need exact bytes the fake provider does not script (a whole stream in one network read).
 */
export async function startScriptedUpstream(): Promise<{ url: string; answer: (body: string) => void; close: () => Promise<void> }> {
  let next = '';
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': next.startsWith('{') ? 'application/json' : 'text/event-stream' }).end(next));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    answer: (body) => void (next = body),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
