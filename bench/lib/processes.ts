// Child processes for benchmarks: start one that prints a JSON line when ready, start an `iron server`, stop them, and
// read the CPU time one has used.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function startJsonLineProcess(args: string[], env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; info: Record<string, string> }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...(env ? { env } : {}) });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return { child, info: JSON.parse(line) as Record<string, string> };
}

/**
 * A real `iron server` process on a fresh SQLite file, with a project and an API token for sync: the way a
 * runtime reports in production (the server's work runs in its own process, not in the runtime's).
 */
export async function startIronServer(extraEnv: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; token: string; session: string; projectId: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'iron-bench-server-'));
  const admin = { email: 'bench@example.com', password: 'bench password long enough' };
  const cli = new URL('../../core/cli/main.ts', import.meta.url).pathname;
  // IRON_BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the server (as in the ingest bench).
  const nodeArgs = (process.env.IRON_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, cli, 'server', '--port', '0', '--db', join(dir, 'iron.db')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, IRON_ADMIN_EMAIL: admin.email, IRON_ADMIN_PASSWORD: admin.password, IRON_LOG_LEVEL: 'warn', ...extraEnv },
  });
  // Its stderr is read to the end (a full pipe would stall it); the first line naming its URL says it is ready.
  const url = await new Promise<string>((resolve, reject) => {
    let ready = false;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const found = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      if (!ready && found) {
        ready = true;
        resolve(found);
      } else process.stderr.write(`iron server: ${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`iron server exited (${code}) before it listened`)));
  });
  const call = async (path: string, payload: object, authorization?: string) => {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(payload) });
    if (!response.ok) throw new Error(`iron server ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, string>;
  };
  const session = `Bearer ${(await call('/api/auth/login', admin)).accessToken}`;
  const project = await call('/api/projects', { name: 'bench' }, session);
  const { token } = await call('/api/tokens', { name: 'bench', projectId: project.id! }, session);
  return { child, url, token: token!, session, projectId: project.id! };
}

/**
 * The Portkey AI Gateway (the `@portkey-ai/gateway` devDependency) on 127.0.0.1:`port`, headless, the way its README
 * starts it; resolves once it answers. Its output is read and dropped (it logs every failed request).
 */
export async function startPortkey(port: number): Promise<{ child: ChildProcess; url: string; version: string }> {
  const manifest = createRequire(import.meta.url).resolve('@portkey-ai/gateway/package.json');
  const { version, bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string; bin: string };
  const child = spawn(process.execPath, [join(dirname(manifest), bin), `--port=${port}`, '--headless'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  child.stderr!.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Portkey gateway exited (${child.exitCode}) before it answered`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return { child, url, version };
    } catch {
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the Portkey gateway did not answer on ${url} within 30 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** SIGTERM, then SIGKILL if it is still there after 5 s: a benchmark never leaves a process behind. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** CPU time (user + system) a process has used so far, in µs, from /proc (Linux; NaN elsewhere or without a pid). */
export function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the parenthesized command name: utime is field 14 and stime 15, in clock ticks of 10 ms.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

/** The project's fake provider (OpenAI and Anthropic wire formats) in its own process; `info.url` is its base URL. */
export function startFakeProvider(): ReturnType<typeof startJsonLineProcess> {
  return startJsonLineProcess([new URL('../../test/fake-provider/main.ts', import.meta.url).pathname]);
}

/** The bare Node proxy (bench/bare-proxy.ts: forwards only, the floor) in front of `upstream`, with `nodeFlags`. */
export function startBareProxy(upstream: string, nodeFlags: string[] = []): ReturnType<typeof startJsonLineProcess> {
  return startJsonLineProcess([...nodeFlags, new URL('../bare-proxy.ts', import.meta.url).pathname, upstream]);
}
