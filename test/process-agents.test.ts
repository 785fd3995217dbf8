// Process agents end to end: real child processes, the real gateway, the fake provider, official SDKs.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { fixture, providerEnv, REAL_ANTHROPIC_KEY, REAL_OPENAI_KEY, runtimeFor } from './helpers.ts';
import { IronError, IRON_AGENT_START_FAILED, Runtime } from '../core/index.ts';

let fake: FakeProvider;
let runtime: Runtime;

beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await runtime?.close();
  fake.reset();
});

describe('process agents', () => {
  it('cages a Node agent using the official openai client, plain, streamed and Responses', async () => {
    runtime = runtimeFor(fake);
    const usages: Array<{ inputTokens: number; outputTokens: number }> = [];
    runtime.events.on('LlmCallCompleted', (event) => void usages.push(event.usage!));
    const id = await runtime.startAgent(fixture('openai-sdk-agent.ts'), { output: 'capture' });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.stderrTail).toBe('');
    expect(metrics).toMatchObject({ status: 'completed', exitCode: 0, calls: 3, failedCalls: 0 });
    const out = JSON.parse(runtime.agentOutput(id));
    expect(out.plain).toContain('hello from node');
    expect(out.streamed).toContain('stream please');
    expect(out.responses).toContain('responses api');
    // The child saw only its per-agent credential; the provider got the real key.
    expect(out.keySeen).toMatch(/^iron_/);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/responses']);
    for (const request of fake.requests) expect(request.headers.authorization).toBe(`Bearer ${REAL_OPENAI_KEY}`);
    // The usage the SDK saw is the usage the runtime counted.
    expect(usages[0]).toMatchObject({ inputTokens: out.usage.prompt_tokens, outputTokens: out.usage.completion_tokens });
    expect(metrics.tokens.input).toBe(usages.reduce((sum, u) => sum + u.inputTokens, 0));
    expect(metrics.tokens.output).toBe(usages.reduce((sum, u) => sum + u.outputTokens, 0));
  });

  it('cages a Node agent using the official Anthropic client, plain and streamed', async () => {
    runtime = runtimeFor(fake);
    const usages: Array<{ inputTokens: number; outputTokens: number }> = [];
    runtime.events.on('LlmCallCompleted', (event) => void usages.push(event.usage!));
    const id = await runtime.startAgent(fixture('anthropic-sdk-agent.ts'), { output: 'capture' });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics).toMatchObject({ status: 'completed', exitCode: 0, calls: 2 });
    const out = JSON.parse(runtime.agentOutput(id));
    expect(out.plain).toContain('hello from anthropic');
    expect(out.streamed).toContain('stream from anthropic');
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/messages', '/v1/messages']);
    for (const request of fake.requests) {
      expect(request.headers['x-api-key']).toBe(REAL_ANTHROPIC_KEY);
      // The SDK's own API version header is passed on.
      expect(request.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    expect(usages[1].outputTokens).toBe(out.usage.output_tokens);
    expect(metrics.tokens.output).toBe(usages[0].outputTokens + usages[1].outputTokens);
  });

  it('cages a Python agent that uses only the standard library', async () => {
    runtime = runtimeFor(fake);
    const id = await runtime.startAgent(new URL('../examples/python-agent.py', import.meta.url).pathname, { output: 'capture', args: ['caging'] });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.stderrTail).toBe('');
    expect(metrics).toMatchObject({ status: 'completed', exitCode: 0, calls: 2 });
    const out = runtime.agentOutput(id);
    expect(out).toContain('[caging] Echo: Explain caging in one sentence.');
    expect(out).toContain('[stream] Echo: Name three prime numbers.');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1].body.stream).toBe(true);
  });

  it('runs any executable, with the gateway in its environment', async () => {
    runtime = runtimeFor(fake);
    const id = await runtime.startAgent(fixture('shell-agent.sh'), { output: 'capture' });
    await runtime.waitForAgent(id);
    const gateway = await runtime.gateway();
    expect(runtime.agentOutput(id).trim()).toBe(`base=${gateway.url}/v1 agent=${id}`);
  });

  it("keeps every secret of the runtime out of the agent's environment: provider keys, configured keys and all IRON_* settings", async () => {
    const secrets = {
      IRON_TOKEN: 'iron_pat_secret-token',
      IRON_PII_HASH_KEY: 'pii-hash-key-secret',
      IRON_JWT_SECRET: 'jwt-secret-value',
      IRON_DATABASE_URL: 'postgres://iron:dbpassword@db/iron',
      IRON_ADMIN_PASSWORD: 'admin-password-secret',
      MY_LLM_KEY: 'sk-configured-under-another-name',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-honeycomb-team=collector-write-key',
      HONEYCOMB_KEY: 'collector-key-named-in-the-config',
      BASIC_PART: 'part-of-a-basic-header',
      PROVIDER_URL_PASSWORD: 'provider-url-password',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:endpoint-password@collector.example.com',
      AZURE_KEY: 'azure-key-sent-as-a-header',
      // A key inside a longer value, under a name that looks like nothing.
      LLM_CONN: 'provider=local;key=sk-configured-under-another-name;region=eu',
    };
    runtime = new Runtime({
      env: { ...providerEnv(fake), ...secrets },
      logLevel: 'silent',
      config: {
        providers: {
          local: { type: 'openai-compatible', baseUrl: `${fake.url}/v1`, apiKey: secrets.MY_LLM_KEY, models: ['llama*'] },
          behindProxy: { type: 'openai-compatible', baseUrl: `http://gateway:${secrets.PROVIDER_URL_PASSWORD}@127.0.0.1:9/v1`, models: ['mistral*'] },
          azure: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/openai', headers: { 'api-key': secrets.AZURE_KEY }, models: ['gpt-35*'] },
        },
        // (Interpolated values as the YAML loader leaves them: the variable's value in the section.)
        telemetry: { endpoint: 'http://127.0.0.1:9/', headers: { 'x-honeycomb-team': secrets.HONEYCOMB_KEY, authorization: `Basic ${secrets.BASIC_PART}` } },
      },
    });
    // The caller passes the runtime's whole environment on (`{ ...process.env }`, the common way), plus its own.
    const id = await runtime.startAgent(fixture('env-dump-agent.js'), { output: 'capture', env: { ...providerEnv(fake), ...secrets, AGENT_SETTING: 'kept', ANTHROPIC_API_KEY: 'not-even-from-the-caller', IRON_TOKEN: 'reserved-name' } });
    await runtime.waitForAgent(id);
    const text = runtime.agentOutput(id);
    const env = JSON.parse(text) as Record<string, string>;
    for (const value of [...Object.values(secrets), REAL_OPENAI_KEY, REAL_ANTHROPIC_KEY, 'not-even-from-the-caller', 'reserved-name']) expect(text).not.toContain(value);
    expect(Object.keys(env).filter((key) => key.startsWith('IRON_')).sort()).toEqual(['IRON_AGENT_ID', 'IRON_GATEWAY_URL']);
    expect(env.AGENT_SETTING).toBe('kept');
    expect(env.OPENAI_API_KEY).toMatch(/^iron_/);
  });

  it('records the exit code and the end of stderr of a failing agent', async () => {
    runtime = runtimeFor(fake);
    const id = await runtime.startAgent(fixture('exit-code.js'), { output: 'capture', args: ['7'] });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics).toMatchObject({ status: 'failed', exitCode: 7, exitSignal: null, stderrTail: 'something went wrong\nthe last line of stderr\n' });
    expect(metrics.errors.at(-1)).toMatchObject({ code: 'IRON_AGENT_FAILED', message: 'agent exited with code 7' });
  });

  it('stops an agent with SIGTERM, and with SIGKILL after the grace period when it ignores SIGTERM', async () => {
    runtime = runtimeFor(fake);
    const graceful = await runtime.startAgent(fixture('graceful.js'), { output: 'capture' });
    const stubborn = await runtime.startAgent(fixture('ignore-sigterm.js'), { output: 'capture' });
    await expect.poll(() => runtime.agentOutput(graceful) + runtime.agentOutput(stubborn)).toBe('ready\nready\n');
    // Half-way through the grace period the stubborn agent is still alive: this timer starts before the runtime's
    // 300 ms one, and timers fire in order of expiry (an order, not a clock reading).
    let killed = false;
    const halfway = new Promise<boolean>((resolve) => setTimeout(() => resolve(killed), 150));
    const [a, b] = await Promise.all([
      runtime.stopAgent(graceful, { graceMs: 300 }),
      runtime.stopAgent(stubborn, { graceMs: 300 }).then((metrics) => ((killed = true), metrics)),
    ]);
    expect(a).toMatchObject({ status: 'stopped', exitCode: 0, stderrTail: 'bye\n' });
    expect(b).toMatchObject({ status: 'stopped', exitCode: null, exitSignal: 'SIGKILL', stderrTail: 'ignoring SIGTERM\n' });
    expect(await halfway).toBe(false);
  });

  it("stops an agent's tools with it, and what an exited agent left running: no process outlives its agent", async () => {
    runtime = runtimeFor(fake);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const toolOf = (id: string) => Number(/tool (\d+)/.exec(runtime.agentOutput(id))?.[1]);
    // Stopped while a tool runs in the foreground: SIGTERM reaches the tools too, so the stop takes no grace period.
    const busy = await runtime.startAgent(fixture('tool-runner.sh'), { output: 'capture' });
    await expect.poll(() => runtime.agentOutput(busy)).toContain('ready');
    const started = Date.now();
    const stopped = await runtime.stopAgent(busy, { graceMs: 5000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(stopped.status).toBe('stopped');
    await expect.poll(() => alive(toolOf(busy)), { timeout: 3000 }).toBe(false);
    // Exits at once, leaving a background tool that holds its stdout: it is seen as exited, and the tool is stopped.
    const leaver = await runtime.startAgent(fixture('tool-runner.sh'), { output: 'capture', args: ['exit'] });
    const ended = await runtime.waitForAgent(leaver);
    expect(ended).toMatchObject({ status: 'completed', exitCode: 0 });
    await expect.poll(() => alive(toolOf(leaver)), { timeout: 4000 }).toBe(false);
  });

  it('closing the runtime kills tools that ignore SIGTERM or left the process group', async () => {
    runtime = runtimeFor(fake);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    const id = await runtime.startAgent(fixture('stubborn-tools.sh'), { output: 'capture' });
    await expect.poll(() => runtime.agentOutput(id)).toContain('ready');
    const pids = [...runtime.agentOutput(id).matchAll(/(?:stubborn|escaped) (\d+)/g)].map((match) => Number(match[1]));
    expect(pids).toHaveLength(2);
    await runtime.close();
    await expect.poll(() => pids.filter(alive), { timeout: 3000 }).toEqual([]);
    const stillNamed = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`IRON_AGENT_ID=${id}`) && alive(Number(pid));
      } catch {
        return false;
      }
    });
    expect(stillNamed).toEqual([]);
  });

  it('an argument list the system refuses (E2BIG) is IRON_AGENT_START_FAILED, and the agent is failed', async () => {
    runtime = runtimeFor(fake);
    const error = await runtime.startAgent(fixture('graceful.js'), { args: ['x'.repeat(200_000)], output: 'capture' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IRON_AGENT_START_FAILED', message: expect.stringContaining('E2BIG') });
    expect(runtime.listAgents().map((agent) => agent.status)).toEqual(['failed']);
  });

  it('refuses a missing or non-executable script before anything starts', async () => {
    runtime = runtimeFor(fake);
    const starts: string[] = [];
    runtime.hooks.onAgentStart.tap('test', (agent) => void starts.push(agent.agentId));
    const missing = await runtime.startAgent('test/fixtures/agents/nope.py').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(IronError);
    expect(missing).toMatchObject({ code: IRON_AGENT_START_FAILED, message: `agent script not found: ${process.cwd()}/test/fixtures/agents/nope.py` });
    const notExecutable = await runtime.startAgent(fixture('not-executable.sh')).catch((e: unknown) => e);
    expect(notExecutable).toMatchObject({ code: IRON_AGENT_START_FAILED });
    expect((notExecutable as Error).message).toContain('is not executable');
    expect(starts).toEqual([]);
    expect(runtime.listAgents()).toEqual([]);
  });
});
