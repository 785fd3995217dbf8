// JSON `\uXXXX` escapes in tool-call arguments and tool results do not hide a value: the provider decodes them, so
// the scan reads the decoded strings, and what it rewrites goes out as valid JSON. Driven with the official SDKs
// through the runtime; the fake provider records what it received.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { AgentHandle, Runtime } from '../../core/runtime.ts';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';

const suite = fakeProviderSuite();
/** The test's runtime (`suite.cage`, closed after the test). */
let runtime: Runtime;

async function inAgent(body: (agent: AgentHandle) => Promise<unknown>): Promise<void> {
  const id = await runtime.startAgent(async (agent) => void (await body(agent)));
  const metrics = await runtime.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
}

/** What the provider would read: the strings of the JSON it received, decoded. */
function decodedStrings(value: unknown): string {
  return JSON.stringify(value, (_key, inner) => (typeof inner === 'string' ? decodeNested(inner) : inner));
}
function decodeNested(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), (_key, inner) => (typeof inner === 'string' ? decodeNested(inner) : inner));
  } catch {
    return text;
  }
}

// As Python's json.dumps (ensure_ascii) and a hand-escaping agent write them.
const ESCAPED_ARGS = String.raw`{"card":"\u0035105105105105100","mail":"bob\u0040example.com","phone":"\u002b44 20 7946 0123"}`;
const ESCAPED_RESULT = String.raw`{"card":"\u003378282246310005"}`;
const PYTHON_RESULT = String.raw`{"mail": "jos\u00e9.garc\u00eda@correo.es", "note": "caf\u00e9"}`;
const NESTED_RESULT = String.raw`{"result":"{\"mail\":\"ann\\u0040corp.io\"}"}`;
const CLEAN_RESULT = String.raw`{"note": "caf\u00e9 cr\u00e8me"}`;
const RAW = ['5105105105105100', 'bob@example.com', '7946 0123', '378282246310005', 'garc', 'ann@corp.io', 'corp.io'];

describe('JSON escapes in tool calls and results', () => {
  it('Chat: escaped values in tool-call arguments and tool results are found and replaced whole, as valid JSON', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent((agent) =>
      new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'pay it' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pay', arguments: ESCAPED_ARGS } }] },
          { role: 'tool', tool_call_id: 'c1', content: ESCAPED_RESULT },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c2', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: PYTHON_RESULT }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c3', type: 'function', function: { name: 'fetch', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c3', content: NESTED_RESULT },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c4', type: 'function', function: { name: 'menu', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c4', content: CLEAN_RESULT },
        ],
      }),
    );
    const { body } = suite.fake.requests[0]!;
    expect(body.messages[1].tool_calls[0].function.arguments).toBe('{"card":"<CREDIT_CARD_1>","mail":"<EMAIL_ADDRESS_1>","phone":"<PHONE_NUMBER_1>"}');
    expect(body.messages[2].content).toBe('{"card":"<CREDIT_CARD_2>"}');
    expect(body.messages[4].content).toEqual([{ type: 'text', text: '{"mail": "<EMAIL_ADDRESS_2>", "note": "café"}' }]);
    expect(body.messages[6].content).toBe(String.raw`{"result":"{\"mail\":\"<EMAIL_ADDRESS_3>\"}"}`);
    // Nothing found: sent byte for byte, escapes and all.
    expect(body.messages[8].content).toBe(CLEAN_RESULT);
    const read = decodedStrings(body);
    for (const value of RAW) expect(read).not.toContain(value);
  });

  it('Anthropic and Responses: an escaped value in a tool_result string or a function_call_output is found', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent(async (agent) => {
      await new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 100,
        messages: [
          { role: 'user', content: 'pay it' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'pay', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: ESCAPED_ARGS }] },
        ],
      });
      await new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).responses.create({
        model: 'gpt-4o-mini',
        input: [
          { type: 'function_call', call_id: 'c1', name: 'pay', arguments: ESCAPED_ARGS },
          { type: 'function_call_output', call_id: 'c1', output: PYTHON_RESULT },
        ],
      });
    });
    expect(suite.fake.requests).toHaveLength(2);
    const [anthropic, responses] = suite.fake.requests.map((request) => request.body);
    expect(anthropic!.messages[2].content[0].content).toBe('{"card":"<CREDIT_CARD_1>","mail":"<EMAIL_ADDRESS_1>","phone":"<PHONE_NUMBER_1>"}');
    expect(responses!.input[0].arguments).toBe('{"card":"<CREDIT_CARD_1>","mail":"<EMAIL_ADDRESS_1>","phone":"<PHONE_NUMBER_1>"}');
    expect(responses!.input[1].output).toBe('{"mail": "<EMAIL_ADDRESS_2>", "note": "café"}');
    for (const request of suite.fake.requests) for (const value of RAW) expect(decodedStrings(request.body)).not.toContain(value);
  });

  it('a value right after a \\n or \\t escape is found, and replaced without cutting the escape (valid JSON both ways)', async () => {
    runtime = suite.cage({ config: { safety: { entities: { EMAIL_ADDRESS: { output: 'redact' } } } } });
    const args = String.raw`{"note":"Card:\n5105 1051 0510 5100","to":"hi\tbob@example.com"}`;
    suite.fake.enqueue({ kind: 'reply', toolCall: { name: 'send', arguments: String.raw`{"note":"line\nann@corp.io"}` } });
    let answer = '';
    await inAgent(async (agent) => {
      const completion = await new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: 'send it' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send', arguments: args } }] },
          { role: 'tool', tool_call_id: 'c1', content: String.raw`{"card":"x\n3782 822463 10005"}` },
        ],
      });
      answer = (completion.choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments;
    });
    const { body } = suite.fake.requests[0]!;
    expect(body.messages[1].tool_calls[0].function.arguments).toBe(String.raw`{"note":"Card:\n<CREDIT_CARD_1>","to":"hi\t<EMAIL_ADDRESS_1>"}`);
    expect(body.messages[2].content).toBe(String.raw`{"card":"x\n<CREDIT_CARD_2>"}`);
    expect(JSON.parse(answer)).toEqual({ note: 'line\n[EMAIL_ADDRESS]' });
  });
});
