// Telemetry plugin benchmark: what it adds to a whole in-process call (a span, its attributes, the metrics) while a
// batching OTLP/HTTP exporter sends to a local receiver, next to the same call without it.
import { Runtime, adapters, type IronPlugin, type LlmResult } from '../core/index.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../plugins/telemetry/testing.ts';
import { summarize, type Row } from './lib/stats.ts';

/** Answers every call at once with a fixed answer (with usage), so only the runtime's and plugins' work is timed. */
const cannedProvider: IronPlugin = {
  name: 'canned',
  apply(runtime) {
    const response = adapters['openai-chat'].parseResponse({
      id: 'chatcmpl-bench', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    });
    const result: LlmResult = { type: 'response', response };
    runtime.hooks.wrapLlmSend.tap({ name: 'canned', stage: 10_000 }, () => async () => result);
  },
};

async function timeCalls(receiver: OtlpReceiver | undefined, captureContent: boolean, iterations: number): Promise<number[]> {
  const telemetry = receiver ? { telemetry: { endpoint: receiver.url, captureContent, batchDelayMs: 200, exportIntervalMs: 1000 } } : {};
  const runtime = new Runtime({ env: {}, logLevel: 'silent', config: telemetry, plugins: [cannedProvider] });
  const samples: number[] = [];
  const id = await runtime.startAgent(async (agent) => {
    const options = { model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hello' }] };
    for (let i = 0; i < iterations + 2000; i++) {
      const t0 = performance.now();
      await agent.llm.chat(options);
      if (i >= 2000) samples.push((performance.now() - t0) * 1000);
      // A real call waits on the network: the event loop turns between calls, so the exporter's timers and sockets
      // run there, as they would (outside the timed part, in both runs alike).
      if (i % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  });
  await runtime.waitForAgent(id);
  await runtime.close();
  return samples;
}

export async function benchTelemetryOverhead(quick: boolean): Promise<Row[]> {
  const iterations = quick ? 5000 : 30_000;
  const receiver = await startOtlpReceiver();
  try {
    const base = summarize(await timeCalls(undefined, false, iterations));
    const traced = summarize(await timeCalls(receiver, false, iterations));
    // Every call's span reached the receiver (none dropped by a full queue): the figure is for the whole job.
    const received = () => `${receiver.spans.filter((span) => span.name === 'chat gpt-4o-mini').length} of ${iterations + 2000}`;
    const spans = received();
    receiver.spans.length = 0;
    const content = summarize(await timeCalls(receiver, true, iterations));
    return [
      { path: 'whole in-process call, no plugins (canned provider)', 'p50 µs': base.p50, 'p99 µs': base.p99, 'call spans received': '–' },
      { path: 'whole in-process call, telemetry (batching OTLP/HTTP to a local receiver)', 'p50 µs': traced.p50, 'p99 µs': traced.p99, 'call spans received': spans },
      { path: 'telemetry overhead per call (difference)', 'p50 µs': traced.p50 - base.p50, 'p99 µs': traced.p99 - base.p99, 'call spans received': '–' },
      { path: 'with captureContent: telemetry overhead per call (difference)', 'p50 µs': content.p50 - base.p50, 'p99 µs': content.p99 - base.p99, 'call spans received': received() },
    ];
  } finally {
    await receiver.close();
  }
}
