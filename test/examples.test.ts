// The README's example commands, run as a user runs them: real processes, offline provider, no keys.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
// No provider keys: the examples must work on a fresh machine.
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

describe('examples', () => {
  it('npm run demo: five agents caged offline, reporting to a server, then a summary table, a PII round trip and what the server recorded', async () => {
    const { stdout } = await run(process.execPath, ['examples/demo.ts'], { cwd: root, env, timeout: 60_000 });
    const rows = stdout.split('\n').filter((line) => /^(openai-sdk-agent|anthropic-sdk-agent|llm-client-agent|python-agent\.py|support-agent) /.test(line));
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row).toMatch(/ completed +\d+ /);
    // The allow-list plugin refused one call of the llm-client agent.
    expect(rows.find((row) => row.startsWith('llm-client-agent'))).toMatch(/completed +2 +1 /);
    expect(stdout).toMatch(/events: AgentStarted 5, .*LlmCallFailed 1/);
    // The provider saw placeholders; the agent got its own values back.
    expect(stdout).toContain('the provider got    Refund <EMAIL_ADDRESS_1>, card <CREDIT_CARD_1>.');
    expect(stdout).toContain('the agent got back  Simulated answer to "Refund jane.doe@example.org, card 4111 1111 1111 1111."');
    expect(rows.find((row) => row.startsWith('support-agent'))).toMatch(/ 2$/);
    // The sync plugin reported every call (10 answered, 1 refused) and run to the demo's server.
    expect(stdout).toMatch(/server \(http:\/\/127\.0\.0\.1:\d+, reported by the sync plugin\): 11 calls, \$0\.0\d{3} spent, 5 agent runs/);
  });

  it('examples/openai-agent.ts: the official openai client through agent.fetch', async () => {
    const { stdout } = await run(process.execPath, ['examples/openai-agent.ts'], { cwd: root, env, timeout: 60_000 });
    expect(stdout).toContain('Simulated answer to "Write a haiku about budgets."');
    expect(stdout).toContain('Simulated answer to "Count to five."');
    expect(stdout).toMatch(/openai-agent +completed +2 +0 /);
  });
});
