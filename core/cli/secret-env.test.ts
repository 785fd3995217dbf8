// The secrets handoff of a process killed between writing it and reading it (Ctrl-C while `iron` starts) is deleted
// by the next `iron`; the handoffs of live processes are left alone.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitSecrets, sweepHandoffs } from './secret-env.ts';

describe('splitSecrets', () => {
  it('moves secret-looking names in any case, the config\'s references, and every variable holding one of their values', () => {
    const key = 'sk-real-provider-key-123';
    const { secrets, kept } = splitSecrets(
      {
        OPENAI_API_KEY: key,
        OPENAI_KEY: 'sk-other-key-aaaa',
        OPENAI_APIKEY: 'sk-other-key-bbbb',
        openai_api_key: 'sk-lower-case-key',
        GITHUB_AUTH: 'ghp_something',
        LLM_CONN: `provider=openai;key=${key}`,
        SAME_AGAIN: key,
        PLAIN_NAME: 'from-the-config-1',
        PATH: '/usr/bin:/bin',
        HOME: '/root',
        SHORT_TOKEN: 'yes',
        GREETING: 'yes please',
      },
      ['PLAIN_NAME'],
    );
    expect(Object.keys(secrets).sort()).toEqual(['GITHUB_AUTH', 'LLM_CONN', 'OPENAI_APIKEY', 'OPENAI_API_KEY', 'OPENAI_KEY', 'PLAIN_NAME', 'SAME_AGAIN', 'SHORT_TOKEN', 'openai_api_key']);
    // A short secret value (under 8 characters) is not looked for inside other variables.
    expect(kept).toEqual({ PATH: '/usr/bin:/bin', HOME: '/root', GREETING: 'yes please' });
  });
});

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
