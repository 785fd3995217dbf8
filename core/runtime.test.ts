import { describe, expect, it } from 'vitest';
import pino from 'pino';
import OpenAI from 'openai';
import { Runtime, IronError, STAGE, IRON_AGENT_NOT_FOUND, IRON_PLUGIN_FAILED, IRON_AGENT_STOPPED, type IronPlugin, type LlmStreamChunk } from './index.ts';
import { simulatedAnswer } from './providers/simulated.ts';

// No provider keys: every call goes to the offline simulated provider.
const env = { PATH: process.env.PATH ?? '' };

function recorder(name: string, log: string[], stage = 0): IronPlugin {
  return {
    name,
    apply(runtime) {
      runtime.hooks.onAgentStart.tap({ name, stage }, () => void log.push(`${name}:start`));
      runtime.hooks.beforeLlmCall.tapPromise({ name, stage }, async (request) => {
        log.push(`${name}:before`);
        return request;
      });
      runtime.hooks.afterLlmCall.tapPromise({ name, stage }, async (response) => {
        log.push(`${name}:after`);
        return response;
      });
      runtime.hooks.onAgentStop.tap({ name, stage }, () => void log.push(`${name}:stop`));
    },
  };
}

describe('Runtime hooks', () => {
  it('runs taps in stage order and fires start/stop exactly once', async () => {
    const log: string[] = [];
    const runtime = new Runtime({ env, logLevel: 'silent', plugins: [recorder('late', log, 10), recorder('early', log, STAGE.safety)] });
    const id = await runtime.startAgent(async (agent) => {
      await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    });
    await runtime.waitForAgent(id);
    await runtime.stopAgent(id);
    await runtime.stopAgent(id);
    expect(log).toEqual(['early:start', 'late:start', 'early:before', 'late:before', 'early:after', 'late:after', 'early:stop', 'late:stop']);
    await runtime.close();
  });

  it('agent.llm refuses options it does not know (max_tokens, typos) instead of dropping them, and a malformed call', async () => {
    const runtime = new Runtime({ env, logLevel: 'silent' });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const errors: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      for (const options of [{ model: 'gpt-4o-mini', messages, max_tokens: 50 }, { model: 'gpt-4o-mini', messages, maxTokenz: 50 }, { model: 'gpt-4o-mini', messages, maxTokens: 0 }, { messages }]) {
        errors.push(await agent.llm.chat(options as never).then(() => 'ok', (e: Error) => e.message));
      }
      // The stream's options are checked before anything is sent, too.
      errors.push(await (async () => {
        for await (const _ of agent.llm.stream({ model: 'gpt-4o-mini', messages, max_tokens: 5 } as never)) void _;
        return 'ok';
      })().catch((e: Error) => e.message));
      errors.push(await agent.llm.chat({ model: 'gpt-4o-mini', messages, maxTokens: 50 }).then(() => 'ok'));
    });
    await runtime.waitForAgent(id);
    expect(errors).toEqual([
      'agent.llm.chat({ max_tokens }): unknown option (did you mean "maxTokens"?); expected model, messages, maxTokens, temperature, signal',
      'agent.llm.chat({ maxTokenz }): unknown option (did you mean "maxTokens"?); expected model, messages, maxTokens, temperature, signal',
      'agent.llm.chat: maxTokens must be a positive whole number, got 0',
      'agent.llm.chat: model must name a model, e.g. "gpt-4o-mini"',
      'agent.llm.stream({ max_tokens }): unknown option (did you mean "maxTokens"?); expected model, messages, maxTokens, temperature, signal',
      'ok',
    ]);
    expect(runtime.getMetrics(id).calls).toBe(1);
    await runtime.close();
  });

  it('says at start when a server setting takes no effect: a token without a server, sync: false with a server, a config server over the env one', async () => {
    const said = async (options: { env: Record<string, string>; config?: Record<string, unknown> }): Promise<string[]> => {
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push((JSON.parse(line) as { msg: string }).msg) });
      const runtime = new Runtime({ env: { ...env, ...options.env }, logger, ...(options.config ? { config: options.config as never } : {}) });
      await runtime.ready().catch(() => undefined);
      await runtime.close();
      return lines;
    };
    expect(await said({ env: { IRON_TOKEN: 'iron_pat_x' } })).toContain("IRON_TOKEN is set but IRON_SERVER_URL is not: nothing is reported to a server and no server budget applies (set IRON_SERVER_URL to the server's address, e.g. http://127.0.0.1:8787)");
    expect(await said({ env: { IRON_SERVER_URL: 'http://127.0.0.1:9', IRON_TOKEN: 'iron_pat_x' }, config: { sync: false } })).toContain('IRON_SERVER_URL is set but the config says sync: false: nothing is reported to http://127.0.0.1:9');
    expect(await said({ env: { IRON_SERVER_URL: 'http://127.0.0.1:9', IRON_TOKEN: 'iron_pat_x' }, config: { sync: { server: 'http://127.0.0.1:8', token: 'iron_pat_x', offline: 'allow' } } })).toContain('sync.server in the config (http://127.0.0.1:8) wins over IRON_SERVER_URL (http://127.0.0.1:9): this runtime reports to http://127.0.0.1:8');
    expect((await said({ env: {} })).filter((line) => /IRON_|sync/.test(line))).toEqual([]);
  });

  it('threads the request and the response through the waterfalls', async () => {
    const seenByProvider: string[] = [];
    const plugin: IronPlugin = {
      name: 'shout',
      apply(runtime) {
        runtime.hooks.beforeLlmCall.tapPromise('shout', async (request) => ({
          ...request,
          messages: request.messages.map((m) => ({ ...m, parts: m.parts.map((p) => (p.type === 'text' ? { ...p, text: p.text.toUpperCase() } : p)) })),
        }));
        runtime.hooks.beforeLlmCall.tapPromise({ name: 'spy', stage: 50 }, async (request) => {
          seenByProvider.push(JSON.stringify(request.messages));
          return request;
        });
        runtime.hooks.afterLlmCall.tapPromise('suffix', async (response) => ({
          ...response,
          parts: response.parts.map((p) => (p.type === 'text' ? { ...p, text: `${p.text} [checked]` } : p)),
        }));
      },
    };
    const runtime = new Runtime({ env, logLevel: 'silent', plugins: [plugin] });
    let text = '';
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch });
      const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'quiet words' }] });
      text = answer.choices[0].message.content ?? '';
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.status).toBe('completed');
    expect(seenByProvider[0]).toContain('QUIET WORDS');
    const expected = simulatedAnswer({ format: 'openai-chat', model: 'gpt-4o-mini', stream: false, messages: [{ role: 'user', parts: [{ type: 'text', text: 'QUIET WORDS' }] }], extra: {} });
    expect(text).toBe(`${expected.text} [checked]`);
    expect(metrics.calls).toBe(1);
    expect(metrics.tokens.input).toBe(expected.usage.inputTokens);
    expect(metrics.tokens.output).toBe(expected.usage.outputTokens);
    await runtime.close();
  });

  it('turns a plugin crash into a typed error naming the plugin, and keeps running', async () => {
    const crashing: IronPlugin = {
      name: 'crashy',
      apply(runtime) {
        runtime.hooks.beforeLlmCall.tapPromise('crashy', async (request) => {
          if (request.model === 'boom') throw new TypeError('cannot read x of undefined');
          return request;
        });
      },
    };
    const runtime = new Runtime({ env, logLevel: 'silent', plugins: [crashing] });
    const errors: unknown[] = [];
    const seen: string[] = [];
    runtime.hooks.onLlmError.tap('test', (error) => void seen.push(error.code));
    const id = await runtime.startAgent(async (agent) => {
      await agent.llm.chat({ model: 'boom', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => errors.push(e));
      await agent.llm.chat({ model: 'fine', messages: [{ role: 'user', content: 'x' }] });
    });
    const metrics = await runtime.waitForAgent(id);
    expect(errors).toHaveLength(1);
    const error = errors[0] as IronError;
    expect(error).toBeInstanceOf(IronError);
    expect(error.code).toBe(IRON_PLUGIN_FAILED);
    expect(error.message).toBe('plugin "crashy" failed in beforeLlmCall: cannot read x of undefined');
    expect(seen).toEqual([IRON_PLUGIN_FAILED]);
    expect(metrics).toMatchObject({ status: 'completed', calls: 2, failedCalls: 1, errorCount: 1 }); // calls counts the failed one too
    expect(metrics.errors[0].code).toBe(IRON_PLUGIN_FAILED);
    await runtime.close();
  });

  it('lets a chunk tap hold back, release and rewrite streamed text', async () => {
    // Holds every text delta until the stream's terminator, then releases them as one upper-cased chunk.
    const holder: IronPlugin = {
      name: 'holder',
      apply(runtime) {
        runtime.hooks.onLlmStreamChunk.tap('holder', (chunks, ctx) => {
          const held = ctx.state.get('held') as LlmStreamChunk[] | undefined ?? [];
          ctx.state.set('held', held);
          const out: LlmStreamChunk[] = [];
          for (const chunk of chunks) {
            if (chunk.textDelta) held.push(chunk);
            else if (chunk.finishReason || chunk.done) {
              if (held.length) {
                const text = held.map((c) => c.textDelta).join('').toUpperCase();
                out.push({ ...held[0], raw: undefined, data: { ...(held[0].data as object), choices: [{ index: 0, delta: { content: text }, finish_reason: null }] }, textDelta: text });
                held.length = 0;
              }
              out.push(chunk);
            } else out.push(chunk);
          }
          return out;
        });
      },
    };
    const runtime = new Runtime({ env, logLevel: 'silent', plugins: [holder] });
    const deltas: string[] = [];
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch });
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hold it' }], stream: true });
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.status).toBe('completed');
    expect(deltas).toHaveLength(1);
    expect(deltas[0]).toMatch(/^SIMULATED ANSWER TO "HOLD IT"/);
    await runtime.close();
  });

  it('cuts a stream with a typed error when a chunk tap throws', async () => {
    const cutter: IronPlugin = {
      name: 'cutter',
      apply(runtime) {
        let seen = 0;
        runtime.hooks.onLlmStreamChunk.tap('cutter', (chunks) => {
          if (chunks.some((c) => c.textDelta) && ++seen === 2) throw new IronError('IRON_BUDGET_EXCEEDED', 'budget used up mid-stream');
          return chunks;
        });
      },
    };
    const runtime = new Runtime({ env, logLevel: 'silent', plugins: [cutter] });
    let caught: unknown;
    let received = '';
    const ends: boolean[] = [];
    runtime.hooks.onLlmStreamEnd.tap('test', (end) => void ends.push(end.complete));
    const id = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      try {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'long' }], stream: true });
        for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
      } catch (error) {
        caught = error;
      }
    });
    const metrics = await runtime.waitForAgent(id);
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect(String((caught as Error).message)).toContain('budget used up mid-stream');
    expect(received.length).toBeGreaterThan(0);
    expect(ends).toEqual([false]);
    expect(metrics.failedCalls).toBe(1);
    expect(metrics.errors.at(-1)?.code).toBe('IRON_BUDGET_EXCEEDED');
    await runtime.close();
  });
});

describe('Runtime agents', () => {
  it('returns a UUID, reports metrics, and refuses calls after stopAgent', async () => {
    const runtime = new Runtime({ env, logLevel: 'silent' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let afterStop: unknown;
    const id = await runtime.startAgent(async (agent) => {
      await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one' }] });
      await gate;
      afterStop = await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two' }] }).catch((e: unknown) => e);
    }, { name: 'stoppable' });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await expect.poll(() => runtime.getMetrics(id).calls).toBe(1);
    const running = runtime.getMetrics(id);
    expect(running).toMatchObject({ agentId: id, name: 'stoppable', kind: 'in-process', status: 'running', stoppedAt: null });
    const stopped = await runtime.stopAgent(id);
    release();
    await expect.poll(() => afterStop).toBeInstanceOf(IronError);
    expect((afterStop as IronError).code).toBe(IRON_AGENT_STOPPED);
    expect(stopped.status).toBe('stopped');
    expect(stopped.stoppedAt).not.toBeNull();
    expect(runtime.getMetrics(id)).toMatchObject({ calls: 2, failedCalls: 1 }); // the refused call after the stop counts, as failed
    await runtime.close();
  });

  it('marks an agent that throws as failed with its error', async () => {
    const runtime = new Runtime({ env, logLevel: 'silent' });
    const id = await runtime.startAgent(async () => {
      throw new Error('agent bug');
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.status).toBe('failed');
    expect(metrics.errors.at(-1)).toMatchObject({ code: 'IRON_AGENT_FAILED', message: 'agent bug' });
    await runtime.close();
  });

  it('rejects unknown agent ids with a typed error', () => {
    const runtime = new Runtime({ env, logLevel: 'silent' });
    expect(() => runtime.getMetrics('nope')).toThrowError(expect.objectContaining({ code: IRON_AGENT_NOT_FOUND }));
  });

  it('emits AgentStarted, LlmCallCompleted and AgentStopped in order', async () => {
    const runtime = new Runtime({ env, logLevel: 'silent' });
    const types: string[] = [];
    runtime.events.onAny((event) => types.push(event.type));
    const id = await runtime.startAgent(async (agent) => {
      for await (const _ of agent.llm.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stream' }] }));
    });
    await runtime.waitForAgent(id);
    expect(types).toEqual(['AgentStarted', 'LlmCallCompleted', 'AgentStopped']);
    await runtime.close();
  });

  it('streams text and the final result through agent.llm', async () => {
    const runtime = new Runtime({ env, logLevel: 'silent' });
    let pieces: string[] = [];
    let final = '';
    const id = await runtime.startAgent(async (agent) => {
      const stream = agent.llm.stream({ model: 'claude-sonnet-4-6', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }] });
      for await (const text of stream) pieces.push(text);
      final = (await stream.result).text;
    });
    const metrics = await runtime.waitForAgent(id);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(final);
    expect(final).toMatch(/^Simulated answer to "hello"/);
    expect(metrics.tokens.output).toBeGreaterThan(0);
    await runtime.close();
  });

  it('validates the budget given to the constructor', () => {
    expect(() => new Runtime({ budget: -1 })).toThrowError('budget: expected a number of USD from 0.000001 to 1e9, got -1');
    expect(() => new Runtime({ budget: Number('ten') })).toThrowError('budget: expected a number of USD from 0.000001 to 1e9, got NaN');
  });

  it('refuses unknown options and plugin sections given at the top level, naming the key (they left a guard off silently)', () => {
    const build = (options: unknown) => () => new Runtime(options as never);
    expect(build({ budgett: 5 })).toThrowError('new Runtime({ budgett }): unknown option (did you mean "budget"?); expected one of budget, config,');
    expect(build({ budget: { limit: 1, total: 3 } })).toThrowError('new Runtime({ budget }): budget is the USD per agent, a number (new Runtime({ budget: 5 })); the YAML shape goes under config: new Runtime({ config: { budget: {"limit":1,"total":3} } })');
    expect(build({ budget: 5, safety: {} })).toThrowError('new Runtime({ safety }): plugin sections go under config: new Runtime({ config: { safety: { … } } })');
    expect(build({ plugins: ['safety'] })).toThrowError('plugins[0]: expected a plugin object { name, apply(runtime) }, got "safety"; the built-in safety plugin is turned on with new Runtime({ config: { safety: {} } })');
    expect(build({ plugins: [null] })).toThrowError('plugins[0]: expected a plugin object { name, apply(runtime) }, got null');
    try {
      build({ reliability: {} })();
    } catch (error) {
      expect(error).toMatchObject({ code: 'IRON_CONFIG_INVALID', path: 'reliability' });
    }
    expect(build({ budget: undefined, logLevel: 'silent' })).not.toThrow();
    // An inline config is checked like a file: a misspelled key or a budget given as a number is not silently ignored.
    expect(build({ config: { budget: { limitt: 5 } } })).toThrowError('new Runtime({ config }): budget.limitt: unknown key (did you mean "limit"?)');
    expect(build({ config: { budget: 0.000001 } })).toThrowError(/new Runtime\(\{ config \}\): budget: expected/);
    expect(build({ config: { safty: {} } })).toThrowError(/new Runtime\(\{ config \}\): safty: unknown key \(did you mean "safety"\?\)/);
  });
});
