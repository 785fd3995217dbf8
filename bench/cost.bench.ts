// Cost plugin benchmarks: reserve + settle overhead per call with a 4,000-token prompt, and token counting speed.
import { Runtime } from '../core/index.ts';
import type { LlmCallContext } from '../core/context.ts';
import { adapters } from '../core/providers/adapters.ts';
import { countText, inputTokensUpperBound } from '../plugins/cost/tokens.ts';
import { summarize, type Row } from './lib/stats.ts';

const WORDS = 'the agent reads a contract and summarises the budget clauses for the finance team before noon'.split(' ');

/** About 4,000 o200k tokens of English prose. */
function prompt(): string {
  let text = '';
  for (let i = 0; text.length < 17_500; i++) text += `${WORDS[(i * 7) % WORDS.length]} `;
  return text;
}

/** A mixed corpus (prose, code, JSON, non-Latin scripts) for counting throughput. */
function corpus(bytes: number): string {
  const pieces = [
    prompt().slice(0, 2_000),
    'function settle(reservation, cost) { for (const scope of reservation.scopes) { scope.reserved -= reservation.amount; scope.spent += cost; } }\n',
    JSON.stringify({ id: 'chatcmpl-1', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage: { prompt_tokens: 12 } }),
    'Привет, мир! Бюджет агента исчерпан. こんにちは世界、予算を守ります。 مرحبا بالعالم 👋🏽✨ ',
  ];
  let out = '';
  for (let i = 0; Buffer.byteLength(out) < bytes; i++) out += pieces[i % pieces.length];
  return out;
}

async function timeReserveSettle(withCost: boolean, iterations: number): Promise<number[]> {
  const runtime = new Runtime({ env: {}, logLevel: 'silent', ...(withCost ? { budget: 1_000_000 } : {}) });
  await runtime.ready();
  // An agent to attribute the calls to; it waits until the measurement is done.
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  const agentId = await runtime.startAgent(() => hold);
  const agent = runtime.getAgent(agentId)!;
  const request = adapters['openai-chat'].parseRequest({ model: 'gpt-4o-mini', max_tokens: 500, messages: [{ role: 'system', content: 'You are careful.' }, { role: 'user', content: prompt() }] });
  const response = adapters['openai-chat'].parseResponse({
    id: 'x',
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: 'A short answer.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 4_012, completion_tokens: 4, total_tokens: 4_016 },
  });
  const provider = runtime.providers.get('simulated')!;
  const samples: number[] = [];
  for (let i = 0; i < iterations + 2_000; i++) {
    const ctx = { callId: `c${i}`, agent, format: 'openai-chat', provider: { ...provider, type: 'openai' }, startedAt: 0, signal: agent.signal, responseHeaders: {}, forwardHeaders: {}, state: new Map(), logger: runtime.logger } as unknown as LlmCallContext;
    const t0 = performance.now();
    await runtime.hooks.beforeLlmCall.promise(request, ctx);
    await runtime.hooks.afterLlmCall.promise(response, ctx);
    if (i >= 2_000) samples.push((performance.now() - t0) * 1000);
  }
  release();
  await runtime.close();
  return samples;
}

function throughput(label: string, fn: (text: string) => number, text: string, rounds: number): Row {
  fn(text);
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) fn(text);
  const seconds = (performance.now() - t0) / 1000;
  return { what: label, 'MB/s': (Buffer.byteLength(text) * rounds) / 1e6 / seconds };
}

export async function benchCostOverhead(quick: boolean): Promise<Row[]> {
  const iterations = quick ? 3_000 : 20_000;
  const base = summarize(await timeReserveSettle(false, iterations));
  const cost = summarize(await timeReserveSettle(true, iterations));
  return [
    { path: 'beforeLlmCall + afterLlmCall, no plugin', 'p50 µs': base.p50, 'p99 µs': base.p99 },
    { path: 'with the cost plugin (reserve + settle, 4,000-token prompt)', 'p50 µs': cost.p50, 'p99 µs': cost.p99 },
    { path: 'cost plugin overhead (difference)', 'p50 µs': cost.p50 - base.p50, 'p99 µs': cost.p99 - base.p99 },
  ];
}

export async function benchTokenCounting(quick: boolean): Promise<Row[]> {
  const text = corpus(1_000_000);
  const rounds = quick ? 2 : 6;
  const request = (t: string) => adapters['openai-chat'].parseRequest({ model: 'm', messages: [{ role: 'user', content: t }] });
  const big = request(text);
  return [
    throughput('o200k count (gpt-tokenizer countTokens), mixed 1 MB corpus', countText, text, rounds),
    throughput('reservation upper bound (UTF-8 bytes), same corpus', () => inputTokensUpperBound(big), text, rounds * 20),
  ];
}
