// The secrets handoff of a process killed between writing it and reading it (Ctrl-C while `iron` starts) is deleted
// by the next `iron`; the handoffs of live processes are left alone.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepHandoffs } from './secret-env.ts';

describe('sweepHandoffs', () => {
  it('deletes the key files of dead processes only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-sweep-'));
    const dead = spawn(process.execPath, ['-e', '0']);
    await once(dead, 'exit');
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      const handoff = (pid: number) => {
        const folder = join(dir, `iron-env-${pid}-Ab12Cd`);
        mkdirSync(folder);
        writeFileSync(join(folder, 'secrets.json'), '{"OPENAI_API_KEY":"sk-left-behind"}', { mode: 0o600 });
        return folder;
      };
      const left = handoff(dead.pid!);
      const running = handoff(live.pid!);
      const mine = handoff(process.pid);
      mkdirSync(join(dir, 'iron-env-unrelated'));
      expect(sweepHandoffs(dir)).toBe(1);
      expect(existsSync(left)).toBe(false);
      expect(existsSync(running)).toBe(true);
      expect(existsSync(mine)).toBe(true);
      expect(existsSync(join(dir, 'iron-env-unrelated'))).toBe(true);
    } finally {
      live.kill();
    }
  });
});
