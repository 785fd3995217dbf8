// Chat Completions custom tools (GPT-5: `{ type: 'custom', custom: { name, input } }`): a call in the history goes to
// the provider as it came, its free-form input scanned like any tool input, in process and through the gateway; a
// custom call in an answer is scanned on its way back, streamed or not; a fallback in another format refuses it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime, type AgentHandle } from '../../core/runtime.ts';
import { startFakeProvider, type FakeProvider } from '../../test/fake-provider/index.ts';
import { fixture, runtimeFor } from '../../test/helpers.ts';

let fake: FakeProvider;
let backup: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  [fake, backup] = await Promise.all([startFakeProvider(), startFakeProvider()]);
});
afterAll(() => Promise.all([fake.close(), backup.close()]));
beforeEach(() => {
  fake.reset();
  backup.reset();
});
afterEach(() => runtime?.close());

const EMAIL = 'jane.doe@example.org';
const CARD = '4111 1111 1111 1111';

const customTool = { type: 'custom' as const, custom: { name: 'grep', description: 'Searches the mailbox' } };
const history = (input: string, result = `3 mails from ${EMAIL}`) => [
  { role: 'user' as const, content: 'find her mails' },
  { role: 'assistant' as const, content: null, tool_calls: [{ id: 'c1', type: 'custom' as const, custom: { name: 'grep', input } }] },
  { role: 'tool' as const, tool_call_id: 'c1', content: result },
];

async function inAgent<T>(body: (agent: AgentHandle) => Promise<T>): Promise<T> {
  let result: T | undefined;
  const id = await runtime.startAgent(async (agent) => void (result = await body(agent)));
  const metrics = await runtime.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
  return result as T;
}

describe('custom tool calls in Chat Completions', () => {
  it('a custom call in the history reaches the provider as it came, its input scanned (in process)', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    await inAgent((agent) =>
      new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'gpt-5', tools: [customTool], messages: history(`from:${EMAIL} "card ${CARD}"`) }),
    );
    const { body, rawBody } = fake.requests[0]!;
    expect(body.messages[1]).toEqual({ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'grep', input: 'from:<EMAIL_ADDRESS_1> "card <CREDIT_CARD_1>"' } }] });
    expect(body.messages[2]).toEqual({ role: 'tool', tool_call_id: 'c1', content: '3 mails from <EMAIL_ADDRESS_1>' });
    expect(body.tools).toEqual([customTool]);
    for (const value of [EMAIL, CARD, 'jane.doe']) expect(rawBody).not.toContain(value);
  });

  it('without PII a custom call is passed through byte for byte, also through the gateway', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    const body = { model: 'gpt-5', tools: [customTool], messages: history('grep -r "TODO" src/', '3 matches') };
    await inAgent((agent) => new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create(body));
    expect(fake.requests[0]!.body).toEqual(body);
    const id = await runtime.startAgent(fixture('raw-fetch-agent.js'), { output: 'capture', env: { IRON_TEST_PATH: '/v1/chat/completions', IRON_TEST_BODY: JSON.stringify({ ...body, messages: history(`to ${EMAIL}`) }) } });
    await runtime.waitForAgent(id);
    expect(JSON.parse(runtime.agentOutput(id)).status).toBe(200);
    expect(fake.requests[1]!.body.messages[1].tool_calls).toEqual([{ id: 'c1', type: 'custom', custom: { name: 'grep', input: 'to <EMAIL_ADDRESS_1>' } }]);
  });

  it('a custom call in an answer is scanned on its way back, JSON and streamed', async () => {
    const input = `notify ${EMAIL} about card 5105 1051 0510 5100`;
    const server = await customAnswers(input);
    try {
      runtime = runtimeFor({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } as FakeProvider, { config: { safety: {} } });
      const { json, streamed } = await inAgent(async (agent) => {
        const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        const answer = await client.chat.completions.create({ model: 'gpt-5', tools: [customTool], messages: [{ role: 'user', content: 'go' }] });
        const stream = await client.chat.completions.create({ model: 'gpt-5', tools: [customTool], messages: [{ role: 'user', content: 'go' }], stream: true });
        let text = '';
        for await (const chunk of stream) {
          const call = chunk.choices[0]?.delta.tool_calls?.[0];
          text += call?.custom?.input ?? '';
          if (call?.function) throw new Error('a custom call came back as a function call');
        }
        return { json: answer.choices[0]!.message.tool_calls, streamed: text };
      });
      // Output defaults: a new card is redacted, an address reported.
      expect(json).toEqual([{ id: 'call_1', type: 'custom', custom: { name: 'grep', input: `notify ${EMAIL} about card [CREDIT_CARD]` } }]);
      expect(streamed).toBe(`notify ${EMAIL} about card [CREDIT_CARD]`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a fallback to Anthropic cannot carry a custom call: 400 naming why, nothing sent there', async () => {
    runtime = new Runtime({
      env: {},
      logLevel: 'silent',
      config: {
        providers: { openai: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'k1' }, anthropic: { type: 'anthropic', baseUrl: backup.url, apiKey: 'k2' } },
        reliability: { retries: { maxAttempts: 1 }, fallbacks: { 'gpt-5': ['anthropic/claude-haiku-4-5'] } },
      },
    });
    fake.setOptions({ failureRate: 1, failureStatus: 500 });
    const error = await inAgent((agent) =>
      new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'gpt-5', tools: [customTool], messages: history('grep x') }).catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toBe(
      '400 IRON_BAD_REQUEST: tool call "grep" is a custom tool\'s call (free-form input, not JSON arguments), which the anthropic-messages format cannot carry: this request cannot fall back to a route in that format. Keep its fallbacks on OpenAI Chat Completions models, or make "grep" a function tool',
    );
    expect(fake.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
  });
});

/** A provider whose every answer is one custom tool call with `input` (split into small deltas when streamed). */
async function customAnswers(input: string): Promise<Server> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const base = { id: 'chatcmpl-1', created: 1, model: 'gpt-5' };
      const usage = { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 };
      if (JSON.parse(raw).stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const message = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'custom', custom: { name: 'grep', input } }] };
        res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'tool_calls' }], usage }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (delta: unknown, finish: string | null = null, extra = {}) =>
        res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`);
      event({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'custom', custom: { name: 'grep', input: '' } }] });
      for (let i = 0; i < input.length; i += 4) event({ tool_calls: [{ index: 0, custom: { input: input.slice(i, i + 4) } }] });
      event({}, 'tool_calls', { usage });
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
