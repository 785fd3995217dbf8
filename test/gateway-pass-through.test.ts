// A stream no plugin reads goes through the gateway as the provider's bytes, with only the events the accounting needs
// decoded (core/pass-through.ts). The claim: the agent gets exactly what the metered stream (every event decoded for
// the plugins) gives it, and the call is recorded the same. Seeded random streams try to break it — bytes split
// anywhere (inside a UTF-8 character, a key, a blank line), CRLF framing, keys and `[DONE]` inside content, the
// provider's key echoed, comments, errors before and after the finish, a missing terminator, a broken event, a
// connection cut — each sent through two runtimes, one with a plugin reading chunks, one without.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IronEvent } from '../core/events.ts';
import { Runtime } from '../core/runtime.ts';
import { seededRandom } from '../plugins/safety/eval/seeded-random.ts';

const KEY = 'sk-proj-SECRETkey0123456789';
/** Seeded cases: 80 in CI; more with IRON_PASS_THROUGH_CASES (the longer mode). */
const CASES = Number(process.env.IRON_PASS_THROUGH_CASES ?? 80);

/** What the scripted upstream sends next: byte pieces, written apart; then an end or a cut connection. */
interface Script {
  pieces: Buffer[];
  cut: boolean;
  gapMs?: number;
}

let script: Script = { pieces: [], cut: false };
/** Upstream connections opened, and answers the agent's going cut short (the provider saw its connection close). */
let connections = 0;
let cutShort = 0;
let upstream: Server;
let upstreamUrl = '';

/** Stands for the provider's key written with a JSON escape (`sk\u002d…`), put in after the event is written. */
const ESCAPED_KEY = 'ESCAPEDKEY';
const WORDS = [ESCAPED_KEY, 'hello', 'wörld', 'naïve', '日本語', '🙂', 'a "quoted" word', '"usage":{"x":1}', '"finish_reason":"stop"', '[DONE]', 'data: [DONE]', '"error"', 'back\\slash', 'tab\there', 'new\nline', KEY, ' '];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

type Ending = 'done' | 'no-done' | 'error-mid' | 'error-after-finish' | 'broken' | 'cut' | 'no-finish';

interface Case {
  format: 'openai-chat' | 'anthropic-messages';
  askUsage: boolean;
  ending: Ending;
  crlf: boolean;
  body: string;
}

/** A random stream in `format`, as its wire text. */
function makeCase(seed: number): Case {
  const rand = seededRandom(seed);
  const format = rand() < 0.6 ? 'openai-chat' : 'anthropic-messages';
  const ending = pick<Ending>(rand, ['done', 'done', 'done', 'no-done', 'error-mid', 'error-after-finish', 'broken', 'cut', 'no-finish']);
  const crlf = rand() < 0.15;
  const texts = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(rand, WORDS)).join(''));
  const events: string[] = [];
  const data = (value: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(value)}\n\n`;
  const comment = () => (rand() < 0.15 ? events.push(': keep-alive\n\n') : 0);
  const errorEvent = format === 'openai-chat' ? data({ error: { message: 'overloaded', type: 'server_error' } }) : data({ type: 'error', error: { type: 'overloaded_error', message: 'overloaded' } }, 'error');
  const broken = format === 'openai-chat' ? 'data: <html>bad gateway</html>\n\n' : 'event: content_block_delta\ndata: <html>bad gateway</html>\n\n';
  if (format === 'openai-chat') {
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
    const usageNull = rand() < 0.5 ? { usage: null } : {};
    events.push(data({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...usageNull }));
    texts.forEach((text, i) => {
      comment();
      if (ending === 'error-mid' && i === Math.floor(texts.length / 2)) events.push(errorEvent);
      if (ending === 'broken' && i === Math.floor(texts.length / 2)) events.push(broken);
      events.push(data({ ...base, choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }], ...usageNull }));
    });
    if (rand() < 0.3) events.push(data({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, logprobs: null, finish_reason: null }] }));
    if (ending !== 'no-finish') {
      events.push(data({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], ...usageNull }));
      if (rand() < 0.8) events.push(data({ ...base, choices: [], usage: { prompt_tokens: 11, completion_tokens: texts.length, total_tokens: 11 + texts.length } }));
    }
    if (ending === 'error-after-finish') events.push(errorEvent);
    if (ending === 'done' || ending === 'error-after-finish' || ending === 'broken' || ending === 'error-mid') events.push('data: [DONE]\n\n');
  } else {
    events.push(data({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, usage: { input_tokens: 11, output_tokens: 1 } } }, 'message_start'));
    events.push(data({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'));
    texts.forEach((text, i) => {
      if (rand() < 0.15) events.push(data({ type: 'ping' }, 'ping'));
      // Hostile shapes an outside review sent: a delta with a second `type` naming the end, a delta with a second data
      // line, the key as an event's name.
      if (rand() < 0.05) events.push(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"},"type":"message_stop"}\n\n`);
      if (rand() < 0.05) events.push(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}\ndata: {"type":"message_stop"}\n\n`);
      if (rand() < 0.05) events.push(`event: ${KEY}\ndata: {"type":"ping"}\n\n`);
      if (ending === 'error-mid' && i === Math.floor(texts.length / 2)) events.push(errorEvent);
      if (ending === 'broken' && i === Math.floor(texts.length / 2)) events.push(broken);
      events.push(data({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta'));
    });
    events.push(data({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
    if (ending !== 'no-finish') events.push(data({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: texts.length } }, 'message_delta'));
    if (ending === 'error-after-finish') events.push(errorEvent);
    if (ending === 'done' || ending === 'error-after-finish' || ending === 'broken' || ending === 'error-mid') events.push(data({ type: 'message_stop' }, 'message_stop'));
  }
  let body = events.join('').replaceAll(ESCAPED_KEY, KEY.replace('-', '\\u002d'));
  // An unfinished last line after the answer (the terminator the runtime adds must not be glued onto it).
  if (ending === 'no-done' && rand() < 0.3) body += ': keep-alive';
  // The last event without its blank line, sometimes (a server that closes right after it).
  if (ending !== 'cut' && rand() < 0.2) body = body.replace(/\n\n$/, '\n');
  // Blanks after the colons, as some OpenAI-compatible servers write (`"finish_reason": null`).
  if (rand() < 0.2) body = body.replaceAll('":', '": ');
  if (crlf) body = body.replaceAll('\n', '\r\n');
  return { format, askUsage: rand() < 0.5, ending, crlf, body };
}

/** The case's bytes cut at random places (inside characters too), written apart. */
function scriptOf(seed: number, c: Case): Script {
  const rand = seededRandom(seed * 7 + 1);
  let bytes = Buffer.from(c.body);
  if (c.ending === 'cut') bytes = bytes.subarray(0, Math.floor(bytes.length * (0.3 + rand() * 0.5)));
  const cuts = Array.from({ length: Math.floor(rand() * 8) }, () => Math.floor(rand() * bytes.length)).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const cut of cuts) {
    if (cut > at) pieces.push(bytes.subarray(at, cut));
    at = Math.max(at, cut);
  }
  pieces.push(bytes.subarray(at));
  return { pieces, cut: c.ending === 'cut' };
}

interface Caged {
  runtime: Runtime;
  gateway: string;
  credential: string;
  events: IronEvent[];
}

async function caged(readsChunks: boolean): Promise<Caged> {
  const runtime = new Runtime({
    env: {},
    logLevel: 'silent',
    config: { providers: { openai: { type: 'openai', baseUrl: `${upstreamUrl}/v1`, apiKey: KEY }, anthropic: { type: 'anthropic', baseUrl: upstreamUrl, apiKey: KEY } } },
    plugins: readsChunks ? [{ name: 'reads-chunks', apply: (rt) => void rt.hooks.onLlmStreamChunk.tap('reads-chunks', (chunks) => chunks) }] : [],
  });
  const events: IronEvent[] = [];
  runtime.events.onAny((event) => void events.push(event));
  const holder = await runtime.startAgent(new URL('../bench/fixtures/hold-credential.js', import.meta.url).pathname, { output: 'capture' });
  while (!runtime.agentOutput(holder).includes('\n')) await new Promise((resolve) => setTimeout(resolve, 10));
  const { credential, gateway } = JSON.parse(runtime.agentOutput(holder)) as { credential: string; gateway: string };
  return { runtime, gateway, credential, events };
}

/** One call through a runtime's gateway: the status, the exact body, and how the call was recorded. */
async function call(target: Caged, c: Case, s: Script): Promise<{ status: number; body: string; recorded: unknown }> {
  script = s;
  const before = target.events.length;
  const chat = c.format === 'openai-chat';
  const request = chat
    ? { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }], ...(c.askUsage ? { stream_options: { include_usage: true } } : {}) }
    : { model: 'claude-haiku-4-5', stream: true, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] };
  const response = await fetch(`${target.gateway}${chat ? '/v1/chat/completions' : '/v1/messages'}`, {
    method: 'POST',
    headers: chat ? { authorization: `Bearer ${target.credential}`, 'content-type': 'application/json' } : { 'x-api-key': target.credential, 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = Buffer.from(await response.arrayBuffer()).toString('utf8');
  const settled = () => target.events.slice(before).find((e) => e.type === 'LlmCallCompleted' || e.type === 'LlmCallFailed') as Record<string, unknown> | undefined;
  for (let waited = 0; !settled() && waited < 5000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
  const event = settled()!;
  const recorded = { type: event.type, usage: event.usage, finishReason: event.finishReason, model: event.model, error: (event.error as { code?: string; message?: string } | undefined) };
  return { status: response.status, body, recorded };
}

let metered: Caged;
let passed: Caged;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const { pieces, cut, gapMs = 1 } = script;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of pieces) {
        if (res.destroyed) {
          cutShort++;
          return;
        }
        res.write(piece);
        await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      if (cut) res.destroy();
      else res.end();
    });
  });
  upstream.on('connection', () => void connections++);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  [metered, passed] = await Promise.all([caged(true), caged(false)]);
});

afterAll(async () => {
  await Promise.all([metered?.runtime.close(), passed?.runtime.close()]);
  await new Promise<void>((resolve) => {
    upstream.closeAllConnections();
    upstream.close(() => resolve());
  });
});

describe('a stream no plugin reads, passed through as bytes', () => {
  it(`gives the agent the metered stream's bytes and records the call the same, over ${CASES} seeded random streams`, async () => {
    const endings = new Set<string>();
    for (let seed = 1; seed <= CASES; seed++) {
      const c = makeCase(seed);
      const s = scriptOf(seed, c);
      const viaMeter = await call(metered, c, s);
      const viaBytes = await call(passed, c, s);
      endings.add(`${c.ending}:${viaBytes.recorded && (viaBytes.recorded as { type: string }).type}`);
      expect({ seed, ...viaBytes }, `seed ${seed} (${c.format}, ${c.ending}${c.crlf ? ', CRLF' : ''})`).toEqual({ seed, ...viaMeter });
      // The provider's key never reaches the agent, nor written with JSON escapes its parser reads.
      const unescaped = viaBytes.body.replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      expect(unescaped, `seed ${seed}`).not.toContain(KEY);
      // A terminator the runtime added is on a line of its own.
      expect(viaBytes.body, `seed ${seed}`).not.toMatch(/keep-alive(?:data|event):/);
    }
    // The mix covered complete and failed calls.
    expect([...endings].some((e) => e.endsWith('LlmCallCompleted'))).toBe(true);
    expect([...endings].some((e) => e.endsWith('LlmCallFailed'))).toBe(true);
  }, 120_000);

  it('keeps the provider connection for the next call once an answer is complete', async () => {
    const c = makeCase(1);
    expect(c.ending).toBe('done');
    // (In one write: the provider's end comes with the answer, not a few writes after the terminator.)
    const whole: Script = { pieces: [Buffer.from(c.body)], cut: false };
    await call(passed, c, whole);
    const before = connections;
    for (let i = 0; i < 20; i++) await call(passed, c, whole);
    // (A call may start before the last one's connection was handed back: one more connection, not one per call.)
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  it('cancels the provider and records the call as the agent\'s doing when the agent hangs up mid-stream', async () => {
    const deltas = Array.from({ length: 200 }, (_, i) => Buffer.from(`data: {"id":"c","choices":[{"index":0,"delta":{"content":"w${i} "},"logprobs":null,"finish_reason":null}]}\n\n`));
    script = { pieces: deltas, cut: false, gapMs: 10 };
    const before = passed.events.length;
    const shortBefore = cutShort;
    const controller = new AbortController();
    const response = await fetch(`${passed.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${passed.credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toContain('"content":"w0 "');
    controller.abort();
    await expect.poll(() => passed.events.slice(before).find((e) => e.type === 'LlmCallFailed')).toMatchObject({ error: { code: 'IRON_STREAM_INTERRUPTED', message: expect.stringContaining('hung up') } });
    await expect.poll(() => cutShort - shortBefore).toBe(1);
  });
});
