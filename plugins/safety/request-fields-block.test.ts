// With CREDIT_CARD on block, a card anywhere in a request refuses the call before anything is sent: messages, system
// prompts, tool-call arguments (JSON-escaped too) and results, custom tool input, tool definitions, output schemas,
// Responses instructions and input items, prior thinking. Driven with the official SDKs through the runtime; the fake
// provider must receive nothing.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../core/runtime.ts';
import { startFakeProvider, type FakeProvider } from '../../test/fake-provider/index.ts';
import { runtimeFor } from '../../test/helpers.ts';

let fake: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  fake = await startFakeProvider();
  runtime = runtimeFor(fake, { config: { safety: { entities: { CREDIT_CARD: 'block', PHONE_NUMBER: 'detect' } } } });
});
afterAll(async () => {
  await runtime.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const CARD = '4111 1111 1111 1111';
const ESCAPED_CARD = String.raw`\u0034111111111111111`;
const user = (content: string) => ({ role: 'user' as const, content });
const fn = (description: string) => ({ type: 'function' as const, function: { name: 'pay', description, parameters: { type: 'object', properties: {} } } });

type Call = (clients: { openai: OpenAI; anthropic: Anthropic }) => Promise<unknown>;

const cases: Array<[string, Call]> = [
  ['Chat user text', ({ openai }) => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [user(`my card is ${CARD}`)] })],
  ['Chat system prompt', ({ openai }) => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: `Card on file: ${CARD}` }, user('hi')] })],
  [
    'Chat tool-call arguments, JSON-escaped',
    ({ openai }) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [user('pay'), { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pay', arguments: `{"card":"${ESCAPED_CARD}"}` } }] }, { role: 'tool', tool_call_id: 'c1', content: 'ok' }],
      }),
  ],
  [
    'Chat tool result',
    ({ openai }) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [user('pay'), { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: `card ${CARD}` }],
      }),
  ],
  [
    'Chat custom tool input',
    ({ openai }) =>
      openai.chat.completions.create({
        model: 'gpt-5',
        messages: [user('pay'), { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'pay', input: `charge ${CARD}` } }] }, { role: 'tool', tool_call_id: 'c1', content: 'ok' }],
      }),
  ],
  ['Chat tool definition', ({ openai }) => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [user('hi')], tools: [fn(`Pays with ${CARD}`)] })],
  [
    'Chat output schema',
    ({ openai }) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [user('hi')],
        response_format: { type: 'json_schema', json_schema: { name: 'r', schema: { type: 'object', properties: { card: { type: 'string', default: CARD } } } } },
      }),
  ],
  ['Responses instructions', ({ openai }) => openai.responses.create({ model: 'gpt-4o-mini', instructions: `Use card ${CARD}`, input: 'hi' })],
  [
    'Responses function_call and its output',
    ({ openai }) =>
      openai.responses.create({
        model: 'gpt-4o-mini',
        input: [
          { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c1', output: `{"card":"${CARD}"}` },
        ],
      }),
  ],
  ['Responses tool definition', ({ openai }) => openai.responses.create({ model: 'gpt-4o-mini', input: 'hi', tools: [{ type: 'function', name: 'pay', description: `Pays with ${CARD}`, parameters: null, strict: false }] })],
  ['Anthropic system', ({ anthropic }) => anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, system: `Card: ${CARD}`, messages: [user('hi')] })],
  [
    'Anthropic tool_use input and a document',
    ({ anthropic }) =>
      anthropic.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        messages: [
          user('pay'),
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'pay', input: { card: CARD } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
        ],
      }),
  ],
  [
    'Anthropic document',
    ({ anthropic }) =>
      anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: `invoice, card ${CARD}` } }, { type: 'text', text: 'sum it up' }] }] }),
  ],
  [
    'Anthropic thinking the runtime did not give out',
    ({ anthropic }) =>
      anthropic.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        messages: [user('pay'), { role: 'assistant', content: [{ type: 'thinking', thinking: `the card is ${CARD}`, signature: 'abc' }, { type: 'text', text: 'ok' }] }, user('go on')],
      }),
  ],
  ['Anthropic tool definition', ({ anthropic }) => anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [user('hi')], tools: [{ name: 'pay', description: `Pays with ${CARD}`, input_schema: { type: 'object' } }] })],
];

describe('CREDIT_CARD: block refuses a card in any field before anything is sent', () => {
  for (const [name, call] of cases) {
    it(name, async () => {
      let error: unknown;
      const id = await runtime.startAgent(async (agent) => {
        const clients = { openai: new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }), anthropic: new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }) };
        error = await call(clients).then(
          () => undefined,
          (e: unknown) => e,
        );
      });
      await runtime.waitForAgent(id);
      expect((error as { status?: number } | undefined)?.status).toBe(400);
      expect((error as Error).message).toContain("IRON_PII_BLOCKED: the prompt contains 1 CREDIT_CARD, which safety.entities blocks on input: the call was refused and nothing was sent");
      expect(fake.requests).toHaveLength(0);
    });
  }

  it('a phone number alone (detect) still goes out', async () => {
    const id = await runtime.startAgent((agent) => new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [user('call +44 20 7946 0958')] }));
    expect((await runtime.waitForAgent(id)).status).toBe('completed');
    expect(fake.requests[0]!.body.messages[0].content).toBe('call +44 20 7946 0958');
  });
});
