// Agent frameworks caged in process with one line (`fetch: agent.fetch`): the Vercel AI SDK (OpenAI Responses and
// Chat Completions, Anthropic Messages) and LangChain.js (ChatOpenAI on both OpenAI APIs), the real packages driven
// through the cage against the fake provider; answers, streamed text, tool calls, cost, budget and redaction.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { calcPrice } from '@pydantic/genai-prices';
import { APICallError, generateText, jsonSchema, stepCountIs, streamText, tool, type LanguageModel } from 'ai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentHandle, AgentMetrics, Runtime } from '../core/index.ts';
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

const EMAIL = 'jane.doe@example.org';

/** Runs `body` as an agent with cost (a $5 budget) and safety (its defaults) on; its result and final metrics. */
async function run<T>(body: (agent: AgentHandle) => Promise<T>, budget = 5): Promise<{ result: T; metrics: AgentMetrics }> {
  runtime = runtimeFor(fake, { budget, config: { safety: {} } });
  let result: T | undefined;
  const id = await runtime.startAgent(async (agent) => {
    result = await body(agent);
  });
  const metrics = await runtime.waitForAgent(id);
  expect(metrics.errors).toEqual([]);
  expect(metrics.status).toBe('completed');
  return { result: result as T, metrics };
}

/** What the price catalog charges for everything the fake provider billed, rounded up to the micro-dollar per call. */
function billedUsd(): number {
  let micros = 0;
  for (const { billed } of fake.requests) {
    if (!billed) continue;
    const price = calcPrice({ input_tokens: billed.input, output_tokens: billed.output }, billed.model);
    if (!price) throw new Error(`no price for ${billed.model}`);
    micros += Math.ceil(price.total_price * 1e6 - 1e-9);
  }
  return micros / 1e6;
}

/** The runtime counted every call, the tokens the framework reported, and the cost the provider's bill comes to. */
function expectCounted(metrics: AgentMetrics, usage: { input: number; output: number }, calls: number): void {
  expect({ calls: metrics.calls, failedCalls: metrics.failedCalls }).toEqual({ calls, failedCalls: 0 });
  expect({ input: metrics.tokens.input, output: metrics.tokens.output }).toEqual(usage);
  expect(metrics.costUsd).toBeGreaterThan(0);
  expect(metrics.costUsd).toBeCloseTo(billedUsd(), 9);
}

/** No request the provider got carries the email; each carries its placeholder instead. */
function expectPseudonymized(): void {
  expect(fake.requests.length).toBeGreaterThan(0);
  for (const request of fake.requests) {
    expect(request.rawBody).not.toContain(EMAIL);
    expect(request.rawBody).toContain('<EMAIL_ADDRESS_1>');
  }
}

const weather = tool({
  description: 'The weather in a city',
  inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }),
  execute: async ({ city }) => `Sunny in ${city}`,
});

describe('Vercel AI SDK with fetch: agent.fetch', () => {
  // [label, the one-line setup, the path it calls, the stream events the fake sends before the first text delta]
  const models: Array<[string, (agent: AgentHandle) => LanguageModel, string, number]> = [
    ['openai (Responses, the default)', (agent) => createOpenAI({ apiKey: 'x', fetch: agent.fetch })('gpt-4o-mini'), '/v1/responses', 4],
    ['openai.chat (Chat Completions)', (agent) => createOpenAI({ apiKey: 'x', fetch: agent.fetch }).chat('gpt-4o-mini'), '/v1/chat/completions', 1],
    ['anthropic (Messages)', (agent) => createAnthropic({ apiKey: 'x', fetch: agent.fetch })('claude-sonnet-4-6'), '/v1/messages', 3],
  ];

  for (const [label, modelOf, path, preamble] of models) {
    describe(label, () => {
      it('generateText: the answer, its usage counted and priced, the real key only upstream', async () => {
        const { result, metrics } = await run(async (agent) => generateText({ model: modelOf(agent), prompt: 'Say hi', maxRetries: 0 }));
        expect(result.text).toBe('Echo: Say hi');
        expectCounted(metrics, { input: result.usage.inputTokens!, output: result.usage.outputTokens! }, 1);
        expect(fake.requests.map((r) => r.path)).toEqual([path]);
        const key = fake.requests[0].headers.authorization ?? fake.requests[0].headers['x-api-key'];
        expect(key).toBe(path === '/v1/messages' ? REAL_ANTHROPIC_KEY : `Bearer ${REAL_OPENAI_KEY}`);
      });

      it('streamText: the streamed text, its usage counted and priced', async () => {
        const { result, metrics } = await run(async (agent) => {
          const stream = streamText({ model: modelOf(agent), prompt: 'one two three four', maxRetries: 0 });
          const pieces: string[] = [];
          for await (const piece of stream.textStream) pieces.push(piece);
          return { pieces, usage: await stream.usage };
        });
        expect(result.pieces).toEqual(['Echo: ', 'one ', 'two ', 'three ', 'four']);
        expect(fake.requests[0].body.stream).toBe(true);
        expectCounted(metrics, { input: result.usage.inputTokens!, output: result.usage.outputTokens! }, 1);
      });

      it('streamText: text arrives as the provider sends it, not when the stream ends', async () => {
        // The fake sends the first two words, then nothing more: text buffered until the end would never arrive.
        fake.enqueue({ kind: 'stall', afterChunks: preamble + 2 });
        runtime = runtimeFor(fake, { budget: 5, config: { safety: {} } });
        const pieces: string[] = [];
        const id = await runtime.startAgent(async (agent) => {
          const abort = new AbortController();
          const stream = streamText({ model: modelOf(agent), prompt: 'one two three four', abortSignal: abort.signal, maxRetries: 0, onError: () => undefined });
          for await (const piece of stream.textStream) if (pieces.push(piece) === 2) abort.abort();
        });
        expect((await runtime.waitForAgent(id)).status).toBe('completed');
        expect(pieces).toEqual(['Echo: ', 'one ']);
      });

      it('a tool call: the model calls the tool, the SDK runs it and sends the result back, both calls counted', async () => {
        fake.enqueue({ kind: 'reply', toolCall: { name: 'weather', arguments: '{"city":"Paris"}' } }, { kind: 'reply', text: 'It is sunny in Paris.' });
        const { result, metrics } = await run(async (agent) =>
          generateText({ model: modelOf(agent), prompt: 'Weather in Paris?', tools: { weather }, stopWhen: stepCountIs(2), maxRetries: 0 }),
        );
        expect(result.steps[0].toolCalls.map((call) => [call.toolName, call.input])).toEqual([['weather', { city: 'Paris' }]]);
        expect(result.steps[0].toolResults.map((r) => r.output)).toEqual(['Sunny in Paris']);
        expect(result.text).toBe('It is sunny in Paris.');
        expect(fake.requests).toHaveLength(2);
        expect(fake.requests[1].rawBody).toContain('Sunny in Paris');
        expectCounted(metrics, { input: result.totalUsage.inputTokens!, output: result.totalUsage.outputTokens! }, 2);
      });

      it('redaction: the provider sees a placeholder; the streamed answer, the tool and the final answer get the email back', async () => {
        // The model answers with the placeholder it was given, in a tool call's arguments and in its text.
        fake.enqueue({ kind: 'reply' }, { kind: 'reply', toolCall: { name: 'lookup', arguments: '{"email":"<EMAIL_ADDRESS_1>"}' } }, { kind: 'reply', text: 'Found <EMAIL_ADDRESS_1>.' });
        const seen: string[] = [];
        const lookup = tool({
          description: 'Find a customer by email',
          inputSchema: jsonSchema<{ email: string }>({ type: 'object', properties: { email: { type: 'string' } }, required: ['email'], additionalProperties: false }),
          execute: async ({ email }) => {
            seen.push(email);
            return `customer 42 (${email})`;
          },
        });
        // The fake provider streams no Responses tool call (it sends text), so that one is asked for without a stream.
        const streamTools = path !== '/v1/responses';
        const { result, metrics } = await run(async (agent) => {
          const stream = streamText({ model: modelOf(agent), prompt: `Write to ${EMAIL}`, maxRetries: 0 });
          let streamed = '';
          for await (const piece of stream.textStream) streamed += piece;
          const options = { model: modelOf(agent), prompt: `Find ${EMAIL}`, tools: { lookup }, stopWhen: stepCountIs(2), maxRetries: 0 };
          let answer = '';
          if (streamTools) for await (const piece of streamText(options).textStream) answer += piece;
          else answer = (await generateText(options)).text;
          return { streamed, answer };
        });
        expect(result).toEqual({ streamed: `Echo: Write to ${EMAIL}`, answer: `Found ${EMAIL}.` });
        expect(seen).toEqual([EMAIL]);
        expect(fake.requests).toHaveLength(3);
        expect(fake.requests[2].rawBody).toContain('customer 42 (<EMAIL_ADDRESS_1>)');
        expectPseudonymized();
        // Found on the way out: once in each prompt, and in the third call's tool call and tool result too; one pseudonym.
        expect(metrics.piiDetections).toBe(5);
        expect(metrics.plugins.safety).toMatchObject({ findings: { input: { EMAIL_ADDRESS: 5 }, output: {} }, pseudonyms: 1 });
      });

      it('a call the budget refuses raises the SDK\'s own APICallError: 402, IRON_BUDGET_EXCEEDED, nothing sent', async () => {
        runtime = runtimeFor(fake, { budget: 0.000001 });
        let error: unknown;
        const id = await runtime.startAgent(async (agent) => {
          error = await generateText({ model: modelOf(agent), prompt: 'Say hi', maxRetries: 0 }).catch((e: unknown) => e);
        });
        const metrics = await runtime.waitForAgent(id);
        expect(APICallError.isInstance(error)).toBe(true);
        expect((error as APICallError).statusCode).toBe(402);
        expect((error as APICallError).message).toMatch(/^IRON_BUDGET_EXCEEDED: budget exceeded: this (gpt-4o-mini|claude-sonnet-4-6) call needs up to \$/);
        expect(fake.requests).toEqual([]);
        expect({ status: metrics.status, calls: metrics.calls, costUsd: metrics.costUsd, codes: metrics.errors.map((e) => e.code) }).toEqual({ status: 'completed', calls: 1, costUsd: 0, codes: ['IRON_BUDGET_EXCEEDED'] });
      });
    });
  }
});

describe('LangChain.js ChatOpenAI with configuration: { fetch: agent.fetch }', () => {
  const apis: Array<[string, boolean, string]> = [
    ['Chat Completions (the default)', false, '/v1/chat/completions'],
    ['Responses (useResponsesApi)', true, '/v1/responses'],
  ];

  for (const [label, useResponsesApi, path] of apis) {
    describe(label, () => {
      const chatModel = (agent: AgentHandle) => new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'x', maxRetries: 0, useResponsesApi, configuration: { fetch: agent.fetch } });

      it('invoke: the answer, its usage counted and priced', async () => {
        const { result, metrics } = await run(async (agent) => chatModel(agent).invoke('Say hi'));
        expect(result.text).toBe('Echo: Say hi');
        expect(fake.requests.map((r) => r.path)).toEqual([path]);
        expectCounted(metrics, { input: result.usage_metadata!.input_tokens, output: result.usage_metadata!.output_tokens }, 1);
      });

      it('stream: the streamed text, its usage counted and priced', async () => {
        const { result, metrics } = await run(async (agent) => {
          const pieces: string[] = [];
          const usage = { input: 0, output: 0 };
          for await (const chunk of await chatModel(agent).stream('one two three four')) {
            if (chunk.text) pieces.push(chunk.text);
            usage.input += chunk.usage_metadata?.input_tokens ?? 0;
            usage.output += chunk.usage_metadata?.output_tokens ?? 0;
          }
          return { pieces, usage };
        });
        expect(result.pieces).toEqual(['Echo: ', 'one ', 'two ', 'three ', 'four']);
        expect(fake.requests[0].body.stream).toBe(true);
        expectCounted(metrics, result.usage, 1);
      });

      it('redaction: the provider sees a placeholder, invoke and stream get the email back', async () => {
        const { result, metrics } = await run(async (agent) => {
          const model = chatModel(agent);
          const invoked = (await model.invoke(`Write to ${EMAIL}`)).text;
          let streamed = '';
          for await (const chunk of await model.stream(`Write to ${EMAIL}`)) streamed += chunk.text;
          return { invoked, streamed };
        });
        expect(result).toEqual({ invoked: `Echo: Write to ${EMAIL}`, streamed: `Echo: Write to ${EMAIL}` });
        expectPseudonymized();
        expect(metrics.piiDetections).toBe(2);
      });
    });
  }

  it('bindTools, streamed: the tool call arrives with the email restored in its arguments', async () => {
    fake.enqueue({ kind: 'reply', toolCall: { name: 'lookup', arguments: '{"email":"<EMAIL_ADDRESS_1>"}' } });
    const lookup = { type: 'function' as const, function: { name: 'lookup', description: 'Find a customer by email', parameters: { type: 'object', properties: { email: { type: 'string' } }, required: ['email'] } } };
    const { result, metrics } = await run(async (agent) => {
      const model = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'x', maxRetries: 0, configuration: { fetch: agent.fetch } }).bindTools([lookup]);
      let message;
      for await (const chunk of await model.stream(`Find ${EMAIL}`)) message = message ? message.concat(chunk) : chunk;
      return message!;
    });
    expect(result.tool_calls).toEqual([{ name: 'lookup', args: { email: EMAIL }, id: expect.stringMatching(/^call_\d+$/), type: 'tool_call' }]);
    expectPseudonymized();
    expectCounted(metrics, { input: result.usage_metadata!.input_tokens, output: result.usage_metadata!.output_tokens }, 1);
  });

  it('a call the budget refuses raises the client\'s 402 error with IRON_BUDGET_EXCEEDED, nothing sent', async () => {
    runtime = runtimeFor(fake, { budget: 0.000001 });
    let error: unknown;
    const id = await runtime.startAgent(async (agent) => {
      error = await new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'x', maxRetries: 0, configuration: { fetch: agent.fetch } }).invoke('Say hi').catch((e: unknown) => e);
    });
    await runtime.waitForAgent(id);
    expect((error as { status?: number }).status).toBe(402);
    expect((error as Error).message).toMatch(/^402 IRON_BUDGET_EXCEEDED: budget exceeded: this gpt-4o-mini call needs up to \$/);
    expect(fake.requests).toEqual([]);
  });
});

describe('the framework examples, run as a user runs them (offline, no keys)', () => {
  const root = new URL('..', import.meta.url).pathname;
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  for (const [file, name] of [['examples/ai-sdk-agent.ts', 'ai-sdk-agent'], ['examples/langchain-agent.ts', 'langchain-agent']]) {
    it(`${file}: two answers through the cage, then the summary table`, async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: root, env, timeout: 60_000 });
      expect(stdout).toContain('Simulated answer to "Write a haiku about budgets."');
      expect(stdout).toContain('Simulated answer to "Count to five."');
      expect(stdout).toMatch(new RegExp(`^${name} +completed +2 +0 `, 'm'));
    });
  }
});
