// The telemetry plugin end to end: caged calls through the official `openai` client on agent.fetch, against the fake
// provider, exported over OTLP/HTTP to a local receiver; the spans, their links and the metrics it receives.
import OpenAI from 'openai';
import pino from 'pino';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Runtime, type RuntimeOptions } from '../core/index.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../plugins/telemetry/testing.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { providerEnv, runtimeFor } from './helpers.ts';

const SPAN_KIND_INTERNAL = 1;
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

let fake: FakeProvider;
let backup: FakeProvider;
let receiver: OtlpReceiver;
let runtime: Runtime | undefined;

beforeAll(async () => {
  [fake, backup, receiver] = await Promise.all([startFakeProvider(), startFakeProvider(), startOtlpReceiver()]);
});
afterAll(async () => {
  await Promise.all([fake.close(), backup.close(), receiver.close()]);
});
beforeEach(() => {
  fake.reset();
  backup.reset();
  receiver.spans.length = 0;
  receiver.points.length = 0;
  receiver.requests.length = 0;
  receiver.status = 200;
  receiver.delayMs = 0;
});
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

/** A runtime exporting to the receiver; its spans and metrics arrive when it closes (the plugin's flush). */
function traced(config: Record<string, unknown> = {}, telemetry: Record<string, unknown> = {}, options: RuntimeOptions = {}): Runtime {
  runtime = runtimeFor(fake, { ...options, config: { telemetry: { endpoint: receiver.url, serviceName: 'caged-test', ...telemetry }, ...config } });
  return runtime;
}

/** Runs `body` as an in-process agent with an OpenAI client, then closes the runtime (which exports). */
async function inAgent<T>(rt: Runtime, name: string, body: (client: OpenAI) => Promise<T>) {
  let result: T | undefined;
  const agentId = await rt.startAgent(
    async (agent) => {
      result = await body(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }));
    },
    { name },
  );
  const metrics = await rt.waitForAgent(agentId);
  await rt.close();
  return { result: result as T, metrics, agentId };
}

const spanNamed = (name: string): ReceivedSpan => {
  const found = receiver.spans.filter((span) => span.name === name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0]!;
};
const pointsOf = (metric: string) => receiver.points.filter((point) => point.metric === metric);

describe('telemetry: spans', () => {
  it('a JSON call: a chat span under the agent span, with the GenAI attributes, cost and budget left', async () => {
    const rt = traced({ budget: { limit: 1 }, cost: {} });
    const { result, metrics, agentId } = await inAgent(rt, 'writer', (client) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, temperature: 0.5, messages: [{ role: 'user', content: 'hello' }] }),
    );
    expect(result.choices[0]!.message.content).toBe('Echo: hello');

    const agent = spanNamed('invoke_agent writer');
    expect(agent).toMatchObject({ kind: SPAN_KIND_INTERNAL, parentSpanId: '', status: {} });
    expect(agent.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.id': agentId,
      'gen_ai.agent.name': 'writer',
      'iron.agent_id': agentId,
      'iron.agent.kind': 'in-process',
      'iron.agent.status': 'completed',
    });
    expect(agent.resource['service.name']).toBe('caged-test');

    const call = spanNamed('chat gpt-4o-mini');
    expect(call).toMatchObject({ kind: SPAN_KIND_CLIENT, traceId: agent.traceId, parentSpanId: agent.spanId, status: {} });
    expect(call.startMs).toBeGreaterThanOrEqual(agent.startMs);
    expect(call.endMs).toBeLessThanOrEqual(agent.endMs);
    const budgetLeft = 1 - metrics.costUsd;
    expect(call.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.max_tokens': 50,
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.stream': false,
      'gen_ai.response.model': result.model,
      'gen_ai.response.id': result.id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': result.usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': result.usage!.completion_tokens,
      'gen_ai.agent.id': agentId,
      'gen_ai.agent.name': 'writer',
      'server.address': '127.0.0.1',
      'server.port': fake.port,
      'iron.provider': 'openai',
      'iron.stream': false,
      'iron.call_id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'iron.agent_id': agentId,
      'iron.cost_usd': metrics.costUsd,
      'iron.budget.remaining_usd': expect.closeTo(budgetLeft, 12),
    });
    expect(metrics.costUsd).toBeGreaterThan(0);
  });

  it('a stream: the span ends with the stream, with its usage and response id', async () => {
    const rt = traced();
    const { result } = await inAgent(rt, 'streamer', async (client) => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'tell me a story' }] });
      let text = '';
      let id = '';
      for await (const chunk of stream) {
        id ||= chunk.id;
        text += chunk.choices[0]?.delta.content ?? '';
      }
      return { text, id };
    });
    expect(result.text).toBe('Echo: tell me a story');
    const billed = fake.requests[0]!.billed!;
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.attributes).toMatchObject({
      'gen_ai.request.stream': true,
      'iron.stream': true,
      'gen_ai.response.id': result.id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': billed.input,
      'gen_ai.usage.output_tokens': billed.output,
    });
    expect(call.parentSpanId).toBe(spanNamed('invoke_agent streamer').spanId);
  });

  it('a retry: a child span of the call, from the failed attempt to the answer', async () => {
    const rt = traced({ reliability: { retries: { initialDelayMs: 1, maxDelayMs: 5 } } });
    // The provider's error quotes the prompt: the reason on the retry span is scrubbed like the rest.
    fake.enqueue({ kind: 'error', status: 503, body: { error: { message: 'overloaded while reading jane.roe@example.org, card 4111 1111 1111 1111', type: 'server_error' } } });
    const { result } = await inAgent(rt, 'retrier', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(result.choices[0]!.message.content).toBe('Echo: hi');
    expect(fake.requests).toHaveLength(2);
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.status).toEqual({});
    const retry = spanNamed('retry gpt-4o-mini');
    expect(retry).toMatchObject({ traceId: call.traceId, parentSpanId: call.spanId, kind: SPAN_KIND_INTERNAL, status: {} });
    expect(retry.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.provider.name': 'openai', 'iron.attempt': 2, 'iron.reason': expect.stringContaining('503') });
    expect(retry.startMs).toBeGreaterThanOrEqual(call.startMs);
    expect(retry.endMs).toBeLessThanOrEqual(call.endMs);
    expect(JSON.stringify(receiver.spans)).not.toMatch(/jane\.roe|4111 1111/);
  });

  it('a fallback: a child span names the model that answered, and the call span its provider', async () => {
    const rt = traced({
      providers: { openai: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'k1' }, anthropic: { type: 'anthropic', baseUrl: backup.url, apiKey: 'k2' } },
      reliability: { retries: { maxAttempts: 1 }, fallbacks: { 'gpt-4o-mini': ['anthropic/claude-haiku-4-5'] } },
    });
    fake.enqueue({ kind: 'error', status: 503 });
    const { result } = await inAgent(rt, 'fallback', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(result.choices[0]!.message.content).toBe('Echo: hi');
    expect(backup.requests).toHaveLength(1);
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.attributes).toMatchObject({
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'claude-haiku-4-5',
      'gen_ai.provider.name': 'anthropic',
      'iron.provider': 'anthropic',
      'server.port': backup.port,
    });
    const fallback = spanNamed('fallback claude-haiku-4-5');
    expect(fallback).toMatchObject({ parentSpanId: call.spanId, status: {} });
    expect(fallback.attributes).toMatchObject({
      'gen_ai.request.model': 'claude-haiku-4-5',
      'gen_ai.provider.name': 'anthropic',
      'iron.fallback.from': 'openai/gpt-4o-mini',
      'iron.fallback.to': 'anthropic/claude-haiku-4-5',
      'iron.reason': expect.stringContaining('503'),
    });
  });

  it('a stream cut mid-answer and continued: a stream_recovery child span, and one complete call span', async () => {
    const rt = traced({ reliability: { retries: { initialDelayMs: 1, maxDelayMs: 5 } } });
    fake.enqueue({ kind: 'cut', afterChunks: 3 });
    const { result } = await inAgent(rt, 'recovered', async (client) => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    });
    expect(result).toBe('Echo: one two three four five six');
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.status).toEqual({});
    const recovery = spanNamed('stream_recovery gpt-4o-mini');
    expect(recovery).toMatchObject({ parentSpanId: call.spanId, status: {} });
    expect(recovery.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o-mini', 'iron.stream_recovery.strategy': 'replay', 'iron.stream_recovery.delivered_chars': expect.any(Number) });
  });

  it('a prompt the safety plugin blocks: an error span with error.type IRON_PII_BLOCKED and the count by type', async () => {
    const rt = traced({ safety: { entities: { EMAIL_ADDRESS: 'block' } } });
    const { result } = await inAgent(rt, 'blocked', async (client) => {
      try {
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'mail bob@example.org now' }] });
      } catch (error) {
        return (error as { status: number }).status;
      }
      throw new Error('expected a refusal');
    });
    expect(result).toBe(400);
    expect(fake.requests).toHaveLength(0);
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.status.code).toBe(STATUS_ERROR);
    expect(call.attributes).toMatchObject({ 'error.type': 'IRON_PII_BLOCKED', 'iron.pii.EMAIL_ADDRESS': 1, 'iron.pii.action': 'block' });
  });

  it('a call refused by its budget: an error span with error.type IRON_BUDGET_EXCEEDED, and nothing sent upstream', async () => {
    const rt = traced({ budget: { limit: 0.000001 } });
    const { result } = await inAgent(rt, 'broke', async (client) => {
      try {
        await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] });
      } catch (error) {
        return (error as { status: number }).status;
      }
      throw new Error('expected a refusal');
    });
    expect(result).toBe(402);
    expect(fake.requests).toHaveLength(0);
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.status).toMatchObject({ code: STATUS_ERROR, message: expect.stringContaining('budget exceeded') });
    expect(call.attributes).toMatchObject({ 'error.type': 'IRON_BUDGET_EXCEEDED', 'iron.error.status': 402, 'iron.budget.remaining_usd': 0.000001 });
    expect(call.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    expect(pointsOf('gen_ai.client.operation.duration')).toEqual([
      expect.objectContaining({ attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'server.address': '127.0.0.1', 'server.port': fake.port, 'error.type': 'IRON_BUDGET_EXCEEDED' }, count: 1 }),
    ]);
    expect(pointsOf('gen_ai.client.token.usage')).toEqual([]);
  });

  it('a prompt with an email, captureContent on: the exported content has the placeholder, never the email (JSON and stream)', async () => {
    const email = 'alice.martin@example.com';
    const rt = traced({ safety: {} }, { captureContent: true });
    const { result } = await inAgent(rt, 'support', async (client) => {
      const prompt = `Please write to ${email} about the invoice`;
      const json = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: prompt }] });
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: prompt }] });
      let streamed = '';
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
      return { json: json.choices[0]!.message.content, streamed };
    });
    // The agent gets its own address back; the provider never saw it.
    expect(result).toEqual({ json: `Echo: Please write to ${email} about the invoice`, streamed: `Echo: Please write to ${email} about the invoice` });
    expect(JSON.stringify(fake.requests.map((request) => request.body))).not.toContain(email);
    const placeholder = /<EMAIL_ADDRESS_\d+>/;
    const calls = receiver.spans.filter((span) => span.name === 'chat gpt-4o-mini');
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.attributes).toMatchObject({ 'iron.pii.EMAIL_ADDRESS': 1, 'iron.pii.action': 'pseudonymize' });
      const input = JSON.parse(String(call.attributes['gen_ai.input.messages'])) as Array<{ role: string; parts: Array<{ type: string; content: string }> }>;
      const output = JSON.parse(String(call.attributes['gen_ai.output.messages'])) as Array<{ role: string; parts: Array<{ type: string; content: string }>; finish_reason: string }>;
      const sent = input.at(-1)!.parts[0]!.content;
      expect(input.at(-1)!.role).toBe('user');
      expect(sent).toMatch(placeholder);
      expect(sent.replace(placeholder, 'X')).toBe('Please write to X about the invoice');
      expect(output).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: `Echo: ${sent}` }], finish_reason: 'stop' }]);
    }
    expect(JSON.parse(String(calls[0]!.attributes['gen_ai.input.messages']))[0]).toEqual({ role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] });
    expect(JSON.stringify(receiver.spans)).not.toContain(email);
  });

  it('personal data the model writes, split across chunks, in tool arguments or in an error, never reaches the collector; nor prompts when safety is off', async () => {
    const card = '5500 0000 0000 0004';
    const ssn = '536-22-1478';
    const email = 'bob.stone@example.org';
    // Safety redacts the answer for the agent; the collector gets it scrubbed on its own (captured before restoring).
    const rt = traced({ safety: { entities: { CREDIT_CARD: 'redact', US_SSN: 'redact' } } }, { captureContent: true });
    await inAgent(rt, 'writer', async (client) => {
      fake.enqueue({ kind: 'reply', text: `Card ${card}, SSN ${ssn}.` });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'make one up' }] });
      fake.enqueue({ kind: 'reply', text: `Card ${card}, SSN ${ssn}, and ${'more words '.repeat(20)}` });
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'make one up' }] });
      for await (const _ of stream);
      fake.enqueue({ kind: 'reply', toolCall: { name: 'pay', arguments: JSON.stringify({ card, email }) } });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'pay' }], tools: [{ type: 'function', function: { name: 'pay', parameters: { type: 'object' } } }] });
      fake.enqueue({ kind: 'error', status: 400, body: { error: { message: `invalid card ${card} for ${email}`, type: 'invalid_request_error' } } });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
      throw new Error(`the agent gave up on ${email}`);
    }).catch(() => undefined);
    // No safety section at all: the prompt is exported scrubbed all the same.
    const bare = traced({}, { captureContent: true });
    await inAgent(bare, 'unguarded', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: `my card is 5500 0000 ` }, { type: 'text', text: `0000 0004 and mail ${email}` }] }] }));
    const exported = JSON.stringify(receiver.spans);
    for (const value of [card, card.replace(/ /g, ''), ssn, email, '0000 0004']) expect(exported).not.toContain(value);
    expect(exported).toContain('[CREDIT_CARD]');
    expect(exported).toContain('[US_SSN]');
    expect(exported).toContain('[EMAIL_ADDRESS]');
  });

  it("a caller's unsampled traceparent does not hide its calls: they join its trace and are recorded", async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4736';
    const rt = traced();
    await inAgent(rt, 'hiding', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-00` } }));
    expect(spanNamed('chat gpt-4o-mini').traceId).toBe(traceId);
  });

  it('a model name too long to be one is refused (400), never copied into spans and metric labels', async () => {
    const rt = traced();
    const { result } = await inAgent(rt, 'long-model', (client) => client.chat.completions.create({ model: 'x'.repeat(5000), messages: [{ role: 'user', content: 'hi' }] }).then(() => 'answered', (error: Error) => error.message));
    expect(result).toMatch(/^400 .*model: 5,000 characters is not a model name \(at most 256\)/);
    expect(fake.requests).toHaveLength(0);
    expect(JSON.stringify(receiver.points)).not.toContain('x'.repeat(300));
  });

  it('a model name an agent chose with personal data in it is exported scrubbed, in span names, attributes and metrics', async () => {
    const rt = traced({ cost: { unknownModel: 'warn' } });
    await inAgent(rt, 'fine-tuned', (client) => client.chat.completions.create({ model: 'ft:gpt-4o-mini:john.doe@acme-corp.com:536-22-1234', messages: [{ role: 'user', content: 'hi' }] }));
    const exported = JSON.stringify([receiver.spans, receiver.points]);
    expect(exported).not.toContain('john.doe');
    expect(exported).not.toContain('536-22-1234');
    expect(exported).toContain('ft:gpt-4o-mini:[EMAIL_ADDRESS]:[US_SSN]');
  });

  it("an agent's name with personal data in it (a path, an email) is exported scrubbed", async () => {
    const rt = traced();
    await inAgent(rt, 'report for jane.roe@example.org', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(spanNamed('invoke_agent report for [EMAIL_ADDRESS]').attributes['gen_ai.agent.name']).toBe('report for [EMAIL_ADDRESS]');
    expect(JSON.stringify(receiver.spans)).not.toContain('jane.roe');
  });

  it('with PERSON on in safety, names the model writes are scrubbed from the export too, in tool arguments as well', async () => {
    const rt = traced({ safety: { entities: { PERSON: 'redact' } } }, { captureContent: true });
    fake.enqueue({ kind: 'reply', text: 'The report was written by Margaret Thatcherson last week.' });
    fake.enqueue({ kind: 'reply', toolCall: { name: 'lookup', arguments: JSON.stringify({ who: 'Margaret Hamilton', email: 'mh@example.org' }) } });
    const { result } = await inAgent(rt, 'names', async (client) => {
      const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'who wrote it?' }] });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'look her up' }], tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }] });
      return answer;
    });
    expect(JSON.stringify(receiver.spans)).not.toContain('Hamilton');
    expect(result.choices[0]!.message.content).not.toContain('Thatcherson');
    expect(JSON.stringify(receiver.spans)).not.toContain('Thatcherson');
    expect(JSON.stringify(receiver.spans)).toContain('[PERSON]');
  });

  it('without captureContent no prompt or answer text leaves the runtime', async () => {
    const rt = traced({ safety: {} });
    await inAgent(rt, 'quiet', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the secret plan' }] }));
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(call.attributes['gen_ai.output.messages']).toBeUndefined();
    expect(JSON.stringify(receiver.spans)).not.toContain('secret plan');
  });

  it("a request with a traceparent joins the caller's trace, links the agent span, and passes the call span on upstream", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const rt = traced();
    await inAgent(rt, 'joined', (client) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'vendor=abc' } }),
    );
    const agent = spanNamed('invoke_agent joined');
    const call = spanNamed('chat gpt-4o-mini');
    expect(call).toMatchObject({ traceId, parentSpanId: '00f067aa0ba902b7', links: [{ traceId: agent.traceId, spanId: agent.spanId }] });
    expect(agent.traceId).not.toBe(traceId);
    expect(fake.requests[0]!.headers).toMatchObject({ traceparent: `00-${traceId}-${call.spanId}-01`, tracestate: 'vendor=abc' });
  });
  it('through the gateway too: a process agent whose request carries a traceparent joins its trace', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const dir = mkdtempSync(join(tmpdir(), 'iron-telemetry-'));
    const script = join(dir, 'traced-agent.js');
    writeFileSync(
      script,
      `const response = await fetch(process.env.IRON_GATEWAY_URL + '/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: 'Bearer ' + process.env.OPENAI_API_KEY, 'content-type': 'application/json', traceparent: '00-${traceId}-b7ad6b7169203331-01' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      console.log(response.status);\n`,
    );
    try {
      const rt = traced();
      const id = await rt.startAgent(script, { output: 'capture' });
      await rt.waitForAgent(id);
      expect(rt.agentOutput(id).trim()).toBe('200');
      await rt.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const call = spanNamed('chat gpt-4o-mini');
    expect(call).toMatchObject({ traceId, parentSpanId: 'b7ad6b7169203331' });
    expect(spanNamed('invoke_agent ' + script).attributes['iron.agent.kind']).toBe('process');
  });
});

describe('telemetry: metrics', () => {
  it('token usage by type, operation duration in seconds, and cost in USD', async () => {
    const rt = traced({ budget: { limit: 1 } });
    const { result, metrics } = await inAgent(rt, 'metered', async (client) => {
      const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] });
      const second = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two two' }] });
      return [first.usage!, second.usage!];
    });
    const answered = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.response.model': 'gpt-4o-mini', 'server.address': '127.0.0.1', 'server.port': fake.port };
    const tokens = pointsOf('gen_ai.client.token.usage');
    expect(tokens).toHaveLength(2);
    expect(tokens.find((point) => point.attributes['gen_ai.token.type'] === 'input')).toEqual({
      metric: 'gen_ai.client.token.usage',
      unit: '{token}',
      attributes: { ...answered, 'gen_ai.token.type': 'input' },
      value: result[0]!.prompt_tokens + result[1]!.prompt_tokens,
      count: 2,
    });
    expect(tokens.find((point) => point.attributes['gen_ai.token.type'] === 'output')).toMatchObject({ value: result[0]!.completion_tokens + result[1]!.completion_tokens, count: 2 });
    const [duration] = pointsOf('gen_ai.client.operation.duration');
    expect(duration).toMatchObject({ unit: 's', attributes: answered, count: 2 });
    expect(duration!.value).toBeGreaterThan(0);
    expect(duration!.value).toBeLessThan(5);
    const [cost] = pointsOf('iron.cost');
    expect(cost).toMatchObject({ unit: 'USD', attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'server.address': '127.0.0.1', 'server.port': fake.port } });
    expect(cost!.value).toBeCloseTo(metrics.costUsd, 12);
  });
});

describe('telemetry: turning it on', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT turns it on without a section, with OTEL_SERVICE_NAME and OTEL_EXPORTER_OTLP_HEADERS', async () => {
    runtime = new Runtime({ logLevel: 'silent', env: { ...providerEnv(fake), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'from-env', OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=s3cret%3D' } });
    await runtime.ready();
    expect(runtime.plugins).toEqual(['telemetry']);
    await inAgent(runtime, 'env', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(spanNamed('chat gpt-4o-mini').resource['service.name']).toBe('from-env');
    expect(receiver.requests.map((request) => request.path).sort()).toEqual(['/v1/metrics', '/v1/traces']);
    for (const request of receiver.requests) expect(request.headers['x-collector-key']).toBe('s3cret=');
  });

  it('OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf sends protobuf, with OTEL_RESOURCE_ATTRIBUTES; OTEL_METRICS_EXPORTER=none sends no metrics', async () => {
    runtime = new Runtime({
      logLevel: 'silent',
      env: { ...providerEnv(fake), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging', OTEL_METRICS_EXPORTER: 'none' },
    });
    await inAgent(runtime, 'proto', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    await runtime.close();
    expect(receiver.requests.map((request) => request.path)).toEqual(['/v1/traces']);
    const [request] = receiver.requests;
    expect(request!.headers['content-type']).toBe('application/x-protobuf');
    // Protobuf carries strings as they are: the span's name and the resource attribute are in the bytes.
    for (const text of ['chat gpt-4o-mini', 'invoke_agent proto', 'deployment.environment.name', 'staging']) expect(request!.body.includes(Buffer.from(text))).toBe(true);
  });

  it('`telemetry: false` keeps it off whatever the environment says; OTEL_SDK_DISABLED too', async () => {
    const env = { ...providerEnv(fake), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const off = new Runtime({ logLevel: 'silent', env, config: { telemetry: false } });
    await off.ready();
    expect(off.plugins).toEqual([]);
    await off.close();
    for (const value of ['true', 'TRUE', ' True ']) {
      const disabled = new Runtime({ logLevel: 'silent', env: { ...env, OTEL_SDK_DISABLED: value } });
      await disabled.ready();
      expect(disabled.plugins).toEqual([]);
      await disabled.close();
    }
    // The standard switch for all of OpenTelemetry: a telemetry section too.
    const sectioned = new Runtime({ logLevel: 'silent', env: { ...env, OTEL_SDK_DISABLED: 'true' }, config: { telemetry: { endpoint: receiver.url } } });
    await sectioned.ready();
    expect(sectioned.plugins).toEqual([]);
    await sectioned.close();
  });

  it('a collector that refuses the export: calls go on, and one warning says where the data did not go', async () => {
    receiver.status = 400;
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }));
    const rt = traced({}, {}, { logger });
    const { result } = await inAgent(rt, 'unheard', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(result.choices[0]!.message.content).toBe('Echo: hi');
    const warnings = lines.map((line) => JSON.parse(line) as { msg: string }).map((line) => line.msg);
    expect(warnings.filter((msg) => msg.startsWith('telemetry: spans could not be exported'))).toHaveLength(1);
    expect(warnings.filter((msg) => msg.startsWith('telemetry: metrics could not be exported'))).toHaveLength(1);
    expect(warnings.find((msg) => msg.startsWith('telemetry: spans'))).toContain(`${receiver.url}/v1/traces`);
  });

  it('an agent stopped mid-stream and the runtime closed at once: the call still settles, its span and cost are exported', async () => {
    fake.setOptions({ chunkDelayMs: 20 });
    const rt = traced({ budget: { limit: 1 } });
    let outcome = '';
    const id = await rt.startAgent(
      async (agent) => {
        const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        try {
          for await (const _ of await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p q r s t u v w x y z' }] }));
          outcome = 'completed';
        } catch (error) {
          outcome = (error as Error).message;
        }
      },
      { name: 'interrupted' },
    );
    await expect.poll(() => fake.requests.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await rt.stopAgent(id);
    await rt.close();
    expect(outcome).not.toBe('completed');
    const call = spanNamed('chat gpt-4o-mini');
    expect(call.status.code).toBe(2);
    expect(call.attributes['iron.cost_usd']).toBeGreaterThan(0);
    expect(receiver.points.filter((point) => point.metric === 'iron.cost').at(-1)?.value).toBeGreaterThan(0);
  });

  it('a collector slower than the calls: the spans dropped from a full queue are counted in a warning, never lost silently', async () => {
    receiver.delayMs = 400;
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }));
    const rt = traced({}, { maxQueueSize: 4, batchDelayMs: 10 }, { logger });
    await inAgent(rt, 'busy', async (client) => {
      for (let i = 0; i < 40; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    });
    const warnings = lines.map((line) => JSON.parse(line) as { msg: string }).map((line) => line.msg);
    expect(warnings.filter((msg) => msg.startsWith('telemetry: the collector is slower than the calls: the queue of 4 spans is full'))).not.toHaveLength(0);
    const received = receiver.spans.filter((span) => span.name === 'chat gpt-4o-mini').length;
    expect(received).toBeLessThan(40);
  });

  it('a collector URL with a password: warnings name it without the password', async () => {
    receiver.status = 503;
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }));
    const withPassword = receiver.url.replace('http://', 'http://ingest:hunter2-collector@');
    const rt = traced({}, { endpoint: withPassword }, { logger });
    await inAgent(rt, 'secretive', (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    expect(lines.join('\n')).toContain('(credentials hidden)');
    expect(lines.join('\n')).not.toContain('hunter2-collector');
  });
});
