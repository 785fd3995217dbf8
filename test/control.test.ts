// `iron control` (the protocol the Python client speaks) with a client that does not read: an agent printing a
// flood of output is held back by the full pipe, so iron control's memory stays bounded, and nothing is lost once
// the client reads again.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { providerEnv } from './helpers.ts';

const cli = new URL('../core/cli/main.ts', import.meta.url).pathname;
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

/** Resident memory of a process, in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

describe('iron control with a client that stops reading', () => {
  it('holds a flooding agent back instead of buffering its output, and delivers every byte once read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-control-'));
    const agent = join(dir, 'flood.js');
    const MiB = 1024 * 1024;
    const total = 200 * MiB;
    // 200 MiB in 64 KiB writes, each waiting for the pipe (as a real program's blocking writes do).
    writeFileSync(agent, `const line = 'x'.repeat(65535) + '\\n'; let left = ${total / 65536}; const next = () => { while (left > 0) { left--; if (!process.stdout.write(line)) return process.stdout.once('drain', next); } }; next();`);
    const control = spawn(process.execPath, [cli, 'control'], { env: { ...providerEnv(fake), PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: control.stdout! });
      const pending = new Map<number, (value: any) => void>();
      let received = 0;
      let finished: (() => void) | undefined;
      lines.on('line', (line) => {
        const message = JSON.parse(line) as { id?: number; event?: string; text?: string; result?: unknown };
        if (message.event === 'output') received += Buffer.byteLength(message.text ?? '');
        if (message.id !== undefined && message.id !== null) pending.get(message.id)?.(message);
        if (received >= total) finished?.();
      });
      let id = 0;
      const request = (cmd: string, fields: object = {}) =>
        new Promise<any>((resolve) => {
          pending.set(++id, resolve);
          control.stdin!.write(`${JSON.stringify({ id, cmd, ...fields })}\n`);
        });
      await request('start', {});
      const started = await request('startAgent', { path: agent, cwd: dir });
      expect(started.ok).toBe(true);
      // The client stops reading for two seconds while the agent floods.
      control.stdout!.pause();
      const before = rssMiB(control.pid!);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const during = rssMiB(control.pid!);
      expect(during - before).toBeLessThan(64);
      control.stdout!.resume();
      await new Promise<void>((resolve) => {
        finished = resolve;
        if (received >= total) resolve();
      });
      expect(received).toBe(total);
      await request('close');
    } finally {
      control.kill('SIGKILL');
    }
  }, 60_000);
});
