// Core benchmarks: hook pipeline overhead per call, and the gateway's added latency over a direct call.
import { Runtime, adapters, type IronPlugin, type LlmResult } from '../core/index.ts';
import { runLoad } from './lib/load.ts';
import { startFakeProvider, startJsonLineProcess, stop } from './lib/processes.ts';
import { summarize, type Row } from './lib/stats.ts';


function noopPlugin(name: string): IronPlugin {
  return {
    name,
    apply(runtime) {
      runtime.hooks.onAgentStart.tapPromise(name, async () => undefined);
      runtime.hooks.beforeLlmCall.tapPromise(name, async (request) => request);
      runtime.hooks.afterLlmCall.tapPromise(name, async (response) => response);
      runtime.hooks.onAgentStop.tapPromise(name, async () => undefined);
    },
  };
}

/** Answers every call at once with a fixed answer, so only the runtime's own work is timed. */
const cannedProvider: IronPlugin = {
  name: 'canned',
  apply(runtime) {
    const response = adapters['openai-chat'].parseResponse({
      id: 'x', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    });
    const result: LlmResult = { type: 'response', response };
    runtime.hooks.wrapLlmSend.tap({ name: 'canned', stage: 10_000 }, () => async () => result);
  },
};

async function timeCalls(plugins: number, iterations: number): Promise<number[]> {
  const runtime = new Runtime({ env: {}, logLevel: 'silent', plugins: [...Array.from({ length: plugins }, (_, i) => noopPlugin(`noop-${i}`)), cannedProvider] });
  const samples: number[] = [];
  const id = await runtime.startAgent(async (agent) => {
    const options = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hello' }] };
    for (let i = 0; i < 2000; i++) await agent.llm.chat(options);
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await agent.llm.chat(options);
      samples.push((performance.now() - t0) * 1000);
    }
  });
  await runtime.waitForAgent(id);
  await runtime.close();
  return samples;
}

/** Times the hook pipeline alone (beforeLlmCall, wrapLlmSend, afterLlmCall, the stream hooks) for one call. */
async function timeHooks(plugins: number, iterations: number): Promise<number[]> {
  const runtime = new Runtime({ env: {}, logLevel: 'silent', plugins: Array.from({ length: plugins }, (_, i) => noopPlugin(`noop-${i}`)) });
  await runtime.ready();
  const { hooks } = runtime;
  const request = adapters['openai-chat'].parseRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
  const response = adapters['openai-chat'].parseResponse({ id: 'x', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
  const ctx = { state: new Map() } as unknown as Parameters<typeof hooks.beforeLlmCall.promise>[1];
  const send = async (): Promise<LlmResult> => ({ type: 'response', response });
  const samples: number[] = [];
  for (let i = 0; i < iterations + 2000; i++) {
    const t0 = performance.now();
    await hooks.beforeLlmCall.promise(request, ctx);
    hooks.wrapLlmSend.call(send, ctx);
    await hooks.afterLlmCall.promise(response, ctx);
    hooks.onLlmStreamChunk.call([], ctx);
    await hooks.onLlmStreamEnd.promise({ response, complete: true }, ctx);
    if (i >= 2000) samples.push((performance.now() - t0) * 1000);
  }
  await runtime.close();
  return samples;
}

export async function benchHookPipeline(quick: boolean): Promise<Row[]> {
  const iterations = quick ? 5000 : 30_000;
  const hooks0 = summarize(await timeHooks(0, iterations));
  const hooks4 = summarize(await timeHooks(4, iterations));
  const base = summarize(await timeCalls(0, iterations));
  const four = summarize(await timeCalls(4, iterations));
  return [
    { path: 'hook pipeline, 0 plugins', 'p50 µs': hooks0.p50, 'p99 µs': hooks0.p99 },
    { path: 'hook pipeline, 4 no-op plugins', 'p50 µs': hooks4.p50, 'p99 µs': hooks4.p99 },
    { path: 'whole in-process call, 0 plugins (canned provider)', 'p50 µs': base.p50, 'p99 µs': base.p99 },
    { path: 'whole in-process call, 4 no-op plugins', 'p50 µs': four.p50, 'p99 µs': four.p99 },
  ];
}


/** Paced load for the 64-connection runs: well below saturation, so the table shows latency, not queueing. */
const PACED_RATE = 1000;

export async function benchGatewayLatency(quick: boolean): Promise<Row[]> {
  const fake = await startFakeProvider();
  const gateway = await startJsonLineProcess([new URL('./gateway-host.ts', import.meta.url).pathname, fake.info.url, '0']);
  const rows: Row[] = [];
  try {
    for (const stream of [false, true]) {
      const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'benchmark prompt of a typical size '.repeat(8) }], stream });
      for (const connections of [1, 64]) {
        const requests = quick ? (connections === 1 ? 300 : 1000) : (connections === 1 ? 3000 : 15_000);
        const run = (url: string, key: string, paced: boolean) =>
          runLoad({
            url: `${url}/v1/chat/completions`,
            headers: { authorization: `Bearer ${key}` },
            body,
            connections,
            requests,
            maxMs: quick ? 15_000 : 45_000,
            ...(paced && connections > 1 ? { ratePerSec: PACED_RATE } : {}),
          });
        // Warm both paths, then measure direct and gateway back to back.
        await run(fake.info.url, 'k', false);
        await run(gateway.info.url, gateway.info.credential, false);
        const direct = await run(fake.info.url, 'k', true);
        const caged = await run(gateway.info.url, gateway.info.credential, true);
        // Saturation: every connection sends back to back; shows throughput (latency there is queueing).
        const saturated = connections > 1 ? await run(gateway.info.url, gateway.info.credential, false) : caged;
        const metric = stream ? 'firstByteMs' : 'totalMs';
        const d = summarize(direct[metric]);
        const g = summarize(caged[metric]);
        rows.push({
          mode: stream ? 'stream (first chunk)' : 'json',
          load: connections > 1 ? `${connections} conns @ ${PACED_RATE}/s` : '1 conn, back to back',
          'direct p50 ms': d.p50,
          'gateway p50 ms': g.p50,
          'added p50 ms': g.p50 - d.p50,
          'direct p99 ms': d.p99,
          'gateway p99 ms': g.p99,
          'added p99 ms': g.p99 - d.p99,
          'max gateway req/s': (saturated.totalMs.length / saturated.elapsedMs) * 1000,
          errors: caged.errors + caged.non2xx + direct.errors + direct.non2xx + saturated.errors + saturated.non2xx,
        });
      }
    }
  } finally {
    await stop(gateway.child);
    await stop(fake.child);
  }
  return rows;
}
