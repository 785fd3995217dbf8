// A provider that writes its stream a byte or two at a time: undici hands the runtime hundreds of tiny chunks, the
// upstream reader pauses the provider when 64 wait and resumes it when it takes them. An outside review found the
// metered stream losing an event's tail about one time in three (the chunks a resume brought arrived behind a reader
// that then saw the answer ended): the call failed with IRON_UPSTREAM_INVALID. Real HTTP, the official client.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime, type IronPlugin } from '../core/index.ts';

const chunk = (fields: string) => `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",${fields}}\n\n`;
const WORDS = Array.from({ length: 12 }, (_, i) => ` word${i}`);
const STREAM = [
  chunk('"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]'),
  ...WORDS.map((word) => chunk(`"choices":[{"index":0,"delta":{"content":"${word}"},"finish_reason":null}]`)),
  chunk('"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]'),
  chunk('"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}'),
  'data: [DONE]\n\n',
].join('');

// The provider runs in a process of its own, as a real one does: its bytes pile up in the socket while the runtime is
// busy (in the test's own process they came in step with the reader, and the fault never showed).
const PROVIDER = `
const { createServer } = require('node:http');
const stream = Buffer.from(process.env.STREAM, 'base64');
const server = createServer(async (req, res) => {
  let body = '';
  for await (const piece of req) body += piece;
  const step = Number(/bytes:(\\d+)/.exec(body)?.[1] ?? stream.length);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (let at = 0; at < stream.length; at += step) {
    res.write(stream.subarray(at, at + step));
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

let provider: ChildProcess;
let url: string;

beforeAll(async () => {
  // The request's last message names the write size: "bytes:1", "bytes:2".
  provider = spawn(process.execPath, ['-e', PROVIDER], { env: { ...process.env, STREAM: Buffer.from(STREAM).toString('base64') }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: provider.stdout! }), 'line')) as [string];
  url = `http://127.0.0.1:${line.trim()}/v1`;
});
afterAll(async () => {
  provider.kill();
  if (provider.exitCode === null) await once(provider, 'exit');
});

/** A plugin that reads every chunk (the metered path with a reader), changing nothing. */
const reader: IronPlugin = { name: 'reader', apply: (runtime) => void runtime.hooks.onLlmStreamChunk.tap('reader', (chunks) => chunks) };

describe('a stream written a byte or two at a time', () => {
  for (const [label, plugins, config] of [
    ['no plugins', [], {}],
    ['a plugin reading every chunk', [reader], {}],
    ['a budget (cost metering)', [], { budget: { limit: 5 } }],
  ] as const) {
    it(`is read whole, every time, with ${label}`, async () => {
      const runtime = new Runtime({ env: { OPENAI_API_KEY: 'sk-test-fragments-0123456789', IRON_OPENAI_BASE_URL: url }, logLevel: 'silent', plugins: [...plugins], config });
      const records: Array<{ type: string; usage?: unknown; finishReason?: unknown; error?: unknown }> = [];
      runtime.events.on('LlmCallCompleted', (event) => void records.push(event));
      runtime.events.on('LlmCallFailed', (event) => void records.push(event));
      const texts: string[] = [];
      try {
        const id = await runtime.startAgent(async (agent) => {
          const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
          for (let run = 0; run < 8; run++) {
            const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `bytes:${1 + (run % 2)}` }], stream: true, stream_options: { include_usage: true } });
            let text = '';
            for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
            texts.push(text);
          }
        });
        const metrics = await runtime.waitForAgent(id);
        expect(metrics.errors).toEqual([]);
      } finally {
        await runtime.close();
      }
      expect(texts).toEqual(Array.from({ length: 8 }, () => WORDS.join('')));
      expect(records).toHaveLength(8);
      for (const record of records) {
        expect(record).toMatchObject({ type: 'LlmCallCompleted', finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 7 } });
      }
    });
  }
});
