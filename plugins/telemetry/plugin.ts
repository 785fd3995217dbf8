// The telemetry plugin: an agent span, a span per LLM call under it (GenAI conventions) with child spans for retries,
// fallbacks and stream recoveries, and the GenAI client metrics plus cost. The call path only records: spans end into
// a batching processor and metrics into in-memory aggregates; exporting happens on timers and when the runtime closes.
//
// Where it taps, and why:
// - beforeLlmCall at STAGE.safety - 100: opens the call span before any plugin can refuse the call, so a refused call
//   (PII block, budget) is a span too;
// - beforeLlmCall at STAGE.sync + 100 (captureContent only): the prompt after every rewrite, i.e. redacted;
// - afterLlmCall at STAGE.safety - 100 and onLlmStreamEnd: the answer as the provider wrote it (before safety
//   restores pseudonyms in it, so captured content never holds a value the prompt had hidden);
// - onLlmError: what a budget refusal left;
// - events for the rest (cost, PII counts, retries, fallbacks, recoveries, the call's end), never another plugin.
// Times are `performance.now()` readings turned into epoch time with one origin for every span (`hrTime`): the SDK
// corrects each span's clock on its own, to the millisecond, which could put a child outside its parent.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Attributes, type Context, type Counter, type Histogram, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator, hrTime } from '@opentelemetry/core';
import type { Logger } from 'pino';
import type { AgentInfo, LlmCallContext } from '../../core/context.ts';
import type { AgentStarted, AgentStopped, LlmCallCompleted, LlmCallFailed } from '../../core/events.ts';
import { IRON_BUDGET_EXCEEDED } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { LlmRequest, LlmResponse } from '../../core/llm/types.ts';
import type { ResolvedProvider } from '../../core/providers/routing.ts';
import type { Runtime } from '../../core/runtime.ts';
// The shapes of the events listened to (types only: the plugins that emit them need not be on).
import type {} from '../cost/events.ts';
import type {} from '../reliability/events.ts';
import type {} from '../safety/events.ts';
import { DURATION_BUCKETS, ERROR_TYPE, GEN_AI, IRON, METRIC, OPERATION, SERVER_ADDRESS, SERVER_PORT, TOKEN_BUCKETS } from './conventions.ts';
import { finishReasonOf, inputContent, outputContent } from './content.ts';
import { createScrub, type Scrub } from './scrub.ts';
import type { Recognizer } from '../safety/types.ts';
import { createPipeline, SCOPE, type TelemetryPipeline } from './export.ts';
import type { ResolvedTelemetry } from './options.ts';

const NAME = 'telemetry';
const OPEN = { name: NAME, stage: STAGE.safety - 100 };
const SENT = { name: NAME, stage: STAGE.sync + 100 };
const RECEIVED = { name: NAME, stage: STAGE.safety - 100 };

/** The most protective PII action taken in a call wins `iron.pii.action`. */
const ACTION_RANK: Record<string, number> = { detect: 1, pseudonymize: 2, mask: 3, redact: 4, block: 5 };
/** Agent ends that are failures on the agent span (a deliberate stop is not). */
const FAILED_STATUSES = new Set(['failed', 'budget_exceeded', 'lost']);

/** A retry, fallback or stream recovery: a child span from its event to the next one (or the call's end). */
interface Step {
  name: string;
  at: number;
  attributes: Attributes;
}

/** What the plugin records about one call while it runs. */
interface CallTrace {
  ctx: LlmCallContext;
  span: Span;
  requestModel: string;
  responseId?: string;
  steps?: Step[];
  pii?: Map<string, number>;
  piiAction?: string;
  costUsd?: number;
  remainingUsd?: number;
  input?: LlmRequest;
  output?: LlmResponse;
}

/** Per agent (in its store): its span, and its calls in flight by id, for the events that name them. */
interface AgentTrace {
  span?: Span;
  context: Context;
  calls: Map<string, CallTrace>;
}

export class TelemetryRecorder {
  readonly #runtime: Runtime;
  readonly #options: ResolvedTelemetry;
  readonly #logger: Logger;
  readonly #pipeline: TelemetryPipeline;
  readonly #tracer: Tracer;
  readonly #tokenUsage: Histogram;
  readonly #duration: Histogram;
  readonly #cost: Counter;
  readonly #propagator = new W3CTraceContextPropagator();
  /** Agents whose span is open: ended when the runtime closes, if their stop never came. */
  readonly #openAgents = new Set<AgentTrace>();
  /** A provider's attributes, worked out once (it is the same object for every call). */
  readonly #providerAttributes = new WeakMap<ResolvedProvider, Attributes>();
  /** Personal data and secrets out of captured content and error texts (scrub.ts). */
  readonly #scrub: Scrub;
  readonly #agentNames = new WeakMap<AgentInfo, string>();
  readonly #models = new Map<string, string>();

  constructor(runtime: Runtime, options: ResolvedTelemetry, person?: Recognizer) {
    this.#runtime = runtime;
    this.#options = options;
    this.#logger = runtime.logger.child({ plugin: NAME });
    this.#scrub = createScrub(runtime.config.safety, person);
    this.#pipeline = createPipeline(options, this.#logger);
    this.#tracer = this.#pipeline.tracerProvider.getTracer(SCOPE);
    const meter = this.#pipeline.meterProvider.getMeter(SCOPE);
    this.#tokenUsage = meter.createHistogram(METRIC.tokenUsage, { unit: '{token}', description: 'Number of input and output tokens used.', advice: { explicitBucketBoundaries: TOKEN_BUCKETS } });
    this.#duration = meter.createHistogram(METRIC.operationDuration, { unit: 's', description: 'GenAI operation duration.', advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
    this.#cost = meter.createCounter(METRIC.cost, { unit: 'USD', description: 'What LLM calls cost, as the cost plugin priced them.' });
  }

  apply(): void {
    const { hooks, events } = this.#runtime;
    hooks.beforeLlmCall.tapPromise(OPEN, async (request, ctx) => {
      this.#open(request, ctx);
      return request;
    });
    if (this.#options.captureContent) {
      hooks.beforeLlmCall.tapPromise(SENT, async (request, ctx) => {
        const call = this.#callOf(ctx);
        if (call) call.input = request;
        return request;
      });
    }
    hooks.afterLlmCall.tapPromise(RECEIVED, async (response, ctx) => {
      this.#answered(response, ctx);
      return response;
    });
    hooks.onLlmStreamEnd.tapPromise(RECEIVED, async (end, ctx) => this.#answered(end.response, ctx));
    // A call refused for its budget: what the budget had left, from the refusal's own figures.
    hooks.onLlmError.tapPromise(OPEN, async (error, ctx) => {
      const call = this.#callOf(ctx);
      const details = error.details as { limitUsd?: unknown; spentUsd?: unknown; reservedUsd?: unknown } | undefined;
      if (!call || error.code !== IRON_BUDGET_EXCEEDED || typeof details?.limitUsd !== 'number' || typeof details.spentUsd !== 'number') return;
      call.remainingUsd = Math.max(0, details.limitUsd - details.spentUsd - (typeof details.reservedUsd === 'number' ? details.reservedUsd : 0));
    });
    hooks.onRuntimeClose.tapPromise({ name: NAME, stage: STAGE.sync + 100 }, () => this.#close());

    events.on('AgentStarted', (event) => this.#agentStarted(event));
    events.on('AgentStopped', (event) => this.#agentStopped(event));
    events.on('LlmCallCompleted', (event) => this.#finish(event));
    events.on('LlmCallFailed', (event) => this.#finish(event));
    events.on('CostUpdate', (event) => {
      const call = this.#call(event);
      if (!call) return;
      call.costUsd = (call.costUsd ?? 0) + event.costUsd;
      if (event.agentLimitUsd !== null) call.remainingUsd = Math.max(0, event.agentLimitUsd - event.agentSpentUsd);
    });
    events.on('PiiAlert', (event) => {
      const call = this.#call(event);
      if (!call) return;
      call.pii ??= new Map();
      call.pii.set(event.entityType, (call.pii.get(event.entityType) ?? 0) + event.count);
      if ((ACTION_RANK[event.action] ?? 0) > (ACTION_RANK[call.piiAction ?? ''] ?? 0)) call.piiAction = event.action;
    });
    events.on('CallRetried', (event) => {
      this.#step(event, `retry ${event.model}`, { [GEN_AI.requestModel]: event.model, [GEN_AI.providerName]: this.#genAiProvider(event.provider), [IRON.attempt]: event.attempt, [IRON.retryDelayMs]: event.delayMs, [IRON.reason]: event.reason });
    });
    events.on('FallbackTaken', (event) => {
      const slash = event.to.indexOf('/');
      const [provider, model] = slash > 0 ? [event.to.slice(0, slash), event.to.slice(slash + 1)] : [undefined, event.to];
      this.#step(event, `fallback ${model}`, {
        [GEN_AI.requestModel]: model,
        ...(provider ? { [GEN_AI.providerName]: this.#genAiProvider(provider) } : {}),
        [IRON.fallbackFrom]: event.from,
        [IRON.fallbackTo]: event.to,
        [IRON.reason]: event.reason,
      });
    });
    events.on('StreamRecovered', (event) => {
      this.#step(event, `stream_recovery ${event.model}`, {
        [GEN_AI.requestModel]: event.model,
        [GEN_AI.providerName]: this.#genAiProvider(event.provider),
        [IRON.recoveryStrategy]: event.strategy,
        [IRON.recoveryDeliveredChars]: event.deliveredChars,
        [IRON.reason]: event.reason,
      });
    });
  }

  #agentTrace(agent: AgentInfo): AgentTrace {
    return agent.store<AgentTrace>(NAME, () => ({ context: ROOT_CONTEXT, calls: new Map() }));
  }

  #agentStarted(event: AgentStarted): void {
    const agent = this.#runtime.getAgent(event.agentId);
    if (!agent) return;
    const state = this.#agentTrace(agent);
    const name = this.#agentName(agent);
    state.span = this.#tracer.startSpan(`${OPERATION.invokeAgent} ${name}`, {
      kind: SpanKind.INTERNAL,
      startTime: hrTime(),
      attributes: {
        [GEN_AI.operationName]: OPERATION.invokeAgent,
        [GEN_AI.agentId]: event.agentId,
        [GEN_AI.agentName]: name,
        [IRON.agentId]: event.agentId,
        [IRON.agentKind]: event.kind,
      },
    });
    state.context = trace.setSpan(ROOT_CONTEXT, state.span);
    this.#openAgents.add(state);
  }

  #agentStopped(event: AgentStopped): void {
    const agent = this.#runtime.getAgent(event.agentId);
    if (!agent) return;
    const state = this.#agentTrace(agent);
    const span = state.span;
    if (!span || !this.#openAgents.delete(state)) return;
    span.setAttribute(IRON.agentStatus, event.status);
    if (FAILED_STATUSES.has(event.status)) {
      span.setAttribute(ERROR_TYPE, event.error?.code ?? event.status);
      span.setStatus({ code: SpanStatusCode.ERROR, ...(event.error ? { message: this.#scrub(event.error.message) } : {}) });
    }
    span.end(hrTime());
  }

  /** The call span: a child of the agent's, or of the caller's span when the request carried a W3C `traceparent`. */
  #open(request: LlmRequest, ctx: LlmCallContext): CallTrace {
    const agent = this.#agentTrace(ctx.agent);
    let parent = agent.context;
    let links: Link[] | undefined;
    const joined = ctx.forwardHeaders.traceparent !== undefined;
    if (joined) {
      const remote = trace.getSpanContext(this.#propagator.extract(ROOT_CONTEXT, ctx.forwardHeaders, defaultTextMapGetter));
      if (remote) {
        parent = trace.setSpanContext(ROOT_CONTEXT, remote);
        // The agent's span is in another trace now: linked, so either side leads to the other.
        if (agent.span) links = [{ context: agent.span.spanContext() }];
      }
    }
    const attributes: Attributes = {
      [GEN_AI.operationName]: OPERATION.chat,
      [GEN_AI.requestModel]: this.#model(request.model),
      [GEN_AI.requestStream]: request.stream,
      [IRON.stream]: request.stream,
      [IRON.callId]: ctx.callId,
      [IRON.agentId]: ctx.agent.agentId,
      [GEN_AI.agentId]: ctx.agent.agentId,
      [GEN_AI.agentName]: this.#agentName(ctx.agent),
    };
    if (request.maxOutputTokens !== undefined) attributes[GEN_AI.requestMaxTokens] = request.maxOutputTokens;
    const { temperature, top_p: topP } = request.extra;
    if (typeof temperature === 'number') attributes[GEN_AI.requestTemperature] = temperature;
    if (typeof topP === 'number') attributes[GEN_AI.requestTopP] = topP;
    const span = this.#tracer.startSpan(`${OPERATION.chat} ${this.#model(request.model)}`, { kind: SpanKind.CLIENT, startTime: hrTime(ctx.startedAt), attributes, ...(links ? { links } : {}) }, parent);
    // The provider is told the call span is its parent (W3C: a traced hop passes its own span on).
    if (joined) this.#propagator.inject(trace.setSpan(ROOT_CONTEXT, span), ctx.forwardHeaders, defaultTextMapSetter);
    const call: CallTrace = { ctx, span, requestModel: this.#model(request.model) };
    agent.calls.set(ctx.callId, call);
    ctx.state.set(NAME, call);
    return call;
  }

  /**
   * A model name as exported: an agent chooses it (a fine-tune id may carry an email), so it is scrubbed like the rest,
   * once per name (a few hundred distinct names kept).
   */
  #model(name: string): string {
    let scrubbed = this.#models.get(name);
    if (scrubbed === undefined) {
      scrubbed = this.#scrub(name);
      if (this.#models.size >= 512) this.#models.clear();
      this.#models.set(name, scrubbed);
    }
    return scrubbed;
  }

  /** An agent's name as exported: scrubbed once (a script path or a name may hold an email, a user's id…). */
  #agentName(agent: AgentInfo): string {
    let name = this.#agentNames.get(agent);
    if (name === undefined) {
      name = this.#scrub(agent.name);
      this.#agentNames.set(agent, name);
    }
    return name;
  }

  #callOf(ctx: LlmCallContext): CallTrace | undefined {
    return ctx.state.get(NAME) as CallTrace | undefined;
  }

  #call(event: { agentId?: string; callId: string }): CallTrace | undefined {
    const agent = event.agentId === undefined ? undefined : this.#runtime.getAgent(event.agentId);
    return agent ? this.#agentTrace(agent).calls.get(event.callId) : undefined;
  }

  #answered(response: LlmResponse, ctx: LlmCallContext): void {
    const call = this.#callOf(ctx);
    if (!call) return;
    if (response.id) call.responseId = response.id;
    if (this.#options.captureContent) call.output = response;
  }

  #step(event: { agentId: string; callId: string }, name: string, attributes: Attributes): void {
    // The reason is the provider's error text (it may quote the prompt): scrubbed like everything else exported.
    const reason = attributes[IRON.reason];
    if (typeof reason === 'string') attributes = { ...attributes, [IRON.reason]: this.#scrub(reason) };
    const call = this.#call(event);
    if (call) (call.steps ??= []).push({ name, at: performance.now(), attributes });
  }

  /** gen_ai.provider.name: the conventions' name for OpenAI and Anthropic, else the provider's name in the config. */
  #genAiProvider(name: string): string {
    const provider = this.#runtime.providers.get(name);
    return provider ? (this.#attributesOf(provider)[GEN_AI.providerName] as string) : name;
  }

  #attributesOf(provider: ResolvedProvider): Attributes {
    let attributes = this.#providerAttributes.get(provider);
    if (attributes) return attributes;
    attributes = { [GEN_AI.providerName]: provider.type === 'openai' || provider.type === 'anthropic' ? provider.type : provider.name, [IRON.provider]: provider.name };
    try {
      const url = new URL(provider.baseUrl);
      attributes[SERVER_ADDRESS] = url.hostname;
      attributes[SERVER_PORT] = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    } catch {
      // the simulated provider has no address
    }
    this.#providerAttributes.set(provider, attributes);
    return attributes;
  }

  /** A call ended (its last event): everything recorded goes on its span, the span and its children end, metrics. */
  #finish(event: LlmCallCompleted | LlmCallFailed): void {
    const agent = this.#runtime.getAgent(event.agentId);
    if (!agent) return;
    const state = this.#agentTrace(agent);
    const call = state.calls.get(event.callId);
    const now = performance.now();
    if (!call) {
      // Failed before any plugin saw it (the agent had stopped, no provider serves the model): a span all the same.
      if (event.type === 'LlmCallFailed') this.#lateFailure(event, state, now);
      return;
    }
    state.calls.delete(event.callId);
    const { span, ctx } = call;
    const end = Math.min(now, ctx.startedAt + event.latencyMs);
    const provider = this.#attributesOf(ctx.provider);
    span.setAttributes(provider);
    const failed = event.type === 'LlmCallFailed';
    if (!failed) {
      span.setAttribute(GEN_AI.responseModel, this.#model(event.model));
      if (call.responseId) span.setAttribute(GEN_AI.responseId, call.responseId);
      if (event.finishReason) span.setAttribute(GEN_AI.responseFinishReasons, [finishReasonOf(event.finishReason)]);
      const usage = event.usage;
      if (usage) {
        span.setAttribute(GEN_AI.usageInputTokens, usage.inputTokens);
        span.setAttribute(GEN_AI.usageOutputTokens, usage.outputTokens);
        if (usage.cacheReadTokens > 0) span.setAttribute(GEN_AI.usageCacheReadInputTokens, usage.cacheReadTokens);
        if (usage.cacheWriteTokens > 0) span.setAttribute(GEN_AI.usageCacheCreationInputTokens, usage.cacheWriteTokens);
        if (usage.reasoningTokens > 0) span.setAttribute(GEN_AI.usageReasoningOutputTokens, usage.reasoningTokens);
      }
    } else {
      span.setAttribute(ERROR_TYPE, event.error.code);
      span.setAttribute(IRON.errorStatus, event.error.status);
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.#scrub(event.error.message) });
    }
    if (call.costUsd !== undefined) span.setAttribute(IRON.costUsd, call.costUsd);
    if (call.remainingUsd !== undefined) span.setAttribute(IRON.budgetRemainingUsd, call.remainingUsd);
    if (call.pii) {
      for (const [type, count] of call.pii) span.setAttribute(`${IRON.piiPrefix}${type}`, count);
      if (call.piiAction) span.setAttribute(IRON.piiAction, call.piiAction);
    }
    if (call.input) {
      const content = inputContent(call.input, this.#scrub);
      span.setAttribute(GEN_AI.inputMessages, content.messages);
      if (content.system) span.setAttribute(GEN_AI.systemInstructions, content.system);
    }
    if (call.output && !failed) span.setAttribute(GEN_AI.outputMessages, outputContent(call.output, this.#scrub));
    if (call.steps) this.#endSteps(call, end, failed);
    span.end(hrTime(end));

    const metric: Attributes = { [GEN_AI.operationName]: OPERATION.chat, [GEN_AI.providerName]: provider[GEN_AI.providerName], [GEN_AI.requestModel]: call.requestModel };
    if (provider[SERVER_ADDRESS] !== undefined) metric[SERVER_ADDRESS] = provider[SERVER_ADDRESS];
    if (provider[SERVER_PORT] !== undefined) metric[SERVER_PORT] = provider[SERVER_PORT];
    if (failed) {
      this.#duration.record(event.latencyMs / 1000, { ...metric, [ERROR_TYPE]: event.error.code });
    } else {
      const answered = { ...metric, [GEN_AI.responseModel]: this.#model(event.model) };
      this.#duration.record(event.latencyMs / 1000, answered);
      if (event.usage) {
        this.#tokenUsage.record(event.usage.inputTokens, { ...answered, [GEN_AI.tokenType]: 'input' });
        this.#tokenUsage.record(event.usage.outputTokens, { ...answered, [GEN_AI.tokenType]: 'output' });
      }
    }
    if (call.costUsd) this.#cost.add(call.costUsd, metric);
  }

  /** Each step is a child of the call span, from its event to the next step; all but the last failed. */
  #endSteps(call: CallTrace, end: number, failed: boolean): void {
    const parent = trace.setSpan(ROOT_CONTEXT, call.span);
    const steps = call.steps!;
    steps.forEach((step, index) => {
      const next = steps[index + 1];
      const child = this.#tracer.startSpan(step.name, { kind: SpanKind.INTERNAL, startTime: hrTime(step.at), attributes: step.attributes }, parent);
      if (next) child.setStatus({ code: SpanStatusCode.ERROR, message: String(next.attributes[IRON.reason] ?? 'failed') });
      else if (failed) child.setStatus({ code: SpanStatusCode.ERROR });
      child.end(hrTime(next ? next.at : end));
    });
  }

  #lateFailure(event: LlmCallFailed, state: AgentTrace, now: number): void {
    const model = this.#model(event.model ?? 'unknown');
    const provider = event.provider ? this.#genAiProvider(event.provider) : undefined;
    const span = this.#tracer.startSpan(`${OPERATION.chat} ${model}`, {
      kind: SpanKind.CLIENT,
      startTime: hrTime(now - event.latencyMs),
      attributes: {
        [GEN_AI.operationName]: OPERATION.chat,
        [GEN_AI.requestModel]: model,
        ...(provider ? { [GEN_AI.providerName]: provider } : {}),
        [IRON.stream]: event.stream,
        [IRON.callId]: event.callId,
        [IRON.agentId]: event.agentId,
        [ERROR_TYPE]: event.error.code,
        [IRON.errorStatus]: event.error.status,
      },
    }, state.context);
    span.setStatus({ code: SpanStatusCode.ERROR, message: this.#scrub(event.error.message) });
    span.end(hrTime(now));
    this.#duration.record(event.latencyMs / 1000, { [GEN_AI.operationName]: OPERATION.chat, [GEN_AI.requestModel]: model, ...(provider ? { [GEN_AI.providerName]: provider } : {}), [ERROR_TYPE]: event.error.code });
  }

  /** The runtime is closing (its agents stopped): end what is still open, then send everything, within the time allowed. */
  async #close(): Promise<void> {
    const now = performance.now();
    for (const state of this.#openAgents) {
      for (const call of state.calls.values()) {
        call.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the runtime closed before the call ended' });
        call.span.end(hrTime(now));
      }
      state.calls.clear();
      state.span?.end(hrTime(now));
    }
    this.#openAgents.clear();
    await this.#pipeline.shutdown(this.#options.flushTimeoutMs);
  }
}
