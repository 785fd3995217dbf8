// The reliability plugin: wraps the provider send (STAGE.reliability, innermost) with a fallback chain; each model
// in it gets a bulkhead, retries with backoff and a circuit breaker (cockatiel), and a per-attempt timeout.
import { BrokenCircuitError, BulkheadRejectedError, bulkhead, DelegateBackoff, handleWhen, retry, type BulkheadPolicy, type RetryPolicy } from 'cockatiel';
import type { Logger } from 'pino';
import type { AgentInfo, LlmCallContext, LlmResult, LlmSend, StreamRecovery } from '../../core/context.ts';
import { ConfigError, IronError, LlmError, toIronError, IRON_CIRCUIT_OPEN, IRON_PROVIDER_BUSY, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { ApiFormat, LlmRequest, LlmStreamChunk } from '../../core/llm/types.ts';
import { emptyUsage } from '../../core/llm/types.ts';
import { readToEnd, takeQueued, type QueuedChunks } from '../../core/llm/queued-chunks.ts';
import { providerSpeaks, type ResolvedProvider } from '../../core/providers/routing.ts';
import { createStreamTranslator, translateRequest, translateResponse } from '../../core/providers/translate.ts';
import type { Runtime } from '../../core/runtime.ts';
import { BreakerRegistry } from './breakers.ts';
import { isContentPolicy, isContextLength, isRetryable, isTimeout, retryAfterMs, shouldFailOver } from './classify.ts';
import './events.ts';
import { resolveOptions, type ReliabilityOptions, type ResolvedReliability } from './options.ts';
import { continuationRequest, DeliveredAnswer, spliced, type RecoveryStrategy } from './recover.ts';
import { DONE, primeStream } from './stream-guard.ts';
import { globToRegExp } from '../../core/glob.ts';

const NAME = 'reliability';

/** What the plugin counts per agent (in `agent.store`). */
class AgentReliability {
  attempts = 0;
  retries = 0;
  fallbacks = 0;
  failFast = 0;
  /** Broken streams continued by another attempt. */
  recoveries = 0;
}

/** A retry the deadline has no room for once a fallback is kept in reserve: the route gives up, the chain goes on. */
class SkipToFallback extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super('no time left for a retry: trying the fallback');
    this.cause = cause;
  }
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
  readonly #contentPolicyFallbacks: Array<{ pattern: RegExp; chain: string[] }>;
  readonly #streamRecovery: Record<string, RecoveryStrategy>;
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
    this.#contentPolicyFallbacks = chains(options.contentPolicyFallbacks);
    this.#streamRecovery = options.streamRecovery ?? {};
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
      // A timed-out attempt fails over by default: a silent provider costs one timeout, not maxAttempts of them.
      handleWhen((error) => isRetryable(error) && (retryAfterMs(error) ?? 0) <= maxRetryAfterMs && !(this.#options.onTimeout === 'failover' && isTimeout(error))),
      { maxAttempts: this.#options.maxAttempts - 1, backoff: backoff as never },
    );
  }

  /** Contradictory settings are config errors naming the key. */
  #check(options: ReliabilityOptions, file?: string): void {
    const at = (path: string) => `${file ? `${file}: ` : ''}reliability.${path}`;
    const { attemptMs, deadlineMs, firstTokenMs } = this.#options;
    if (attemptMs > deadlineMs) throw new ConfigError(`${at('timeouts.attemptMs')}: ${attemptMs} ms is longer than timeouts.deadlineMs (${deadlineMs} ms): one attempt could never finish; lower it or raise the deadline`, { path: 'reliability.timeouts.attemptMs' });
    if (firstTokenMs > deadlineMs) throw new ConfigError(`${at('timeouts.firstTokenMs')}: ${firstTokenMs} ms is longer than timeouts.deadlineMs (${deadlineMs} ms)`, { path: 'reliability.timeouts.firstTokenMs' });
    if (Object.keys(options.fallbacks ?? {}).length > 0) {
      // A fallback is only worth configuring if the deadline leaves time to try it after the primary timed out.
      const { maxAttempts, onTimeout } = this.#options;
      const primary = onTimeout === 'retry' ? maxAttempts : 1;
      const needed = (primary + 1) * attemptMs;
      if (needed > deadlineMs) {
        const how = onTimeout === 'retry' ? `${maxAttempts} attempts (retries.maxAttempts, retries.onTimeout: retry)` : 'one attempt';
        throw new ConfigError(`${at('timeouts.deadlineMs')}: ${deadlineMs} ms cannot hold ${how} of timeouts.attemptMs (${attemptMs} ms) on the primary model and one on its fallback (${needed} ms): raise deadlineMs, lower attemptMs${onTimeout === 'retry' ? ' or maxAttempts, or use retries.onTimeout: failover' : ''}`, { path: 'reliability.timeouts.deadlineMs' });
      }
    }
    for (const key of ['fallbacks', 'contextFallbacks', 'contentPolicyFallbacks'] as const) {
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
      return { ...metrics, plugins: { ...metrics.plugins, reliability: { attempts: stats.attempts, retries: stats.retries, fallbacks: stats.fallbacks, failedFast: stats.failFast, recoveries: stats.recoveries, breakers: this.#breakers.states() } } };
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
    const deadline = this.#deadline(ctx);
    let targets: Array<Route | string> = [{ provider: ctx.provider, model: request.model }, ...this.#chain(request.model)];
    let usedContextChain = false;
    let usedPolicyChain = false;
    let previous = `${ctx.provider.name}/${request.model}`;
    let lastError: unknown;
    try {
      for (let i = 0; i < targets.length; i++) {
        const target = targets[i]!;
        const route = typeof target === 'string' ? this.#resolve(target) : target;
        let attempt = request;
        if (i > 0) {
          attempt = await this.#reroute(request, ctx, route, previous, lastError, 'rerouteLlmCall');
          stats.fallbacks++;
        }
        previous = `${route.provider.name}/${route.model}`;
        try {
          const keepForFallback = i + 1 < targets.length ? this.#options.attemptMs : 0;
          const result = await untilAborted(this.#tryRoute(send, attempt, ctx, route, deadline, stats, keepForFallback), deadline.signal);
          ctx.provider = route.provider;
          const answer = this.#toAgentFormat(result, request.format, attempt.format, attempt.model);
          if (answer.type !== 'stream') return answer;
          // Later attempts of a broken stream: the same model once more, then the rest of the chain.
          const rest = [...(this.#options.maxAttempts > 1 ? [route] : []), ...targets.slice(i + 1).map((t) => (typeof t === 'string' ? this.#resolve(t) : t))];
          return { type: 'stream', chunks: this.#recovering(answer.chunks, send, request, ctx, rest, previous, stats) };
        } catch (caught) {
          const error = caught instanceof SkipToFallback ? caught.cause : caught;
          lastError = error;
          if (ctx.signal.aborted) throw error;
          if (deadline.signal.aborted) throw deadline.signal.reason;
          if (isContextLength(error) && !usedContextChain) {
            // Only a larger context helps: switch to the context chain, if one is configured.
            usedContextChain = true;
            targets = [...targets.slice(0, i + 1), ...this.#chain(route.model, this.#contextFallbacks)];
            continue;
          }
          if (isContentPolicy(error) && !usedPolicyChain && this.#chain(route.model, this.#contentPolicyFallbacks).length > 0) {
            // Opted in (reliability.contentPolicyFallbacks): the refusal is not the answer; try the chain set for it.
            usedPolicyChain = true;
            targets = [...targets.slice(0, i + 1), ...this.#chain(route.model, this.#contentPolicyFallbacks)];
            continue;
          }
          if (!shouldFailOver(error)) throw error;
        }
      }
      throw lastError;
    } finally {
      deadline.clear();
    }
  }

  /** The call's deadline (`deadlineMs` from now), which also follows the call's own signal. */
  #deadline(ctx: LlmCallContext): { signal: AbortSignal; at: number; clear: () => void } {
    // Cheaper than AbortSignal.any on every call.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new LlmError(IRON_TIMEOUT, `no answer within reliability.timeouts.deadlineMs (${this.#options.deadlineMs} ms), retries and fallbacks included`)), this.#options.deadlineMs);
    timer.unref();
    const follow = () => controller.abort(ctx.signal.reason);
    if (ctx.signal.aborted) follow();
    else ctx.signal.addEventListener('abort', follow, { once: true });
    return {
      signal: controller.signal,
      at: Date.now() + this.#options.deadlineMs,
      clear: () => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', follow);
      },
    };
  }

  /** `request` for another route (a fallback): in its provider's format, announced, and re-checked by the plugins' hook. */
  async #reroute(request: LlmRequest, ctx: LlmCallContext, route: Route, previous: string, lastError: unknown, hook: 'rerouteLlmCall'): Promise<LlmRequest>;
  async #reroute(request: LlmRequest, ctx: LlmCallContext, route: Route, previous: string, lastError: unknown, hook: 'none'): Promise<LlmRequest>;
  async #reroute(request: LlmRequest, ctx: LlmCallContext, route: Route, previous: string, lastError: unknown, hook: 'rerouteLlmCall' | 'none'): Promise<LlmRequest> {
    const format = this.#formatFor(route.provider, request.format);
    let attempt = format === request.format ? request : translateRequest(request, format).request;
    attempt = { ...attempt, model: route.model };
    const to = `${route.provider.name}/${route.model}`;
    ctx.provider = route.provider;
    if (to !== previous) {
      const reason = lastError instanceof Error ? lastError.message : 'failed';
      this.#runtime.events.emit({ type: 'FallbackTaken', time: Date.now(), agentId: ctx.agent.agentId, callId: ctx.callId, from: previous, to, reason });
      ctx.logger.warn({ callId: ctx.callId, from: previous, to }, `falling back: ${reason}`);
    }
    return hook === 'rerouteLlmCall' ? this.#runtime.hooks.rerouteLlmCall.promise(attempt, ctx) : attempt;
  }

  /** How a broken stream from `provider` is continued (reliability.streamRecovery). */
  #strategyFor(provider: ResolvedProvider): RecoveryStrategy {
    return this.#streamRecovery[provider.name] ?? (provider.type === 'anthropic' || provider.type === 'simulated' ? 'continuation' : 'replay');
  }

  /**
   * The agent's stream, passed on chunk by chunk (bytes unchanged). When it breaks after content reached the agent —
   * cut, stalled past idleMs, a malformed event, an error event — the answer is continued on `rest` (the same model
   * once more, then the fallbacks), each by its provider's strategy, and the agent reads one answer. When nothing
   * can continue it, the stream ends with the first break's error.
   *
   * The first attempt, which almost every stream is, passes through a hand-written iterator (a generator layer costs
   * more per event than following the answer); a break hands the rest of the stream to `#continued`.
   */
  #recovering(stream: AsyncIterable<LlmStreamChunk>, send: LlmSend, request: LlmRequest, ctx: LlmCallContext, rest: Route[], previous: string, stats: AgentReliability): AsyncIterableIterator<LlmStreamChunk> {
    const answer = new DeliveredAnswer(request.format);
    // Several choices (Chat's n) are several answers: none is continued, and one finish does not end them all.
    const n = (request.extra as Record<string, unknown>).n;
    const severalChoices = typeof n === 'number' && n > 1;
    if (severalChoices) answer.unsplicable = 'the request asks for several choices (n)';
    // Bounded: the same model once more and each fallback once, whatever keeps breaking (each stall costs idleMs);
    // a route whose answer cannot continue this one (a replay that says something else) is not asked again.
    const attempts: RecoveryAttempts = { answer, severalChoices, queue: [...rest], previous, current: '', failure: undefined, budget: { attemptsLeft: rest.length, exhausted: new Set<string>() } };
    return new UntilBroken(
      stream,
      (chunk) => this.#judge(chunk, answer, request, ctx, severalChoices),
      () => this.#endedEarly(answer, ctx),
      (error) => this.#caught(error, attempts),
      (broken) => this.#continued(broken, send, request, ctx, stats, attempts),
    );
  }

  /** One chunk of an attempt: passed on (and followed), the end of the answer, or the error that broke it. */
  #judge(chunk: LlmStreamChunk, answer: DeliveredAnswer, request: LlmRequest, ctx: LlmCallContext, severalChoices: boolean): 'pass' | 'end' | LlmError {
    // An error after the finish reason: the answer is whole; the caller completes it by the protocol.
    if (chunk.error && answer.finishReason !== undefined && request.format !== 'openai-responses' && !severalChoices) return 'end';
    if (chunk.error && answer.started && !answer.unsplicable && answer.finishReason === undefined) {
      return new LlmError(IRON_STREAM_INTERRUPTED, `provider "${ctx.provider.name}" reported an error mid-stream: ${chunk.error.message}`, { details: { provider: ctx.provider.name, type: chunk.error.type } });
    }
    answer.add(chunk);
    return 'pass';
  }

  /** An attempt's stream ended: without its terminator, the caller judges a finished answer by its protocol; an unfinished one broke. */
  #endedEarly(answer: DeliveredAnswer, ctx: LlmCallContext): LlmError | undefined {
    if (answer.finishReason !== undefined || !answer.started) return undefined;
    return new LlmError(IRON_STREAM_INTERRUPTED, `provider "${ctx.provider.name}" ended the stream before its terminator`, { details: { provider: ctx.provider.name } });
  }

  /** An attempt's stream threw: that is its break (and a route that cannot continue this answer is not asked again). */
  #caught(error: unknown, attempts: RecoveryAttempts): unknown {
    if (error instanceof LlmError && error.details?.cannotContinue === true) {
      attempts.budget.exhausted.add(attempts.current);
      // What the agent is told at the end: why the answer could not go on, rather than the first break.
      attempts.failure = error;
    }
    return error;
  }

  /** The rest of a stream after its first break: continued attempts, each read as the first was, until one ends it. */
  async *#continued(firstBreak: unknown, send: LlmSend, request: LlmRequest, ctx: LlmCallContext, stats: AgentReliability, attempts: RecoveryAttempts): AsyncGenerator<LlmStreamChunk> {
    const { answer, severalChoices } = attempts;
    let broken: unknown = firstBreak;
    for (;;) {
      attempts.failure ??= broken;
      // The finish reason had arrived: the answer is whole, only its tail (usage, terminator) broke off — the caller
      // judges it complete by the protocol.
      if (answer.finishReason !== undefined && !ctx.signal.aborted && !severalChoices) return;
      if (ctx.signal.aborted || answer.unsplicable || !isRetryable(broken)) {
        if (answer.unsplicable && !ctx.signal.aborted) ctx.logger.warn({ callId: ctx.callId }, `stream broke and is not continued: ${answer.unsplicable}`);
        throw broken;
      }
      const next = await this.#continue(send, request, ctx, answer, attempts.queue, attempts.previous, broken, stats, attempts.budget);
      if (!next) throw attempts.failure;
      attempts.previous = next.previous;
      attempts.current = next.key;
      attempts.queue = next.queue;
      broken = undefined;
      try {
        for await (const chunk of next.source) {
          const verdict = this.#judge(chunk, answer, request, ctx, severalChoices);
          if (verdict === 'end') return;
          if (verdict !== 'pass') {
            broken = verdict;
            break;
          }
          yield chunk;
          if (chunk.done) return;
        }
        if (broken === undefined) {
          broken = this.#endedEarly(answer, ctx);
          if (broken === undefined) return;
        }
      } catch (error) {
        broken = this.#caught(error, attempts);
      }
    }
  }

  /** The next attempt that continues `answer`, or undefined when none could (the routes are used up). */
  async #continue(
    send: LlmSend,
    request: LlmRequest,
    ctx: LlmCallContext,
    answer: DeliveredAnswer,
    routes: Route[],
    previous: string,
    broken: unknown,
    stats: AgentReliability,
    budget: { attemptsLeft: number; exhausted: Set<string> },
  ): Promise<{ source: AsyncIterable<LlmStreamChunk>; previous: string; queue: Route[]; key: string } | undefined> {
    const queue: Array<{ route: Route; strategy?: 'replay' }> = routes.map((route) => ({ route }));
    let lastError = broken;
    while (queue.length > 0 && budget.attemptsLeft > 0) {
      const { route, strategy: forced } = queue.shift()!;
      const strategy = forced ?? this.#strategyFor(route.provider);
      if (strategy === 'off') continue;
      const key = `${route.provider.name}/${route.model}/${strategy}`;
      if (budget.exhausted.has(key)) continue;
      budget.attemptsLeft--;
      const deadline = this.#deadline(ctx);
      try {
        let attempt = await this.#reroute(continuationRequest(request, answer.text, strategy), ctx, route, previous, lastError, 'none');
        const recovery: StreamRecovery = { error: lastError instanceof Error ? lastError : new Error(String(lastError)), deliveredText: answer.text, strategy };
        // Cost bills the broken attempt and reserves this one; a refusal ends the stream honestly.
        attempt = await this.#runtime.hooks.recoverLlmStream.promise(attempt, ctx, recovery);
        ctx.logger.warn({ callId: ctx.callId, to: `${route.provider.name}/${route.model}`, strategy, delivered: answer.text.length }, `continuing a broken stream (${strategy}): ${recovery.error.message}`);
        this.#runtime.events.emit({ type: 'StreamRecovered', time: Date.now(), agentId: ctx.agent.agentId, callId: ctx.callId, provider: route.provider.name, model: route.model, strategy, deliveredChars: answer.text.length, reason: recovery.error.message });
        stats.recoveries++;
        const result = await untilAborted(this.#tryRoute(send, attempt, ctx, route, deadline, stats, 0), deadline.signal);
        // The answer started: from here the idle window governs it, not the deadline.
        deadline.clear();
        if (result.type !== 'stream') throw new LlmError(IRON_STREAM_INTERRUPTED, `provider "${route.provider.name}" answered the continuation without a stream`);
        const chunks = this.#toAgentFormat(result, request.format, attempt.format, attempt.model);
        const ignored = () => ctx.logger.warn({ callId: ctx.callId, provider: route.provider.name }, `provider "${route.provider.name}" ignored the assistant prefill and started the answer over: its repeat of the delivered text was dropped (set reliability.streamRecovery.${route.provider.name}: replay)`);
        const source = spliced((chunks as { chunks: AsyncIterable<LlmStreamChunk> }).chunks, answer, strategy, recovery.billedUsage ?? emptyUsage(), route.provider.name, ignored);
        // Should this attempt break too: the routes not yet asked (each route continues an answer once).
        return { source, previous: `${route.provider.name}/${route.model}`, queue: queue.map((q) => q.route), key };
      } catch (error) {
        deadline.clear();
        budget.exhausted.add(key);
        if (ctx.signal.aborted) return undefined;
        lastError = error;
        if (error instanceof IronError && error.code === 'IRON_BUDGET_EXCEEDED') return undefined;
        // A provider that refuses the prefill (a 4xx) may still replay, or the next model may continue.
        if (strategy === 'continuation' && error instanceof LlmError && (error.upstreamStatus ?? 0) >= 400 && (error.upstreamStatus ?? 0) < 500 && this.#streamRecovery[route.provider.name] === undefined) {
          // The refusal was immediate: the replay does not count against the attempts.
          queue.unshift({ route, strategy: 'replay' });
          budget.attemptsLeft++;
        }
        ctx.logger.warn({ callId: ctx.callId, err: error }, 'continuing the broken stream failed');
      }
    }
    return undefined;
  }

  /** One route: bulkhead → retries → breaker → attempt (with its timeout). */
  async #tryRoute(send: LlmSend, request: LlmRequest, ctx: LlmCallContext, route: Route, deadline: { signal: AbortSignal; at: number }, stats: AgentReliability, keepForFallbackMs: number): Promise<LlmResult> {
    const breaker = this.#breakers.get(route.provider.name, route.model);
    const callSignal = deadline.signal;
    let failed: unknown;
    const run = () =>
      this.#retry.execute(async ({ attempt }) => {
        // The deadline keeps room for one fallback attempt: a retry that would eat into it gives way to the fallback.
        if (attempt > 0 && keepForFallbackMs > 0 && deadline.at - Date.now() < keepForFallbackMs + this.#options.attemptMs) throw new SkipToFallback(failed);
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
          failed = error;
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
    // A stream's first token is due firstTokenMs after the request is sent, headers or not.
    const { attemptMs, firstTokenMs } = this.#options;
    const firstToken = request.stream && firstTokenMs < attemptMs;
    const sentAt = performance.now();
    const timer = setTimeout(() => {
      upstream.abort();
      const message = firstToken
        ? `provider "${route.provider.name}" sent no first token of ${route.model} within ${firstTokenMs} ms of the request (reliability.timeouts.firstTokenMs)`
        : `provider "${route.provider.name}" did not answer ${route.model} within ${attemptMs} ms (reliability.timeouts.attemptMs)`;
      stop(new LlmError(IRON_TIMEOUT, message, { details: { provider: route.provider.name } }));
    }, firstToken ? firstTokenMs : attemptMs);
    const attemptCtx: LlmCallContext = { ...ctx, provider: route.provider, signal: upstream.signal };
    const unlink = () => {
      ctx.signal.removeEventListener('abort', abort);
      callSignal.removeEventListener('abort', onCallAbort);
    };
    const answer = async (): Promise<LlmResult> => {
      const result = await send(request, attemptCtx);
      if (result.type !== 'stream') return result;
      const chunks = await primeStream(result.chunks, { firstTokenMs, sentAt, idleMs: this.#options.idleMs, provider: route.provider.name, abort, onEnd: unlink });
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

interface RecoveryAttempts {
  answer: DeliveredAnswer;
  severalChoices: boolean;
  /** The routes not yet asked to continue the answer. */
  queue: Route[];
  previous: string;
  /** The route and strategy of the attempt being read (`provider/model/strategy`). */
  current: string;
  failure: unknown;
  budget: { attemptsLeft: number; exhausted: Set<string> };
}

/**
 * A stream's first attempt as an iterator written by hand: each chunk is judged and passed on in the source's own
 * promise; at the first break the rest of the stream comes from `recover` (what a `for await` over the source inside
 * a generator did, with the same calls to the source's `return`).
 */
class UntilBroken implements AsyncIterableIterator<LlmStreamChunk>, QueuedChunks {
  readonly #source: AsyncIterator<LlmStreamChunk>;
  #recovery: AsyncGenerator<LlmStreamChunk> | undefined;
  /** The terminator went out: the next read reads the source to its end (whatever follows is dropped) and ends. */
  #terminated = false;
  #over = false;
  /** Chunks taken from the source at once but not passed on (from one that ends or breaks the attempt): read next. */
  #held: LlmStreamChunk[] = [];

  readonly #judge: (chunk: LlmStreamChunk) => 'pass' | 'end' | LlmError;
  readonly #endedEarly: () => LlmError | undefined;
  readonly #caught: (error: unknown) => unknown;
  readonly #recover: (broken: unknown) => AsyncGenerator<LlmStreamChunk>;

  constructor(
    source: AsyncIterable<LlmStreamChunk>,
    judge: (chunk: LlmStreamChunk) => 'pass' | 'end' | LlmError,
    endedEarly: () => LlmError | undefined,
    caught: (error: unknown) => unknown,
    recover: (broken: unknown) => AsyncGenerator<LlmStreamChunk>,
  ) {
    this.#source = source[Symbol.asyncIterator]();
    this.#judge = judge;
    this.#endedEarly = endedEarly;
    this.#caught = caught;
    this.#recover = recover;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The chunks the source already has, judged and passed on at once (the runtime meters a network read's chunks in one
   * go). It stops before a chunk that ends or breaks the attempt: that one is judged again by the next `next()`.
   */
  takeQueued(): LlmStreamChunk[] {
    if (this.#recovery || this.#over || this.#terminated || this.#held.length > 0) return [];
    const taken = takeQueued(this.#source);
    for (let i = 0; i < taken.length; i++) {
      const chunk = taken[i]!;
      if (this.#judge(chunk) !== 'pass') {
        this.#held = taken.slice(i);
        return taken.slice(0, i);
      }
      if (chunk.done) {
        this.#terminated = true;
        return taken.slice(0, i + 1);
      }
    }
    return taken;
  }

  next(): Promise<IteratorResult<LlmStreamChunk>> {
    if (this.#recovery) return this.#recovery.next();
    if (this.#over) return Promise.resolve(DONE);
    if (this.#terminated) return this.#readToEnd();
    if (this.#held.length > 0) return Promise.resolve(this.#passOn({ done: false, value: this.#held.shift()! }));
    return this.#source.next().then(
      (read) => this.#passOn(read),
      (error: unknown) => this.#recoverFrom(this.#caught(error)),
    );
  }

  /** One chunk read from the source (or held back): judged, then passed on, or the attempt ends or breaks on it. */
  #passOn(read: IteratorResult<LlmStreamChunk>): IteratorResult<LlmStreamChunk> | Promise<IteratorResult<LlmStreamChunk>> {
    if (read.done) {
      const broken = this.#endedEarly();
      if (broken === undefined) {
        this.#over = true;
        return DONE;
      }
      return this.#recoverFrom(broken);
    }
    const verdict = this.#judge(read.value);
    if (verdict === 'end') return this.#finish();
    if (verdict !== 'pass') return this.#releaseSource().then(() => this.#recoverFrom(verdict));
    if (read.value.done) this.#terminated = true;
    return read;
  }

  return(): Promise<IteratorResult<LlmStreamChunk>> {
    if (this.#recovery) return this.#recovery.return(undefined);
    return this.#finish();
  }

  #recoverFrom(broken: unknown): Promise<IteratorResult<LlmStreamChunk>> {
    this.#recovery = this.#recover(broken);
    return this.#recovery.next();
  }

  /**
   * After the terminator: the source is read to its end rather than cancelled, so the provider's connection (whose
   * last bytes are usually still on their way) is kept for the next call instead of being torn down.
   */
  async #readToEnd(): Promise<IteratorResult<LlmStreamChunk>> {
    this.#over = true;
    await readToEnd(this.#source);
    return DONE;
  }

  async #finish(): Promise<IteratorResult<LlmStreamChunk>> {
    if (!this.#over) {
      this.#over = true;
      await this.#releaseSource();
    }
    return DONE;
  }

  async #releaseSource(): Promise<void> {
    await this.#source.return?.();
  }
}
