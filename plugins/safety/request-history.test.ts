// An agent sends its whole conversation with every call. Its history was scanned on earlier calls (going out, or
// coming in as an answer): the findings come from memory (Redactor.detectRemembered), and what goes out is the same as
// scanning it again — each value still redacted and counted on every call. The fake provider records what it received.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';
import type { PiiAlert } from './events.ts';
import { Redactor } from './redact.ts';

const suite = fakeProviderSuite();
afterEach(() => vi.restoreAllMocks());

const turn = (i: number) => `Turn ${i}: please write to customer${i}@example.org, card 4111 1111 1111 1111, about the order ${'and its delivery date '.repeat(3)}`;

describe('a conversation resent call after call', () => {
  it('redacts the history on every call as the first call did, scanning each message once', async () => {
    const runtime = suite.cage({ config: { safety: { entities: { EMAIL_ADDRESS: 'redact', CREDIT_CARD: 'redact' } } } });
    const scans = vi.spyOn(Redactor.prototype, 'detect');
    const alerts: PiiAlert[] = [];
    runtime.events.on('PiiAlert', (event) => void alerts.push(event as PiiAlert));
    const messages: Array<{ role: string; content: string }> = [];
    const id = await runtime.startAgent(async (agent) => {
      for (let i = 0; i < 6; i++) {
        messages.push({ role: 'user', content: turn(i) });
        const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
        });
        const answer = (await response.json()) as { choices: Array<{ message: { content: string } }> };
        messages.push({ role: 'assistant', content: answer.choices[0]!.message.content });
      }
    });
    await runtime.waitForAgent(id);
    expect(suite.fake.requests).toHaveLength(6);
    const sent = suite.fake.requests.map((request) => (request.body as { messages: Array<{ content: string }> }).messages.map((message) => message.content));
    for (const [i, contents] of sent.entries()) {
      expect(contents).toHaveLength(2 * i + 1);
      expect(suite.fake.requests[i]!.rawBody).not.toMatch(/customer\d@example\.org|4111 1111/);
      // The history goes out as it went the first time.
      if (i > 0) expect(contents.slice(0, 2 * i - 1)).toEqual(sent[i - 1]!.slice(0, 2 * i - 1));
    }
    expect(sent[5]![10]).toBe('Turn 5: please write to [EMAIL_ADDRESS], card [CREDIT_CARD], about the order and its delivery date and its delivery date and its delivery date ');
    // Every message of every call was redacted and counted, remembered or not: call i carries i + 1 user turns.
    const perCall = new Map<string, Record<string, number>>();
    for (const alert of alerts) if (alert.direction === 'input') perCall.set(alert.callId, { ...perCall.get(alert.callId), [alert.entityType]: alert.count });
    expect([...perCall.values()]).toEqual(Array.from({ length: 6 }, (_, i) => ({ EMAIL_ADDRESS: i + 1, CREDIT_CARD: i + 1 })));
    // Each text scanned once: 6 user turns (as they go out) and 6 answers (as they come in, then sent back). Without the
    // memory: the user turns 21 times, the answers 6 + 15 times.
    expect(scans.mock.calls.length).toBe(12);
  });
});
