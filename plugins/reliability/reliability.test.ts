// The reliability plugin against the project's fake provider with injected faults, through the official SDKs.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IronEvent } from '../../core/events.ts';
import { Runtime, type RuntimeOptions } from '../../core/runtime.ts';
import { startFakeProvider, type FakeProvider } from '../../test/fake-provider/index.ts';
import { runtimeFor } from '../../test/helpers.ts';

let fake: FakeProvider;
let backup: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  [fake, backup] = await Promise.all([startFakeProvider({ seed: 7 }), startFakeProvider()]);
});
afterAll(async () => {
  await Promise.all([fake.close(), backup.close()]);
});
beforeEach(() => {
  fake.reset();
  backup.reset();
});
afterEach(() => runtime?.close());

/** Fast settings so faults resolve in milliseconds. */
function reliable(reliability: Record<string, unknown>, extra: RuntimeOptions = {}): Runtime {
  return runtimeFor(fake, { ...extra, config: { ...extra.config, reliability: { retries: { initialDelayMs: 1, maxDelayMs: 5 }, ...reliability } } });
}

/** A runtime whose `openai` provider is `fake` and whose `anthropic` provider is `backup`. */
function twoProviders(reliability: Record<string, unknown>, extra: Record<string, unknown> = {}): Runtime {
  return new Runtime({
    env: {},
    logLevel: 'silent',
    config: {
      providers: { openai: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'k1' }, anthropic: { type: 'anthropic', baseUrl: backup.url, apiKey: 'k2' } },
      reliability: { retries: { initialDelayMs: 1, maxDelayMs: 5 }, ...reliability },
      ...extra,
    },
  });
}

function events(rt: Runtime): IronEvent[] {
  const seen: IronEvent[] = [];
  rt.events.onAny((event) => void seen.push(event));
  return seen;
}

/** Runs `body` as an in-process agent with an OpenAI client; returns its result and the agent's metrics. */
async function inAgent<T>(rt: Runtime, body: (client: OpenAI) => Promise<T>) {
  let result: T | undefined;
  const id = await rt.startAgent(async (agent) => {
    result = await body(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }));
  });
  const metrics = await rt.waitForAgent(id);
  return { result: result as T, metrics };
}

const ask = (client: OpenAI, content = 'hello', model = 'gpt-4o-mini') => client.chat.completions.create({ model, messages: [{ role: 'user', content }] });

async function failure(promise: Promise<unknown>): Promise<{ status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { status?: number; message: string };
  }
  throw new Error('expected the call to fail');
}

describe('retries', () => {
  it('50% transient failures: every call succeeds through retries', async () => {
    runtime = reliable({ retries: { maxAttempts: 8, initialDelayMs: 1, maxDelayMs: 5 }, breaker: { consecutiveFailures: 100 } });
    fake.setOptions({ failureRate: 0.5, failureStatus: 503, seed: 7 });
    const { result, metrics } = await inAgent(runtime, async (client) => {
      const answers: string[] = [];
      for (let i = 0; i < 20; i++) answers.push((await ask(client, `q${i}`)).choices[0]!.message.content!);
      return answers;
    });
    expect(result).toEqual(Array.from({ length: 20 }, (_, i) => `Echo: q${i}`));
    const failed = fake.requests.length - 20;
    expect(failed).toBeGreaterThan(5);
    expect(metrics.plugins.reliability).toMatchObject({ attempts: fake.requests.length, retries: failed, fallbacks: 0 });
    expect(metrics.failedCalls).toBe(0);
  });

  it('honours Retry-After: a 429 with Retry-After: 1 holds the retry back for the second it asks', async () => {
    runtime = reliable({});
    const seen = events(runtime);
    fake.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '1' } });
    // What has happened half-way through the wait: this timer starts once the 429 is being answered, before the
    // plugin can start its own 1,000 ms one, and timers fire in order of expiry, so it runs inside the pause
    // however slow the machine is (no clock reading, no upper bound).
    const halfway = (async () => {
      while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 500));
      return { upstreamRequests: fake.requests.length, retried: seen.some((e) => e.type === 'CallRetried') };
    })();
    const { result } = await inAgent(runtime, (client) => ask(client));
    expect(result.choices[0]!.message.content).toBe('Echo: hello');
    expect(await halfway).toEqual({ upstreamRequests: 1, retried: false });
    expect(fake.requests).toHaveLength(2);
    expect(seen.find((e) => e.type === 'CallRetried')).toMatchObject({ attempt: 2, delayMs: 1000, reason: expect.stringContaining('429') });
  });

  it('never retries the caller\'s 4xx, and passes a content-policy reason on', async () => {
    runtime = reliable({});
    fake.enqueue({ kind: 'error', status: 400, body: { error: { message: 'Your request was rejected by our safety system: violence', type: 'invalid_request_error', code: 'content_policy_violation' } } });
    const { result } = await inAgent(runtime, (client) => failure(ask(client)));
    expect(result.status).toBe(400);
    expect(result.message).toContain('rejected by our safety system: violence');
    expect(fake.requests).toHaveLength(1);
  });
});

describe('circuit breaker', () => {
  it('opens after N failures, fails fast while open, and closes after the cool-down once the provider recovers', async () => {
    runtime = reliable({ retries: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, cooldownMs: 300 } });
    const seen = events(runtime);
    fake.setOptions({ failureRate: 1, failureStatus: 503 });
    const { result } = await inAgent(runtime, async (client) => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await failure(ask(client))).status!);
      const before = fake.requests.length;
      const fast = await failure(ask(client));
      const upstreamWhileOpen = fake.requests.length - before;
      fake.setOptions({ failureRate: 0 });
      await new Promise((resolve) => setTimeout(resolve, 350));
      const after = (await ask(client)).choices[0]!.message.content;
      return { statuses, fast, upstreamWhileOpen, after };
    });
    expect(result.statuses).toEqual([503, 503, 503]);
    expect(result.fast.status).toBe(503);
    expect(result.fast.message).toMatch(/IRON_CIRCUIT_OPEN: the circuit for openai\/gpt-4o-mini is open/);
    expect(result.upstreamWhileOpen).toBe(0); // refused by the breaker itself: the provider never saw the call
    expect(fake.requests).toHaveLength(4); // 3 failures, nothing while open, then the probe
    expect(result.after).toBe('Echo: hello');
    expect(seen.filter((e) => e.type === 'CircuitOpened' || e.type === 'CircuitClosed').map((e) => e.type)).toEqual(['CircuitOpened', 'CircuitClosed']);
    expect(runtime.getMetrics((seen.find((e) => e.type === 'AgentStarted') as { agentId: string }).agentId).plugins.reliability).toMatchObject({ failedFast: 1, breakers: { 'openai/gpt-4o-mini': 'closed' } });
  });
});

describe('timeouts', () => {
  it('a per-attempt timeout aborts the upstream request: the provider sees the disconnect', async () => {
    runtime = reliable({ retries: { maxAttempts: 1 }, timeouts: { attemptMs: 200 } });
    fake.enqueue({ kind: 'hang' });
    const { result } = await inAgent(runtime, (client) => failure(ask(client)));
    expect(result.status).toBe(504);
    expect(result.message).toMatch(/IRON_TIMEOUT: provider "openai" did not answer gpt-4o-mini within 200 ms/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.requests[0]!.aborted).toBe(true);
  });

  it('the overall deadline bounds retries', async () => {
    runtime = reliable({ retries: { maxAttempts: 20, initialDelayMs: 100, maxDelayMs: 100 }, timeouts: { attemptMs: 300, deadlineMs: 400 }, breaker: { consecutiveFailures: 100 } });
    fake.setOptions({ failureRate: 1, failureStatus: 503 });
    const { result, metrics } = await inAgent(runtime, (client) => failure(ask(client)));
    expect(result.message).toMatch(/IRON_TIMEOUT: no answer within reliability.timeouts.deadlineMs \(400 ms\)/);
    // Cut short: 19 retries spaced by up to 100 ms (about a second in all) would fill 20 attempts without a deadline.
    expect(fake.requests.length).toBeLessThan(20);
    expect(metrics.plugins.reliability).toMatchObject({ attempts: fake.requests.length });
  });
});

describe('stream integrity', () => {
  const streamText = async (client: OpenAI, content = 'one two three') => {
    let text = '';
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    return text;
  };
  const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

  it('a stream cut after 40 of 60 words is continued (replay): the agent reads the whole answer once, with the usage of both attempts', async () => {
    runtime = reliable({}, { budget: 5 });
    const seen = events(runtime);
    fake.enqueue({ kind: 'cut', afterChunks: 41 });
    const { result, metrics } = await inAgent(runtime, async (client) => {
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined | null;
      let finishes = 0;
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: words(59) }], stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) finishes++;
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage, finishes };
    });
    expect(result.text).toBe(`Echo: ${words(59)}`);
    expect(result.finishes).toBe(1);
    expect(fake.requests).toHaveLength(2);
    // The usage the agent reads is what both attempts were billed: the cut one (estimated) and the replay.
    const costs = seen.filter((e) => e.type === 'CostUpdate') as Array<{ usage: { inputTokens: number; outputTokens: number }; costUsd: number }>;
    expect(costs).toHaveLength(2);
    expect(result.usage!.completion_tokens).toBe(costs[0]!.usage.outputTokens + costs[1]!.usage.outputTokens);
    expect(result.usage!.prompt_tokens).toBe(costs[0]!.usage.inputTokens + costs[1]!.usage.inputTokens);
    expect(metrics.costUsd).toBeCloseTo(costs[0]!.costUsd + costs[1]!.costUsd, 6);
    expect(metrics).toMatchObject({ failedCalls: 0, plugins: { reliability: { recoveries: 1 } } });
    expect(seen.filter((e) => e.type === 'StreamRecovered')).toMatchObject([{ strategy: 'replay', provider: 'openai' }]);
  });

  it('a stream that fails before its first content is retried, invisibly to the agent (timeouts too with onTimeout: retry)', async () => {
    runtime = reliable({ retries: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5, onTimeout: 'retry' }, timeouts: { firstTokenMs: 200 } });
    fake.enqueue({ kind: 'cut', afterChunks: 1 }, { kind: 'stall' }, { kind: 'malformed' });
    const { result, metrics } = await inAgent(runtime, (client) => streamText(client));
    expect(result).toBe('Echo: one two three');
    expect(fake.requests).toHaveLength(4);
    expect(metrics.plugins.reliability).toMatchObject({ retries: 3 });
  });

  it('by default a timed-out attempt is not retried on the same model: without a fallback the agent gets IRON_TIMEOUT after one firstTokenMs', async () => {
    runtime = reliable({ timeouts: { firstTokenMs: 200 } });
    fake.enqueue({ kind: 'hang' });
    const started = performance.now();
    const { result } = await inAgent(runtime, (client) => failure(streamText(client)));
    expect(result.message).toMatch(/IRON_TIMEOUT: provider "openai" sent no first token of gpt-4o-mini within 200 ms of the request/);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(fake.requests).toHaveLength(1);
  });

  it('a stream that stalls after content is continued after the idle window', async () => {
    runtime = reliable({ timeouts: { idleMs: 200 } });
    fake.enqueue({ kind: 'stall', afterChunks: 3 });
    const { result } = await inAgent(runtime, (client) => streamText(client));
    expect(result).toBe('Echo: one two three');
    // The disconnect reaches the fake asynchronously: wait for it rather than for a guessed number of milliseconds.
    await expect.poll(() => fake.requests[0]!.aborted).toBe(true); // the stalled upstream request was given up
    expect(fake.requests).toHaveLength(2);
  });

  it('with recovery off, a break after content ends with its typed error, never as a complete answer', async () => {
    runtime = reliable({ streamRecovery: { openai: 'off' }, timeouts: { idleMs: 200 } });
    fake.enqueue({ kind: 'malformed', atChunk: 3 }, { kind: 'stall', afterChunks: 3 }, { kind: 'cut', afterChunks: 3 });
    const { result } = await inAgent(runtime, async (client) => [await failure(streamText(client)), await failure(streamText(client)), await failure(streamText(client))]);
    expect(result[0]!.message).toMatch(/IRON_UPSTREAM_INVALID: provider "openai" sent a stream event that is not JSON/);
    expect(result[1]!.message).toMatch(/IRON_TIMEOUT: provider "openai" stalled: nothing of the answer for 200 ms/);
    expect(result[2]!.message).toMatch(/IRON_STREAM_INTERRUPTED: the connection to provider "openai" broke mid-stream after [\d,]+ bytes/);
    expect(fake.requests).toHaveLength(3);
  });

  it('a stream with its finish reason and usage but no [DONE] is complete, billed by the usage it carried', async () => {
    runtime = reliable({ streamRecovery: { openai: 'off' } }, { budget: 5 });
    const seen = events(runtime);
    fake.enqueue({ kind: 'no-done' });
    const { result, metrics } = await inAgent(runtime, async (client) => {
      let text = '';
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: words(60) }], stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    });
    expect(result).toBe(`Echo: ${words(60)}`);
    expect(metrics).toMatchObject({ calls: 1, failedCalls: 0 });
    const cost = seen.find((e) => e.type === 'CostUpdate') as { usage: { outputTokens: number }; estimated: boolean };
    expect(cost.estimated).toBe(false);
    expect(cost.usage.outputTokens).toBe(fake.requests[0]!.billed!.output);
  });
});

describe('fallbacks', () => {
  it('falls back across providers: an OpenAI client gets a correctly shaped answer served by Anthropic, billed at the model used', async () => {
    runtime = twoProviders({ retries: { maxAttempts: 2 }, fallbacks: { 'gpt-4o': ['anthropic/claude-haiku-4-5'] } }, { budget: { limit: 5 } });
    const seen = events(runtime);
    fake.setOptions({ failureRate: 1, failureStatus: 500 });
    const { result } = await inAgent(runtime, async (client) => {
      const plain = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'fall back please' }] });
      let streamed = '';
      const stream = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'and streamed' }], stream: true });
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
      return { plain, streamed };
    });
    expect(result.plain.object).toBe('chat.completion');
    expect(result.plain.model).toBe('claude-haiku-4-5');
    expect(result.plain.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'Echo: fall back please' });
    expect(result.plain.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(result.streamed).toBe('Echo: and streamed');
    expect(backup.requests.map((r) => [r.path, r.body.model, r.body.max_tokens])).toEqual([
      ['/v1/messages', 'claude-haiku-4-5', 50],
      ['/v1/messages', 'claude-haiku-4-5', 50],
    ]);
    const costs = seen.filter((e) => e.type === 'CostUpdate') as Array<{ model: string; provider: string }>;
    expect(costs.map((c) => [c.provider, c.model])).toEqual([
      ['anthropic', 'claude-haiku-4-5'],
      ['anthropic', 'claude-haiku-4-5'],
    ]);
    expect(seen.filter((e) => e.type === 'FallbackTaken').map((e) => (e as { to: string }).to)).toEqual(['anthropic/claude-haiku-4-5', 'anthropic/claude-haiku-4-5']);
  });

  it('a prompt too long for the model goes to the larger-context fallback only', async () => {
    runtime = reliable({ fallbacks: { 'gpt-4o-mini': ['gpt-4o'] }, contextFallbacks: { 'gpt-4o-mini': ['gpt-4.1'] } });
    fake.enqueue({ kind: 'error', status: 400, body: { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } } });
    const { result } = await inAgent(runtime, (client) => ask(client, 'a long prompt'));
    expect(result.model).toBe('gpt-4.1');
    expect(fake.requests.map((r) => r.body.model)).toEqual(['gpt-4o-mini', 'gpt-4.1']);
  });

  it('a provider down for a while: the breaker opens, the fallback serves, and traffic returns to the primary', async () => {
    runtime = twoProviders({ retries: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, cooldownMs: 300 }, fallbacks: { 'gpt-4o-mini': ['anthropic/claude-haiku-4-5'] } });
    fake.setOptions({ failureRate: 1, failureStatus: 503 });
    const { result } = await inAgent(runtime, async (client) => {
      const served: string[] = [];
      for (let i = 0; i < 5; i++) served.push((await ask(client)).model);
      fake.setOptions({ failureRate: 0 });
      await new Promise((resolve) => setTimeout(resolve, 350));
      for (let i = 0; i < 3; i++) served.push((await ask(client)).model);
      return served;
    });
    expect(result).toEqual([...Array(5).fill('claude-haiku-4-5'), 'gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini']);
    // Two failures opened the breaker; while open the primary got no traffic; the probe then closed it.
    expect(fake.requests).toHaveLength(2 + 3);
    expect(backup.requests).toHaveLength(5);
  });
});

describe('bulkhead and config', () => {
  it('caps concurrency per provider: beyond the queue a call gets IRON_PROVIDER_BUSY', async () => {
    runtime = twoProviders({ bulkhead: { openai: { maxConcurrent: 1, maxQueue: 0 } } });
    fake.enqueue({ kind: 'reply', delayMs: 200 });
    const { result } = await inAgent(runtime, async (client) => Promise.allSettled([ask(client), ask(client)]));
    expect(result[0]!.status).toBe('fulfilled');
    expect(result[1]!.status).toBe('rejected');
    expect(((result[1] as PromiseRejectedResult).reason as Error).message).toMatch(/IRON_PROVIDER_BUSY/);
  });

  it('contradictory settings are config errors naming the key', async () => {
    await expect(reliable({ timeouts: { attemptMs: 5000, deadlineMs: 1000 } }).ready()).rejects.toThrow(/reliability\.timeouts\.attemptMs: 5000 ms is longer than timeouts\.deadlineMs/);
    await expect(reliable({ fallbacks: { 'gpt-4o': ['anthropc/claude-haiku-4-5'] } }).ready()).rejects.toThrow(/reliability\.fallbacks\.gpt-4o\[0\]: provider "anthropc" is not configured/);
    await expect(reliable({ retries: { maxAttempts: 0 } }).ready()).rejects.toThrow(/reliability\.retries\.maxAttempts/);
  });
});
