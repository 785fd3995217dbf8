// The LLM call path over real HTTP: the gateway, agent.fetch, upstream failures, byte-exact streams.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { fixture, runtimeFor } from './helpers.ts';
import { Runtime, type Runtime as RuntimeType } from '../core/index.ts';

let fake: FakeProvider;
let runtime: RuntimeType;

beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await runtime?.close();
  fake.reset();
});

/** Runs the raw-fetch fixture agent: it POSTs `body` to `path` on the gateway with its credential. */
async function rawCall(rt: RuntimeType, path: string, body: string): Promise<{ status: number; body: string }> {
  const id = await rt.startAgent(fixture('raw-fetch-agent.js'), { output: 'capture', env: { IRON_TEST_PATH: path, IRON_TEST_BODY: body } });
  await rt.waitForAgent(id);
  return JSON.parse(rt.agentOutput(id));
}

describe('gateway', () => {
  it('answers an unknown credential with 401 in each provider format', async () => {
    runtime = runtimeFor(fake);
    const { url } = await runtime.gateway();
    const openai = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-guess' }, body: '{}' });
    expect(openai.status).toBe(401);
    expect(await openai.json()).toEqual({
      error: { message: 'IRON_UNAUTHORIZED: unknown agent credential: use the OPENAI_API_KEY / ANTHROPIC_API_KEY the Iron Cage runtime gave this agent', type: expect.any(String), param: null, code: expect.any(String) },
    });
    const anthropic = new Anthropic({ apiKey: 'sk-ant-guess', baseURL: url, maxRetries: 0 });
    const error = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers bad JSON with 400, an oversized body with 413 and an unknown path with 404', async () => {
    runtime = runtimeFor(fake, { config: { gateway: { maxBodyBytes: 1024 } } });
    const badJson = await rawCall(runtime, '/v1/chat/completions', '{"model": ');
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body).error.message).toMatch(/^IRON_BAD_REQUEST: request body is not valid JSON/);
    const big = await rawCall(runtime, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(2000) }] }));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error.message).toBe('IRON_PAYLOAD_TOO_LARGE: request body is larger than 1024 bytes (gateway.maxBodyBytes)');
    const unknown = await rawCall(runtime, '/v1/embeddings', '{}');
    expect(unknown.status).toBe(404);
    const badShape = await rawCall(runtime, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: 'hi' }));
    expect(badShape.status).toBe(400);
    expect(JSON.parse(badShape.body).error.message).toContain('messages');
    expect(fake.requests).toHaveLength(0);
  });

  it('passes unknown request fields through untouched', async () => {
    runtime = runtimeFor(fake);
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi', x_note: { a: [1, 2] } }], x_custom: { deep: true }, temperature: 0.3 };
    const result = await rawCall(runtime, '/v1/chat/completions', JSON.stringify(body));
    expect(result.status).toBe(200);
    expect(fake.requests[0].body).toEqual(body);
  });
});

describe('upstream failures', () => {
  it('turns upstream garbage into a typed 502 and keeps the runtime and other agents running', async () => {
    runtime = runtimeFor(fake);
    fake.enqueue({ kind: 'garbage' });
    const outcomes: unknown[] = [];
    const run = (agent: { fetch: typeof fetch }) => new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const first = await runtime.startAgent(async (agent) => {
      outcomes.push(await run(agent).catch((e: unknown) => e));
      outcomes.push(await run(agent));
    });
    const metrics = await runtime.waitForAgent(first);
    const error = outcomes[0] as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(502);
    expect(error.message).toContain('IRON_UPSTREAM_INVALID');
    expect((outcomes[1] as { choices: unknown[] }).choices).toHaveLength(1);
    expect(metrics).toMatchObject({ status: 'completed', calls: 2, failedCalls: 1 });
    const second = await runtime.startAgent(async (agent) => void (await run(agent)));
    expect((await runtime.waitForAgent(second)).status).toBe('completed');
  });

  it('passes a provider error (429 with Retry-After) to the agent unchanged', async () => {
    runtime = runtimeFor(fake);
    fake.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '7' } });
    let error: unknown;
    const id = await runtime.startAgent(async (agent) => {
      error = await new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    });
    await runtime.waitForAgent(id);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');
    expect(runtime.getMetrics(id).errors[0].code).toBe('IRON_UPSTREAM_ERROR');
  });

  it('ends a stream cut by the provider with an error, never as a clean end', async () => {
    runtime = runtimeFor(fake);
    fake.enqueue({ kind: 'cut', afterChunks: 3 });
    let received = '';
    let error: unknown;
    const id = await runtime.startAgent(async (agent) => {
      try {
        const stream = await new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a long answer please' }], stream: true });
        for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
      } catch (e) {
        error = e;
      }
    });
    const metrics = await runtime.waitForAgent(id);
    expect(received.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toContain('IRON_STREAM_INTERRUPTED');
    expect(metrics.failedCalls).toBe(1);
    expect(metrics.calls).toBe(1); // every call, the failed one too
  });

  it('reports an unreachable provider as a typed error', async () => {
    const closed = await startFakeProvider();
    await closed.close();
    runtime = new Runtime({ env: { OPENAI_API_KEY: 'k', IRON_OPENAI_BASE_URL: `${closed.url}/v1` }, logLevel: 'silent' });
    let error: unknown;
    const id = await runtime.startAgent(async (agent) => {
      error = await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    });
    await runtime.waitForAgent(id);
    expect(error).toMatchObject({ code: 'IRON_UPSTREAM_UNREACHABLE' });
  });

  it('agents hanging up mid-call are no sign of a failing provider: the breaker stays closed, nothing is retried', async () => {
    runtime = runtimeFor(fake, { config: { reliability: {} } });
    const holder = await runtime.startAgent(new URL('../bench/fixtures/hold-credential.js', import.meta.url).pathname, { output: 'capture' });
    await expect.poll(() => runtime.agentOutput(holder)).toContain('credential');
    const { credential, gateway } = JSON.parse(runtime.agentOutput(holder)) as { credential: string; gateway: string };
    const call = (signal?: AbortSignal) =>
      fetch(`${gateway}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }), ...(signal ? { signal } : {}) });
    for (let i = 0; i < 10; i++) fake.enqueue({ kind: 'reply', delayMs: 1000 });
    // Ten callers give up after 100 ms, twice the breaker's five failures in a row.
    await Promise.all(Array.from({ length: 10 }, () => call(AbortSignal.timeout(100)).catch(() => undefined)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await call();
    expect(after.status).toBe(200);
    expect(fake.requests.length).toBe(11); // each sent once: none retried
  });

  it('reports a call whose agent hung up (stopped, Ctrl-C) as interrupted, never as a provider that could not be reached', async () => {
    runtime = runtimeFor(fake);
    fake.enqueue({ kind: 'reply', delayMs: 3000 });
    // Through a process agent: a raw client that sends a slow call and exits before the answer.
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slow' }] });
    const id = await runtime.startAgent(fixture('raw-fetch-agent.js'), { output: 'capture', env: { IRON_TEST_PATH: '/v1/chat/completions', IRON_TEST_BODY: body } });
    await expect.poll(() => fake.requests.length, { timeout: 5000 }).toBeGreaterThan(0);
    await runtime.stopAgent(id, { graceMs: 0 });
    await expect.poll(() => runtime.getMetrics(id).errors.length, { timeout: 5000 }).toBeGreaterThan(0);
    const errors = runtime.getMetrics(id).errors;
    expect(errors.map((error) => error.code)).not.toContain('IRON_UPSTREAM_UNREACHABLE');
    expect(errors[0]).toMatchObject({ code: 'IRON_STREAM_INTERRUPTED', message: expect.stringContaining('the agent hung up before the call ended') });
  });
});

describe('a long stream to a slow reader', () => {
  it('waits for the reader without piling up listeners: no leak warning, every byte delivered', async () => {
    runtime = runtimeFor(fake);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const promptBytes = 300_000;
      const id = await runtime.startAgent(fixture('slow-stream-reader.js'), { output: 'capture', env: { IRON_TEST_PROMPT_BYTES: String(promptBytes) } });
      await runtime.waitForAgent(id);
      const result = JSON.parse(runtime.agentOutput(id)) as { status: number; bytes: number; done: boolean };
      expect(result).toMatchObject({ status: 200, done: true });
      expect(result.bytes).toBeGreaterThan(promptBytes);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('byte-exact streaming', () => {
  // An upstream with unusual but valid SSE: no space after "data:", a comment, CRLF line ends, UTF-8.
  const events = [
    ': keep-alive comment\r\n\r\n',
    'data:{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\r\n\r\n',
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Grüße, "},"finish_reason":null}]}\n\n',
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"世界 ✓"},"finish_reason":null}]}\n\n',
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    'data: [DONE]\n\n',
  ];
  let upstream: Server;
  let upstreamUrl: string;

  beforeAll(async () => {
    upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Split mid-event and mid-character to exercise the parser.
      const bytes = Buffer.from(events.join(''));
      const cuts = [5, 170, 260, 261, bytes.length];
      let from = 0;
      for (const to of cuts) {
        res.write(bytes.subarray(from, to));
        from = to;
      }
      res.end();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it('delivers the provider bytes unchanged when no plugin rewrites them (agent.fetch and gateway)', async () => {
    runtime = new Runtime({ env: { OPENAI_API_KEY: 'k', IRON_OPENAI_BASE_URL: upstreamUrl, PATH: process.env.PATH ?? '' }, logLevel: 'silent' });
    let inProcess = '';
    const id = await runtime.startAgent(async (agent) => {
      const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      inProcess = Buffer.from(await response.arrayBuffer()).toString('utf8');
    });
    await runtime.waitForAgent(id);
    expect(inProcess).toBe(events.join(''));
    const overHttp = await rawCall(runtime, '/v1/chat/completions', JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(overHttp).toEqual({ status: 200, body: events.join('') });
    expect(runtime.listAgents().every((m) => m.calls === 1)).toBe(true);
  });
});

describe('a hostile agent at the gateway', () => {
  it('gets 400s for what the gateway cannot forward, never trips the breaker, never chooses who is billed, and gets a 413 for a 32 MiB upload', async () => {
    runtime = runtimeFor(fake, { config: { safety: {}, reliability: { breaker: { consecutiveFailures: 2 } } } });
    const id = await runtime.startAgent(fixture('hostile-agent.js'), { output: 'capture' });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.status).toBe('completed');
    const results = JSON.parse(runtime.agentOutput(id));
    // 200,000 levels of nesting: the caller's mistake (400), three times over, and the breaker stays closed.
    for (const answer of results.deep) {
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.message).toMatch(/^IRON_BAD_REQUEST: /);
    }
    for (const answer of [results.deepPart, results.deepTool]) {
      expect(answer.status, answer.body).toBe(400);
      expect(JSON.parse(answer.body).error.message).toMatch(/^IRON_BAD_REQUEST: the request is nested too deeply/);
    }
    expect(results.afterDeep.status).toBe(200);
    expect(runtime.getMetrics(id).plugins.reliability).toMatchObject({ failedFast: 0 });
    expect(results.streamYes).toMatchObject({ status: 400 });
    expect(JSON.parse(results.streamYes.body).error.message).toBe('IRON_BAD_REQUEST: stream: expected true or false, got "yes"');
    // Billing headers are the runtime's business; other OpenAI- options still pass.
    const sent = fake.requests.find((r) => r.body && (r.body as { messages?: unknown[] }).messages && r.headers['openai-beta'] === 'assistants=v2');
    expect(sent).toBeDefined();
    expect(sent!.headers['openai-organization']).toBeUndefined();
    expect(sent!.headers['openai-project']).toBeUndefined();
    // Headers are forwarded by name, not by prefix: a check-relaxing or unknown provider header stays behind.
    expect(sent!.headers['anthropic-dangerous-direct-browser-access']).toBeUndefined();
    expect(sent!.headers['openai-billing-account']).toBeUndefined();
    expect(sent!.headers['x-stainless-lang']).toBe('js');
    // An upload over gateway.maxBodyBytes is answered 413 in the provider's format, not with a reset connection.
    expect(results.upload.status).toBe(413);
    expect(JSON.parse(results.upload.body).error.message).toMatch(/^IRON_PAYLOAD_TOO_LARGE: /);
    // Only the two well-formed calls reached the provider.
    expect(fake.requests).toHaveLength(2);
  });

  it("sends the organisation and project the provider's config sets, whatever the agent asks for", async () => {
    runtime = runtimeFor(fake, { config: { providers: { openai: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'sk-configured', headers: { 'OpenAI-Organization': 'org-ours' } } } } });
    const id = await runtime.startAgent(async (agent) => {
      await agent.fetch('https://api.openai.com/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', 'openai-organization': 'org-attacker' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }) });
    });
    await runtime.waitForAgent(id);
    expect(fake.requests[0]!.headers['openai-organization']).toBe('org-ours');
  });

  it("does not tell the agent the provider's address when it cannot be reached", async () => {
    runtime = new Runtime({ env: { OPENAI_API_KEY: 'sk-x', IRON_OPENAI_BASE_URL: 'http://127.0.0.1:9/internal/v1' }, logLevel: 'silent' });
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.errors[0]).toMatchObject({ code: 'IRON_UPSTREAM_UNREACHABLE', message: expect.stringMatching(/^provider "openai" could not be reached: /) });
    expect(metrics.errors[0]!.message).not.toContain("127.0.0.1:9");
  });
});
