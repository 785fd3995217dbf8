// The fake provider must be a faithful stand-in: the official SDKs talk to it as to the real APIs.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './index.ts';

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: 'sk-test' });
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('fake provider wire formats', () => {
  it('answers OpenAI chat, plain and streamed with a usage chunk, and records the request', async () => {
    const plain = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    expect(plain.choices[0].message.content).toBe('Echo: ping');
    expect(plain.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 3 });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: unknown;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Echo: one two three');
    expect(chunks).toBeGreaterThan(4);
    expect(usage).toMatchObject({ completion_tokens: Math.ceil(text.length / 4) });
    expect(fake.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['POST', '/v1/chat/completions', 'Bearer sk-test'],
      ['POST', '/v1/chat/completions', 'Bearer sk-test'],
    ]);
  });

  it('answers OpenAI Responses, plain and streamed', async () => {
    const plain = await openai.responses.create({ model: 'gpt-4.1', input: 'hello responses', max_output_tokens: 100 });
    expect(plain.output_text).toBe('Echo: hello responses');
    const stream = await openai.responses.create({ model: 'gpt-4.1', input: 'streamed responses', stream: true });
    let text = '';
    let completed = false;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response.usage!.output_tokens > 0;
    }
    expect(text).toBe('Echo: streamed responses');
    expect(completed).toBe(true);
  });

  it('answers Anthropic Messages, plain and streamed, with cache usage and tool calls', async () => {
    fake.enqueue({ kind: 'reply', usage: { input: 10, cacheRead: 90 } }, { kind: 'reply', toolCall: { name: 'search', arguments: '{"q":"x"}' } });
    const message = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: 'hi claude' }] });
    expect(message.content[0]).toEqual({ type: 'text', text: 'Echo: hi claude' });
    expect(message.usage).toMatchObject({ input_tokens: 10, cache_read_input_tokens: 90 });
    const streamed = await anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 50, messages: [{ role: 'user', content: 'use a tool' }] }).finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.content[0]).toMatchObject({ type: 'tool_use', name: 'search', input: { q: 'x' } });
  });

  it('truncates at the output cap and says so', async () => {
    const capped = await openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 2, messages: [{ role: 'user', content: 'a long question here' }] });
    expect(capped.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Echo: a ' } });
  });
});

describe('fake provider faults', () => {
  it('sends error bodies the SDKs turn into their error classes', async () => {
    fake.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '3' } }, { kind: 'error', status: 529 });
    await expect(openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const overloaded = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(overloaded).toMatchObject({ status: 529, error: { type: 'error', error: { type: 'overloaded_error' } } });
    await expect(new OpenAI({ apiKey: 'wrong', baseURL: `${fake.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('fails a seeded share of requests, reproducibly, and adds latency', async () => {
    const call = () => openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).then(() => 'ok', (e: { status: number }) => e.status);
    const sequence = async () => {
      const out: unknown[] = [];
      for (let i = 0; i < 30; i++) out.push(await call());
      return out;
    };
    fake.setOptions({ failureRate: 0.5, seed: 7 });
    const first = await sequence();
    const failures = first.filter((o) => o === 500).length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(25);
    fake.reset();
    fake.setOptions({ failureRate: 0.5, seed: 7 });
    expect(await sequence()).toEqual(first);
    fake.reset();
    fake.setOptions({ latencyMs: 30 });
    // A 20 ms timer started before the call fires before the answer: the fake's 30 ms timer starts later and timers
    // fire in order of expiry (an order, not a clock reading: a slow machine cannot fail it).
    const order: unknown[] = [];
    setTimeout(() => order.push('20 ms timer'), 20);
    order.push(await call());
    expect(order).toEqual(['20 ms timer', 'ok']);
  });

  it('cuts, stalls and garbles streams on demand', async () => {
    fake.enqueue({ kind: 'cut', afterChunks: 2 }, { kind: 'no-done' }, { kind: 'garbage' });
    const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a b c d e' }] });
    const post = (text: string) => fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-test' }, body: text });
    const cut = await post(body);
    await expect(cut.text()).rejects.toThrow();
    const noDone = await (await post(body)).text();
    expect(noDone).not.toContain('[DONE]');
    expect(noDone).toContain('Echo');
    const garbage = await post(JSON.stringify({ model: 'm', messages: [] }));
    expect(garbage.status).toBe(200);
    await expect(garbage.json()).rejects.toThrow();
  });
});
