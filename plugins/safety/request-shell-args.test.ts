// A tool call that runs a shell command carries its quotes escaped in JSON (`{"cmd":"export DB_PASSWORD=\"…\""}`):
// an outside review saw the value go to the provider in clear. The fake provider records what it received.
import { expect, it } from 'vitest';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';

const suite = fakeProviderSuite();

it('redacts quoted values of shell commands in tool-call arguments, and the arguments stay JSON', async () => {
  const runtime = suite.cage({ config: { safety: {} } });
  // (The last: JSON written inside the arguments' JSON string, its quotes escaped one level down.)
  const commands = ['export DB_PASSWORD="Xk9mQ2vLpz7w"', 'DB_PASSWORD="purple monkey dishwasher 42" ./migrate.sh', "export API_TOKEN='tk_9fQ2xLm7Pz4vR8wK'", 'set -e\nexport DB_PASSWORD="blue ocean deep 2024"\n./run', JSON.stringify({ password: 'Xy7!abc9Qz', note: 'hi' }), 'docker run -e DB_PASSWORD="dock pass 42" img'];
  const id = await runtime.startAgent(async (agent) => {
    const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'set up the database' },
          { role: 'assistant', content: null, tool_calls: commands.map((cmd, i) => ({ id: `c${i}`, type: 'function', function: { name: 'sh', arguments: JSON.stringify({ cmd }) } })) },
          ...commands.map((_, i) => ({ role: 'tool', tool_call_id: `c${i}`, content: 'ok' })),
        ],
      }),
    });
    expect(response.status).toBe(200);
    await response.text();
  });
  await runtime.waitForAgent(id);
  const raw = suite.fake.requests[0]!.rawBody;
  for (const value of ['Xk9mQ2vLpz7w', 'purple monkey', 'tk_9fQ2xLm7Pz4vR8wK', 'blue ocean', 'Xy7!abc9Qz', 'dock pass']) expect(raw).not.toContain(value);
  const calls = (suite.fake.requests[0]!.body as { messages: Array<{ tool_calls?: Array<{ function: { arguments: string } }> }> }).messages[1]!.tool_calls!;
  expect(calls.map((call) => (JSON.parse(call.function.arguments) as { cmd: string }).cmd)).toEqual(['export DB_PASSWORD="[SECRET]"', 'DB_PASSWORD="[SECRET]" ./migrate.sh', "export API_TOKEN='[SECRET]'", 'set -e\nexport DB_PASSWORD="[SECRET]"\n./run', '{"password":"[SECRET]","note":"hi"}', 'docker run -e DB_PASSWORD="[SECRET]" img']);
});
