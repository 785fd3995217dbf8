// Reasoning is output like text: streamed thinking and reasoning deltas, in every wire format, get the output actions
// and their placeholders back, however the provider splits them. The fake provider streams no reasoning, so a small
// scripted provider (a real HTTP server) replays each format's events here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../core/runtime.ts';

const EMAIL = 'jane.doe@example.org';
const CARD_PIECES = ['4111 ', '1111 1111', ' 1111'];
/** What the model thinks, cut where a provider might cut it: a placeholder and a card across deltas. */
const THOUGHT = ['The user <EMAIL_', 'ADDRESS_1> pays with ', ...CARD_PIECES, ', so I answer.'];
const SHOWN = `The user ${EMAIL} pays with [CREDIT_CARD], so I answer.`;

const sse = (events: Array<[string | undefined, unknown]>) => events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('');

function chatStream(field: 'reasoning_content' | 'reasoning'): string {
  const chunk = (delta: object, finish: string | null = null) => [undefined, { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] }] as [undefined, unknown];
  return sse([chunk({ role: 'assistant', content: '' }), ...THOUGHT.map((t) => chunk({ [field]: t })), chunk({ content: 'Done.' }), chunk({}, 'stop'), [undefined, '[DONE]']]);
}

function anthropicStream(): string {
  const e = (type: string, data: object): [string, unknown] => [type, { type, ...data }];
  return sse([
    e('message_start', { message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } }),
    e('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
    ...THOUGHT.map((thinking) => e('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking } })),
    e('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig' } }),
    e('content_block_stop', { index: 0 }),
    e('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
    e('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Done.' } }),
    e('content_block_stop', { index: 1 }),
    e('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } }),
    e('message_stop', {}),
  ]);
}

function responsesStream(kind: 'reasoning_summary_text' | 'reasoning_text'): string {
  let n = 0;
  const e = (type: string, data: object): [string, unknown] => [type, { type, sequence_number: n++, ...data }];
  const response = { id: 'r1', object: 'response', model: 'm', status: 'in_progress', output: [] };
  const whole = THOUGHT.join('');
  const item = kind === 'reasoning_text' ? { id: 'rs_1', type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: whole }] } : { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: whole }] };
  return sse([
    e('response.created', { response }),
    e('response.output_item.added', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } }),
    ...THOUGHT.map((delta) => e(`response.${kind}.delta`, { item_id: 'rs_1', output_index: 0, summary_index: 0, content_index: 0, delta })),
    e(`response.${kind}.done`, { item_id: 'rs_1', output_index: 0, summary_index: 0, content_index: 0, text: whole }),
    e('response.output_item.done', { output_index: 0, item }),
    e('response.completed', { response: { ...response, status: 'completed', output: [item], usage: { input_tokens: 5, output_tokens: 9, total_tokens: 14 } } }),
  ]);
}

/** The next answer the scripted provider streams, and the bodies it received. */
let next = '';
const received: string[] = [];
let server: Server;
let url = '';
let runtime: Runtime;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (piece: Buffer) => (body += piece.toString()));
    req.on('end', () => {
      received.push(body);
      if (next.startsWith('{')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(next);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(next);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => runtime?.close());

function scriptedRuntime(): Runtime {
  const env = { OPENAI_API_KEY: 'k', IRON_OPENAI_BASE_URL: `${url}/v1`, ANTHROPIC_API_KEY: 'k', IRON_ANTHROPIC_BASE_URL: url };
  return new Runtime({ env, logLevel: 'silent', config: { safety: {} } });
}

/** Sends a prompt naming EMAIL (so its placeholder exists) and returns each SSE event's data the agent got. */
async function call(path: string, body: object): Promise<unknown[]> {
  runtime = scriptedRuntime();
  let text = '';
  const id = await runtime.startAgent(async (agent) => {
    const anthropic = path.includes('messages');
    const auth: Record<string, string> = anthropic ? { 'x-api-key': 'x', 'anthropic-version': '2023-06-01' } : { authorization: 'Bearer x' };
    const response = await agent.fetch(`https://api.${anthropic ? 'anthropic' : 'openai'}.com/v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(body),
    });
    text = await response.text();
  });
  expect((await runtime.waitForAgent(id)).status).toBe('completed');
  expect(received.at(-1)).not.toContain(EMAIL);
  if (text.startsWith('{')) return [JSON.parse(text)];
  return text
    .split('\n\n')
    .map((event) => event.split('\n').find((line) => line.startsWith('data: '))?.slice(6))
    .filter((data): data is string => data !== undefined && data !== '[DONE]')
    .map((data) => JSON.parse(data));
}

/** No event shows a piece of the card; the pieces of reasoning, joined, read as expected. */
function expectReasoning(events: unknown[], pieces: string[]): void {
  for (const event of events) for (const digits of ['4111', '1111']) expect(JSON.stringify(event)).not.toContain(digits);
  expect(pieces.join('')).toBe(SHOWN);
}

const prompt = `Help ${EMAIL}`;

describe('streamed reasoning', () => {
  for (const field of ['reasoning_content', 'reasoning'] as const) {
    it(`OpenAI-compatible chat: ${field} deltas`, async () => {
      next = chatStream(field);
      const events = (await call('chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: prompt }] })) as Array<{ choices: Array<{ delta: Record<string, string> }> }>;
      expectReasoning(events, events.map((e) => e.choices[0]?.delta[field] ?? ''));
      expect(events.map((e) => e.choices[0]?.delta.content ?? '').join('')).toBe('Done.');
    });
  }

  it('Anthropic: thinking_delta, the signature passed on untouched', async () => {
    next = anthropicStream();
    const events = (await call('messages', { model: 'claude', max_tokens: 100, stream: true, messages: [{ role: 'user', content: prompt }] })) as Array<{ type: string; delta?: Record<string, string> }>;
    expectReasoning(events, events.map((e) => (e.delta?.type === 'thinking_delta' ? e.delta.thinking! : '')));
    // All the thinking goes out before the signature that closes it.
    const signature = events.findIndex((e) => e.delta?.type === 'signature_delta');
    expect((events[signature] as { delta: Record<string, string> }).delta.signature).toBe('sig');
    expect(events.slice(signature).some((e) => e.delta?.type === 'thinking_delta')).toBe(false);
  });

  for (const kind of ['reasoning_summary_text', 'reasoning_text'] as const) {
    it(`Responses: response.${kind}.delta, and the .done and completed events that repeat it`, async () => {
      next = responsesStream(kind);
      const events = (await call('responses', { model: 'm', stream: true, input: prompt })) as Array<{ type: string; delta?: string; text?: string; response?: { output: Array<Record<string, Array<{ text: string }>>> } }>;
      expectReasoning(events, events.map((e) => (e.type === `response.${kind}.delta` ? e.delta! : '')));
      expect(events.find((e) => e.type === `response.${kind}.done`)?.text).toBe(SHOWN);
      const item = events.find((e) => e.type === 'response.completed')!.response!.output[0]!;
      expect((kind === 'reasoning_text' ? item.content : item.summary)![0]!.text).toBe(SHOWN);
    });
  }
});

describe('a Responses reasoning item with both a summary and a reasoning text', () => {
  it('releases what each held back in its own event type, so neither is cut short nor gets the other one\'s text', async () => {
    let n = 0;
    const e = (type: string, data: object): [string, unknown] => [type, { type, sequence_number: n++, item_id: 'rs_1', output_index: 0, ...data }];
    const summary = ['Card ', '4111 ', '1111 1111 1111 key ', 'hunter ', 'summary end'];
    const thought = ['Thinking about ', 'the 5500 ', '0000 0000 0004 ', 'card.'];
    next = sse([
      e('response.output_item.added', { item: { id: 'rs_1', type: 'reasoning', summary: [] } }),
      ...summary.map((delta) => e('response.reasoning_summary_text.delta', { summary_index: 0, delta })),
      ...thought.map((delta) => e('response.reasoning_text.delta', { content_index: 0, delta })),
      e('response.reasoning_text.done', { content_index: 0, text: thought.join('') }),
      e('response.reasoning_summary_text.done', { summary_index: 0, text: summary.join('') }),
      ['response.completed', { type: 'response.completed', sequence_number: n++, response: { id: 'r1', object: 'response', model: 'm', status: 'completed', output: [], usage: { input_tokens: 5, output_tokens: 9, total_tokens: 14 } } }],
    ]);
    const events = (await call('responses', { model: 'm', stream: true, input: prompt })) as Array<{ type: string; delta?: string }>;
    const joined = (type: string) => events.filter((event) => event.type === type).map((event) => event.delta).join('');
    expect(joined('response.reasoning_summary_text.delta')).toBe('Card [CREDIT_CARD] key hunter summary end');
    expect(joined('response.reasoning_text.delta')).toBe('Thinking about the [CREDIT_CARD] card.');
    // The summary's tail goes out before its .done, after the reasoning text that came in between.
    const types = events.map((event) => event.type);
    expect(types.lastIndexOf('response.reasoning_summary_text.delta')).toBeLessThan(types.indexOf('response.reasoning_summary_text.done'));
  });
});

describe('reasoning and other choices in an answer that is not streamed', () => {
  it("OpenAI-compatible chat: message.reasoning, and every choice's content when n > 1", async () => {
    const message = (content: string) => ({ role: 'assistant', content, reasoning: THOUGHT.join('') });
    next = JSON.stringify({
      id: 'c1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [0, 1].map((index) => ({ index, message: message(`Card ${CARD_PIECES.join('')} for <EMAIL_ADDRESS_1>`), finish_reason: 'stop' })),
      usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
    });
    const [answer] = (await call('chat/completions', { model: 'm', n: 2, messages: [{ role: 'user', content: prompt }] })) as Array<{ choices: Array<{ message: Record<string, string> }> }>;
    expectReasoning([answer], [answer!.choices[0]!.message.reasoning!]);
    expect(answer!.choices.map((c) => [c.message.content, c.message.reasoning])).toEqual([
      [`Card [CREDIT_CARD] for ${EMAIL}`, SHOWN],
      [`Card [CREDIT_CARD] for ${EMAIL}`, SHOWN],
    ]);
  });
});
