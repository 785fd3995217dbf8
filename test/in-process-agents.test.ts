// In-process agents with the official SDKs through agent.fetch, against the fake provider and the offline one.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '../core/index.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { REAL_ANTHROPIC_KEY, REAL_OPENAI_KEY, runtimeFor } from './helpers.ts';

let fake: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());
afterEach(() => runtime?.close());

describe('agent.fetch with the official SDKs', () => {
  it('serves openai chat (plain, streamed) and Responses (streamed), with the real key only upstream', async () => {
    runtime = runtimeFor(fake);
    const out: Record<string, unknown> = {};
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'placeholder', fetch: agent.fetch, maxRetries: 0 });
      out.plain = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'in process' }] })).choices[0].message.content;
      let streamed = '';
      let usageChunks = 0;
      for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'streamed in process' }], stream: true })) {
        streamed += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices.length === 0) usageChunks += 1;
      }
      out.streamed = streamed;
      out.usageChunks = usageChunks;
      let responses = '';
      for await (const event of await client.responses.create({ model: 'gpt-4o-mini', input: 'responses stream', stream: true })) {
        if (event.type === 'response.output_text.delta') responses += event.delta;
      }
      out.responses = responses;
    });
    const metrics = await runtime.waitForAgent(id);
    expect(out).toEqual({ plain: 'Echo: in process', streamed: 'Echo: streamed in process', usageChunks: 0, responses: 'Echo: responses stream' });
    expect(metrics).toMatchObject({ status: 'completed', calls: 3, failedCalls: 0 });
    // Usage is counted for the streamed chat call too: the runtime asked for it and hid the extra chunk.
    expect(fake.requests[1].body.stream_options).toEqual({ include_usage: true });
    expect(metrics.tokens.output).toBe([out.plain, out.streamed, out.responses].reduce((sum: number, text) => sum + Math.ceil(String(text).length / 4), 0));
    for (const request of fake.requests) expect(request.headers.authorization).toBe(`Bearer ${REAL_OPENAI_KEY}`);
  });

  it('serves the Anthropic SDK, streamed, chunk by chunk rather than buffered', async () => {
    runtime = runtimeFor(fake);
    // The fake sends the stream's first events, then nothing more: text buffered until the end would never arrive.
    fake.enqueue({ kind: 'stall', afterChunks: 5 });
    const texts: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new Anthropic({ apiKey: 'placeholder', fetch: agent.fetch, maxRetries: 0 });
      const stream = client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'one two three four five' }] });
      await new Promise<void>((resolve) =>
        stream.on('text', (text) => {
          if (texts.push(text) < 2) return;
          stream.abort();
          resolve();
        }),
      );
      await stream.done().catch(() => undefined);
    });
    expect((await runtime.waitForAgent(id)).status).toBe('completed');
    expect(fake.requests[0].headers['x-api-key']).toBe(REAL_ANTHROPIC_KEY);
    expect(texts).toEqual(['Echo: ', 'one ']);
  });

  it('never hands the agent the real key, even from a provider that echoes it (in an error, in an answer)', async () => {
    runtime = runtimeFor(fake);
    const echoed = `your key ${REAL_OPENAI_KEY} is wrong`;
    fake.enqueue(
      { kind: 'error', status: 401, body: { error: { message: `Incorrect API key provided: ${REAL_OPENAI_KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } } },
      { kind: 'reply', text: echoed },
    );
    const bodies: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      for (const stream of [false, false]) {
        const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
          method: 'POST',
          body: JSON.stringify({ model: 'gpt-4o-mini', stream, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
        });
        bodies.push(await response.text());
      }
    });
    await runtime.waitForAgent(id);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) {
      expect(body).not.toContain(REAL_OPENAI_KEY);
      expect(body).toContain('[redacted: the provider key]');
    }
  });

  it("never hands the agent a configured credential header's value either (Azure's api-key, a gateway's bearer), in errors or streams", async () => {
    // (Fifteen characters: the fake provider streams them in one delta. A secret split across deltas is a limit the
    // README states.)
    const azureKey = 'azurekey0123456';
    const gatewayToken = 'gwtokenabcdef01';
    runtime = runtimeFor(fake, {
      config: { providers: { openai: { type: 'openai', baseUrl: `${fake.url}/v1`, headers: { 'api-key': azureKey, 'x-gateway-authorization': `Bearer ${gatewayToken}` } } } },
    });
    const echoed = `headers seen: api-key ${azureKey} authorization ${gatewayToken} end`;
    fake.enqueue(
      { kind: 'error', status: 400, body: { error: { message: echoed, type: 'invalid_request_error' } } },
      { kind: 'reply', text: echoed },
      { kind: 'reply', text: echoed },
    );
    const bodies: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      for (const stream of [false, false, true]) {
        const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
          method: 'POST',
          body: JSON.stringify({ model: 'gpt-4o-mini', stream, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
        });
        bodies.push(await response.text());
      }
    });
    await runtime.waitForAgent(id);
    expect(fake.requests[0]!.headers['api-key']).toBe(azureKey);
    expect(bodies).toHaveLength(3);
    for (const body of bodies) {
      expect(body).not.toContain(azureKey);
      expect(body).not.toContain(gatewayToken);
      expect(body).toContain('[redacted: the provider key]');
    }
  });

  it('passes non-LLM requests through agent.fetch untouched', async () => {
    runtime = runtimeFor(fake);
    let status = 0;
    const id = await runtime.startAgent(async (agent) => {
      status = (await agent.fetch(`${fake.url}/v1/models`)).status;
    });
    await runtime.waitForAgent(id);
    expect(status).toBe(200);
    expect(runtime.getMetrics(id).calls).toBe(0);
  });
});

describe('the offline simulated provider', () => {
  it('answers every format, plain and streamed, with realistic usage when no key is set', async () => {
    runtime = new Runtime({ env: { PATH: process.env.PATH ?? '' }, logLevel: 'silent' });
    const texts: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const openai = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const anthropic = new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      texts.push((await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'offline chat' }] })).choices[0].message.content ?? '');
      texts.push((await openai.responses.create({ model: 'gpt-4o-mini', input: 'offline responses' })).output_text);
      texts.push((await anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'offline anthropic' }] }).finalText()));
      let streamed = '';
      for await (const chunk of await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'offline stream' }], stream: true })) streamed += chunk.choices[0]?.delta.content ?? '';
      texts.push(streamed);
    });
    const metrics = await runtime.waitForAgent(id);
    expect(texts.map((t) => t.slice(0, t.indexOf('.') + 1))).toEqual(['Simulated answer to "offline chat".', 'Simulated answer to "offline responses".', 'Simulated answer to "offline anthropic".', 'Simulated answer to "offline stream".']);
    expect(texts.every((t) => t.includes('set OPENAI_API_KEY or ANTHROPIC_API_KEY'))).toBe(true);
    expect(metrics).toMatchObject({ status: 'completed', calls: 4 });
    expect(metrics.tokens.output).toBeGreaterThan(100);
  });

  it('says in the logs that the offline provider answers', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    runtime = new Runtime({ env: {}, logger });
    await runtime.ready();
    expect(lines.join('')).toContain('no OPENAI_API_KEY and no provider \\"openai\\" configured: openai calls are answered by the offline simulated provider');
  });
});

describe("the README's first sample, offline", () => {
  it('works as written: tokens counted, nothing failed', async () => {
    runtime = new Runtime({ budget: 50, env: {}, logLevel: 'silent' });
    const agentId = await runtime.startAgent(async (agent) => {
      const openai = new OpenAI({ apiKey: 'caged', fetch: agent.fetch });
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    });
    const { status, tokens, errorCount } = await runtime.waitForAgent(agentId);
    expect({ status, errorCount }).toEqual({ status: 'completed', errorCount: 0 });
    expect(tokens.output).toBeGreaterThan(0);
  });

  it('an agent that throws (an SDK without its apiKey) is failed, counted in errorCount and logged at once', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      runtime = new Runtime({ budget: 50, env: {}, logger });
      const agentId = await runtime.startAgent(async (agent) => {
        const openai = new OpenAI({ fetch: agent.fetch });
        await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
      }, { name: 'researcher' });
      const metrics = await runtime.waitForAgent(agentId);
      expect(metrics).toMatchObject({ status: 'failed', errorCount: 1, errors: [{ code: 'IRON_AGENT_FAILED', message: expect.stringContaining('OPENAI_API_KEY') }] });
      const logged = lines.map((line) => JSON.parse(line) as { msg: string; agentId: string; err: { code: string; message: string } });
      expect(logged).toEqual([expect.objectContaining({ msg: 'agent researcher failed', agentId, err: expect.objectContaining({ code: 'IRON_AGENT_FAILED', message: expect.stringContaining('OPENAI_API_KEY') }) })]);
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });
});

describe('stopping an in-process agent mid-stream', () => {
  it('returns its final figures: the aborted call has settled and is billed for what the provider sent', async () => {
    fake.setOptions({ chunkDelayMs: 20 });
    runtime = runtimeFor(fake, { budget: 1 });
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      for await (const _ of await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p q r s t u v w x y z' }] }));
    });
    await expect.poll(() => fake.requests.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const stopped = await runtime.stopAgent(id);
    expect(stopped.status).toBe('stopped');
    expect(stopped.costUsd).toBeGreaterThan(0);
    expect(stopped.costUsd).toBe(runtime.getMetrics(id).costUsd);
    fake.setOptions({});
  });
});
