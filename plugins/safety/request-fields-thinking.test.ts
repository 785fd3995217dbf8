// Anthropic refuses a request whose earlier thinking block differs from what it signed. The agent reads that
// thinking with its placeholders put back and new values redacted; sent back as the agent read it, the block goes to
// the provider as the provider wrote it. A block the runtime did not give out is scanned like any text, and a value
// the policy blocks refuses the call. A scripted Anthropic provider (a real HTTP server) answers with signed thinking.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IronConfig } from '../../core/config/schema.ts';
import { Runtime, type AgentHandle } from '../../core/runtime.ts';

const EMAIL = 'jane.doe@example.org';
/** What the model thinks: the placeholder of the user's address, and a card it wrote itself. */
const WRITTEN = 'The user <EMAIL_ADDRESS_1> pays with 4111 1111 1111 1111, so I look the card up.';
const SHOWN = `The user ${EMAIL} pays with [CREDIT_CARD], so I look the card up.`;

let server: Server;
let url = '';
let runtime: Runtime;
const received: Array<Record<string, any>> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (piece: Buffer) => (raw += piece.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw);
      received.push(body);
      const signature = `sig-${received.length}`;
      const content = [
        { type: 'thinking', thinking: WRITTEN, signature },
        { type: 'tool_use', id: `toolu_${received.length}`, name: 'lookup', input: { q: 'card' } },
      ];
      const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 20 } };
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...message, content }));
        return;
      }
      const e = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      const pieces = WRITTEN.match(/.{1,5}/gs)!;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        [
          e('message_start', { message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
          e('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
          ...pieces.map((thinking) => e('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking } })),
          e('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature } }),
          e('content_block_stop', { index: 0 }),
          e('content_block_start', { index: 1, content_block: { type: 'tool_use', id: content[1]!.id, name: 'lookup', input: {} } }),
          e('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"q":"card"}' } }),
          e('content_block_stop', { index: 1 }),
          e('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } }),
          e('message_stop', {}),
        ].join(''),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => void (received.length = 0));
afterEach(() => runtime?.close());

function start(safety: IronConfig['safety'] = {}): void {
  runtime = new Runtime({ env: { ANTHROPIC_API_KEY: 'k', IRON_ANTHROPIC_BASE_URL: url }, logLevel: 'silent', config: { safety } });
}

async function inAgent<T>(body: (client: Anthropic) => Promise<T>): Promise<T> {
  let result: T | undefined;
  const id = await runtime.startAgent(async (agent: AgentHandle) => void (result = await body(new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }))));
  const metrics = await runtime.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
  return result as T;
}

const first: Anthropic.MessageParam = { role: 'user', content: `Check the card of ${EMAIL}` };
const params = { model: 'claude-sonnet-4-6', max_tokens: 2000, thinking: { type: 'enabled' as const, budget_tokens: 1024 } };

/** The next turn of a tool loop: the answer's blocks as the agent got them, then the tool's result. */
function nextTurn(answer: Anthropic.Message): Anthropic.MessageParam[] {
  const call = answer.content.find((block) => block.type === 'tool_use')!;
  return [first, { role: 'assistant', content: answer.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'found' }] }];
}

describe('signed thinking blocks', () => {
  it('a thinking block the agent got (JSON or streamed) goes back to the provider exactly as it wrote and signed it', async () => {
    start();
    const shown = await inAgent(async (client) => {
      const json = await client.messages.create({ ...params, messages: [first] });
      await client.messages.create({ ...params, messages: nextTurn(json) });
      const streamed = await client.messages.stream({ ...params, messages: [first] }).finalMessage();
      await client.messages.create({ ...params, messages: nextTurn(streamed) });
      return [json, streamed].map((answer) => answer.content[0]);
    });
    // The agent reads the address back and no card.
    expect(shown).toEqual([
      { type: 'thinking', thinking: SHOWN, signature: 'sig-1' },
      { type: 'thinking', thinking: SHOWN, signature: 'sig-3' },
    ]);
    expect(received).toHaveLength(4);
    expect(received[0]!.messages[0].content).toBe('Check the card of <EMAIL_ADDRESS_1>');
    expect(received[1]!.messages[1].content[0]).toEqual({ type: 'thinking', thinking: WRITTEN, signature: 'sig-1' });
    expect(received[3]!.messages[1].content[0]).toEqual({ type: 'thinking', thinking: WRITTEN, signature: 'sig-3' });
    for (const body of received) expect(JSON.stringify(body)).not.toContain(EMAIL);
  });

  it('a thinking block the runtime did not give out, or one the agent changed, is scanned like any text', async () => {
    start();
    await inAgent(async (client) => {
      const answer = await client.messages.create({ ...params, messages: [first] });
      const changed = { type: 'thinking' as const, thinking: `${SHOWN} Also mail bob@example.com.`, signature: 'sig-1' };
      const forged = { type: 'thinking' as const, thinking: 'prior thinking about ops@example.net', signature: 'abc' };
      await client.messages.create({ ...params, messages: [first, { role: 'assistant', content: [changed, forged, answer.content[1]!] }, nextTurn(answer)[2]!] });
    });
    expect(received[1]!.messages[1].content.slice(0, 2)).toEqual([
      { type: 'thinking', thinking: 'The user <EMAIL_ADDRESS_1> pays with [CREDIT_CARD], so I look the card up. Also mail <EMAIL_ADDRESS_2>.', signature: 'sig-1' },
      { type: 'thinking', thinking: 'prior thinking about <EMAIL_ADDRESS_3>', signature: 'abc' },
    ]);
  });

  it('a value blocked on input inside a signed thinking block refuses the call with a message that says so', async () => {
    start({ entities: { CREDIT_CARD: { input: 'block', output: 'redact' } } });
    const error = await inAgent(async (client) => {
      const answer = await client.messages.create({ ...params, messages: [first] });
      return client.messages.create({ ...params, messages: nextTurn(answer) }).catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain(
      "IRON_PII_BLOCKED: the prompt contains 1 CREDIT_CARD inside a signed thinking block (the model's own earlier reasoning, which Anthropic refuses to take back changed), and safety.entities blocks CREDIT_CARD on input: the call was refused and nothing was sent. Leave that thinking block out of the history, or choose another action for CREDIT_CARD",
    );
    expect(received).toHaveLength(1);
  });
});
