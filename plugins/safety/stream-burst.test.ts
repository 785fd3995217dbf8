// A network read that brings many text deltas at once (a loaded gateway, a fast provider) is scanned once, not once per
// delta, and the agent still gets every character, redacted where it must be; chunks that came with logprobs
// (which safety drops) are scanned together too. Driven with the official OpenAI SDK through the runtime to a real HTTP upstream
// that writes a whole stream in one write.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Runtime } from '../../core/index.ts';
import { startScriptedUpstream } from '../../test/helpers.ts';
import type { AgentHandle } from '../../core/runtime.ts';
import { Redactor } from './redact.ts';

/** The SSE body of an OpenAI chat stream of `pieces`, each chunk with `logprobs` when asked. */
function chatStream(pieces: string[], logprobs: boolean, firstDelta: Record<string, unknown> = { role: 'assistant', content: '' }, fields: Record<string, unknown> = {}): string {
  const base = { id: 'chatcmpl-burst', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini', ...fields };
  const event = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => `data: ${JSON.stringify({ ...base, choices: [choice], ...extra })}\n\n`;
  let body = event({ index: 0, delta: firstDelta, logprobs: null, finish_reason: null });
  for (const content of pieces) {
    const probs = logprobs ? { content: [{ token: content, logprob: -0.1, bytes: [...Buffer.from(content)], top_logprobs: [] }] } : null;
    body += event({ index: 0, delta: { content }, logprobs: probs, finish_reason: null });
  }
  body += event({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
  body += `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: pieces.length, total_tokens: 5 + pieces.length } })}\n\n`;
  return `${body}data: [DONE]\n\n`;
}

let upstream: Awaited<ReturnType<typeof startScriptedUpstream>>;
let url: string;
let runtime: Runtime | undefined;

// The whole stream in one write: the gateway reads it in one or a few network reads.
beforeAll(async () => {
  upstream = await startScriptedUpstream();
  url = upstream.url;
});
afterAll(() => upstream.close());
afterEach(async () => {
  vi.restoreAllMocks();
  await runtime?.close();
});

async function streamed(body: string): Promise<Array<{ content: string; logprobs: unknown }>> {
  upstream.answer(body);
  runtime = new Runtime({ env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'sk-real', IRON_OPENAI_BASE_URL: `${url}/v1` }, logLevel: 'silent', config: { safety: {} } });
  const chunks: Array<{ content: string; logprobs: unknown }> = [];
  const id = await runtime.startAgent(async (agent: AgentHandle) => {
    const openai = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) chunks.push({ content: choice.delta.content, logprobs: choice.logprobs });
    }
  });
  const metrics = await runtime.waitForAgent(id);
  expect(metrics.status).toBe('completed');
  return chunks;
}

describe('a burst of text deltas', () => {
  // Words no hold-back rule holds (no digits, longer than a group of an IBAN): each could go out on its own.
  const words = Array.from({ length: 60 }, (_, i) => `benchmark${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))} `);
  // An address cut over three deltas in the middle of the burst, and a card number over two.
  const pieces = [...words.slice(0, 30), 'mail jane.d', 'oe@exam', 'ple.org now, card 4111 1111 ', '1111 1111 ok ', ...words.slice(30)];

  it('is scanned a few times per network read, not once per delta, and redacted whole', async () => {
    const scans = vi.spyOn(Redactor.prototype, 'detect');
    const chunks = await streamed(chatStream(pieces, false));
    const text = chunks.map((chunk) => chunk.content).join('');
    // (The default actions on an answer: a card is masked, an address passes.)
    expect(text).toBe(pieces.join('').replace('4111 1111 1111 1111', '[CREDIT_CARD]'));
    // (Before: one scan per delta, 64 for this answer; the prompt's scan is one more.)
    expect(scans.mock.calls.length).toBeLessThan(12);
  });

  it('text released unchanged goes out in the chunks the provider cut (an SDK sees its pieces), scanned together; logprobs sent unasked are dropped', async () => {
    // (Logprobs spell values token by token: see logprobs.test.ts.)
    const scans = vi.spyOn(Redactor.prototype, 'detect');
    const chunks = await streamed(chatStream(words, true));
    expect(chunks.map((chunk) => chunk.content)).toEqual(words);
    expect(chunks.every((chunk) => chunk.logprobs === null)).toBe(true);
    expect(scans.mock.calls.length).toBeLessThan(12);
  });
});

describe('the chunks around the text', () => {
  it("OpenAI's first chunk (role, empty content, refusal: null) is not scanned field by field: no scan reads an id, a model or a fingerprint", async () => {
    const scans = vi.spyOn(Redactor.prototype, 'detect');
    const words = ['Plain ', 'words ', 'only.'];
    const fields = { service_tier: 'default', system_fingerprint: 'fp_44709d6fcb' };
    const chunks = await streamed(chatStream(words, false, { role: 'assistant', content: '', refusal: null }, fields));
    expect(chunks.map((chunk) => chunk.content)).toEqual(words);
    const scanned = scans.mock.calls.map(([text]) => text);
    for (const field of ['chatcmpl-burst', 'gpt-4o-mini', 'default', 'fp_44709d6fcb', 'chat.completion.chunk']) expect(scanned).not.toContain(field);
    // (The prompt, and the answer's text: before, five more, one per string of the first chunk.)
    expect(scans.mock.calls.length).toBeLessThanOrEqual(3);
  });
});

describe('streamed fields no text channel reads (outside review 9, F3)', () => {
  it('a Chat refusal delta is redacted as the same refusal in a whole answer is', async () => {
    const base = { id: 'chatcmpl-refusal', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini' };
    const event = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    upstream.answer(`${event({ role: 'assistant', content: null })}${event({ refusal: 'I cannot repeat SSN 536-22-1234.' })}${event({}, 'stop')}data: [DONE]\n\n`);
    runtime = new Runtime({ env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'sk-real', IRON_OPENAI_BASE_URL: `${url}/v1` }, logLevel: 'silent', config: { safety: {} } });
    let raw = '';
    const id = await runtime.startAgent(async (agent: AgentHandle) => {
      const response = await agent.fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
      raw = await response.text();
    });
    expect((await runtime.waitForAgent(id)).status).toBe('completed');
    expect(raw).not.toContain('536-22-1234');
    expect(raw).toContain('I cannot repeat SSN [US_SSN].');
  });
});
