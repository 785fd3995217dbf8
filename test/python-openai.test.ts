// An agent written with the `openai` Python package, caged as a process (the gateway) with no code change. The package
// comes from Debian (`apt-get install python3-openai`, Debian 13 and later); where python3 cannot import it the test
// is skipped and says so. The agent's interpreter is the runtime's: $IRON_PYTHON, else python3 on PATH.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../core/index.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { REAL_OPENAI_KEY, fixture, runtimeFor } from './helpers.ts';

const python = process.env.IRON_PYTHON ?? 'python3';
// PYTHONPATH is passed on so a package installed outside the interpreter's own paths can be tested too.
const pythonEnv: Record<string, string> = process.env.PYTHONPATH ? { PYTHONPATH: process.env.PYTHONPATH } : {};

function openaiVersion(): string | undefined {
  try {
    return execFileSync(python, ['-c', 'import openai; print(openai.__version__)'], { env: { PATH: process.env.PATH ?? '', ...pythonEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const version = openaiVersion();
const SKIPPED = `${python} cannot import the openai package: install it (apt-get install python3-openai, Debian 13 or later) to run this test`;

let fake: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());
afterEach(() => runtime?.close());

describe(`iron run with the openai Python package (${version ? `openai ${version}` : 'not installed'})`, () => {
  it('chat, a stream, Responses and a tool call through the gateway: answers, usage, cost, redaction, errors as the SDK raises them', async (context) => {
    if (!version) {
      console.warn(`skipped: ${SKIPPED}`);
      context.skip(SKIPPED);
    }
    fake.enqueue(
      { kind: 'reply' },
      { kind: 'reply' },
      { kind: 'reply' },
      { kind: 'reply', toolCall: { name: 'lookup', arguments: '{"email":"<EMAIL_ADDRESS_1>"}' } },
      { kind: 'error', status: 429, body: { error: { message: 'Rate limit reached for gpt-4o-mini', type: 'requests', param: null, code: 'rate_limit_exceeded' } } },
    );
    runtime = runtimeFor(fake, { budget: 5, config: { safety: {} } });
    const id = await runtime.startAgent(fixture('openai-python-agent.py'), { output: 'capture', env: pythonEnv, args: ['Write to jane.doe@example.org'] });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.stderrTail).toBe('');
    expect(metrics).toMatchObject({ status: 'completed', exitCode: 0, calls: 4, failedCalls: 1 });

    // The agent got its own value back in every answer and in the tool call's arguments.
    const billed = fake.requests.map((r) => r.billed!);
    const lines = runtime.agentOutput(id).trim().split('\n');
    expect(lines).toEqual([
      `[chat] Echo: Write to jane.doe@example.org (${billed[0].input} in / ${billed[0].output} out)`,
      `[stream] Echo: Write to jane.doe@example.org (${billed[1].input} in / ${billed[1].output} out)`,
      `[responses] Echo: Write to jane.doe@example.org (${billed[2].input} in / ${billed[2].output} out)`,
      '[tool] lookup {"email": "jane.doe@example.org"}',
      '[refused] 429 RateLimitError rate_limit_exceeded',
    ]);

    // The provider saw the placeholder, the real key, and the paths the SDK calls.
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/responses', '/v1/chat/completions', '/v1/chat/completions']);
    for (const request of fake.requests) {
      expect(request.rawBody).not.toContain('jane.doe@example.org');
      expect(request.rawBody).toContain('<EMAIL_ADDRESS_1>');
      expect(request.headers.authorization).toBe(`Bearer ${REAL_OPENAI_KEY}`);
      expect(request.headers['user-agent']).toMatch(/^OpenAI\/Python /);
    }

    // Every answered call counted and priced.
    const sum = (key: 'input' | 'output') => billed.slice(0, 4).reduce((total, b) => total + b[key], 0);
    expect({ input: metrics.tokens.input, output: metrics.tokens.output }).toEqual({ input: sum('input'), output: sum('output') });
    expect(metrics.costUsd).toBeGreaterThan(0);
    expect(metrics.piiDetections).toBe(5); // the email, once in each of the five prompts
    expect(metrics.errors.map((e) => e.code)).toEqual(['IRON_UPSTREAM_ERROR']);
  });
});
