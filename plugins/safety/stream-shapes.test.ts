// Chat stream chunks in shapes OpenAI does not stream but OpenAI-compatible servers (or a hostile upstream) can: their
// text went to the agent unscanned (an outside review of this session, F5). A scripted provider (a real HTTP server)
// replays each shape; the agent reads the gateway's raw SSE.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Runtime } from '../../core/runtime.ts';

const CARD = '4111 1111 1111 1111';
const chunk = (choices: object[]) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices })}\n\n`;
const start = chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
const end = `${chunk([{ index: 0, delta: {}, finish_reason: 'stop' }])}data: [DONE]\n\n`;

const shapes: Array<[string, string]> = [
  ['content as a list of parts', chunk([{ index: 0, delta: { content: [{ type: 'text', text: `card ${CARD} end` }] }, finish_reason: null }])],
  ['a message on the choice', chunk([{ index: 0, message: { role: 'assistant', content: `card ${CARD} end` }, delta: {}, finish_reason: null }])],
  ['a second choice with the same index', chunk([{ index: 0, delta: { content: 'Hello ' }, finish_reason: null }, { index: 0, delta: { content: `card ${CARD} end` }, finish_reason: null }])],
  ['a second choice beside plain text', chunk([{ index: 0, delta: { content: 'Hello ' }, finish_reason: null }, { index: 1, delta: { content: `card ${CARD} end` }, finish_reason: null }])],
  [
    'a second tool call in one delta',
    chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'a', arguments: '{}' } }, { index: 1, id: 't2', type: 'function', function: { name: 'pay', arguments: `{"card":"${CARD}"}` } }] }, finish_reason: null }]),
  ],
  ['legacy text on the choice', chunk([{ index: 0, text: `card ${CARD} end`, delta: {}, finish_reason: null }])],
];

let next = '';
let server: Server;
let url = '';
let runtime: Runtime | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/event-stream' }).end(next));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

async function streamed(events: string, anthropic = false): Promise<string> {
  next = events;
  runtime = new Runtime({ env: { OPENAI_API_KEY: 'k', IRON_OPENAI_BASE_URL: `${url}/v1`, ANTHROPIC_API_KEY: 'k', IRON_ANTHROPIC_BASE_URL: url }, logLevel: 'silent', config: { safety: {} } });
  let text = '';
  const id = await runtime.startAgent(async (agent) => {
    const response = await agent.fetch(anthropic ? 'https://api.anthropic.com/v1/messages' : 'https://api.openai.com/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(anthropic ? { 'x-api-key': 'x', 'anthropic-version': '2023-06-01' } : { authorization: 'Bearer x' }) },
      body: JSON.stringify({ model: anthropic ? 'claude-sonnet-4-5' : 'gpt-4o-mini', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    text = await response.text();
  });
  expect((await runtime.waitForAgent(id)).status).toBe('completed');
  return text;
}

describe('Chat stream shapes whose text no channel reads are scanned (outside review, F5)', () => {
  for (const [name, shape] of shapes) {
    it(name, async () => {
      const text = await streamed(start + shape + end);
      expect(text).not.toContain('4111');
      expect(text).toContain('[CREDIT_CARD]');
      // Still a stream of valid events.
      for (const data of text.split('\n\n').filter(Boolean)) {
        const json = data.replace(/^(event: .*\n)?data: /, '');
        if (json !== '[DONE]') expect(() => JSON.parse(json), data).not.toThrow();
      }
    });
  }
});

describe('two tool calls in one Chat chunk (second outside review of this session)', () => {
  it('go out as they came when nothing is found: no call gets the other one\'s arguments', async () => {
    const calls = [{ index: 0, id: 't1', type: 'function', function: { name: 'send', arguments: '{"to":"hello"}' } }, { index: 1, id: 't2', type: 'function', function: { name: 'send', arguments: '{"to":"world"}' } }];
    const text = await streamed(start + chunk([{ index: 0, delta: { tool_calls: calls }, finish_reason: null }]) + end);
    const args = new Map<number, string>();
    for (const data of text.split('\n\n').filter(Boolean)) {
      const json = data.replace(/^data: /, '');
      if (json === '[DONE]') continue;
      for (const call of (JSON.parse(json) as { choices: Array<{ delta: { tool_calls?: Array<{ index: number; function?: { arguments?: string } }> } }> }).choices[0]?.delta.tool_calls ?? []) {
        args.set(call.index, (args.get(call.index) ?? '') + (call.function?.arguments ?? ''));
      }
    }
    expect(Object.fromEntries(args)).toEqual({ 0: '{"to":"hello"}', 1: '{"to":"world"}' });
  });
});

describe('Anthropic stream events whose text no channel reads are scanned (outside review, F6)', () => {
  const e = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  it("a message_start that carries content", async () => {
    const text = await streamed(
      e('message_start', { message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: `card ${CARD}` }], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } }) +
        e('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
        e('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'ok' } }) +
        e('content_block_stop', { index: 0 }) +
        e('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } }) +
        e('message_stop', {}),
      true,
    );
    expect(text).not.toContain('4111');
    expect(text).toContain('[CREDIT_CARD]');
  });
});

describe('plain text deltas stay unparsed through the safety plugin', () => {
  it('a stream of 200 text deltas is read without parsing each one (the shape checks above must not cost that)', async () => {
    // As OpenAI writes them (the gateway asked for usage, so each chunk has `usage: null`).
    const plain = (content: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', system_fingerprint: 'fp', choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }], usage: null })}\n\n`;
    const deltas = Array.from({ length: 200 }, (_, i) => plain(`word${i} `)).join('');
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const text = await streamed(start + deltas + end);
      expect(text).toContain('word199');
      // The request, the first and last events, the agent's bookkeeping: a few tens at most, not one per delta.
      expect(parse.mock.calls.length).toBeLessThan(60);
    } finally {
      parse.mockRestore();
    }
  });
});

