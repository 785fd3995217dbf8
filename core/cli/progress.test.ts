// The CLI's live status line and figures: never glued to the agent's own output, money never rounded to nothing.
import { describe, expect, it } from 'vitest';
import { Runtime } from '../runtime.ts';
import { formatLogLine } from '../logger.ts';
import { followAgent } from './progress.ts';
import { formatUsd } from './summary.ts';

const CLEAR = '\r\x1b[K';

describe('the status line on a terminal', () => {
  it("steps aside for the agent's output and waits for the end of a line the agent left open", async () => {
    const runtime = new Runtime({ env: {}, logLevel: 'silent' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let called!: () => void;
    const callDone = new Promise<void>((resolve) => (called = resolve));
    const id = await runtime.startAgent(async (agent) => {
      await gate;
      await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      called();
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
    const screen: string[] = [];
    const status = followAgent(runtime, id, { tty: true, write: (text) => screen.push(text) });
    const agentWrites = (text: string) => status.around(() => screen.push(`<agent>${text}`), text);

    agentWrites('whole line\n');
    // After a whole line the status is drawn below it.
    expect(screen.slice(-2)).toEqual(['<agent>whole line\n', expect.stringMatching(/^\r\x1b\[Kiron: running {2}calls 0 /)]);
    agentWrites('thinking');
    // The live line was cleared first, and is not drawn after a line the agent left open.
    expect(screen.slice(-2)).toEqual([CLEAR, '<agent>thinking']);
    release();
    await callDone;
    // A call completed meanwhile: still not drawn next to "thinking".
    expect(screen.at(-1)).toBe('<agent>thinking');
    agentWrites('… done\n');
    expect(screen.slice(-2)).toEqual(['<agent>… done\n', expect.stringMatching(/^\r\x1b\[Kiron: running {2}calls 1 {2}tokens \d+ in/)]);
    status.stop();
    expect(screen.at(-1)).toBe(CLEAR);
    await runtime.close();
  });

  it('keeps a failed call on screen above the status line', async () => {
    const runtime = new Runtime({ env: {}, logLevel: 'silent', budget: 0.000001 });
    const screen: string[] = [];
    let follow!: () => void;
    const following = new Promise<void>((resolve) => (follow = resolve));
    const id = await runtime.startAgent(async (agent) => {
      await following;
      await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
    });
    const status = followAgent(runtime, id, { tty: true, write: (text) => screen.push(text) });
    follow();
    await runtime.waitForAgent(id);
    status.stop();
    expect(screen.join('')).toMatch(/iron: LlmCallFailed gpt-4o-mini IRON_BUDGET_EXCEEDED: [^\n]+\n\r\x1b\[Kiron: (running|completed) {2}calls 1 \(1 failed\)/);
    await runtime.close();
  });
});

describe('formatUsd', () => {
  it.each([
    [0, '$0.00'],
    [12.345, '$12.35'],
    [1, '$1.00'],
    [0.1234, '$0.1234'],
    [0.01, '$0.0100'],
    [0.000031, '$0.000031'],
    [0.00005, '$0.000050'],
    [0.0012345, '$0.0012'],
    [3.2e-7, '$0.00000032'],
    [1e-9, '<$0.00000001'],
  ])('%s → %s', (value, text) => expect(formatUsd(value)).toBe(text));
});

describe('readable log lines', () => {
  it('prints level, message, error and fields; hides pid, hostname and time', () => {
    const json = JSON.stringify({ level: 40, time: 1, pid: 2, hostname: 'h', name: 'iron', plugin: 'sync', msg: 'the server cannot be reached' });
    expect(formatLogLine(json)).toBe('iron warn: the server cannot be reached (plugin=sync)\n');
    const error = JSON.stringify({ level: 50, time: 1, name: 'iron', agentId: 'a1', err: { code: 'IRON_AGENT_FAILED', message: 'boom', stack: 'x' }, msg: 'agent researcher failed' });
    expect(formatLogLine(error)).toBe('iron error: agent researcher failed: IRON_AGENT_FAILED: boom (agentId=a1)\n');
    expect(formatLogLine('not json')).toBe('not json\n');
  });
});
