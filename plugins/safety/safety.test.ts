// The safety plugin end to end: real runtime, the fake provider over HTTP, the official SDKs in process and
// as a process through the gateway. The provider must never receive a value the policy hides.
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IronEvent } from '../../core/events.ts';
import type { Runtime } from '../../core/runtime.ts';
import { startFakeProvider, type FakeProvider } from '../../test/fake-provider/index.ts';
import { fixture, runtimeFor } from '../../test/helpers.ts';
import type { PiiAlert } from './events.ts';

let fake: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());
afterEach(() => runtime?.close());

const EMAIL = 'jane.doe@example.org';
const PHONE = '+44 20 7946 0958';
const CARD = '4111 1111 1111 1111';
const SSN = '536-22-1234';
const RAW = [EMAIL, PHONE, CARD, SSN, 'jane.doe', '7946 0958', '4111 1111'];

function alerts(rt: Runtime): PiiAlert[] {
  const seen: PiiAlert[] = [];
  rt.events.on('PiiAlert', (event) => void seen.push(event as PiiAlert));
  return seen;
}

/** Nothing the provider received contains a raw value. */
function expectProviderNeverSaw(values: string[]): void {
  expect(fake.requests.length).toBeGreaterThan(0);
  for (const request of fake.requests) for (const value of values) expect(request.rawBody).not.toContain(value);
}

async function inAgent<T>(rt: Runtime, body: (client: OpenAI) => Promise<T>): Promise<T> {
  let result: T | undefined;
  const id = await rt.startAgent(async (agent) => {
    result = await body(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }));
  });
  const metrics = await rt.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
  return result as T;
}

describe('actions on the prompt', () => {
  it('pseudonymizes by default: the provider sees placeholders, the agent gets its values back', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    const seen = alerts(runtime);
    const answer = await inAgent(runtime, async (client) => {
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Mail ${EMAIL}, call ${PHONE}, SSN ${SSN}.` }] });
      return r.choices[0]!.message.content;
    });
    expect(fake.requests[0]!.body.messages[0].content).toBe('Mail <EMAIL_ADDRESS_1>, call <PHONE_NUMBER_1>, SSN <US_SSN_1>.');
    expectProviderNeverSaw(RAW);
    expect(answer).toBe(`Echo: Mail ${EMAIL}, call ${PHONE}, SSN ${SSN}.`);
    expect(seen.map((a) => [a.direction, a.entityType, a.count, a.action])).toEqual([
      ['input', 'EMAIL_ADDRESS', 1, 'pseudonymize'],
      ['input', 'PHONE_NUMBER', 1, 'pseudonymize'],
      ['input', 'US_SSN', 1, 'pseudonymize'],
    ]);
    // Alerts carry a keyed hash, never the value.
    expect(JSON.stringify(seen)).not.toContain('jane');
    expect(seen[0]!.valueHashes[0]).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives the value back for a placeholder the model writes in tool-call arguments with escapes, streamed and not (outside reviews 3 and 4)', async () => {
    for (const written of ['\\u003cEMAIL_ADDRESS_1\\u003e', '<\\u0045MAIL_ADDRESS_1>', '\\u003cEMAIL_ADDRESS_\\u0031\\u003e']) {
      for (const stream of [false, true]) {
        runtime = runtimeFor(fake, { config: { safety: {} } });
        fake.enqueue({ kind: 'reply' }, { kind: 'reply', toolCall: { name: 'send', arguments: `{"to":"${written}"}` } });
        const args = await inAgent(runtime, async (client) => {
          await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Mail ${EMAIL}.` }] });
          const messages = [{ role: 'user' as const, content: `Mail ${EMAIL} again.` }];
          if (!stream) return ((await client.chat.completions.create({ model: 'gpt-4o-mini', messages })).choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments;
          let out = '';
          for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) out += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
          return out;
        });
        expect(JSON.parse(args), `${written}, stream ${stream}`).toEqual({ to: EMAIL });
        await runtime.close();
      }
    }
  });

  it("gives back a placeholder-shaped text the agent wrote as it wrote it, not another value the vault named so (outside review 6)", async () => {
    for (const stream of [false, true]) {
      runtime = runtimeFor(fake, { config: { safety: {} } });
      const prompt = 'Our mail template literally holds <EMAIL_ADDRESS_1> and <CREDIT_CARD_1>; the customer is alice@corp.io';
      const answer = await inAgent(runtime, async (client) => {
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Mail ${EMAIL}, card ${CARD}.` }] });
        const messages = [{ role: 'user' as const, content: prompt }];
        if (!stream) return (await client.chat.completions.create({ model: 'gpt-4o-mini', messages })).choices[0]!.message.content;
        let out = '';
        for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) out += chunk.choices[0]?.delta.content ?? '';
        return out;
      });
      // The provider sees neither the literal names (they would be restored) nor alice; the agent reads its own text.
      expect(fake.requests[1]!.body.messages[0].content).toBe('Our mail template literally holds <LITERAL_1> and <LITERAL_2>; the customer is <EMAIL_ADDRESS_2>');
      expect(answer, `stream ${stream}`).toBe(`Echo: ${prompt}`);
      expect(answer).not.toContain(EMAIL);
      await runtime.close();
      fake.reset();
    }
  });

  it('finds a value split across two text parts of one message, and leaves parts with nothing split alone', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    await inAgent(runtime, (client) =>
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'my card is 5500 0000 ' }, { type: 'text', text: '0000 0004 and mail jane.doe@exam' }, { type: 'text', text: 'ple.org please' }] },
          { role: 'user', content: [{ type: 'text', text: 'first part, ' }, { type: 'text', text: 'second part' }] },
        ],
      }),
    );
    const [split, whole] = fake.requests[0]!.body.messages as Array<{ content: Array<{ type: string; text: string }> }>;
    expect(split!.content).toEqual([{ type: 'text', text: 'my card is <CREDIT_CARD_1> and mail <EMAIL_ADDRESS_1> please' }]);
    expect(whole!.content).toEqual([{ type: 'text', text: 'first part, ' }, { type: 'text', text: 'second part' }]);
    expectProviderNeverSaw(['0000 0004', '5500 0000', 'jane.doe']);
  });

  it('keeps one placeholder per value for the whole run, so a multi-turn conversation stays coherent', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Hi, I am ${EMAIL}` }] });
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'user', content: `Hi, I am ${EMAIL}` },
          { role: 'assistant', content: first.choices[0]!.message.content },
          { role: 'user', content: `Also cc bob@example.net and ${EMAIL}` },
        ],
      });
    });
    const metrics = await runtime.waitForAgent(id);
    expect(fake.requests[1]!.body.messages.map((m: { content: string }) => m.content)).toEqual([
      'Hi, I am <EMAIL_ADDRESS_1>',
      'Echo: Hi, I am <EMAIL_ADDRESS_1>',
      'Also cc <EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>',
    ]);
    expect(metrics.piiDetections).toBe(5);
    expect(metrics.plugins.safety).toMatchObject({ findings: { input: { EMAIL_ADDRESS: 5 } }, pseudonyms: 2 });
  });

  it('redacts and masks per entity type', async () => {
    runtime = runtimeFor(fake, { config: { safety: { entities: { EMAIL_ADDRESS: 'redact', CREDIT_CARD: 'mask' } } } });
    const answer = await inAgent(runtime, async (client) => {
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${EMAIL} paid with ${CARD}` }] });
      return r.choices[0]!.message.content;
    });
    expect(fake.requests[0]!.body.messages[0].content).toBe('[EMAIL_ADDRESS] paid with **** **** **** 1111');
    expect(answer).toBe('Echo: [EMAIL_ADDRESS] paid with **** **** **** 1111');
    expectProviderNeverSaw([EMAIL, CARD]);
  });

  it('blocks a call with IRON_PII_BLOCKED: nothing is sent, the error names the type and the fix', async () => {
    runtime = runtimeFor(fake, { config: { safety: { entities: { US_SSN: { input: 'block' } } } } });
    const error = await inAgent(runtime, async (client) => {
      try {
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my SSN is ${SSN}` }] });
        return null;
      } catch (e) {
        return e as { status: number; message: string };
      }
    });
    expect(error?.status).toBe(400);
    expect(error?.message).toMatch(/IRON_PII_BLOCKED: the prompt contains 1 US_SSN/);
    expect(error?.message).not.toContain(SSN);
    expect(fake.requests).toHaveLength(0);
  });

  it('blocks a password in tool-call arguments that another field follows (outside review 16: the next value took its place)', async () => {
    runtime = runtimeFor(fake, { config: { safety: { entities: { SECRET: 'block' } } } });
    const error = await inAgent(runtime, async (client) => {
      try {
        await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [
            { role: 'user', content: 'save my note' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'save_note', arguments: JSON.stringify({ note: 'my password is Quokka!2291', email: EMAIL }) } }] },
            { role: 'tool', tool_call_id: 'call_1', content: JSON.stringify({ saved: 'password=Quokka!2291,card=4111111111111111' }) },
          ],
        });
        return null;
      } catch (e) {
        return e as { status: number; message: string };
      }
    });
    expect(error?.status).toBe(400);
    expect(error?.message).toMatch(/IRON_PII_BLOCKED: the prompt contains \d+ SECRET/);
    expect(fake.requests).toHaveLength(0);
  });

  it('scans system prompts, tool-call arguments and tool results; restores placeholders in the tool call it gets back', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    fake.enqueue({ kind: 'reply', toolCall: { name: 'send_mail', arguments: '{"to":"<EMAIL_ADDRESS_1>","phone":"<PHONE_NUMBER_1>"}' } });
    const call = await inAgent(runtime, async (client) => {
      const r = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: `The user is ${EMAIL}.` },
          { role: 'user', content: 'Look me up' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: `{"email":"${EMAIL}"}` } }] },
          { role: 'tool', tool_call_id: 'c1', content: `{"phone":"${PHONE}"}` },
        ],
      });
      return r.choices[0]!.message.tool_calls![0]!;
    });
    const sent = fake.requests[0]!.body.messages;
    expect(sent[0].content).toBe('The user is <EMAIL_ADDRESS_1>.');
    expect(sent[2].tool_calls[0].function.arguments).toBe('{"email":"<EMAIL_ADDRESS_1>"}');
    expect(sent[3].content).toBe('{"phone":"<PHONE_NUMBER_1>"}');
    expectProviderNeverSaw([EMAIL, PHONE]);
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ to: EMAIL, phone: PHONE });
  });

  it('lets allow-listed values through and honours custom recognizers from config', async () => {
    runtime = runtimeFor(fake, {
      config: { safety: { allow: ['support@example.com'], recognizers: [{ type: 'EMPLOYEE_ID', pattern: '\\bEMP-\\d{6}\\b' }] } },
    });
    await inAgent(runtime, (client) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'support@example.com, EMP-123456' }] }));
    expect(fake.requests[0]!.body.messages[0].content).toBe('support@example.com, [EMPLOYEE_ID]');
  });
});

describe('custom recognizers on long texts', () => {
  it('gives the rest of a text a slow pattern had no time for its action (fail closed), and warns once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    // `\w+@(?=corp)` backtracks quadratically over a long word in V8's engine (its lookahead keeps it off RE2's): the
    // whole text would take minutes.
    runtime = runtimeFor(fake, { logger, config: { safety: { recognizers: [{ type: 'CORP_USER', pattern: '\\w+@(?=corp)', timeBudgetMs: 20 }] } } });
    const prompt = `mail ${EMAIL} about ${'a'.repeat(300_000)}`;
    await inAgent(runtime, async (client) => {
      for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    });
    for (const request of fake.requests) {
      const sent: string = request.body.messages[0].content;
      expect(sent).toMatch(/^mail <EMAIL_ADDRESS_1> about a+\[CORP_USER\]$/);
      expect(sent.length).toBeLessThan(prompt.length);
    }
    // (Start-up says first that its long matches go unseen: the lookahead keeps it in V8's short windows.)
    const [startup, ...warnings] = lines.map((line) => JSON.parse(line) as { level: number; msg: string; type: string });
    expect(startup!.msg).toMatch(/safety\.recognizers\[0\] \(CORP_USER\) can match without bound and then needs more after it, but has a lookahead/);
    expect(warnings.map((w) => [w.level, w.type])).toEqual([[40, 'CORP_USER']]);
    expect(warnings[0]!.msg).toMatch(new RegExp(`^the CORP_USER recognizer ran out of its 20 ms after \\d+ of ${prompt.length} characters: the rest of the text was treated as one CORP_USER`));
  });
});

describe('actions on the answer', () => {
  it('redacts a card the model writes, split over many stream chunks, and counts it', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    const seen = alerts(runtime);
    fake.enqueue({ kind: 'reply', text: `Your card is ${CARD} and your mail ${EMAIL}.` });
    const pieces = await inAgent(runtime, async (client) => {
      const out: string[] = [];
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'what is my card?' }], stream: true });
      for await (const chunk of stream) out.push(chunk.choices[0]?.delta.content ?? '');
      return out;
    });
    // The fake sends one word per event: the card arrives in four chunks.
    expect(pieces.join('')).toBe(`Your card is [CREDIT_CARD] and your mail ${EMAIL}.`);
    for (const piece of pieces) expect(piece).not.toMatch(/4111|1111/);
    expect(seen.map((a) => [a.direction, a.entityType, a.action])).toEqual([
      ['output', 'CREDIT_CARD', 'redact'],
      ['output', 'EMAIL_ADDRESS', 'detect'],
    ]);
  });

  it('blocks an answer when the output action is block', async () => {
    runtime = runtimeFor(fake, { config: { safety: { entities: { SECRET: { output: 'block' } } } } });
    fake.enqueue({ kind: 'reply', text: 'the key is AKIAIOSFODNN7EXAMPLF ok' });
    const error = await inAgent(runtime, async (client) => {
      try {
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'key?' }] });
        return null;
      } catch (e) {
        return e as { message: string };
      }
    });
    expect(error?.message).toMatch(/IRON_PII_BLOCKED: the answer contains SECRET/);
  });
});

describe('streamed tool calls and names', () => {
  it('restores placeholders in streamed tool-call arguments (OpenAI and Anthropic)', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    const args = '{"to":"<EMAIL_ADDRESS_1>","body":"call <PHONE_NUMBER_1>"}';
    fake.enqueue({ kind: 'reply', toolCall: { name: 'send_mail', arguments: args } }, { kind: 'reply', toolCall: { name: 'send_mail', arguments: args } });
    let openaiArgs = '';
    let anthropicInput: unknown;
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const prompt = `Mail ${EMAIL} and ask them to call ${PHONE}`;
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], stream: true });
      for await (const chunk of stream) openaiArgs += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      const { default: Anthropic } = await import('@anthropic-ai/sdk');
      const anthropic = new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      const message = await anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: prompt }] }).finalMessage();
      anthropicInput = message.content.find((block) => block.type === 'tool_use')?.input;
    });
    expect((await runtime.waitForAgent(id)).status).toBe('completed');
    expectProviderNeverSaw([EMAIL, PHONE]);
    expect(JSON.parse(openaiArgs)).toEqual({ to: EMAIL, body: `call ${PHONE}` });
    expect(anthropicInput).toEqual({ to: EMAIL, body: `call ${PHONE}` });
  });

  it('finds names when PERSON is turned on', async () => {
    runtime = runtimeFor(fake, { config: { safety: { entities: { PERSON: 'pseudonymize' } } } });
    const answer = await inAgent(runtime, async (client) => {
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Please draft a reply to Maria Garcia about her order.' }] });
      return r.choices[0]!.message.content;
    });
    expect(fake.requests[0]!.body.messages[0].content).toBe('Please draft a reply to <PERSON_1> about her order.');
    expect(answer).toBe('Echo: Please draft a reply to Maria Garcia about her order.');
  });
});

describe('through the gateway, with the official SDKs in a child process', () => {
  it('OpenAI chat (plain and streamed), Responses (streamed) and Anthropic (streamed): placeholders out, values back', async () => {
    runtime = runtimeFor(fake, { config: { safety: {} } });
    const id = await runtime.startAgent(fixture('pii-agent.ts'), { output: 'capture' });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.stderrTail).toBe('');
    expect(metrics.status).toBe('completed');
    expectProviderNeverSaw(RAW);
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests[3]!.body.system).toBe('The customer is <EMAIL_ADDRESS_1>.');
    const out = JSON.parse(runtime.agentOutput(id));
    const echo = `Echo: Reply to ${EMAIL}, phone ${PHONE}, card ${CARD}.`;
    expect(out).toEqual({ plain: echo, streamed: echo, responses: echo, responsesDone: echo, claude: echo });
  });
});
