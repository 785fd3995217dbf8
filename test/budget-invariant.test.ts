// The budget invariant, attacked with random mixes: spend ≤ limit in both reservation modes, JSON and streams, in
// process (official SDKs on agent.fetch) and through the gateway (a process agent), OpenAI and Anthropic wire
// formats, concurrency 1–200, and answers of any density (prose, hex, base64, CJK, emoji, code) — checked against
// the runtime's own figures and against an independent tally: what the fake provider billed, priced with
// @pydantic/genai-prices directly. Seeded; IRON_BUDGET_ROUNDS for a longer run (default 14).
import Anthropic from '@anthropic-ai/sdk';
import { calcPrice } from '@pydantic/genai-prices';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../core/index.ts';
import { seededRandom } from '../plugins/safety/eval/seeded-random.ts';
import { startFakeProvider, type FakeBehaviour, type FakeProvider } from './fake-provider/index.ts';
import { fixture, providerEnv } from './helpers.ts';

const ROUNDS = Number(process.env.IRON_BUDGET_ROUNDS) > 0 ? Number(process.env.IRON_BUDGET_ROUNDS) : 14;
const SEED = Number(process.env.IRON_BUDGET_SEED ?? 20261205);

const MODELS = { openai: 'gpt-4o-mini', anthropic: 'claude-3-5-haiku-20241022' } as const;

interface Mix {
  mode: 'worst-case' | 'metered';
  path: 'in-process' | 'gateway';
  format: 'openai' | 'anthropic';
  stream: boolean;
  maxTokens: number | null;
  concurrency: number;
  callsPerWorker: number;
  limitUsd: number;
  texts: string;
}

/** Answer texts and how densely they tokenize (never more tokens than UTF-8 bytes, as for any byte-level BPE). */
const TEXTS: Record<string, { make: (rng: () => number, n: number) => string; tokensPerChar: number }> = {
  prose: { make: (rng, n) => Array.from({ length: Math.ceil(n / 6) }, () => ['the', 'budget', 'holds', 'agents', 'spend', 'never'][Math.floor(rng() * 6)]).join(' ').slice(0, n), tokensPerChar: 0.25 },
  hex: { make: (rng, n) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rng() * 16)]).join(''), tokensPerChar: 1 },
  base64: { make: (rng, n) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'[Math.floor(rng() * 64)]).join(''), tokensPerChar: 1 },
  cjk: { make: (rng, n) => Array.from({ length: n }, () => String.fromCodePoint(0x4e00 + Math.floor(rng() * 2000))).join(''), tokensPerChar: 2 },
  emoji: { make: (rng, n) => Array.from({ length: n }, () => String.fromCodePoint(0x1f600 + Math.floor(rng() * 60))).join(''), tokensPerChar: 3 },
  code: { make: (rng, n) => Array.from({ length: Math.ceil(n / 12) }, (_, i) => `x${i}=f(${Math.floor(rng() * 999)});`).join('').slice(0, n), tokensPerChar: 0.6 },
};

function mixOf(rng: () => number): Mix {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  const format = pick(['openai', 'anthropic'] as const);
  const concurrency = pick([1, 5, 20, 200]);
  return {
    mode: pick(['worst-case', 'metered'] as const),
    path: pick(['in-process', 'in-process', 'gateway'] as const),
    format,
    stream: rng() < 0.5,
    // Anthropic requires max_tokens; OpenAI calls often leave it out (what metered mode is for).
    maxTokens: format === 'anthropic' ? pick([64, 512, 4096]) : pick([null, null, 64, 2000]),
    concurrency,
    callsPerWorker: concurrency >= 20 ? 2 : 6,
    limitUsd: pick([0.0001, 0.0005, 0.002, 0.0125]),
    texts: pick(Object.keys(TEXTS)),
  };
}

/** What the provider billed, priced independently of Iron Cage's price book. */
function tally(fake: FakeProvider): number {
  let usd = 0;
  for (const request of fake.requests) {
    if (!request.billed) continue;
    const { model, input, output } = request.billed;
    const price = calcPrice({ input_tokens: input, output_tokens: output }, model);
    if (!price) throw new Error(`no price for ${model}`);
    usd += Number(price.total_price);
  }
  return usd;
}

async function inProcessCalls(agent: { fetch: typeof fetch }, mix: Mix): Promise<void> {
  const openai = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
  const anthropic = new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
  const call = async () => {
    if (mix.format === 'anthropic') {
      const body = { model: MODELS.anthropic, max_tokens: mix.maxTokens ?? 4096, messages: [{ role: 'user' as const, content: 'go on' }] };
      if (mix.stream) await anthropic.messages.stream(body).finalMessage();
      else await anthropic.messages.create(body);
      return;
    }
    const body = { model: MODELS.openai, messages: [{ role: 'user' as const, content: 'go on' }], ...(mix.maxTokens === null ? {} : { max_tokens: mix.maxTokens }) };
    if (mix.stream) for await (const chunk of await openai.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } })) void chunk;
    else await openai.chat.completions.create(body);
  };
  await Promise.all(
    Array.from({ length: mix.concurrency }, async () => {
      for (let i = 0; i < mix.callsPerWorker; i++) {
        try {
          await call();
        } catch (error) {
          if (!/IRON_BUDGET_EXCEEDED/.test(String((error as Error).message))) throw error;
          return;
        }
      }
    }),
  );
}

async function runMix(fake: FakeProvider, mix: Mix, rng: () => number): Promise<{ runtimeUsd: number; billedUsd: number; calls: number }> {
  fake.reset();
  // A provider generates as it streams (here ~1,000 deltas a second, faster than any model): it stops billing when
  // the cage cuts the connection. Without a pace the fake would have "generated" a whole answer before the first
  // delta reached the cage.
  fake.setOptions({ chunkDelayMs: Number(process.env.IRON_BUDGET_CHUNK_MS ?? 1) });
  const text = TEXTS[mix.texts]!;
  const answers: FakeBehaviour[] = Array.from({ length: mix.concurrency * mix.callsPerWorker }, () => ({ kind: 'reply', text: text.make(rng, 1 + Math.floor(rng() * 3000)), tokensPerChar: text.tokensPerChar }));
  fake.enqueue(...answers);
  const runtime = new Runtime({ env: providerEnv(fake), logLevel: 'silent', config: { budget: { limit: mix.limitUsd }, cost: { reservation: mix.mode, waitMs: 2000 } } });
  try {
    let id: string;
    if (mix.path === 'gateway') {
      id = await runtime.startAgent(fixture('budget-mix-agent.ts'), {
        output: 'capture',
        env: { IRON_TEST_PLAN: JSON.stringify({ format: mix.format, model: MODELS[mix.format], stream: mix.stream, maxTokens: mix.maxTokens, concurrency: mix.concurrency, callsPerWorker: mix.callsPerWorker }) },
      });
    } else {
      id = await runtime.startAgent((agent) => inProcessCalls(agent, mix));
    }
    const metrics = await runtime.waitForAgent(id);
    if (mix.path === 'gateway') {
      const outcome = JSON.parse(runtime.agentOutput(id).trim().split('\n').at(-1) ?? '{}') as { other?: string[] };
      expect(outcome.other ?? ['no outcome line'], `unexpected errors: ${runtime.agentOutput(id)}`).toEqual([]);
    } else expect(metrics.status, JSON.stringify(metrics.errors)).toBe('completed');
    return { runtimeUsd: metrics.costUsd, billedUsd: tally(fake), calls: fake.requests.length };
  } finally {
    await runtime.close();
  }
}

describe('the budget invariant: spend ≤ limit, whatever the mix', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  const check = (mix: Mix, result: { runtimeUsd: number; billedUsd: number; calls: number }) => {
    const what = `${JSON.stringify(mix)} → runtime $${result.runtimeUsd}, billed $${result.billedUsd.toFixed(7)}, ${result.calls} requests`;
    if (process.env.IRON_BUDGET_VERBOSE) console.log(what);
    expect(result.runtimeUsd, what).toBeLessThanOrEqual(mix.limitUsd + 1e-9);
    expect(result.billedUsd, what).toBeLessThanOrEqual(mix.limitUsd + 1e-9);
    // The runtime never counts less than the provider billed (a cut stream is counted by the bytes it received),
    // to within its micro-dollar rounding per call.
    expect(result.runtimeUsd, what).toBeGreaterThanOrEqual(result.billedUsd - 1e-6 * result.calls - 1e-9);
  };

  // The cases of issue 18's table that ran in one runtime, first as they were reported.
  it.each([
    { name: 'metered, 200 concurrent calls without max_tokens, in process ($0.0125)', mix: { mode: 'metered', path: 'in-process', format: 'openai', stream: false, maxTokens: null, concurrency: 200, callsPerWorker: 1, limitUsd: 0.0125, texts: 'prose' } },
    { name: 'the same through the gateway', mix: { mode: 'metered', path: 'gateway', format: 'openai', stream: false, maxTokens: null, concurrency: 200, callsPerWorker: 1, limitUsd: 0.0125, texts: 'prose' } },
    { name: 'metered stream of hex-like text ($0.0001)', mix: { mode: 'metered', path: 'in-process', format: 'openai', stream: true, maxTokens: null, concurrency: 1, callsPerWorker: 3, limitUsd: 0.0001, texts: 'hex' } },
  ] satisfies Array<{ name: string; mix: Mix }>)('$name', async ({ mix }) => {
    // Long answers: without a true bound each call would spend far more than its reservation.
    check(mix, await runMix(fake, mix, seededRandom(SEED)));
  }, 60_000);

  it.each([
    { format: 'openai', stream: false },
    { format: 'openai', stream: true },
    { format: 'anthropic', stream: false },
    { format: 'anthropic', stream: true },
  ] as const)('answers safety blocks on output are billed all the same: the budget holds ($format, stream: $stream)', async ({ format, stream }) => {
    // Each answer holds a card number the output policy blocks: the agent never sees it, the provider bills it.
    const limitUsd = format === 'openai' ? 0.005 : 0.04;
    fake.reset(); // (behaviours the mixes above queued and did not use would answer first)
    const before = fake.requests.length;
    const runtime = new Runtime({ env: providerEnv(fake), logLevel: 'silent', config: { budget: { limit: limitUsd }, safety: { entities: { CREDIT_CARD: { output: 'block' } } } } });
    const outcomes: string[] = [];
    try {
      const id = await runtime.startAgent(async (agent) => {
        const openai = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        const anthropic = new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        for (let i = 0; i < 10; i++) {
          // About 1,000 tokens of answer (the fake bills a token per four characters), the card at its start.
          fake.enqueue({ kind: 'reply', text: `Here it is: 4111 1111 1111 1111, and ${'more words '.repeat(360)}` });
          try {
            if (format === 'openai') {
              const answer = await openai.chat.completions.create({ model: MODELS.openai, max_tokens: 4000, messages: [{ role: 'user', content: 'card?' }], stream });
              if (stream) for await (const _ of answer as AsyncIterable<unknown>);
            } else {
              const answer = await anthropic.messages.create({ model: MODELS.anthropic, max_tokens: 4000, messages: [{ role: 'user', content: 'card?' }], stream });
              if (stream) for await (const _ of answer as AsyncIterable<unknown>);
            }
            outcomes.push('answered');
          } catch (error) {
            outcomes.push((error as Error).message.match(/IRON_[A-Z_]+/)?.[0] ?? (error as Error).message);
          }
        }
      });
      const metrics = await runtime.waitForAgent(id);
      const requests = fake.requests.slice(before);
      const billed = tally({ requests } as FakeProvider);
      const what = `${format} stream=${stream}: ${outcomes.join(', ')} → runtime $${metrics.costUsd}, billed $${billed.toFixed(6)}`;
      expect(outcomes.filter((outcome) => outcome === 'IRON_PII_BLOCKED').length, what).toBeGreaterThan(0);
      expect(outcomes, what).toContain('IRON_BUDGET_EXCEEDED');
      expect(outcomes, what).not.toContain('answered');
      expect(billed, what).toBeLessThanOrEqual(limitUsd + 1e-9);
      expect(metrics.costUsd, what).toBeLessThanOrEqual(limitUsd + 1e-9);
      expect(metrics.costUsd, what).toBeGreaterThanOrEqual(billed - 1e-6 * requests.length - 1e-9);
      // And not far above it: a refused stream is read on for a moment and billed by its usage, not by max_tokens.
      expect(metrics.costUsd, what).toBeLessThanOrEqual(billed * 1.25 + 1e-5);
    } finally {
      await runtime.close();
    }
  });

  it(`${ROUNDS} random mixes (seed ${SEED})`, async () => {
    const rng = seededRandom(SEED);
    for (let round = 0; round < ROUNDS; round++) {
      const mix = mixOf(rng);
      check(mix, await runMix(fake, mix, rng));
    }
  }, 240_000);
});
