// Mid-stream recovery (issue 19): what a healthy stream pays for being watched, and how long a stream that broke
// after content reached the agent takes to go on — against one round trip to the provider (the floor for asking
// again) plus, for a stall, the idle window that detects it. Real HTTP: the fake provider on loopback, agent.fetch,
// a 60-word answer in 1-word events 1 ms apart.
import { Runtime } from '../core/index.ts';
import { startFakeProvider, type FakeBehaviour, type FakeProvider } from '../test/fake-provider/index.ts';
import { summarize, type Row } from './lib/stats.ts';

const PROMPT = Array.from({ length: 59 }, (_, i) => `w${i}`).join(' ');
const IDLE_MS = 200;

function runtimeFor(fake: FakeProvider, reliability: boolean, format: 'openai' | 'anthropic'): Runtime {
  const provider = { [format]: { type: format, baseUrl: format === 'openai' ? `${fake.url}/v1` : fake.url, apiKey: 'k' } };
  return new Runtime({ env: {}, logLevel: 'silent', config: { providers: provider, ...(reliability ? { reliability: { timeouts: { idleMs: IDLE_MS } } } : {}) } });
}

/** Times `n` streamed calls (after warm-up): the whole answer, and the time to its first event (one round trip). */
async function time(runtime: Runtime, fake: FakeProvider, format: 'openai' | 'anthropic', n: number, fault?: FakeBehaviour): Promise<{ total: number[]; first: number[] }> {
  const total: number[] = [];
  const first: number[] = [];
  const url = format === 'openai' ? 'https://api.openai.com/v1/chat/completions' : 'https://api.anthropic.com/v1/messages';
  const body = JSON.stringify({ model: format === 'openai' ? 'gpt-4o-mini' : 'claude-3-5-haiku-20241022', max_tokens: 400, stream: true, messages: [{ role: 'user', content: PROMPT }] });
  const id = await runtime.startAgent(async (agent) => {
    for (let i = 0; i < n + 5; i++) {
      if (fault) fake.enqueue(fault);
      const started = performance.now();
      const response = await agent.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body });
      const reader = response.body!.getReader();
      let firstAt = 0;
      let text = '';
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        firstAt ||= performance.now();
        text += decoder.decode(value, { stream: true });
      }
      if (!text.includes('w58') || /IRON_/.test(text)) throw new Error(`the answer did not arrive whole: ${text.slice(-200)}`);
      if (i >= 5) {
        total.push(performance.now() - started);
        first.push(firstAt - started);
      }
    }
  });
  const metrics = await runtime.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`bench agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
  return { total, first };
}

export async function benchStreamRecovery(quick: boolean): Promise<Row[]> {
  const n = quick ? 20 : 100;
  const fake = await startFakeProvider({ record: false, chunkDelayMs: 1 });
  const rows: Row[] = [];
  try {
    const measure = async (reliability: boolean, format: 'openai' | 'anthropic', fault?: FakeBehaviour) => {
      const runtime = runtimeFor(fake, reliability, format);
      try {
        return await time(runtime, fake, format, n, fault);
      } finally {
        await runtime.close();
      }
    };
    // Healthy streams, alternately without and with the plugin (the machine's noise hits both alike).
    const bare: number[] = [];
    const watched: number[] = [];
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      bare.push(...(await measure(false, 'openai')).total);
      watched.push(...(await measure(true, 'openai')).total);
    }
    const plain = summarize(bare);
    const guarded = summarize(watched);
    rows.push({ case: 'healthy 60-word stream, no reliability plugin', 'p50 ms': plain.p50, 'p99 ms': plain.p99 });
    rows.push({ case: 'healthy 60-word stream, reliability plugin', 'p50 ms': guarded.p50, 'p99 ms': guarded.p99 });
    rows.push({ case: 'overhead on healthy streams (difference)', 'p50 ms': guarded.p50 - plain.p50, 'p99 ms': guarded.p99 - plain.p99 });

    for (const format of ['openai', 'anthropic'] as const) {
      const healthy = await measure(true, format);
      const roundTrip = summarize(healthy.first).p50;
      const whole = summarize(healthy.total).p50;
      const strategy = format === 'openai' ? 'replay' : 'continuation';
      const cut = summarize((await measure(true, format, { kind: 'cut', afterChunks: 30 })).total).p50 - whole;
      const stall = summarize((await measure(true, format, { kind: 'stall', afterChunks: 30 })).total).p50 - whole;
      rows.push({ case: `${format}: one round trip (first event of a healthy stream)`, 'p50 ms': roundTrip, 'p99 ms': summarize(healthy.first).p99 });
      rows.push({ case: `${format}: cut mid-stream, continued (${strategy}): added`, 'p50 ms': cut, 'p99 ms': Number.NaN });
      rows.push({ case: `${format}: stalled mid-stream, continued (${strategy}): added`, 'p50 ms': stall, 'p99 ms': Number.NaN });
      rows.push({ case: `${format}: stall added − (idleMs ${IDLE_MS} + one round trip)`, 'p50 ms': stall - IDLE_MS - roundTrip, 'p99 ms': Number.NaN });
    }
  } finally {
    await fake.close();
  }
  return rows;
}
