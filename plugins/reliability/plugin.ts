// The reliability plugin: wraps the provider send (STAGE.reliability, innermost) with a fallback chain; each model
// in it gets a bulkhead, retries with backoff and a circuit breaker (cockatiel), and a per-attempt timeout.
import { BrokenCircuitError, BulkheadRejectedError, bulkhead, DelegateBackoff, handleWhen, retry, type BulkheadPolicy, type RetryPolicy } from 'cockatiel';
import type { Logger } from 'pino';
import type { AgentInfo, LlmCallContext, LlmResult, LlmSend } from '../../core/context.ts';
import { ConfigError, IronError, LlmError, toIronError, IRON_CIRCUIT_OPEN, IRON_PROVIDER_BUSY, IRON_TIMEOUT } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { ApiFormat, LlmRequest, LlmStreamChunk } from '../../core/llm/types.ts';
import { providerSpeaks, type ResolvedProvider } from '../../core/providers/routing.ts';
import { createStreamTranslator, translateRequest, translateResponse } from '../../core/providers/translate.ts';
import type { Runtime } from '../../core/runtime.ts';
import { BreakerRegistry } from './breakers.ts';
import { isContextLength, isRetryable, retryAfterMs, shouldFailOver } from './classify.ts';
import './events.ts';
import { resolveOptions, type ReliabilityOptions, type ResolvedReliability } from './options.ts';
import { primeStream } from './stream-guard.ts';
import { globToRegExp } from '../../core/glob.ts';

const NAME = 'reliability';

/** What the plugin counts per agent (in `agent.store`). */
class AgentReliability {
  attempts = 0;
  retries = 0;
  fallbacks = 0;
  failFast = 0;
}

interface Route {
  provider: ResolvedProvider;
  model: string;
}

/** Rejects with the signal's reason once it aborts: cockatiel's retry delay does not listen to signals. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export class ReliabilityGuard {
  readonly #runtime: Runtime;
  readonly #options: ResolvedReliability;
  readonly #fallbacks: Array<{ pattern: RegExp; chain: string[] }>;
  readonly #contextFallbacks: Array<{ pattern: RegExp; chain: string[] }>;
  readonly #breakers: BreakerRegistry;
  readonly #bulkheads = new Map<string, BulkheadPolicy>();
  readonly #retry: RetryPolicy;
  readonly #logger: Logger;
  readonly #lastDelay = new WeakMap<AbortSignal, { delayMs: number; reason: string }>();

  constructor(runtime: Runtime, options: ReliabilityOptions, file?: string) {
    this.#runtime = runtime;
    this.#options = resolveOptions(options);
    this.#logger = runtime.logger.child({ plugin: NAME });
    this.#check(options, file);
    const chains = (record: Record<string, string[]> | undefined) => Object.entries(record ?? {}).map(([glob, chain]) => ({ pattern: globToRegExp(glob), chain }));
    this.#fallbacks = chains(options.fallbacks);
    this.#contextFallbacks = chains(options.contextFallbacks);
    this.#breakers = new BreakerRegistry(this.#options, {
      opened: (key, failure) => {
        const reason = failure instanceof Error ? failure.message : 'failure rate over the threshold';
        this.#logger.warn({ ...key, cooldownMs: this.#options.cooldownMs }, `circuit opened for ${key.provider}/${key.model}: ${reason}`);
        runtime.events.emit({ type: 'CircuitOpened', time: Date.now(), ...key, cooldownMs: this.#options.cooldownMs, reason });
      },
      closed: (key) => {
        this.#logger.info(key, `circuit closed for ${key.provider}/${key.model}`);
        runtime.events.emit({ type: 'CircuitClosed', time: Date.now(), ...key });
      },
    });
    for (const [provider, cap] of Object.entries(options.bulkhead ?? {})) this.#bulkheads.set(provider, bulkhead(cap.maxConcurrent, cap.maxQueue ?? 0));
    const { initialDelayMs, maxDelayMs, maxRetryAfterMs } = this.#options;
    // Exponential backoff with full jitter; a provider's Retry-After is a floor. A Retry-After longer than we
    // are willing to wait is not retried here: the call fails over instead.
    const backoff = new DelegateBackoff<{ attempt: number; signal: AbortSignal; result: { error: unknown } | { value: unknown } }>((context) => {
      const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** (context.attempt - 1));
      const jitter = Math.random() * ceiling;
      const after = 'error' in context.result ? retryAfterMs(context.result.error) : undefined;
      const delay = Math.max(jitter, after ?? 0);
      // The policy is shared by concurrent calls: remember this call's delay by its signal, for CallRetried.
      this.#lastDelay.set(context.signal, { delayMs: delay, reason: 'error' in context.result && context.result.error instanceof Error ? context.result.error.message : 'failed' });
      return delay;
    });
    this.#retry = retry(
      handleWhen((error) => isRetryable(error) && (retryAfterMs(error) ?? 0) <= maxRetryAfterMs),
      { maxAttempts: this.#options.maxAttempts - 1, backoff: backoff as never },
    );
  }

  /** Contradictory settings are config errors naming the key. */
  #check(options: ReliabilityOptions, file?: string): void {
    const at = (path: string) => `${file ? `${file}: ` : ''}reliability.${path}`;
    const { attemptMs, deadlineMs, firstTokenMs } = this.#options;
    if (attemptMs > deadlineMs) throw new ConfigError(`${at('timeouts.attemptMs')}: ${attemptMs} ms is longer than timeouts.deadlineMs (${deadlineMs} ms): one attempt could never finish; lower it or raise the deadline`, { path: 'reliability.timeouts.attemptMs' });
    if (firstTokenMs > deadlineMs) throw new ConfigError(`${at('timeouts.firstTokenMs')}: ${firstTokenMs} ms is longer than timeouts.deadlineMs (${deadlineMs} ms)`, { path: 'reliability.timeouts.firstTokenMs' });
    for (const key of ['fallbacks', 'contextFallbacks'] as const) {
      for (const [model, chain] of Object.entries(options[key] ?? {})) {
        chain.forEach((entry, i) => {
          const slash = entry.indexOf('/');
          if (slash <= 0) return;
          const name = entry.slice(0, slash);
          const served = this.#runtime.providers.get(name) || this.#runtime.providers.list().some((p) => p.models.some((pattern) => pattern.test(entry)));
          if (!served) {
            const known = this.#runtime.providers.list().map((p) => p.name).join(', ');
            throw new ConfigError(`${at(`${key}.${model}[${i}]`)}: provider "${name}" is not configured (known: ${known}); add it under providers: or fix the name`, { path: `reliability.${key}.${model}` });
          }
        });
      }
    }
    for (const name of Object.keys(options.bulkhead ?? {})) {
      if (!this.#runtime.providers.get(name)) throw new ConfigError(`${at(`bulkhead.${name}`)}: no provider "${name}" is configured`, { path: `reliability.bulkhead.${name}` });
    }
  }

  apply(): void {
    const { hooks } = this.#runtime;
    hooks.wrapLlmSend.tap({ name: NAME, stage: STAGE.reliability }, (send) => (request, ctx) => this.execute(send, request, ctx));
    hooks.metrics.tap({ name: NAME, stage: STAGE.reliability }, (metrics, agent) => {
      const stats = this.#agent(agent);
      return { ...metrics, plugins: { ...metrics.plugins, reliability: { attempts: stats.attempts, retries: stats.retries, fallbacks: stats.fallbacks, failedFast: stats.failFast, breakers: this.#breakers.states() } } };
    });
  }

  #agent(agent: AgentInfo): AgentReliability {
    return agent.store(NAME, () => new AgentReliability());
  }

  /** The models to try for `model`: itself, then its fallback chain. */
  #chain(model: string, table = this.#fallbacks): string[] {
    return table.find(({ pattern }) => pattern.test(model))?.chain ?? [];
  }

  #resolve(target: string): Route {
    const { providers } = this.#runtime;
    const route = providers.route(target, providers.nativeFormat(target));
    return { provider: route.provider, model: route.model };
  }

  /** The format to speak to `provider`: the agent's own when the provider understands it. */
  #formatFor(provider: ResolvedProvider, format: ApiFormat): ApiFormat {
    if (provider.type === 'simulated' || providerSpeaks(provider.type, format)) return format;
    return provider.type === 'anthropic' ? 'anthropic-messages' : 'openai-chat';
  }

  /** The wrapped send: the primary route, then each fallback, until one answers or a failure cannot be helped. */
  async execute(send: LlmSend, request: LlmRequest, ctx: LlmCallContext): Promise<LlmResult> {
    const stats = this.#agent(ctx.agent);
    // The deadline's signal also follows the call's own (cheaper than AbortSignal.any on every call).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new LlmError(IRON_TIMEOUT, `no answer within reliability.timeouts.deadlineMs (${this.#options.deadlineMs} ms), retries and fallbacks included`)), this.#options.deadlineMs);
    timer.unref();
    const follow = () => deadline.abort(ctx.signal.reason);
    if (ctx.signal.aborted) follow();
    else ctx.signal.addEventListener('abort', follow, { once: true });
    const callSignal = deadline.signal;
    let targets: Array<Route | string> = [{ provider: ctx.provider, model: request.model }, ...this.#chain(request.model)];
    let usedContextChain = false;
    let previous = `${ctx.provider.name}/${request.model}`;
    let lastError: unknown;
    try {
      for (let i = 0; i < targets.length; i++) {
        const target = targets[i]!;
        const route = typeof target === 'string' ? this.#resolve(target) : target;
        let attempt = request;
        if (i > 0) {
          const format = this.#formatFor(route.provider, request.format);
          attempt = format === request.format ? request : translateRequest(request, format).request;
          attempt = { ...attempt, model: route.model };
          ctx.provider = route.provider;
          stats.fallbacks++;
          const reason = lastError instanceof Error ? lastError.message : 'failed';
          this.#runtime.events.emit({ type: 'FallbackTaken', time: Date.now(), agentId: ctx.agent.agentId, callId: ctx.callId, from: previous, to: `${route.provider.name}/${route.model}`, reason });
          ctx.logger.warn({ callId: ctx.callId, from: previous, to: `${route.provider.name}/${route.model}` }, `falling back: ${reason}`);
          attempt = await this.#runtime.hooks.rerouteLlmCall.promise(attempt, ctx);
        }
        previous = `${route.provider.name}/${route.model}`;
        try {
          const result = await untilAborted(this.#tryRoute(send, attempt, ctx, route, callSignal, stats), callSignal);
          ctx.provider = route.provider;
          return this.#toAgentFormat(result, request.format, attempt.format, attempt.model);
        } catch (error) {
          lastError = error;
          if (ctx.signal.aborted) throw error;
          if (deadline.signal.aborted) throw deadline.signal.reason;
          if (isContextLength(error) && !usedContextChain) {
            // Only a larger context helps: switch to the context chain, if one is configured.
            usedContextChain = true;
            targets = [...targets.slice(0, i + 1), ...this.#chain(route.model, this.#contextFallbacks)];
            continue;
          }
          if (!shouldFailOver(error)) throw error;
        }
      }
      throw lastError;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', follow);
    }
  }

  /** One route: bulkhead → retries → breaker → attempt (with its timeout). */
  async #tryRoute(send: LlmSend, request: LlmRequest, ctx: LlmCallContext, route: Route, callSignal: AbortSignal, stats: AgentReliability): Promise<LlmResult> {
    const breaker = this.#breakers.get(route.provider.name, route.model);
    const run = () =>
      this.#retry.execute(async ({ attempt }) => {
        if (attempt > 0) {
          stats.retries++;
          const last = this.#lastDelay.get(callSignal) ?? { delayMs: 0, reason: 'failed' };
          this.#runtime.events.emit({ type: 'CallRetried', time: Date.now(), agentId: ctx.agent.agentId, callId: ctx.callId, provider: route.provider.name, model: route.model, attempt: attempt + 1, delayMs: Math.round(last.delayMs), reason: last.reason });
        }
        stats.attempts++;
        const started = performance.now();
        try {
          return await breaker.execute(() => this.#attempt(send, request, ctx, route, callSignal));
        } catch (error) {
          if (error instanceof BrokenCircuitError) {
            stats.failFast++;
            throw new IronError(IRON_CIRCUIT_OPEN, `the circuit for ${route.provider.name}/${route.model} is open after repeated failures: calls fail fast for up to ${this.#options.cooldownMs} ms (reliability.breaker.cooldownMs), then one probe call is let through. Configure reliability.fallbacks to be served meanwhile`, {
              details: { provider: route.provider.name, model: route.model, failedInMs: performance.now() - started },
            });
          }
          throw error;
        }
      }, callSignal);
    const cap = this.#bulkheads.get(route.provider.name);
    if (!cap) return run();
    try {
      return await cap.execute(run, callSignal);
    } catch (error) {
      if (error instanceof BulkheadRejectedError) {
        throw new IronError(IRON_PROVIDER_BUSY, `provider "${route.provider.name}" has reliability.bulkhead.${route.provider.name}.maxConcurrent calls in flight and its queue is full: try again shortly`, { details: { provider: route.provider.name } });
      }
      throw error;
    }
  }

  /** One attempt under the per-attempt timeout; a stream counts as answered once its first content arrived. */
  async #attempt(send: LlmSend, request: LlmRequest, ctx: LlmCallContext, route: Route, callSignal: AbortSignal): Promise<LlmResult> {
    // Aborted by the call (agent gone, runtime closing) for the whole life of a stream, by the deadline until the
    // answer starts, and by this attempt's own timeouts. The attempt gives up at once on a timeout or a deadline,
    // whether or not the provider's send heeds the abort (one timer and two listeners: this runs on every call).
    // The caller also races the call signal (`untilAborted`), but this attempt must settle too: until it does, its
    // bulkhead slot stays taken and the breaker has no outcome for it.
    const upstream = new AbortController();
    const abort = () => upstream.abort();
    let stop!: (error: unknown) => void;
    const stopped = new Promise<never>((_resolve, reject) => (stop = reject));
    stopped.catch(() => undefined);
    const onCallAbort = () => {
      upstream.abort();
      stop(toIronError(callSignal.reason));
    };
    if (ctx.signal.aborted) abort();
    if (callSignal.aborted) onCallAbort();
    ctx.signal.addEventListener('abort', abort, { once: true });
    callSignal.addEventListener('abort', onCallAbort, { once: true });
    const timer = setTimeout(() => {
      upstream.abort();
      stop(new LlmError(IRON_TIMEOUT, `provider "${route.provider.name}" did not answer ${route.model} within ${this.#options.attemptMs} ms (reliability.timeouts.attemptMs)`, { details: { provider: route.provider.name } }));
    }, this.#options.attemptMs);
    const attemptCtx: LlmCallContext = { ...ctx, provider: route.provider, signal: upstream.signal };
    const unlink = () => {
      ctx.signal.removeEventListener('abort', abort);
      callSignal.removeEventListener('abort', onCallAbort);
    };
    const answer = async (): Promise<LlmResult> => {
      const result = await send(request, attemptCtx);
      if (result.type !== 'stream') return result;
      const chunks = await primeStream(result.chunks, { firstTokenMs: this.#options.firstTokenMs, idleMs: this.#options.idleMs, provider: route.provider.name, abort, onEnd: unlink });
      return { type: 'stream', chunks };
    };
    try {
      const result = await Promise.race([answer(), stopped]);
      if (result.type === 'response') unlink();
      return result;
    } catch (error) {
      unlink();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A fallback that spoke another format answers in the agent's format. */
  #toAgentFormat(result: LlmResult, agentFormat: ApiFormat, usedFormat: ApiFormat, model: string): LlmResult {
    if (agentFormat === usedFormat) return result;
    if (result.type === 'response') return { type: 'response', response: translateResponse(result.response, agentFormat) };
    const translator = createStreamTranslator(usedFormat, agentFormat, model);
    const source = result.chunks;
    return {
      type: 'stream',
      chunks: (async function* (): AsyncGenerator<LlmStreamChunk> {
        for await (const chunk of source) yield* translator.push(chunk);
      })(),
    };
  }
}
