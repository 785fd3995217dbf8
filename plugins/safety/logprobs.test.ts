// Logprobs spell an answer token by token, and `top_logprobs` list the tokens the model weighed: a value redacted from
// the text would come back in them. With safety on they are not asked for (warned once per agent), and those a
// provider sends unasked are dropped, whole and streamed, Chat and Responses (black-box review, logprobs finding).
// Driven with the official OpenAI SDK through the runtime to a real HTTP upstream that always sends logprobs.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../core/index.ts';
import type { AgentHandle } from '../../core/runtime.ts';

const TEXT = 'Card 4111 1111 1111 1111, SSN 536-22-1234.';
const SHOWN = 'Card [CREDIT_CARD], SSN [US_SSN].';
const TOKENS = TEXT.split(/(?<= )/);
/** What must appear nowhere in what the agent gets: any piece of the two values. */
const LEAKS = /4111|1111|536|1234|22-/;

const logprob = (token: string) => ({ token, logprob: -0.1, bytes: [...Buffer.from(token)], top_logprobs: [{ token, logprob: -0.1, bytes: [...Buffer.from(token)] }] });

const chatBase = { id: 'chatcmpl-lp', created: 1_700_000_000, model: 'gpt-4o-mini' };
const chatJson = {
  ...chatBase,
  object: 'chat.completion',
  // (Also where some servers put them: inside the message, outside review 9.)
  choices: [{ index: 0, message: { role: 'assistant', content: TEXT, refusal: null, annotations: [], logprobs: { content: TOKENS.map(logprob) } }, logprobs: { content: TOKENS.map(logprob), refusal: null }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: TOKENS.length, total_tokens: 5 + TOKENS.length },
};

function chatStream(): string {
  const event = (choice: Record<string, unknown>) => `data: ${JSON.stringify({ ...chatBase, object: 'chat.completion.chunk', choices: [choice] })}\n\n`;
  let body = event({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: { content: [], refusal: null }, finish_reason: null });
  for (const token of TOKENS) body += event({ index: 0, delta: { content: token }, logprobs: { content: [logprob(token)], refusal: null }, finish_reason: null });
  body += event({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
  return `${body}data: [DONE]\n\n`;
}

// (And a `top_logprobs` list beside a part's logprobs, outside review 9.)
const textPart = { type: 'output_text', annotations: [], text: TEXT, logprobs: TOKENS.map(logprob), top_logprobs: TOKENS.map(logprob) };
const messageItem = { id: 'msg_lp', type: 'message', status: 'completed', role: 'assistant', content: [textPart] };
const responsesJson = {
  id: 'resp_lp',
  object: 'response',
  created_at: 1_700_000_000,
  status: 'completed',
  model: 'gpt-4o-mini',
  output: [messageItem],
  top_logprobs: 1,
  usage: { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: TOKENS.length, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 + TOKENS.length },
};

function responsesStream(): string {
  let seq = 0;
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
  const at = { item_id: 'msg_lp', output_index: 0, content_index: 0 };
  let body = event('response.created', { response: { ...responsesJson, status: 'in_progress', output: [] } });
  body += event('response.output_item.added', { output_index: 0, item: { ...messageItem, status: 'in_progress', content: [] } });
  body += event('response.content_part.added', { ...at, part: { type: 'output_text', annotations: [], text: '', logprobs: [] } });
  for (const token of TOKENS) body += event('response.output_text.delta', { ...at, delta: token, logprobs: [logprob(token)] });
  body += event('response.output_text.done', { ...at, text: TEXT, logprobs: TOKENS.map(logprob) });
  body += event('response.content_part.done', { ...at, part: textPart });
  body += event('response.output_item.done', { output_index: 0, item: messageItem });
  return body + event('response.completed', { response: responsesJson });
}

let upstream: Server;
let url: string;
const received: Array<Record<string, unknown>> = [];
let runtime: Runtime | undefined;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let raw = '';
    req.on('data', (data: Buffer) => (raw += data.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      received.push(body);
      const chat = req.url?.endsWith('/chat/completions');
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(chat ? chatStream() : responsesStream());
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(chat ? chatJson : responsesJson));
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
afterEach(async () => {
  received.length = 0;
  await runtime?.close();
});

/** Runs `body` in an agent under `safety: {}`; returns the warnings logged. */
async function inAgent(body: (openai: OpenAI) => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  runtime = new Runtime({ env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'sk-real', IRON_OPENAI_BASE_URL: `${url}/v1` }, logger, config: { safety: {} } });
  const id = await runtime.startAgent(async (agent: AgentHandle) => body(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 })));
  const metrics = await runtime.waitForAgent(id);
  expect(metrics.errors).toEqual([]);
  expect(metrics.status).toBe('completed');
  return lines.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((msg) => msg.includes('logprobs'));
}

describe('Chat with logprobs under safety', () => {
  it('whole and streamed: logprobs are not asked for (warned once) and those sent anyway are dropped', async () => {
    const answers: unknown[] = [];
    let streamed = '';
    const warnings = await inAgent(async (openai) => {
      const messages = [{ role: 'user' as const, content: 'hi' }];
      const whole = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, logprobs: true, top_logprobs: 2 });
      answers.push(whole);
      expect(whole.choices[0]!.message.content).toBe(SHOWN);
      expect(whole.choices[0]!.logprobs).toBeNull();
      const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, logprobs: true, stream: true });
      for await (const chunk of stream) {
        answers.push(chunk);
        streamed += chunk.choices[0]?.delta.content ?? '';
        expect(chunk.choices[0]?.logprobs ?? null).toBeNull();
      }
      // Not asked for: dropped all the same.
      answers.push(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }));
    });
    expect(streamed).toBe(SHOWN);
    expect(JSON.stringify(answers)).not.toMatch(LEAKS);
    expect(received.map((body) => [body.logprobs, body.top_logprobs])).toEqual([[undefined, undefined], [undefined, undefined], [undefined, undefined]]);
    expect(warnings).toEqual([
      'the request asks for logprobs (logprobs, top_logprobs), which the safety plugin removed before sending: logprobs spell the answer token by token, so values it redacts would come back in them. Answers carry none (logged once per agent)',
    ]);
  });
});

describe('Responses with logprobs under safety', () => {
  it('whole and streamed: the include entry and top_logprobs are not sent, and no output text part or event carries logprobs', async () => {
    const answers: unknown[] = [];
    let streamed = '';
    const include = ['message.output_text.logprobs' as const, 'reasoning.encrypted_content' as const];
    const warnings = await inAgent(async (openai) => {
      const whole = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi', include, top_logprobs: 2 });
      answers.push(whole);
      expect(whole.output_text).toBe(SHOWN);
      const stream = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi', include, top_logprobs: 2, stream: true });
      for await (const event of stream) {
        answers.push(event);
        if (event.type === 'response.output_text.delta') {
          streamed += event.delta;
          expect(event.logprobs).toEqual([]);
        }
      }
    });
    expect(streamed).toBe(SHOWN);
    const all = JSON.stringify(answers);
    expect(all).not.toMatch(LEAKS);
    expect(all).not.toContain('"token"');
    expect(received.map((body) => [body.include, body.top_logprobs])).toEqual([
      [['reasoning.encrypted_content'], undefined],
      [['reasoning.encrypted_content'], undefined],
    ]);
    expect(warnings).toEqual([
      'the request asks for logprobs (top_logprobs, include: message.output_text.logprobs), which the safety plugin removed before sending: logprobs spell the answer token by token, so values it redacts would come back in them. Answers carry none (logged once per agent)',
    ]);
  });
});
