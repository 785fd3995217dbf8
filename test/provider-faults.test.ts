// Issue 19's provider-fault scenarios, each driven the way an agent meets it: the official `openai` and
// `@anthropic-ai/sdk` clients on agent.fetch (and through the gateway), against the project's fake providers with
// faults injected at chosen points. The config is the one a team would write — a fallback on another provider,
// short timeouts — and each test asserts the exact text the agent received, the usage it was told, the cost the
// stream reported, and the runtime's metrics and events.
import Anthropic from '@anthropic-ai/sdk';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IronEvent } from '../core/events.ts';
import { Runtime } from '../core/runtime.ts';
import { startFakeProvider, type FakeBehaviour, type FakeProvider } from './fake-provider/index.ts';
import { fixture } from './helpers.ts';

const BIN = new URL('../dist/core/cli/bin.js', import.meta.url).pathname;

let primary: FakeProvider;
let backup: FakeProvider;
let runtime: Runtime | undefined;

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const PROMPT = words(59);
const ANSWER = `Echo: ${PROMPT}`;

beforeAll(async () => {
  [primary, backup] = await Promise.all([startFakeProvider({ seed: 19 }), startFakeProvider({ seed: 91 })]);
});
afterAll(async () => {
  await Promise.all([primary.close(), backup.close()]);
});
beforeEach(() => {
  primary.reset();
  backup.reset();
  primary.setOptions({ failureRate: 0, prefill: 'continue', chunkDelayMs: 0 });
  backup.setOptions({ failureRate: 0, prefill: 'continue', chunkDelayMs: 0 });
});
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

/** OpenAI primary, Anthropic backup; gpt-4o-mini falls back to claude-haiku-4-5 there; fast timeouts. */
function caged(reliability: Record<string, unknown> = {}): { runtime: Runtime; events: IronEvent[] } {
  const rt = new Runtime({
    env: {},
    logLevel: 'silent',
    budget: 5,
    config: {
      providers: { openai: { type: 'openai', baseUrl: `${primary.url}/v1`, apiKey: 'k1' }, anthropic: { type: 'anthropic', baseUrl: backup.url, apiKey: 'k2' } },
      reliability: {
        retries: { initialDelayMs: 1, maxDelayMs: 5 },
        timeouts: { attemptMs: 1500, deadlineMs: 4000, firstTokenMs: 400, idleMs: 300 },
        fallbacks: { 'gpt-4o-mini': ['anthropic/claude-haiku-4-5'], 'claude-3-5-haiku*': ['anthropic/claude-haiku-4-5'] },
        ...reliability,
      },
    },
  });
  runtime = rt;
  const events: IronEvent[] = [];
  rt.events.onAny((event) => void events.push(event));
  return { runtime: rt, events };
}

/** Anthropic only (the backup fake), with the same fast recovery settings. */
function anthropicOnly(reliability: Record<string, unknown> = {}): { runtime: Runtime; events: IronEvent[] } {
  const rt = new Runtime({
    env: {},
    logLevel: 'silent',
    budget: 5,
    config: {
      providers: { anthropic: { type: 'anthropic', baseUrl: backup.url, apiKey: 'k2' } },
      reliability: { retries: { initialDelayMs: 1, maxDelayMs: 5 }, timeouts: { idleMs: 300 }, ...reliability },
    },
  });
  runtime = rt;
  const events: IronEvent[] = [];
  rt.events.onAny((event) => void events.push(event));
  return { runtime: rt, events };
}

interface Outcome {
  text: string;
  finishes: number;
  usage?: { input: number; output: number };
  /** The `: x-iron-cost-usd=` comment the stream carried (USD), if any. */
  streamCost?: number;
  error?: string;
  ms: number;
}

/** A fetch that lets the SDK read the answer and keeps a copy of the raw body (for the SSE cost comment). */
function teeing(fetch: typeof globalThis.fetch, raw: string[]): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const copy = response.clone();
    raw.push('');
    const at = raw.length - 1;
    void copy.text().then((text) => (raw[at] = text), () => undefined);
    return response;
  };
}

async function openaiStream(rt: Runtime, model = 'gpt-4o-mini', content = PROMPT): Promise<{ outcome: Outcome; agentId: string }> {
  const outcome: Outcome = { text: '', finishes: 0, ms: 0 };
  const raw: string[] = [];
  const agentId = await rt.startAgent(async (agent) => {
    const client = new OpenAI({ apiKey: 'x', fetch: teeing(agent.fetch, raw), maxRetries: 0 });
    const started = performance.now();
    try {
      const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        outcome.text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) outcome.finishes++;
        if (chunk.usage) outcome.usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
      }
    } catch (error) {
      outcome.error = (error as Error).message;
    }
    outcome.ms = performance.now() - started;
  });
  await rt.waitForAgent(agentId);
  await expect.poll(() => raw.every((r) => r !== '')).toBe(true);
  const cost = /: x-iron-cost-usd=([\d.]+)/.exec(raw.join(''))?.[1];
  if (cost) outcome.streamCost = Number(cost);
  return { outcome, agentId };
}

async function anthropicStream(rt: Runtime, model = 'claude-3-5-haiku-20241022', content = PROMPT): Promise<{ outcome: Outcome; agentId: string }> {
  const outcome: Outcome = { text: '', finishes: 0, ms: 0 };
  const agentId = await rt.startAgent(async (agent) => {
    const client = new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
    const started = performance.now();
    try {
      const stream = client.messages.stream({ model, max_tokens: 400, messages: [{ role: 'user', content }] });
      stream.on('text', (text) => (outcome.text += text));
      const message = await stream.finalMessage();
      outcome.finishes = message.stop_reason ? 1 : 0;
      outcome.usage = { input: message.usage.input_tokens, output: message.usage.output_tokens };
      // The SDK assembles the message from the events: its text must be exactly what was streamed.
      expect(message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')).toBe(outcome.text);
    } catch (error) {
      outcome.error = (error as Error).message;
    }
    outcome.ms = performance.now() - started;
  });
  await rt.waitForAgent(agentId);
  return { outcome, agentId };
}

const costs = (events: IronEvent[]) =>
  events.filter((e) => e.type === 'CostUpdate') as Array<IronEvent & { model: string; provider: string; costUsd: number; usage: { inputTokens: number; outputTokens: number }; unanswered?: { attempts: number; inputTokens: number; outputTokens: number } }>;

/** The agent read one whole answer, told the usage and cost of every attempt together, and the books agree. */
function expectWhole(rt: Runtime, agentId: string, outcome: Outcome, events: IronEvent[], text = ANSWER) {
  expect(outcome.error).toBeUndefined();
  expect(outcome.text).toBe(text);
  expect(outcome.finishes).toBe(1);
  const billed = costs(events);
  const metrics = rt.getMetrics(agentId);
  expect(metrics).toMatchObject({ calls: 1, failedCalls: 0 });
  expect(metrics.costUsd).toBeCloseTo(billed.reduce((sum, c) => sum + c.costUsd, 0), 6);
  if (outcome.usage) {
    // The agent is told the usage of the answers it read; attempts that never answered are billed on the side.
    expect(outcome.usage.output).toBe(billed.reduce((sum, c) => sum + c.usage.outputTokens - (c.unanswered?.outputTokens ?? 0), 0));
    expect(outcome.usage.input).toBe(billed.reduce((sum, c) => sum + c.usage.inputTokens - (c.unanswered?.inputTokens ?? 0), 0));
  }
  if (outcome.streamCost !== undefined) expect(outcome.streamCost).toBeCloseTo(metrics.costUsd, 6);
  expect(metrics.tokens.output).toBe(billed.reduce((sum, c) => sum + c.usage.outputTokens, 0));
}

describe('provider faults, streaming, with a fallback configured', () => {
  const streamCases: Array<{ name: string; fault: FakeBehaviour; recovered: 'retry' | 'continued' | 'fallback' }> = [
    { name: '429 with Retry-After', fault: { kind: 'error', status: 429, headers: { 'retry-after': '0' } }, recovered: 'retry' },
    { name: '429 without Retry-After', fault: { kind: 'error', status: 429 }, recovered: 'retry' },
    { name: '500', fault: { kind: 'error', status: 500 }, recovered: 'retry' },
    { name: '503', fault: { kind: 'error', status: 503 }, recovered: 'retry' },
    { name: 'TCP reset before the answer', fault: { kind: 'reset' }, recovered: 'retry' },
    { name: 'a silent provider (no headers)', fault: { kind: 'hang' }, recovered: 'fallback' },
    { name: 'a first token later than firstTokenMs', fault: { kind: 'delay', ms: 1200 }, recovered: 'fallback' },
    { name: 'a stream cut mid-answer', fault: { kind: 'cut', afterChunks: 30 }, recovered: 'continued' },
    { name: 'a stall mid-stream', fault: { kind: 'stall', afterChunks: 30 }, recovered: 'continued' },
    { name: 'a malformed chunk mid-stream', fault: { kind: 'malformed', atChunk: 30 }, recovered: 'continued' },
    { name: 'an error event mid-stream', fault: { kind: 'error-event', afterChunks: 30 }, recovered: 'continued' },
  ];

  it.each(streamCases)('$name: the agent reads the whole answer ($recovered)', async ({ fault, recovered }) => {
    const { runtime: rt, events } = caged();
    primary.enqueue(fault);
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, events, recovered === 'fallback' ? ANSWER : ANSWER);
    if (recovered === 'fallback') {
      // One timeout, then the fallback at once: never maxAttempts timeouts on the silent provider.
      expect(primary.requests).toHaveLength(1);
      expect(backup.requests).toHaveLength(1);
      expect(outcome.ms).toBeLessThan(1500);
      // The attempt given up on is billed its prompt (the provider may have processed it), then the fallback's answer.
      expect(costs(events).map((c) => [c.model, c.unanswered?.attempts, c.usage.outputTokens > 0])).toEqual([
        ['gpt-4o-mini', 1, false],
        ['claude-haiku-4-5', undefined, true],
      ]);
    } else if (recovered === 'continued') {
      expect(primary.requests).toHaveLength(2);
      expect(events.filter((e) => e.type === 'StreamRecovered')).toMatchObject([{ provider: 'openai', model: 'gpt-4o-mini', strategy: 'replay' }]);
      // Both attempts billed, each at its model's price; the first by what it sent before the break.
      expect(costs(events)).toHaveLength(2);
    } else {
      expect(primary.requests).toHaveLength(2);
      expect(costs(events)).toHaveLength(1);
    }
  });

  it('a stream without [DONE] but with its finish reason and usage is complete, billed by that usage', async () => {
    const { runtime: rt, events } = caged();
    primary.enqueue({ kind: 'no-done' });
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(primary.requests).toHaveLength(1);
    expect(costs(events)).toMatchObject([{ estimated: false, usage: { outputTokens: primary.requests[0]!.billed!.output } }]);
  });

  it('a stream cut right after its finish reason, before usage and [DONE], is complete: nothing asked again, billed by estimate, and the usage chunk the agent asked for carries what was billed', async () => {
    const { runtime: rt, events } = caged();
    // role chunk, "Echo: " "a " "b " "c", the finish chunk — then the connection breaks.
    primary.enqueue({ kind: 'cut', afterChunks: 6 });
    const { outcome, agentId } = await openaiStream(rt, 'gpt-4o-mini', 'a b c');
    expect(outcome).toMatchObject({ text: 'Echo: a b c', finishes: 1 });
    expect(outcome.error).toBeUndefined();
    expect(primary.requests).toHaveLength(1);
    expect(rt.getMetrics(agentId)).toMatchObject({ calls: 1, failedCalls: 0 });
    expect(costs(events)).toMatchObject([{ estimated: true }]);
    expect(outcome.usage).toEqual({ input: costs(events)[0]!.usage.inputTokens, output: costs(events)[0]!.usage.outputTokens });
  });

  it('an error event after the finish reason: the answer is complete (OpenAI with its usage chunk, Anthropic with its message)', async () => {
    const { runtime: rt, events } = caged();
    primary.enqueue({ kind: 'error-event', afterChunks: 6 });
    const openai = await openaiStream(rt, 'gpt-4o-mini', 'a b c');
    expect(openai.outcome.error).toBeUndefined();
    expect(openai.outcome).toMatchObject({ text: 'Echo: a b c', finishes: 1 });
    expect(openai.outcome.usage).toBeDefined();
    expect(primary.requests).toHaveLength(1);
    expect(costs(events)).toHaveLength(1);
    await rt.close();
    backup.enqueue({ kind: 'error-event', afterChunks: 8 });
    const { outcome } = await anthropicStream(anthropicOnly().runtime, 'claude-3-5-haiku-20241022', 'a b c');
    expect(outcome.error).toBeUndefined();
    expect(outcome).toMatchObject({ text: 'Echo: a b c', finishes: 1 });
  });

  it('a stream of several choices (n=3) cut mid-answer is not spliced into one: an honest error', async () => {
    const { runtime: rt } = caged();
    primary.enqueue({ kind: 'cut', afterChunks: 12 });
    let message = '';
    let choices = new Set<number>();
    const id = await rt.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      try {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', n: 3, messages: [{ role: 'user', content: 'a b c' }], stream: true });
        for await (const chunk of stream) for (const choice of chunk.choices) choices.add(choice.index);
      } catch (error) {
        message = (error as Error).message;
      }
    });
    await rt.waitForAgent(id);
    expect(message).toMatch(/IRON_STREAM_INTERRUPTED/);
    expect(primary.requests).toHaveLength(1);
    choices = new Set(choices);
    expect(rt.getMetrics(id).failedCalls).toBe(1);
  });

  it('a stream that goes silent after its finish reason ends complete within 2 s, not after the whole idle window', async () => {
    const { runtime: rt, events } = caged({ timeouts: { attemptMs: 1500, deadlineMs: 10_000, firstTokenMs: 400, idleMs: 8_000 } });
    primary.enqueue({ kind: 'stall', afterChunks: 6 });
    const { outcome } = await openaiStream(rt, 'gpt-4o-mini', 'a b c');
    expect(outcome).toMatchObject({ text: 'Echo: a b c', finishes: 1 });
    expect(outcome.error).toBeUndefined();
    expect(outcome.ms).toBeLessThan(3_000);
    expect(outcome.usage).toBeDefined();
    expect(costs(events)).toHaveLength(1);
  });

  it('a stream that breaks twice is continued twice, the delivered text followed exactly (same model, then the fallback)', async () => {
    const { runtime: rt, events } = caged({ retries: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 } });
    // Cut after 20 events; the replay repeats the delivered words, adds some, and is cut too.
    primary.enqueue({ kind: 'cut', afterChunks: 20 }, { kind: 'cut', afterChunks: 40 });
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(events.filter((e) => e.type === 'StreamRecovered').map((e) => (e as { strategy: string }).strategy)).toEqual(['replay', 'continuation']);
    // The fallback was asked to continue exactly what the agent had read: no word twice, none missing.
    const asked = backup.requests[0]!.body.messages as Array<{ role: string; content: string | Array<{ text: string }> }>;
    const prefill = asked.at(-1)!.content;
    const prefillText = typeof prefill === 'string' ? prefill : prefill.map((part) => part.text).join('');
    expect(ANSWER.startsWith(prefillText)).toBe(true);
    expect(prefillText.split(' ').length).toBeGreaterThan(30);
  });

  it('a stream stalled mid-answer that only sends keep-alives (SSE comments, Anthropic pings) counts as stalled: continued', async () => {
    const { runtime: rt, events } = caged();
    primary.enqueue({ kind: 'stall', afterChunks: 30, keepAliveMs: 50 });
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(outcome.ms).toBeLessThan(1_500);
    expect(events.filter((e) => e.type === 'StreamRecovered')).toHaveLength(1);
  });

  it('a provider that keeps stalling is asked once more, then the fallback once: an honest error within a few idle windows', async () => {
    const { runtime: rt } = caged();
    primary.enqueue({ kind: 'stall', afterChunks: 20 }, { kind: 'stall', afterChunks: 20 }, { kind: 'stall', afterChunks: 20 });
    backup.enqueue({ kind: 'stall', afterChunks: 10 }, { kind: 'stall', afterChunks: 10 });
    const { outcome, agentId } = await openaiStream(rt);
    expect(outcome.error).toMatch(/IRON_/);
    expect(primary.requests).toHaveLength(2);
    expect(backup.requests).toHaveLength(1);
    // Three stalls of idleMs (300 ms) and the round trips: never maxAttempts × routes of them.
    expect(outcome.ms).toBeLessThan(2_000);
    expect(ANSWER.startsWith(outcome.text)).toBe(true);
    expect(rt.getMetrics(agentId).failedCalls).toBe(1);
  });

  it('a prompt too long for the model goes to the larger-context model', async () => {
    const { runtime: rt, events } = caged({ contextFallbacks: { 'gpt-4o-mini': ['gpt-4.1'] } });
    primary.enqueue({ kind: 'error', status: 400, body: { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } } });
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(primary.requests.map((r) => r.body.model)).toEqual(['gpt-4o-mini', 'gpt-4.1']);
  });

  it('a content-policy refusal reaches the agent as it is by default, and goes to contentPolicyFallbacks when set', async () => {
    const refusal: FakeBehaviour = { kind: 'error', status: 400, body: { error: { message: 'Your request was rejected as a result of our safety system.', type: 'invalid_request_error', code: 'content_policy_violation' } } };
    let { runtime: rt } = caged();
    primary.enqueue(refusal);
    const honest = await openaiStream(rt);
    expect(honest.outcome.error).toMatch(/^400 .*safety system/);
    expect(backup.requests).toHaveLength(0);
    await rt.close();
    primary.reset();
    const opted = caged({ contentPolicyFallbacks: { 'gpt-4o-mini': ['anthropic/claude-haiku-4-5'] } });
    rt = opted.runtime;
    primary.enqueue(refusal);
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, opted.events);
    expect(backup.requests).toHaveLength(1);
  });

  it('a flapping primary (half its calls fail): every call is served', async () => {
    const { runtime: rt } = caged({ breaker: { consecutiveFailures: 50 } });
    primary.setOptions({ failureRate: 0.5, failureStatus: 503 });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { outcome, agentId } = await openaiStream(rt, 'gpt-4o-mini', `flap ${i}`);
      expect(outcome.error).toBeUndefined();
      expect(outcome.text).toBe(`Echo: flap ${i}`);
      ids.push(agentId);
    }
    expect(ids.every((id) => rt.getMetrics(id).failedCalls === 0)).toBe(true);
  });

  it('a stream cut mid-answer whose same-model retry fails goes on from the fallback on another provider (continuation), billed per model', async () => {
    const { runtime: rt, events } = caged({ retries: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 } });
    primary.enqueue({ kind: 'cut', afterChunks: 30 }, { kind: 'error', status: 503 }, { kind: 'error', status: 503 });
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(events.filter((e) => e.type === 'StreamRecovered').map((e) => [(e as { model: string }).model, (e as { strategy: string }).strategy])).toEqual([
      ['gpt-4o-mini', 'replay'],
      ['claude-haiku-4-5', 'continuation'],
    ]);
    // The backup was asked to continue the delivered text: a prefill, answered with the rest only.
    const asked = backup.requests[0]!.body.messages as Array<{ role: string; content: unknown }>;
    expect(asked.at(-1)!.role).toBe('assistant');
    expect(costs(events).map((c) => [c.provider, c.model])).toEqual([
      ['openai', 'gpt-4o-mini'],
      ['anthropic', 'claude-haiku-4-5'],
    ]);
  });

  it('a cut stream whose fallback refuses assistant prefill is replayed there instead', async () => {
    const { runtime: rt, events } = caged({ retries: { maxAttempts: 1 } });
    backup.setOptions({ prefill: 'reject' });
    primary.enqueue({ kind: 'cut', afterChunks: 30 });
    const { outcome, agentId } = await openaiStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(backup.requests.map((r) => (r.body.messages as Array<{ role: string }>).at(-1)!.role)).toEqual(['assistant', 'user']);
  });

  it('a replay that answers differently ends honestly, never splicing two answers', async () => {
    const { runtime: rt } = caged({ fallbacks: {} });
    primary.enqueue({ kind: 'cut', afterChunks: 10 }, { kind: 'reply', text: 'Something else entirely, said another way.' });
    const { outcome, agentId } = await openaiStream(rt);
    expect(outcome.error, JSON.stringify(outcome)).toMatch(/IRON_STREAM_INTERRUPTED: .*the second answer differs from the text already sent/);
    expect(outcome.text.length).toBeGreaterThan(10);
    expect(ANSWER.startsWith(outcome.text)).toBe(true);
    expect(rt.getMetrics(agentId).failedCalls).toBe(1);
  });

  it('Anthropic streams are continued by prefill on the same model: one message, no repeated words', async () => {
    const { runtime: rt, events } = anthropicOnly();
    backup.enqueue({ kind: 'cut', afterChunks: 25 });
    const { outcome, agentId } = await anthropicStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(events.filter((e) => e.type === 'StreamRecovered')).toMatchObject([{ strategy: 'continuation' }]);
    const continuation = backup.requests[1]!.body.messages as Array<{ role: string; content: string | Array<{ text: string }> }>;
    expect(continuation.at(-1)).toMatchObject({ role: 'assistant' });
    const prefill = continuation.at(-1)!.content;
    const prefillText = typeof prefill === 'string' ? prefill : prefill.map((part) => part.text).join('');
    expect(prefillText.length).toBeGreaterThan(20);
    expect(ANSWER.startsWith(prefillText)).toBe(true);
  });
});

describe('Anthropic streams broken at awkward points', () => {
  const prefillOf = (request: { body: Record<string, unknown> }): string => {
    const content = (request.body.messages as Array<{ role: string; content: string | Array<{ text: string }> }>).at(-1)!.content;
    return typeof content === 'string' ? content : content.map((part) => part.text).join('');
  };

  it('cut after the text block closed, before message_delta: the answer ends whole, one message, its stop reason from the continuation', async () => {
    const { runtime: rt, events } = anthropicOnly();
    // message_start, content_block_start, "Echo: " "a " "b " "c", content_block_stop — then the connection breaks.
    backup.enqueue({ kind: 'cut', afterChunks: 7 });
    const { outcome, agentId } = await anthropicStream(rt, 'claude-3-5-haiku-20241022', 'a b c');
    expect(outcome.error).toBeUndefined();
    expect(outcome).toMatchObject({ text: 'Echo: a b c', finishes: 1 });
    expect(prefillOf(backup.requests[1]!)).toBe('Echo: a b c');
    expect(rt.getMetrics(agentId)).toMatchObject({ calls: 1, failedCalls: 0 });
    expect(events.filter((e) => e.type === 'StreamRecovered')).toHaveLength(1);
  });

  it('broken twice: each continuation is asked with exactly the text delivered so far', async () => {
    const { runtime: rt, events } = anthropicOnly({ fallbacks: { 'claude-3-5-haiku*': ['claude-haiku-4-5'] } });
    backup.enqueue({ kind: 'cut', afterChunks: 15 }, { kind: 'cut', afterChunks: 15 });
    const { outcome, agentId } = await anthropicStream(rt);
    expectWhole(rt, agentId, outcome, events);
    const first = prefillOf(backup.requests[1]!);
    const second = prefillOf(backup.requests[2]!);
    expect(ANSWER.startsWith(first)).toBe(true);
    expect(ANSWER.startsWith(second)).toBe(true);
    expect(second.length).toBeGreaterThan(first.length + 20);
  });

  it('a provider that ignores the prefill and starts over: its repeat is dropped, the agent reads each word once', async () => {
    const { runtime: rt, events } = anthropicOnly();
    backup.setOptions({ prefill: 'ignore' });
    backup.enqueue({ kind: 'cut', afterChunks: 25 });
    const { outcome, agentId } = await anthropicStream(rt);
    expectWhole(rt, agentId, outcome, events);
    expect(backup.requests).toHaveLength(2);
  });
});

describe('provider faults, not streamed', () => {
  it('a body cut after its 200 is IRON_UPSTREAM_BROKEN (the provider was reached), retried', async () => {
    const { runtime: rt, events } = caged({ fallbacks: {}, retries: { maxAttempts: 1 } });
    primary.enqueue({ kind: 'cut', afterChunks: 0 });
    let message = '';
    const id = await rt.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((error: Error) => (message = error.message));
    });
    await rt.waitForAgent(id);
    expect(message).toMatch(/^502 IRON_UPSTREAM_BROKEN: provider "openai"'s answer ended after [\d,]+ bytes/);
    // The provider generated that answer: it is counted at its prompt and the most it could have been (no max_tokens:
    // gpt-4o-mini's 16,384), estimated, and the reservation is not left held.
    expect(costs(events)).toMatchObject([{ estimated: true, unanswered: { attempts: 1, outputTokens: 16_384 } }]);
    expect((rt.getMetrics(id).plugins.cost as { reservedUsd: number }).reservedUsd).toBe(0);
    await rt.close();
    // With retries (the default), it is retried and answered.
    const again = caged({ fallbacks: {} });
    primary.reset();
    primary.enqueue({ kind: 'cut', afterChunks: 0 });
    let content = '';
    const next = await again.runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      content = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).choices[0]!.message.content ?? '';
    });
    await again.runtime.waitForAgent(next);
    expect(content).toBe('Echo: x');
  });

  it('a silent provider costs one attemptMs, then the fallback answers', async () => {
    const { runtime: rt, events } = caged({ timeouts: { attemptMs: 400, deadlineMs: 4000 } });
    primary.enqueue({ kind: 'hang' });
    let model = '';
    const started = performance.now();
    const id = await rt.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      model = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).model;
    });
    await rt.waitForAgent(id);
    expect(model).toBe('claude-haiku-4-5');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(events.filter((e) => e.type === 'FallbackTaken')).toHaveLength(1);
  });
});

describe('reliability config that cannot hold a fallback', () => {
  it('is refused at start, naming the keys', async () => {
    await expect(caged({ timeouts: { attemptMs: 3000, deadlineMs: 4000 } }).runtime.ready()).rejects.toThrow(/reliability\.timeouts\.deadlineMs: 4000 ms cannot hold one attempt of timeouts\.attemptMs \(3000 ms\) on the primary model and one on its fallback/);
    await runtime?.close();
    await expect(caged({ retries: { onTimeout: 'retry', maxAttempts: 3 }, timeouts: { attemptMs: 1000, deadlineMs: 3000 } }).runtime.ready()).rejects.toThrow(/3 attempts \(retries\.maxAttempts, retries\.onTimeout: retry\)/);
  });
});

describe('through the gateway and `iron run`', () => {
  it('a process agent on the official client reads one whole answer when the stream is cut mid-way', async () => {
    const { runtime: rt, events } = caged();
    primary.enqueue({ kind: 'cut', afterChunks: 30 });
    const id = await rt.startAgent(fixture('stream-agent.ts'), { args: [PROMPT], output: 'capture' });
    await rt.waitForAgent(id);
    const outcome = JSON.parse(rt.agentOutput(id).trim().split('\n').at(-1)!) as Outcome;
    expectWhole(rt, id, { ...outcome, ms: 0 }, events);
    expect(primary.requests).toHaveLength(2);
  });

  it('a cut stream that cannot be continued: the error reaches the agent, and the summary shows the tokens billed, not 0/0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-faults-'));
    writeFileSync(join(dir, 'iron.config.yaml'), `providers:\n  openai: { type: openai, baseUrl: ${primary.url}/v1, apiKey: sk-test }\nbudget: { limit: 5 }\nreliability:\n  streamRecovery: { openai: "off" }\n`);
    primary.enqueue({ kind: 'cut', afterChunks: 30 });
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'run', fixture('stream-agent.ts'), '--', PROMPT], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    const outcome = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Outcome;
    expect(outcome.error).toMatch(/IRON_STREAM_INTERRUPTED: the connection to provider "openai" broke mid-stream after [\d,]+ bytes/);
    expect(ANSWER.startsWith(outcome.text)).toBe(true);
    // The summary row: calls 0, failed 1, tokens in and out as billed (the cut stream's estimate), a cost.
    const row = run.stderr.split('\n').find((line) => /stream-agent\.ts\s/.test(line));
    expect(row, run.stderr).toBeDefined();
    const [, , , failed, tokensIn, tokensOut, cost] = row!.trim().split(/\s+/);
    expect(failed).toBe('1');
    expect(Number(tokensIn)).toBeGreaterThan(0);
    expect(Number(tokensOut)).toBeGreaterThan(20);
    expect(cost).toMatch(/^\$0\.0000[1-9]|^\$0\.000[1-9]/);
  });
});
