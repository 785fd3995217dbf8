// The `iron` CLI as a user runs it: a real process, the fake provider, exit codes, init.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { fixture, providerEnv } from './helpers.ts';
import { loadConfig } from '../core/index.ts';

const cli = new URL('../core/cli/main.ts', import.meta.url).pathname;
const examples = new URL('../examples/', import.meta.url).pathname;

function iron(args: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(async () => {
  await fake.close();
});

describe('iron run', () => {
  it('runs a Python agent caged, prints progress and a summary, and exits with its code', async () => {
    const result = await iron(['run', join(examples, 'python-agent.py'), '--', 'gravity'], providerEnv(fake));
    expect(result.stderr).toContain('LlmCallCompleted gpt-4o-mini | iron: running  calls 1');
    expect(result.stdout).toContain('[gravity] Echo: Explain gravity in one sentence.');
    expect(result.stderr).toMatch(/python-agent\.py\s+completed\s+2\s+0/);
    expect(result.code).toBe(0);
  });

  it('cages spend with --budget: the refused call reaches the agent as a 402, and the summary shows the spend', async () => {
    const ok = await iron(['run', join(examples, 'python-agent.py'), '--budget', '5'], providerEnv(fake));
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/python-agent\.py\s+completed\s+\d+\s+0\s+\d+\s+\d+\s+\$0\.\d{4,8}\s+\$0\.\d{4,8} \/ \$5\.00/);
    const broke = await iron(['run', join(examples, 'python-agent.py'), '--budget', '0.000001'], providerEnv(fake));
    expect(broke.stderr).toContain('LLM call refused (402): IRON_BUDGET_EXCEEDED: budget exceeded');
    expect(broke.code).toBe(2);
  });

  it("exits with the agent's own exit code", async () => {
    const result = await iron(['run', fixture('exit-code.js'), '--', '5'], providerEnv(fake));
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('IRON_AGENT_FAILED: agent exited with code 5');
  });

  it('loads a custom plugin from a config file and refuses a call it forbids', async () => {
    const env = { ...providerEnv(fake), AGENT_MODEL: 'gpt-4o' };
    const result = await iron(['run', join(examples, 'python-agent.py'), '--config', join(examples, 'allowlist.config.yaml')], env);
    expect(result.stderr).toContain('LLM call refused (403): IRON_BAD_REQUEST: model "gpt-4o" is not allowed here (allowed: gpt-4o-mini)');
    expect(result.code).toBe(2);
  });

  it('names the offending key of a bad config and exits 78', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-cli-'));
    writeFileSync(join(dir, 'iron.config.yaml'), 'budget:\n  limit: ten\n');
    const result = await iron(['run', join(examples, 'python-agent.py')], providerEnv(fake), dir);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('budget.limit: expected a number from 0.000001 to 1000000000, got "ten"');
  });

  it('reports a missing agent script clearly', async () => {
    const result = await iron(['run', 'no-such-agent.py'], providerEnv(fake));
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('IRON_AGENT_START_FAILED: agent script not found');
  });
});

describe('iron init', () => {
  it('writes a config that loads, and does not overwrite it without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-init-'));
    const first = await iron(['init'], { PATH: process.env.PATH ?? '' }, dir);
    expect(first.code).toBe(0);
    const text = readFileSync(join(dir, 'iron.config.yaml'), 'utf8');
    expect(text).toContain('#');
    await expect(loadConfig(join(dir, 'iron.config.yaml'), { env: {} })).resolves.toMatchObject({ file: join(dir, 'iron.config.yaml') });
    const second = await iron(['init'], { PATH: process.env.PATH ?? '' }, dir);
    expect(second.code).toBe(78);
    expect(second.stderr).toContain('exists; use --force');
  });
});

describe('iron scan', () => {
  it('prints findings as JSON lines from a file, with positions and no values unless asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-scan-'));
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'Ticket 4521\nmail jane.doe@example.org\ncard 4111 1111 1111 1111, build 4.2.0.17\n');
    const plain = await iron(['scan', file], {});
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { type: 'EMAIL_ADDRESS', start: 17, end: 37, score: 0.95, line: 2, column: 6 },
      { type: 'CREDIT_CARD', start: 43, end: 62, score: 1, line: 3, column: 6 },
    ]);
    expect(plain.stdout).not.toContain('jane');
    const shown = await iron(['scan', file, '--show-values', '--exit-code', '--entities', 'credit_card'], {});
    expect(shown.code).toBe(1);
    expect(JSON.parse(shown.stdout)).toMatchObject({ type: 'CREDIT_CARD', value: '4111 1111 1111 1111' });
  });

  it('reads stdin and applies the safety section of a config (allow-list, custom recognizers)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-scan-'));
    writeFileSync(
      join(dir, 'iron.config.yaml'),
      "safety:\n  allow: [support@example.com]\n  recognizers:\n    - type: EMPLOYEE_ID\n      pattern: '\\bEMP-\\d{6}\\b'\n",
    );
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, [cli, 'scan', '-'], { cwd: dir }, (error, stdout) => resolve({ code: error ? 1 : 0, stdout }));
      child.stdin!.end('support@example.com asked EMP-123456 to write to bob@example.net');
    });
    expect(result.stdout.trim().split('\n').map((line) => JSON.parse(line).type)).toEqual(['EMPLOYEE_ID', 'EMAIL_ADDRESS']);
  });

  it('names the offending key of a bad safety section', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-scan-'));
    writeFileSync(join(dir, 'iron.config.yaml'), 'safety:\n  entities:\n    EMAIL_ADDRESS: hide\n');
    const result = await iron(['scan', join(dir, 'iron.config.yaml')], {}, dir);
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/safety\.entities\.EMAIL_ADDRESS/);
  });
});
