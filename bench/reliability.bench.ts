// Reliability plugin benchmarks: the wrapped send's overhead on the happy path, and fail-fast time while open.
import { Runtime } from '../core/index.ts';
import type { LlmCallContext, LlmResult, LlmSend } from '../core/context.ts';
import { LlmError, IRON_UPSTREAM_ERROR } from '../core/errors.ts';
import { adapters } from '../core/providers/adapters.ts';
import { summarize, type Row } from './lib/stats.ts';

async function setUp(withReliability: boolean) {
  const runtime = new Runtime({ env: {}, logLevel: 'silent', config: withReliability ? { reliability: { retries: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, cooldownMs: 3_600_000 } } } : {} });
  await runtime.ready();
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  const agentId = await runtime.startAgent(() => hold);
  const agent = runtime.getAgent(agentId)!;
  const request = adapters['openai-chat'].parseRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  const response = adapters['openai-chat'].parseResponse({ id: 'x', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
  const provider = runtime.providers.get('simulated')!;
  const ctx = (i: number) => ({ callId: `c${i}`, agent, format: 'openai-chat', provider, startedAt: 0, signal: agent.signal, responseHeaders: {}, forwardHeaders: {}, state: new Map(), logger: runtime.logger }) as unknown as LlmCallContext;
  return { runtime, release, request, response, ctx };
}

async function timeSends(send: LlmSend, wrap: (send: LlmSend, ctx: LlmCallContext) => LlmSend, setup: Awaited<ReturnType<typeof setUp>>, iterations: number, expectFailure: boolean): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations + 1_000; i++) {
    const c = setup.ctx(i);
    const wrapped = wrap(send, c);
    const t0 = performance.now();
    try {
      await wrapped(setup.request, c);
    } catch (error) {
      if (!expectFailure) throw error;
    }
    if (i >= 1_000) samples.push((performance.now() - t0) * 1000);
  }
  return samples;
}

export async function benchReliabilityOverhead(quick: boolean): Promise<Row[]> {
  const iterations = quick ? 3_000 : 20_000;
  const rows: Row[] = [];
  const base = await setUp(false);
  const ok: LlmSend = async () => ({ type: 'response', response: base.response }) satisfies LlmResult;
  const plain = summarize(await timeSends(ok, (send, c) => base.runtime.hooks.wrapLlmSend.call(send, c), base, iterations, false));
  base.release();
  await base.runtime.close();

  const guarded = await setUp(true);
  const okGuarded: LlmSend = async () => ({ type: 'response', response: guarded.response });
  const happy = summarize(await timeSends(okGuarded, (send, c) => guarded.runtime.hooks.wrapLlmSend.call(send, c), guarded, iterations, false));
  rows.push({ path: 'send, no plugin', 'p50 µs': plain.p50, 'p99 µs': plain.p99 });
  rows.push({ path: 'send wrapped by reliability (breaker closed, no retry)', 'p50 µs': happy.p50, 'p99 µs': happy.p99 });
  rows.push({ path: 'reliability overhead, happy path (difference)', 'p50 µs': happy.p50 - plain.p50, 'p99 µs': happy.p99 - plain.p99 });

  // Open the breaker of gpt-4o-mini with three failures, then time the calls it refuses.
  const down: LlmSend = async () => {
    throw new LlmError(IRON_UPSTREAM_ERROR, 'provider answered 503', { upstreamStatus: 503 });
  };
  const open = summarize(await timeSends(down, (send, c) => guarded.runtime.hooks.wrapLlmSend.call(send, c), guarded, iterations, true));
  rows.push({ path: 'fail fast while the circuit is open (IRON_CIRCUIT_OPEN)', 'p50 µs': open.p50, 'p99 µs': open.p99 });
  guarded.release();
  await guarded.runtime.close();
  return rows;
}
