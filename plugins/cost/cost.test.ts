// The cost plugin end to end: real runtime, the fake provider over HTTP, the official SDKs, the catalog's own numbers.
import { calcPrice } from '@pydantic/genai-prices';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../core/runtime.ts';
import type { IronEvent } from '../../core/events.ts';
import { IronError, IRON_BUDGET_EXCEEDED } from '../../core/errors.ts';
import { startFakeProvider, type FakeProvider, type FakeUsage } from '../../test/fake-provider/index.ts';
import { fixture, runtimeFor } from '../../test/helpers.ts';
import { adapters } from '../../core/providers/adapters.ts';
import { PriceBook, worstCaseOf } from './prices.ts';
import { countText, inputTokensUpperBound } from './tokens.ts';

let fake: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());
afterEach(() => runtime?.close());

/** The catalog's own price for a usage, in USD rounded to the micro-dollar. */
function catalogUsd(model: string, providerId: string, u: Required<FakeUsage>): number {
  const result = calcPrice(
    { input_tokens: u.input + u.cacheRead + u.cacheWrite, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite, output_tokens: u.output, output_reasoning_tokens: u.reasoning },
    model,
    { providerId },
  );
  return Math.round(result!.total_price * 1e6) / 1e6;
}

function events(rt: Runtime): IronEvent[] {
  const seen: IronEvent[] = [];
  rt.events.onAny((event) => void seen.push(event));
  return seen;
}

const ask = (client: OpenAI, extra: Record<string, unknown> = {}) =>
  client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'price me' }], ...extra });

describe('exact cost', () => {
  it('matches the catalog for plain, cached and reasoning usage, and shows it in x-iron-cost-usd', async () => {
    runtime = runtimeFor(fake, { budget: 50 });
    const seen = events(runtime);
    const cases: Array<[string, Required<FakeUsage>]> = [
      ['gpt-4o-mini', { input: 1200, output: 300, cacheRead: 0, cacheWrite: 0, reasoning: 0 }],
      ['gpt-4o-mini', { input: 200, output: 50, cacheRead: 1000, cacheWrite: 0, reasoning: 0 }],
      ['o3', { input: 500, output: 2000, cacheRead: 0, cacheWrite: 0, reasoning: 1500 }],
    ];
    const headers: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      for (const [model, u] of cases) {
        // The fake reports input including cached tokens, as OpenAI does.
        fake.enqueue({ kind: 'reply', usage: { input: u.input + u.cacheRead, output: u.output, cacheRead: u.cacheRead, reasoning: u.reasoning } });
        const { response } = await client.chat.completions.create({ model, max_tokens: 4000, messages: [{ role: 'user', content: 'x' }] }).withResponse();
        headers.push(response.headers.get('x-iron-cost-usd')!);
      }
    });
    const metrics = await runtime.waitForAgent(id);
    const costs = seen.filter((e) => e.type === 'CostUpdate').map((e) => (e as { costUsd: number }).costUsd);
    const expected = cases.map(([model, u]) => catalogUsd(model, 'openai', u));
    expect(costs).toEqual(expected);
    expect(headers).toEqual(expected.map((usd) => usd.toFixed(6)));
    expect(metrics.costUsd).toBeCloseTo(expected.reduce((a, b) => a + b, 0), 9);
    expect(metrics.budget).toMatchObject({ limitUsd: 50, spentUsd: metrics.costUsd });
    expect(metrics.plugins.cost).toMatchObject({ byModel: { 'gpt-4o-mini': { calls: 2 }, o3: { calls: 1 } }, estimatedCalls: 0 });
  });

  it('prices Anthropic cache reads and writes, and dated model ids by their family', async () => {
    runtime = runtimeFor(fake, { budget: 50 });
    const seen = events(runtime);
    const u = { input: 100, output: 400, cacheRead: 5000, cacheWrite: 2000, reasoning: 0 };
    fake.enqueue({ kind: 'reply', usage: u }, { kind: 'reply', usage: u });
    const id = await runtime.startAgent(async (agent) => {
      for (const model of ['claude-sonnet-4-6', 'claude-haiku-4-5-20251001']) {
        await agent.fetch('https://api.anthropic.com/v1/messages', {
          method: 'POST',
          headers: { 'anthropic-version': '2023-06-01' },
          body: JSON.stringify({ model, max_tokens: 1000, messages: [{ role: 'user', content: 'cache me' }] }),
        });
      }
    });
    await runtime.waitForAgent(id);
    const costs = seen.filter((e) => e.type === 'CostUpdate').map((e) => (e as { costUsd: number }).costUsd);
    expect(costs).toEqual([catalogUsd('claude-sonnet-4-6', 'anthropic', u), catalogUsd('claude-haiku-4-5-20251001', 'anthropic', u)]);
    expect(costs[0]).toBeCloseTo((100 * 3 + 5000 * 0.3 + 2000 * 3.75 + 400 * 15) / 1e6, 9);
  });

  it("prices an hour's cache writes at their own rate and web searches per search, and reserves for both (an outside review found both unbilled)", async () => {
    runtime = runtimeFor(fake, { budget: 50 });
    const seen = events(runtime);
    const u = { input: 100, output: 400, cacheRead: 0, cacheWrite: 20_000, cacheWrite1h: 20_000, webSearches: 3 };
    fake.enqueue({ kind: 'reply', usage: u }, { kind: 'reply', usage: u });
    const id = await runtime.startAgent(async (agent) => {
      for (const stream of [false, true]) {
        const response = await agent.fetch('https://api.anthropic.com/v1/messages', {
          method: 'POST',
          headers: { 'anthropic-version': '2023-06-01' },
          body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 1000, stream, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }], system: [{ type: 'text', text: 'long context', cache_control: { type: 'ephemeral', ttl: '1h' } }], messages: [{ role: 'user', content: 'search' }] }),
        });
        await response.text();
      }
    });
    await runtime.waitForAgent(id);
    const costs = seen.filter((e) => e.type === 'CostUpdate').map((e) => (e as { costUsd: number }).costUsd);
    const catalog = calcPrice({ input_tokens: 20_100, cache_write_tokens: 20_000, cache_write_1h_tokens: 20_000, output_tokens: 400, web_searches: 3 }, 'claude-sonnet-4-6', { providerId: 'anthropic' })!.total_price;
    expect(costs).toEqual([Math.round(catalog * 1e6) / 1e6, Math.round(catalog * 1e6) / 1e6]);
    expect(costs[0]).toBeCloseTo((100 * 3 + 20_000 * 6 + 400 * 15) / 1e6 + 3 * 0.01, 9);
  });

  it('reserves the cache-write premium and the allowed web searches, and bounds a web search tool without max_uses', async () => {
    // 1,000 input tokens cost $0.003 at the base rate; written to the cache for an hour, $0.006. A budget between the two
    // refuses the cached call and lets the plain one through.
    runtime = runtimeFor(fake, { budget: 0.0045 });
    const body = (extra: Record<string, unknown>) => JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 1, messages: [{ role: 'user', content: 'x'.repeat(900) }], ...extra });
    const statuses: number[] = [];
    const id = await runtime.startAgent(async (agent) => {
      for (const extra of [{ system: [{ type: 'text', text: 'ctx', cache_control: { type: 'ephemeral', ttl: '1h' } }] }, { tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }] }, {}]) {
        const response = await agent.fetch('https://api.anthropic.com/v1/messages', { method: 'POST', headers: { 'anthropic-version': '2023-06-01' }, body: body(extra) });
        statuses.push(response.status);
        await response.text();
      }
    });
    await runtime.waitForAgent(id);
    // The search alone ($0.01) is more than the budget: refused before anything is sent.
    expect(statuses).toEqual([402, 402, 200]);
    expect(fake.requests).toHaveLength(1);
    // A tool without max_uses gets 10, so the reservation can bound it.
    runtime = runtimeFor(fake, { budget: 5 });
    const second = await runtime.startAgent(async (agent) => {
      await (await agent.fetch('https://api.anthropic.com/v1/messages', { method: 'POST', headers: { 'anthropic-version': '2023-06-01' }, body: body({ tools: [{ type: 'web_search_20250305', name: 'web_search' }] }) })).text();
    });
    await runtime.waitForAgent(second);
    expect((fake.requests.at(-1)!.body.tools as Array<{ max_uses?: number }>)[0]!.max_uses).toBe(10);
  });

  it('prices a stream from its usage event, and bills a stream cut short for what was received and in flight', async () => {
    runtime = runtimeFor(fake, { budget: 50 });
    const seen = events(runtime);
    fake.enqueue({ kind: 'reply', usage: { input: 700, output: 90 } }, { kind: 'cut', afterChunks: 4 });
    let raw = '';
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'stream a priced answer' }] }),
      });
      raw = await response.text();
      const cut = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'one two three four five six' }] });
      await (async () => {
        for await (const _chunk of cut);
      })().catch(() => undefined);
    });
    await runtime.waitForAgent(id);
    const updates = seen.filter((e) => e.type === 'CostUpdate') as Array<{ costUsd: number; estimated: boolean; usage: { outputTokens: number } }>;
    const full = catalogUsd('gpt-4o-mini', 'openai', { input: 700, output: 90, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
    expect(updates[0]).toMatchObject({ costUsd: full, estimated: false });
    // The cost rides in an SSE comment before [DONE]; the usage chunk the client did not ask for stays hidden.
    expect(raw).toContain(`: x-iron-cost-usd=${full.toFixed(6)}\n\ndata: [DONE]`);
    expect(raw).not.toContain('"choices":[]');
    // Cut after 4 events: role chunk + "Echo: " + "one " + "two " → counted as its bytes (a bound on tokens for any
    // text) plus one step the provider may have generated before it noticed (64 tokens), within max_tokens.
    expect(countText('Echo: one two ')).toBeLessThan(Buffer.byteLength('Echo: one two '));
    expect(updates[1]).toMatchObject({ estimated: true, usage: { outputTokens: Buffer.byteLength('Echo: one two ') + 64 } });
    expect(updates[1].costUsd).toBeGreaterThan(0);
  });

  it('bills an answer without usage from a token count, flagged estimated', async () => {
    runtime = runtimeFor(fake, { budget: 50 });
    const seen = events(runtime);
    fake.enqueue({ kind: 'error', status: 200, body: { id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'no usage here' }, finish_reason: 'stop' }] } });
    const id = await runtime.startAgent(async (agent) => void (await ask(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }))));
    await runtime.waitForAgent(id);
    expect(seen.find((e) => e.type === 'CostUpdate')).toMatchObject({ estimated: true, usage: { outputTokens: countText('no usage here') } });
  });
});

describe('budgets', () => {
  it('never overspends under 200 concurrent calls against a budget that fits 10 (refusing at once with waitMs: 0)', async () => {
    // Each call reserves its worst case: the upper bound of its input plus max_tokens, at gpt-4o-mini prices.
    const request = adapters['openai-chat'].parseRequest({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'price me' }] });
    const pricing = new PriceBook().lookup('gpt-4o-mini', 'openai')!;
    const reservedPerCall = worstCaseOf(pricing, inputTokensUpperBound(request), 100);
    runtime = runtimeFor(fake, { config: { budget: { limit: (reservedPerCall * 10) / 1e6 }, cost: { waitMs: 0 } } });
    fake.setOptions({ latencyMs: 30 });
    const outcomes: unknown[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      outcomes.push(...(await Promise.all(Array.from({ length: 200 }, () => ask(client).then((r) => r.id, (e: unknown) => e)))));
    });
    const metrics = await runtime.waitForAgent(id);
    const succeeded = outcomes.filter((o) => typeof o === 'string');
    const refused = outcomes.filter((o) => typeof o !== 'string') as Array<InstanceType<typeof OpenAI.APIError>>;
    expect(succeeded).toHaveLength(10);
    expect(refused).toHaveLength(190);
    for (const error of refused) {
      expect(error.status).toBe(402);
      expect(error.message).toContain('IRON_BUDGET_EXCEEDED');
    }
    expect(metrics.costUsd).toBeGreaterThan(0);
    expect(metrics.costUsd).toBeLessThanOrEqual(metrics.budget.limitUsd!);
    expect(fake.requests).toHaveLength(10);
  });

  it('under the same 200 concurrent calls, waiting for calls in flight to settle lets the budget be used, never passed', async () => {
    const request = adapters['openai-chat'].parseRequest({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'price me' }] });
    const pricing = new PriceBook().lookup('gpt-4o-mini', 'openai')!;
    const limit = worstCaseOf(pricing, inputTokensUpperBound(request), 100) * 10;
    runtime = runtimeFor(fake, { budget: limit / 1e6 });
    fake.setOptions({ latencyMs: 5 });
    const outcomes: unknown[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      outcomes.push(...(await Promise.all(Array.from({ length: 200 }, () => ask(client).then((r) => r.id, (e: unknown) => e)))));
    });
    const metrics = await runtime.waitForAgent(id);
    const succeeded = outcomes.filter((o) => typeof o === 'string');
    // Each call costs far less than its worst case: what it does not spend comes back to calls that waited.
    expect(succeeded.length).toBeGreaterThan(50);
    for (const error of outcomes.filter((o) => typeof o !== 'string') as Array<InstanceType<typeof OpenAI.APIError>>) expect(error.status).toBe(402);
    expect(metrics.costUsd).toBeLessThanOrEqual(limit / 1e6);
    // The refusals came once what is left could not cover one more worst case.
    expect(limit / 1e6 - metrics.costUsd).toBeLessThan(worstCaseOf(pricing, inputTokensUpperBound(request), 100) / 1e6);
    expect(fake.requests).toHaveLength(succeeded.length);
  });

  it("reserves every answer of a call with n choices: 20 concurrent n=8 calls that each fill max_tokens stay within the budget", async () => {
    const limitUsd = 0.01;
    runtime = runtimeFor(fake, { budget: limitUsd });
    // Each choice runs to max_tokens (500): 8 × 500 output tokens, $0.0024 a call at gpt-4o-mini prices.
    fake.enqueue(...Array.from({ length: 20 }, () => ({ kind: 'reply' as const, text: 'lorem ipsum '.repeat(400) })));
    fake.setOptions({ latencyMs: 20 });
    const outcomes: unknown[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      outcomes.push(...(await Promise.all(Array.from({ length: 20 }, () => ask(client, { n: 8, max_tokens: 500 }).then((r) => r.choices.length, (e: unknown) => e)))));
    });
    const metrics = await runtime.waitForAgent(id);
    const answered = outcomes.filter((o) => typeof o === 'number');
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((choices) => choices === 8)).toBe(true);
    for (const error of outcomes.filter((o) => typeof o !== 'number') as Array<InstanceType<typeof OpenAI.APIError>>) expect(error.status).toBe(402);
    expect(metrics.costUsd).toBeGreaterThan(0.0024 * answered.length * 0.9);
    expect(metrics.costUsd).toBeLessThanOrEqual(limitUsd);
  });

  it('reserves what an image can be billed for the model (gpt-4o-mini bills a high-detail image up to 48,169 tokens)', async () => {
    const limitUsd = 0.02;
    runtime = runtimeFor(fake, { budget: limitUsd });
    // What OpenAI bills gpt-4o-mini for one 2048×1024 high-detail image: 2,833 + 4 tiles × 5,667.
    fake.enqueue(...Array.from({ length: 10 }, () => ({ kind: 'reply' as const, usage: { input: 25_501, output: 20 } })));
    fake.setOptions({ latencyMs: 20 });
    const image = { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' as const } };
    const outcomes: unknown[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const call = () => client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, image] }] });
      outcomes.push(...(await Promise.all(Array.from({ length: 10 }, () => call().then((r) => r.id, (e: unknown) => e)))));
    });
    const metrics = await runtime.waitForAgent(id);
    expect(outcomes.filter((o) => typeof o === 'string').length).toBeGreaterThan(0);
    expect(metrics.costUsd).toBeLessThanOrEqual(limitUsd);
  });

  it('settles an in-process stream the agent aborts after the headers, read or not: billed, nothing left reserved while the agent runs', async () => {
    runtime = runtimeFor(fake, { budget: 5 });
    const seen: Array<{ reservedUsd: number; costUsd: number; bodyError: string }> = [];
    const id = await runtime.startAgent(async (agent) => {
      for (const read of [0, 1, 3]) {
        const controller = new AbortController();
        const response = await agent.fetch('https://api.openai.com/v1/chat/completions', {
          method: 'POST',
          signal: controller.signal,
          body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'one two three four five six seven' }] }),
        });
        const reader = response.body!.getReader();
        for (let i = 0; i < read; i++) await reader.read();
        // The provider has sent the whole answer by now; the agent gives up on it.
        await new Promise((resolve) => setTimeout(resolve, 100));
        controller.abort();
        // As with fetch, the body errors with the abort (after what was already queued for the reader).
        const bodyError = await (async () => {
          for (;;) if ((await reader.read()).done) return 'ended cleanly';
        })().catch((e: Error) => e.name);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const metrics = runtime.getMetrics(id);
        seen.push({ reservedUsd: (metrics.plugins.cost as { reservedUsd: number }).reservedUsd, costUsd: metrics.costUsd, bodyError });
      }
    });
    await runtime.waitForAgent(id);
    expect(seen).toHaveLength(3);
    for (const [i, s] of seen.entries()) {
      expect(s.reservedUsd, `stream ${i}`).toBe(0);
      // The stream read ahead of the agent: it may have ended (complete) before the abort; never a hang.
      expect(['AbortError', 'ended cleanly']).toContain(s.bodyError);
    }
    // Each stream billed for all the provider sent, however little the agent read (the spend grows by as much each time).
    expect(seen[0]!.costUsd).toBeGreaterThan(0);
    expect(seen[1]!.costUsd).toBeCloseTo(2 * seen[0]!.costUsd, 6);
    expect(seen[2]!.costUsd).toBeCloseTo(3 * seen[0]!.costUsd, 6);
  });

  it('a fast provider, 10 streams each aborted by the agent after its first event: the runtime counts at least what the provider billed', async () => {
    runtime = runtimeFor(fake, { budget: 5 });
    fake.enqueue(...Array.from({ length: 10 }, () => ({ kind: 'reply' as const, text: 'lorem ipsum dolor sit amet '.repeat(120) })));
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const controller = new AbortController();
          const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, max_tokens: 4000, messages: [{ role: 'user', content: 'talk' }] }, { signal: controller.signal });
          try {
            for await (const _ of stream) controller.abort();
          } catch {
            // aborted
          }
        }),
      );
    });
    await runtime.waitForAgent(id);
    const billed = fake.requests.reduce((sum, request) => sum + (request.billed?.output ?? 0), 0);
    expect(billed).toBeGreaterThan(1_000);
    // Each abandoned stream is read on for up to 300 ms, then settled.
    await expect.poll(() => (runtime.getMetrics(id).plugins.cost as { reservedUsd: number }).reservedUsd, { timeout: 2_000 }).toBe(0);
    expect(runtime.getMetrics(id).tokens.output).toBeGreaterThanOrEqual(billed);
  });

  it('counts the prompt of a call the agent cancels while the provider works on it: billed, not released at $0', async () => {
    runtime = runtimeFor(fake, { budget: 5 });
    const seen = events(runtime);
    fake.enqueue({ kind: 'reply' }, { kind: 'delay', ms: 2_000 });
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await ask(client);
      // The provider takes 2 s; the agent gives up after 100 ms.
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'price me' }] }, { signal: AbortSignal.timeout(100) }).catch(() => undefined);
    });
    const metrics = await runtime.waitForAgent(id);
    const updates = seen.filter((e) => e.type === 'CostUpdate') as Array<{ estimated: boolean; costUsd: number; usage: { inputTokens: number; outputTokens: number }; unanswered?: { attempts: number } }>;
    expect(updates).toHaveLength(2);
    expect(updates[1]).toMatchObject({ estimated: true, unanswered: { attempts: 1 }, usage: { outputTokens: 0 } });
    expect(updates[1]!.usage.inputTokens).toBeGreaterThan(0);
    expect(updates[1]!.costUsd).toBeGreaterThan(0);
    expect((metrics.plugins.cost as { reservedUsd: number }).reservedUsd).toBe(0);
  });

  it('counts the prompt of a call whose connection closed after the request went out, before any answer (a proxy dropping it); a refused connection counts nothing', async () => {
    runtime = runtimeFor(fake, { budget: 5 });
    const seen = events(runtime);
    fake.enqueue({ kind: 'reset' });
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const error = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'read me, then hang up' }] }).catch((e: Error) => e);
      expect(String(error)).toMatch(/closed the connection without answering: .*its prompt is counted/);
    });
    const metrics = await runtime.waitForAgent(id);
    expect(fake.requests).toHaveLength(1);
    const updates = seen.filter((e) => e.type === 'CostUpdate') as Array<{ estimated: boolean; costUsd: number; usage: { inputTokens: number; outputTokens: number }; unanswered?: { attempts: number } }>;
    expect(updates).toMatchObject([{ estimated: true, unanswered: { attempts: 1 }, usage: { outputTokens: 0 } }]);
    expect(updates[0]!.usage.inputTokens).toBeGreaterThan(0);
    expect(metrics.costUsd).toBeGreaterThan(0);
    expect((metrics.plugins.cost as { reservedUsd: number }).reservedUsd).toBe(0);

    // Nothing listens: the request never left, nothing is counted.
    const closed = runtimeFor(fake, { budget: 5, config: { providers: { openai: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-x' } } } });
    try {
      const refusedUpdates = events(closed);
      const other = await closed.startAgent(async (agent) => {
        const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        const error = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }).catch((e: Error) => e);
        expect(String(error)).toMatch(/could not be reached: connection refused/);
      });
      expect((await closed.waitForAgent(other)).costUsd).toBe(0);
      expect(refusedUpdates.filter((e) => e.type === 'CostUpdate')).toEqual([]);
    } finally {
      await closed.close();
    }
  });

  it('near the limit counts with the model\'s own tokenizer (cl100k for gpt-4-turbo), never a lower one: Tamil prompts stay within the budget', async () => {
    const { countTokens: cl100k } = await import('gpt-tokenizer/encoding/cl100k_base');
    const prompt = 'தமிழ் மொழி உலகின் மிகப் பழமையான மொழிகளில் ஒன்றாகும். '.repeat(30);
    const input = cl100k(prompt) + 7;
    const pricing = new PriceBook().lookup('gpt-4-turbo', 'openai')!;
    const perCall = worstCaseOf(pricing, input, 10);
    const limitUsd = (perCall * 3) / 1e6;
    runtime = runtimeFor(fake, { config: { budget: { limit: limitUsd }, cost: { waitMs: 0 } } });
    fake.enqueue(...Array.from({ length: 10 }, () => ({ kind: 'reply' as const, usage: { input, output: 10 } })));
    fake.setOptions({ latencyMs: 20 });
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await Promise.all(Array.from({ length: 10 }, () => client.chat.completions.create({ model: 'gpt-4-turbo', max_tokens: 10, messages: [{ role: 'user', content: prompt }] }).catch(() => undefined)));
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.costUsd).toBeGreaterThan(0);
    expect(metrics.costUsd).toBeLessThanOrEqual(limitUsd);
  });

  it('reserves the context window for input a request does not carry (previous_response_id): 20 concurrent calls stay within the budget', async () => {
    const limitUsd = 0.05;
    runtime = runtimeFor(fake, { budget: limitUsd });
    // The provider bills the earlier turns it holds: 50,000 input tokens for a two-word request.
    fake.enqueue(...Array.from({ length: 20 }, () => ({ kind: 'reply' as const, usage: { input: 50_000, output: 20 } })));
    fake.setOptions({ latencyMs: 20 });
    const refusals: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await Promise.all(
        Array.from({ length: 20 }, () =>
          client.responses.create({ model: 'gpt-4o-mini', previous_response_id: 'resp_earlier', max_output_tokens: 50, input: 'go on' }).catch((error: Error) => void refusals.push(error.message)),
        ),
      );
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.costUsd).toBeGreaterThan(0);
    expect(metrics.costUsd).toBeLessThanOrEqual(limitUsd);
    expect(refusals.every((message) => /previous_response_id/.test(message))).toBe(true);
  });

  it('warns once per threshold and stops the agent when told to', async () => {
    runtime = runtimeFor(fake, { config: { budget: { limit: 0.0001 }, cost: { onExceeded: 'stop', warnAt: [50, 80] } } });
    const seen = events(runtime);
    const errors: string[] = [];
    let finished!: () => void;
    const agentDone = new Promise<void>((resolve) => (finished = resolve));
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      // Each call costs about $0.00001 (a short prompt, 16 output tokens at gpt-4o-mini prices).
      for (let i = 0; i < 30; i++) {
        fake.enqueue({ kind: 'reply', usage: { output: 16 } });
        const error = await ask(client, { max_tokens: 16 }).then(() => undefined, (e: Error) => e.message);
        if (error) {
          errors.push(error);
          break;
        }
      }
      finished();
    });
    const metrics = await runtime.waitForAgent(id);
    // The cage stopped the agent as its call was refused; the agent itself still sees that refusal.
    await agentDone;
    const warnings = seen.filter((e) => e.type === 'BudgetWarning') as Array<{ scope: string; thresholdPct: number }>;
    expect(warnings.map((w) => [w.scope, w.thresholdPct])).toEqual([['agent', 50], ['agent', 80]]);
    expect(errors[0]).toMatch(/^402 IRON_BUDGET_EXCEEDED: budget exceeded: this gpt-4o-mini call needs up to \$/);
    expect(metrics.status).toBe('budget_exceeded');
    expect(metrics.budget.spentUsd).toBeLessThanOrEqual(0.0001);
    expect(seen.some((e) => e.type === 'BudgetExceeded')).toBe(true);
  });

  it('can raise and lower an agent budget at run time', async () => {
    runtime = runtimeFor(fake, { budget: 0.00001 });
    const results: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      results.push(await ask(client).then(() => 'ok', () => 'refused'));
      runtime.setBudget(agent.agentId, 1);
      results.push(await ask(client).then(() => 'ok', () => 'refused'));
      runtime.setBudget(agent.agentId, 0.000001);
      results.push(await ask(client).then(() => 'ok', () => 'refused'));
    });
    const metrics = await runtime.waitForAgent(id);
    expect(results).toEqual(['refused', 'ok', 'refused']);
    expect(metrics.budget.limitUsd).toBe(0.000001);
    expect(() => runtime.setBudget(id, -1)).toThrow('budget: expected a number of USD from 0.000001 to 1e9 (one micro-dollar is the smallest amount counted), or null, got -1');
    expect(() => runtime.setBudget(id, 1e-12)).toThrow('budget: expected a number of USD from 0.000001');
    expect(() => runtime.setBudget(id, 1e308)).toThrow('budget: expected a number of USD from 0.000001');
  });

  it('startAgent(fn, { budget }) gives that agent its own budget before its first call; a mistake there is refused, not ignored', async () => {
    runtime = runtimeFor(fake, { budget: 1 });
    const outcomes: string[] = [];
    const agentFn = async (agent: { fetch: typeof fetch }) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      outcomes.push(await ask(client).then(() => 'ok', (e: Error) => e.message.slice(0, 30)));
    };
    const tight = await runtime.startAgent(agentFn, { budget: 0.000001 });
    const roomy = await runtime.startAgent(agentFn);
    const [tightMetrics, roomyMetrics] = [await runtime.waitForAgent(tight), await runtime.waitForAgent(roomy)];
    expect(tightMetrics.budget.limitUsd).toBe(0.000001);
    expect(roomyMetrics.budget.limitUsd).toBe(1);
    expect(outcomes.sort()).toEqual(['402 IRON_BUDGET_EXCEEDED: budg', 'ok']);
    const before = runtime.listAgents().length;
    await expect(runtime.startAgent(agentFn, { budgett: 0.5 } as never)).rejects.toThrow('startAgent(target, { budgett }): unknown option (did you mean "budget"?)');
    await expect(runtime.startAgent(agentFn, { budget: 0 })).rejects.toThrow('startAgent(target, { budget }): expected a number of USD from 0.000001 to 1e9, got 0');
    await expect(runtime.startAgent(agentFn, { budget: '5' as never })).rejects.toThrow('got "5"');
    // Nothing started for a refused call.
    expect(runtime.listAgents().length).toBe(before);
    await runtime.close();
    runtime = runtimeFor(fake, { config: { safety: {} } });
    await expect(runtime.startAgent(agentFn, { budget: 1 })).rejects.toThrow('a budget per agent needs the cost plugin, which is off in this runtime');
  });

  it('a call without max_tokens to a model priced in cost.prices is sent with the cap it reserved (the provider may not stop at any maximum)', async () => {
    for (const reservation of ['worst-case', 'metered'] as const) {
      runtime = runtimeFor(fake, { config: { budget: { limit: 0.05 }, cost: { reservation, prices: { 'llama3*': { input: 1, output: 100, maxOutputTokens: 100 } } } } });
      const id = await runtime.startAgent(async (agent) => {
        await new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] });
      });
      await runtime.waitForAgent(id);
      const sent = fake.requests.at(-1)!.body as { max_tokens?: number };
      expect({ reservation, max_tokens: sent.max_tokens }).toEqual({ reservation, max_tokens: 100 });
      await runtime.close();
    }
    // A known model on its own provider keeps the request as the agent wrote it (the provider enforces the maximum).
    runtime = runtimeFor(fake, { budget: 1 });
    const id = await runtime.startAgent(async (agent) => {
      await new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    });
    await runtime.waitForAgent(id);
    expect((fake.requests.at(-1)!.body as { max_tokens?: number }).max_tokens).toBeUndefined();
  });

  it('caps spend per model across agents', async () => {
    runtime = runtimeFor(fake, { config: { cost: { budgets: { models: { 'gpt-4o*': 0.0000001 } } } } });
    const outcomes: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      outcomes.push(await ask(client).then(() => 'ok', (e: Error) => e.message));
      outcomes.push(await ask(client, { model: 'gpt-4.1-mini' }).then(() => 'ok', (e: Error) => e.message));
    });
    await runtime.waitForAgent(id);
    expect(outcomes[0]).toContain('the model budget for gpt-4o*');
    expect(outcomes[1]).toBe('ok');
  });

  it('metered calls waiting on each other use the budget up and settle (an outside review saw 10 of them spin for 70 s and use 10 %)', async () => {
    // Each waiting call probed the budget by reserving and releasing, and every release woke the others: they woke each
    // other in promise jobs without end, and the calls holding the budget never got to settle. With the bug this test
    // runs into its timeout.
    runtime = runtimeFor(fake, { config: { budget: { limit: 0.0001 }, cost: { reservation: 'metered' } } });
    fake.setOptions({ latencyMs: 20 }); // calls hold their reservations a while: the others wait
    let ok = 0;
    let refused = 0;
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      let next = 0;
      const worker = async () => {
        while (next++ < 60) {
          try {
            const stream = next % 2 === 0;
            if (stream) for await (const _ of await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `question ${next}` }] }));
            else await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question ${next}` }] });
            ok++;
          } catch (error) {
            if ((error as { status?: number }).status !== 402) throw error;
            refused++;
          }
        }
      };
      await Promise.all(Array.from({ length: 10 }, worker));
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.status).toBe('completed');
    expect(ok + refused).toBe(60);
    expect(metrics.budget.spentUsd).toBeLessThanOrEqual(0.0001);
    // What is left at the end is less than one more call needs (its input and 16 output tokens, $0.000015).
    expect(metrics.budget.spentUsd).toBeGreaterThanOrEqual(0.0001 - 0.000015);
  }, 15_000);

  it("a metered call short of a server budget's room says so, not that an unlimited local budget has $Infinity left", async () => {
    const { STAGE } = await import('../../core/hooks.ts');
    const { EXTERNAL_ROOM } = await import('./ledger.ts');
    // What the sync plugin does before the cost plugin reserves: the room its leases leave this call (here none).
    const serverRoom = { name: 'server-room', apply: (rt: Runtime) => void rt.hooks.beforeLlmCall.tapPromise({ name: 'server-room', stage: STAGE.cost - 1 }, async (request, ctx) => (ctx.state.set(EXTERNAL_ROOM, { room: () => 0, held: () => 0, refusal: (needed: number) => new IronError(IRON_BUDGET_EXCEEDED, `the project's server budget (limit L1) has no room for this call: it needs up to $${needed / 1e6}`) }), request)) };
    runtime = runtimeFor(fake, { config: { cost: { reservation: 'metered', waitMs: 0 } }, plugins: [serverRoom] });
    let message = '';
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((error: Error) => void (message = error.message));
    });
    await runtime.waitForAgent(id);
    // The keeper of the server budgets says which limit (and raises the alert with its id), not an unlimited local one.
    expect(message).toMatch(/^402 IRON_BUDGET_EXCEEDED: the project's server budget \(limit L1\) has no room for this call: it needs up to \$[\d.e-]+\. With cost\.reservation: metered a call needs room for at least 16 output tokens\.$/);
    expect(message).not.toContain('Infinity');
  });

  it('a call asking for max_tokens 1e308 is refused without "$Infinity" in the message', async () => {
    runtime = runtimeFor(fake, { budget: 1 });
    let message = '';
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      message = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1e308, messages: [{ role: 'user', content: 'hi' }] }).then(() => 'ok', (e: Error) => e.message);
    });
    await runtime.waitForAgent(id);
    expect(message).toMatch(/^402 IRON_BUDGET_EXCEEDED: budget exceeded: this gpt-4o-mini call needs up to more than any budget holds \(\d+ input \+ 1e\+308 output tokens\)/);
    expect(message).not.toContain('Infinity');
    expect(fake.requests).toHaveLength(0);
  });

  it('gives a metered stream without max_tokens the max_tokens the budget affords: the answer stops there, the budget holds', async () => {
    runtime = runtimeFor(fake, { config: { budget: { limit: 0.00002 }, cost: { reservation: 'metered' } } });
    fake.setOptions({ wordsPerChunk: 1 });
    fake.enqueue({ kind: 'reply', text: 'word '.repeat(400) });
    let received = '';
    let finish: string | null | undefined;
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'talk a lot' }] });
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
    });
    const metrics = await runtime.waitForAgent(id);
    // $0.00002 at $0.60 per million output tokens, after the input: about 30 tokens.
    const sent = fake.requests[0]!.body as { max_tokens?: number; max_completion_tokens?: number };
    const cap = sent.max_tokens ?? sent.max_completion_tokens;
    expect(cap).toBeGreaterThanOrEqual(16);
    expect(cap).toBeLessThan(34);
    expect(finish).toBe('length');
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan('word '.repeat(400).length);
    expect(metrics.budget.spentUsd).toBeGreaterThan(0);
    expect(metrics.budget.spentUsd).toBeLessThanOrEqual(0.00002);
  });

  it("a max_tokens at the model's maximum (the AI SDK's Anthropic default): metered lowers it to what the budget affords; worst-case refuses, saying so", async () => {
    const call = (reservation: 'metered' | 'worst-case') => {
      runtime = runtimeFor(fake, { config: { budget: { limit: 1 }, cost: { reservation } } });
      let outcome = '';
      return runtime
        .startAgent(async (agent) => {
          const client = new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
          // (Streamed: the SDK refuses a non-streamed call this long.)
          outcome = await client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64000, messages: [{ role: 'user', content: 'hi' }] }).finalMessage().then(() => 'ok', (e: Error) => e.message);
        })
        .then((id) => runtime.waitForAgent(id))
        .then(async () => {
          await runtime.close();
          return outcome;
        });
    };
    expect(await call('metered')).toBe('ok');
    const sent = (fake.requests.at(-1)!.body as { max_tokens: number }).max_tokens;
    expect(sent).toBeLessThan(64000);
    expect(sent * 15e-6).toBeLessThanOrEqual(1); // $15 per million output tokens
    expect(await call('worst-case')).toMatch(/asks for max_tokens 64000, the model's maximum \(the AI SDK's Anthropic provider sends it .* set cost\.reservation: metered, which lowers it to what the budget affords/);
    // An OpenAI call past its model's maximum is told the same, without the Anthropic provider's story.
    runtime = runtimeFor(fake, { config: { budget: { limit: 0.01 } } });
    let openaiOutcome = '';
    const id = await runtime.startAgent(async (agent) => {
      openaiOutcome = await ask(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }), { model: 'gpt-4o', max_tokens: 100000 }).then(() => 'ok', (e: Error) => e.message);
    });
    await runtime.waitForAgent(id);
    expect(openaiOutcome).toMatch(/asks for max_tokens 100000, the model's maximum: ask for fewer/);
    expect(openaiOutcome).not.toContain('Anthropic');
  });

});

describe('unknown models and bad config', () => {
  it('refuses an unknown model by default, naming it and showing the YAML to add', async () => {
    runtime = runtimeFor(fake, { budget: 5 });
    let message = '';
    const id = await runtime.startAgent(async (agent) => {
      message = await ask(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }), { model: 'my-finetune-7b' }).then(() => '', (e: Error) => e.message);
    });
    await runtime.waitForAgent(id);
    expect(message).toContain('IRON_UNKNOWN_MODEL: model "my-finetune-7b" (provider "openai") has no known price');
    expect(message).toContain('cost:\n  prices:\n    my-finetune-7b: { input: 0.5, output: 1.5 }');
    expect(fake.requests).toHaveLength(0);
  });

  it('lets an unknown model through uncounted with warn, and prices it from cost.prices', async () => {
    runtime = runtimeFor(fake, { config: { budget: { limit: 5 }, cost: { unknownModel: 'warn', prices: { 'local-*': { input: 1, output: 2 } } } } });
    const seen = events(runtime);
    fake.enqueue({ kind: 'reply', usage: { input: 1000, output: 1000 } }, { kind: 'reply', usage: { input: 1000, output: 1000 } });
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await ask(client, { model: 'mystery-model' });
      await ask(client, { model: 'local-llama' });
    });
    await runtime.waitForAgent(id);
    const updates = seen.filter((e) => e.type === 'CostUpdate');
    expect(updates.map((e) => [(e as { priced: boolean }).priced, (e as { costUsd: number }).costUsd])).toEqual([[false, 0], [true, 0.003]]);
  });

  it('rejects non-positive budgets and bad prices as config errors', async () => {
    const { Runtime } = await import('../../core/runtime.ts');
    expect(() => new Runtime({ budget: 0, logLevel: 'silent' })).toThrow('budget: expected a number of USD from 0.000001 to 1e9, got 0');
    const bad = new Runtime({ env: {}, logLevel: 'silent', config: { cost: { prices: { m: { input: -1, output: 'x' } } } } as never });
    await expect(bad.ready()).rejects.toThrow(IronError);
    await expect(bad.ready()).rejects.toThrow('cost.prices.m.input: expected a number ≥ 0, got -1');
    // An open range says both ends (a warning at 150 % was "expected a positive number").
    const warnAbove = new Runtime({ env: {}, logLevel: 'silent', config: { cost: { warnAt: [50, 150] } } as never });
    await expect(warnAbove.ready()).rejects.toThrow('cost.warnAt[1]: expected a number > 0 and < 100, got 150');
  });
});

describe('through the gateway', () => {
  it('answers a process agent over budget with 402 in the provider format, and carries the cost header', async () => {
    runtime = runtimeFor(fake, { budget: 0.00001 });
    const id = await runtime.startAgent(fixture('raw-fetch-agent.js'), {
      output: 'capture',
      env: { IRON_TEST_PATH: '/v1/chat/completions', IRON_TEST_BODY: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }) },
    });
    await runtime.waitForAgent(id);
    const answer = JSON.parse(runtime.agentOutput(id));
    expect(answer.status).toBe(402);
    expect(JSON.parse(answer.body).error).toMatchObject({ type: 'insufficient_quota', code: 'IRON_BUDGET_EXCEEDED' });

    runtime.setBudget(id, 1);
    const rich = runtimeFor(fake, { budget: 1 });
    const sdk = await rich.startAgent(fixture('openai-sdk-agent.ts'), { output: 'capture' });
    const metrics = await rich.waitForAgent(sdk);
    await rich.close();
    expect(metrics).toMatchObject({ status: 'completed', calls: 3 });
    expect(metrics.costUsd).toBeGreaterThan(0);
    expect(Object.keys(metrics.plugins.cost as object)).toContain('byModel');

    // The Anthropic SDK, plain and streamed: the cost comment in the stream does not disturb it.
    const claude = runtimeFor(fake, { budget: 1 });
    const seen = events(claude);
    const anthropic = await claude.startAgent(fixture('anthropic-sdk-agent.ts'), { output: 'capture' });
    const claudeMetrics = await claude.waitForAgent(anthropic);
    await claude.close();
    expect(claudeMetrics).toMatchObject({ status: 'completed', calls: 2, exitCode: 0 });
    const updates = seen.filter((e) => e.type === 'CostUpdate') as Array<{ costUsd: number; estimated: boolean; model: string }>;
    expect(updates.map((u) => [u.model, u.estimated])).toEqual([['claude-sonnet-4-6', false], ['claude-sonnet-4-6', false]]);
    expect(claudeMetrics.costUsd).toBeCloseTo(updates[0].costUsd + updates[1].costUsd, 9);
  });
});
