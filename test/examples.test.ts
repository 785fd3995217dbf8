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
    // (calls counts every call, failed ones too, as the dashboard does.)
    expect(rows.find((row) => row.startsWith('llm-client-agent'))).toMatch(/completed +3 +1 /);
    expect(stdout).toContain('refused (llm-client-agent): model "gpt-4o" is not allowed here (allowed: gpt-4o-mini, claude-sonnet-4-6, gpt-4.1)');
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

  it('npm run example:plugin: the custom allow-list plugin lets one model through and refuses the other', async () => {
    const { stdout, stderr } = await run(process.execPath, ['core/cli/bin.ts', 'run', 'examples/allowlist-agent.py', '--config', 'examples/allowlist.config.yaml'], { cwd: root, env, timeout: 60_000 });
    expect(stderr).toContain('plugins: model-allowlist');
    expect(stdout).toMatch(/^\[gpt-4o-mini\] answered with \d+ tokens/m);
    expect(stdout).toContain('[gpt-4o] refused (403): IRON_BAD_REQUEST: model "gpt-4o" is not allowed here (allowed: gpt-4o-mini)');
    expect(stderr).toMatch(/allowlist-agent\.py\s+completed\s+2\s+1\s/);
  });
});
