// A value whose context is in one text part of a message and the value in the next (`["my password is",
// " Qw3rty!zz9"]`, a CSV header then its rows): read joined, as the provider reads the parts (an outside review found
// them in clear, where a card cut across two parts was caught). The fake provider records what it received.
import { expect, it } from 'vitest';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';

const suite = fakeProviderSuite();

it('redacts a value named in the text part before it, and leaves parts with nothing across them as they were', async () => {
  const runtime = suite.cage({ config: { safety: { entities: { SECRET: 'redact' } } } });
  const runs = [
    ['my password is', ' Qw3rty!zz9'],
    ['password:', 'Kv8#mnb2Qa'],
    ['user,password\n', 'bob,Xk9mQ2vLpz7w\nann,Pw0#x0Qz1\n'],
    ['hello there,', ' general news'],
  ];
  const id = await runtime.startAgent(async (agent) => {
    const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: runs.map((texts) => ({ role: 'user', content: texts.map((text) => ({ type: 'text', text })) })) }),
    });
    expect(response.status).toBe(200);
    await response.text();
  });
  await runtime.waitForAgent(id);
  const raw = suite.fake.requests[0]!.rawBody;
  for (const value of ['Qw3rty!zz9', 'Kv8#mnb2Qa', 'Xk9mQ2vLpz7w', 'Pw0#x0Qz1']) expect(raw).not.toContain(value);
  const messages = (suite.fake.requests[0]!.body as { messages: Array<{ content: Array<{ text: string }> }> }).messages;
  expect(messages[0]!.content.map((part) => part.text).join('')).toBe('my password is [SECRET]');
  // Nothing across them: the parts go as they came.
  expect(messages[3]!.content.map((part) => part.text)).toEqual(['hello there,', ' general news']);
});
