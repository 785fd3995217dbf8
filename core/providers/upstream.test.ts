// The call path to a real HTTP provider (the fake provider on a port): what goes upstream, and answers of any size.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime, type AgentHandle, type IronPlugin } from '../index.ts';
import { startFakeProvider, type FakeProvider } from '../../test/fake-provider/index.ts';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(async () => {
  await fake.close();
});

/** Runs `body` as an in-process agent of a runtime that reaches the fake provider; returns what it returned. */
async function withAgent<T>(body: (agent: AgentHandle) => Promise<T>, plugins: IronPlugin[] = []): Promise<T> {
  const runtime = new Runtime({ env: { OPENAI_API_KEY: 'k', IRON_OPENAI_BASE_URL: `${fake.url}/v1` }, logLevel: 'silent', plugins });
  let result!: T;
  const id = await runtime.startAgent(async (agent) => {
    result = await body(agent);
  });
  await runtime.waitForAgent(id);
  await runtime.close();
  return result;
}

const post = (agent: AgentHandle, text: string) =>
  agent.fetch('https://api.openai.com/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });

describe('sending upstream', () => {
  // Keys in an unusual order and spacing: a re-serialized body would come out different.
  const text = '{ "messages": [ {"content": "hi", "role": "user"} ], "model": "gpt-4o-mini",  "max_tokens": 5 }';

  it('sends the agent\'s own bytes when no plugin can have rewritten the request', async () => {
    fake.reset();
    const status = await withAgent(async (agent) => (await post(agent, text)).status);
    expect(status).toBe(200);
    expect(fake.requests[0]!.rawBody).toBe(text);
  });

  it('asks a stream for its usage by appending stream_options to the agent\'s bytes', async () => {
    fake.reset();
    const streamed = text.replace('"model"', '"stream": true, "model"');
    const answer = await withAgent(async (agent) => (await post(agent, streamed)).text());
    expect(answer.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(answer).not.toContain('"usage":{'); // the usage chunk the agent did not ask for stays hidden
    expect(fake.requests[0]!.rawBody).toBe(`${streamed.slice(0, -1)},"stream_options":{"include_usage":true}}`);
  });

  it('serializes the request once a plugin could have touched it', async () => {
    fake.reset();
    const touch: IronPlugin = { name: 'touch', apply: (runtime) => void runtime.hooks.beforeLlmCall.tapPromise('touch', async (request) => request) };
    await withAgent(async (agent) => (await post(agent, text)).text(), [touch]);
    expect(fake.requests[0]!.rawBody).toBe('{"max_tokens":5,"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}');
  });
});

describe('reading answers', () => {
  it('reads a large JSON answer whole', async () => {
    fake.reset();
    const big = 'word '.repeat(400_000); // 2 MB: many network reads
    fake.enqueue({ kind: 'reply', text: big });
    const content = await withAgent(async (agent) => {
      const response = await post(agent, '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}');
      return ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
    });
    expect(content).toBe(big);
  });

  it('delivers a long stream whole to a reader that takes its time', async () => {
    fake.reset();
    const words = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    fake.enqueue({ kind: 'reply', text: words.join(' ') });
    const text = await withAgent(async (agent) => {
      const response = await post(agent, '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}');
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let out = '';
      for (let i = 0; ; i++) {
        const { done, value } = await reader.read();
        if (done) break;
        out += decoder.decode(value, { stream: true });
        if (i % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 5)); // the provider is paused meanwhile
      }
      return out;
    });
    const deltas = [...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(deltas).toBe(words.join(' '));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('hands over the events before a broken one that came in the same network read, then the error', async () => {
    fake.reset();
    fake.enqueue({ kind: 'malformed', atChunk: 3 }); // every event is written at once: one or two reads carry them all
    const text = await withAgent(async (agent) => {
      const response = await post(agent, '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"one two three"}]}');
      return response.text();
    });
    const events = text.split('\n\n').filter(Boolean);
    // Three good events (the role, "Echo: ", "one"), then the error in the OpenAI stream format, then nothing.
    expect(events).toHaveLength(4);
    expect([...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('')).toBe('Echo: one ');
    expect(events[3]).toMatch(/IRON_UPSTREAM_INVALID/);
    expect(events[3]).toMatch(/sent a stream event that is not JSON/);
  });
});
