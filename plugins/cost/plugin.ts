// The cost plugin: prices every call, reserves its worst case before it runs, settles the real cost after,
// and refuses (or stops the agent) when a budget has no room. Taps at STAGE.cost, after safety's redaction.
import type { Logger } from 'pino';
import type { AgentInfo, LlmCallContext } from '../../core/context.ts';
import { IronError, LlmError, toIronError, IRON_AGENT_STOPPED, IRON_BUDGET_EXCEEDED, IRON_RUNTIME_CLOSED, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT, IRON_UNKNOWN_MODEL, IRON_UPSTREAM_BROKEN, IRON_UPSTREAM_ERROR, IRON_UPSTREAM_INVALID, IRON_UPSTREAM_UNREACHABLE } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { LlmRequest, LlmResponse, LlmStreamChunk, Usage } from '../../core/llm/types.ts';
import { addUsage, emptyUsage, partsText, subtractUsage } from '../../core/llm/types.ts';
import type { Runtime } from '../../core/runtime.ts';
import './events.ts';
import { BudgetScope, externalRoomOf, ledger, SHRINK_RESERVATION, type Reservation, type ShrinkReservation } from './ledger.ts';
import { formatUsd, microsToUsd, usdToMicros, type Micros } from './money.ts';
import { DEFAULT_WAIT_MS, type CostOptions } from './options.ts';
import { costOf, PriceBook, worstCaseOf, type ModelPricing } from './prices.ts';
import { reservationExtras } from './extras.ts';
import { choicesOf, countText, inputTokensCounted, inputTokensExact, inputTokensUpperBound, unboundedInput } from './tokens.ts';
import { globToRegExp } from '../../core/glob.ts';

const NAME = 'cost';
const TAP = { name: NAME, stage: STAGE.cost };
/**
 * An answer is billed before any plugin can refuse it: safety blocking personal data in the output (or any later
 * afterLlmCall or chunk hook that throws) must not turn an answer the provider billed into a free one.
 */
const TAP_ANSWER = { name: NAME, stage: STAGE.safety - 10 };
/** A stream cut short may have had this many tokens more on their way (at least; or two of its largest chunks). */
const IN_FLIGHT_TOKENS = 64;
/** A metered call is refused when the budget affords fewer output tokens than this. */
const MIN_METERED_OUTPUT_TOKENS = 16;
/** A model's context window when the catalog does not say: what an unbounded input reserves. */
const DEFAULT_CONTEXT_WINDOW = 200_000;

interface ModelSpend { calls: number; costMicros: Micros; inputTokens: number; outputTokens: number }

/** What the plugin keeps per agent (in `agent.store`). */
class AgentCost {
  readonly scope: BudgetScope;
  readonly byModel = new Map<string, ModelSpend>();
  estimatedCalls = 0;
  unpricedCalls = 0;
  refusedCalls = 0;

  constructor(agentId: string, limit: Micros | null) {
    this.scope = new BudgetScope('agent', agentId, limit);
  }
}

/** What the plugin keeps per call (in `ctx.state`). */
interface CallCost {
  request: LlmRequest;
  /** The agent sent no max_tokens: the model's maximum output was reserved (a server budget's refusal says so too). */
  uncapped?: boolean;
  pricing: ModelPricing | null;
  reservation: Reservation | null;
  /** Tokens of input the reservation covers. */
  inputTokens: number;
  usage?: Usage;
  outputText: string;
  /** UTF-8 bytes of the streamed output: a byte-level BPE token is at least one byte, so this bounds the tokens. */
  outputBytes: number;
  /** The largest chunk so far (bytes), for what a cut stream may still have had on its way. */
  largestChunk: number;
  deltas: number;
  settled: boolean;
  /**
   * A continuation of a stream that broke (reliability's recovery): what the earlier attempts were billed. The
   * usage the agent is told is their sum with this attempt's, so this attempt's own is that minus `prior.usage`.
   */
  prior?: { usage: Usage; micros: Micros };
  /**
   * Attempts that were sent and ended with neither an answer nor an error from the provider (timed out, aborted,
   * cut off): the provider may have billed their prompt, so each counts its input when the call settles.
   */
  unanswered: number;
  /** Of those, answers that broke off after their 200 (the provider generated them): each counts max_tokens too. */
  brokenAnswers: number;
  /** What the agent's call was billed before this model was tried (a model given up on, before a fallback). */
  earlierMicros?: Micros;
}

/** Stream endings that are not a plugin refusing the answer: the provider's doing, a budget cut, a stop or a close. */
const NOT_REFUSALS = new Set<string>([IRON_STREAM_INTERRUPTED, IRON_TIMEOUT, IRON_UPSTREAM_BROKEN, IRON_UPSTREAM_ERROR, IRON_UPSTREAM_UNREACHABLE, IRON_UPSTREAM_INVALID, IRON_BUDGET_EXCEEDED, IRON_RUNTIME_CLOSED, IRON_AGENT_STOPPED]);

/** Whether a stream ended because a plugin refused the answer as it came (safety blocking personal data, say). */
/** What a provider reported of a call's input side (tokens, cache reads and writes) and its web searches. */
function reportedInput(reported: Usage): Partial<Usage> {
  return {
    inputTokens: reported.inputTokens,
    cacheReadTokens: reported.cacheReadTokens,
    cacheWriteTokens: reported.cacheWriteTokens,
    ...(reported.cacheWrite1hTokens ? { cacheWrite1hTokens: reported.cacheWrite1hTokens } : {}),
    ...(reported.webSearches ? { webSearches: reported.webSearches } : {}),
  };
}

function refusedHere(error: Error | undefined): boolean {
  return error instanceof IronError && !NOT_REFUSALS.has(error.code);
}

function usdLimit(value: number | undefined): Micros | null {
  return value === undefined ? null : usdToMicros(value);
}

/** Output tokens per choice that `room` affords once the input (and extras) are paid for. */
function affordableOutput(pricing: ModelPricing, input: number, extras: Parameters<typeof worstCaseOf>[3], choices: number, room: Micros): number {
  const left = room - worstCaseOf(pricing, input, 0, extras);
  return Math.floor((Math.max(0, left) * 1_000_000) / Math.max(1, pricing.output, pricing.reasoning) / choices);
}

export class CostKeeper {
  readonly #runtime: Runtime;
  readonly #options: Required<Pick<CostOptions, 'unknownModel' | 'onExceeded' | 'warnAt' | 'reservation'>> & CostOptions;
  readonly #prices: PriceBook;
  readonly #logger: Logger;
  readonly total: BudgetScope;
  readonly #modelScopes: Array<{ pattern: RegExp; scope: BudgetScope }>;
  readonly #providerScopes = new Map<string, BudgetScope>();
  readonly #agentLimit: Micros | null;
  readonly #agentLimits = new Map<string, Micros | null>();
  readonly #unknownWarned = new Set<string>();
  readonly #waitMs: number;

  constructor(runtime: Runtime, options: CostOptions) {
    this.#runtime = runtime;
    this.#options = { unknownModel: 'block', onExceeded: 'block', warnAt: [50, 80, 95], reservation: 'worst-case', ...options };
    this.#prices = new PriceBook(options.prices ?? {});
    this.#logger = runtime.logger.child({ plugin: NAME });
    this.#waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    this.#agentLimit = usdLimit(runtime.config.budget?.limit);
    this.total = new BudgetScope('runtime', '', usdLimit(runtime.config.budget?.total));
    this.#modelScopes = Object.entries(options.budgets?.models ?? {}).map(([glob, usd]) => ({ pattern: globToRegExp(glob), scope: new BudgetScope('model', glob, usdToMicros(usd)) }));
    for (const [name, usd] of Object.entries(options.budgets?.providers ?? {})) this.#providerScopes.set(name, new BudgetScope('provider', name, usdToMicros(usd)));
  }

  apply(): void {
    const { hooks } = this.#runtime;
    hooks.onAgentStart.tapPromise(TAP, async (agent) => void this.#agent(agent));
    hooks.beforeLlmCall.tapPromise(TAP, async (request, ctx) => this.reserve(request, ctx));
    hooks.afterLlmCall.tapPromise(TAP_ANSWER, async (response, ctx) => this.#settleResponse(response, ctx));
    hooks.onLlmStreamChunk.tap(TAP_ANSWER, (chunks, ctx) => this.#meter(chunks, ctx));
    hooks.onLlmStreamEnd.tapPromise(TAP_ANSWER, async (end, ctx) => this.#settleStream(end.response, end.complete, ctx, refusedHere(end.error)));
    hooks.onLlmError.tapPromise(TAP, async (_error, ctx) => void (await this.#release(ctx)));
    // Innermost around the provider send, so every attempt (retries included) is seen: one that went out and got no
    // answer may still have been billed for its prompt.
    hooks.wrapLlmSend.tap({ name: NAME, stage: STAGE.cost }, (send) => async (request, ctx) => {
      try {
        return await send(request, ctx);
      } catch (error) {
        const call = this.#call(ctx);
        // Given up on while the provider worked (a timeout, the agent's abort), closed after the request went out
        // but before any answer, or cut after its 200. Not: an error the provider answered with, or a connection
        // that never carried the request (refused, no address, no TLS session).
        const code = error instanceof IronError ? error.code : undefined;
        const answered = error instanceof LlmError && error.upstreamStatus !== undefined;
        const mayHaveReached = error instanceof IronError && (error.details as { mayHaveReached?: unknown } | undefined)?.mayHaveReached === true;
        const billable = !answered && (ctx.signal.aborted || mayHaveReached || code === IRON_TIMEOUT || code === IRON_UPSTREAM_BROKEN);
        if (call && !call.settled && call.pricing && billable) {
          call.unanswered += 1;
          if (error instanceof IronError && error.code === IRON_UPSTREAM_BROKEN) call.brokenAnswers += 1;
        }
        throw error;
      }
    });
    // A fallback to another model: give back the first reservation, reserve (and later bill) the model used.
    hooks.rerouteLlmCall.tapPromise(TAP, async (request, ctx) => {
      const before = this.#call(ctx);
      const earlier = (before?.earlierMicros ?? 0) + (await this.#release(ctx));
      const next = await this.reserve(request, ctx);
      const call = this.#call(ctx);
      if (call && call !== before && earlier > 0) call.earlierMicros = earlier;
      return next;
    });
    // A broken stream continued (reliability): bill the broken attempt as cut, reserve the continuation.
    hooks.recoverLlmStream.tapPromise(TAP, async (request, ctx, recovery) => {
      const broken = this.#call(ctx);
      let prior = broken?.prior ?? { usage: emptyUsage(), micros: 0 };
      if (broken && !broken.settled && broken.prior && broken.outputBytes === 0 && !broken.usage) {
        // A continuation attempt that failed before it answered: nothing to bill, its reservation comes back.
        await this.#release(ctx);
      } else if (broken && !broken.settled) {
        const usage = this.#cutUsage(broken, broken.outputText, broken.usage);
        const micros = this.#settle(broken, ctx, usage, true);
        prior = { usage: addUsage(prior.usage, usage), micros: prior.micros + micros };
      }
      recovery.billedUsage = prior.usage;
      const next = await this.reserve(request, ctx);
      const call = this.#call(ctx);
      if (call && call !== broken) {
        call.prior = prior;
        if (broken?.earlierMicros) call.earlierMicros = broken.earlierMicros;
      }
      return next;
    });
    hooks.metrics.tap(TAP, (metrics, agent) => {
      const cost = this.#agent(agent);
      const { scope } = cost;
      const byModel: Record<string, { calls: number; costUsd: number; inputTokens: number; outputTokens: number }> = {};
      for (const [model, spend] of cost.byModel) byModel[model] = { calls: spend.calls, costUsd: microsToUsd(spend.costMicros), inputTokens: spend.inputTokens, outputTokens: spend.outputTokens };
      return {
        ...metrics,
        costUsd: microsToUsd(scope.spent),
        budget: { limitUsd: scope.limit === null ? null : microsToUsd(scope.limit), spentUsd: microsToUsd(scope.spent), remainingUsd: scope.remaining === null ? null : microsToUsd(scope.remaining) },
        plugins: {
          ...metrics.plugins,
          cost: { byModel, reservedUsd: microsToUsd(scope.reserved), estimatedCalls: cost.estimatedCalls, unpricedCalls: cost.unpricedCalls, refusedCalls: cost.refusedCalls, runtimeSpentUsd: microsToUsd(this.total.spent) },
        },
      };
    });
    hooks.setBudget.tap(NAME, (change) => {
      const limit = change.limitUsd === null ? null : usdToMicros(change.limitUsd);
      if (change.agentId === null) this.#setLimit(this.total, limit);
      else {
        const agent = this.#runtime.getAgent(change.agentId);
        if (agent) this.#setLimit(this.#agent(agent).scope, limit);
        else this.#agentLimits.set(change.agentId, limit);
      }
      return true;
    });
  }

  #setLimit(scope: BudgetScope, limit: Micros | null): void {
    scope.limit = limit;
    // Warnings re-arm for thresholds the new limit puts back ahead.
    for (const threshold of [...scope.warned]) if (limit === null || scope.spent < (limit * threshold) / 100) scope.warned.delete(threshold);
  }

  #agent(agent: AgentInfo): AgentCost {
    return agent.store(NAME, () => new AgentCost(agent.agentId, this.#agentLimits.get(agent.agentId) ?? this.#agentLimit));
  }

  #scopes(agent: AgentCost, model: string, provider: string): BudgetScope[] {
    const scopes = [agent.scope, this.total];
    for (const { pattern, scope } of this.#modelScopes) if (pattern.test(model)) scopes.push(scope);
    const byProvider = this.#providerScopes.get(provider);
    if (byProvider) scopes.push(byProvider);
    return scopes;
  }

  /**
   * beforeLlmCall: price the call, reserve what it can cost at most in every scope, or refuse it. A call that does
   * not fit while other calls hold reservations in the scope that is short waits (up to `cost.waitMs`) for them to
   * settle: what they do not spend comes back, and a refusal then would come before the limit is reached.
   */
  async reserve(request: LlmRequest, ctx: LlmCallContext): Promise<LlmRequest> {
    const agent = this.#agent(ctx.agent);
    const pricing = this.#prices.lookup(request.model, ctx.provider.type);
    const call: CallCost = { request, pricing, reservation: null, inputTokens: 0, outputText: '', outputBytes: 0, largestChunk: 0, deltas: 0, settled: false, unanswered: 0, brokenAnswers: 0 };
    if (!pricing) {
      this.#unknownModel(request.model, ctx.provider.name);
      ctx.state.set(NAME, call);
      return request;
    }
    const scopes = this.#scopes(agent, request.model, ctx.provider.name);
    // Cache writes and web searches are billed beyond the tokens' base prices: the reservation covers them too.
    const bounded = reservationExtras(request, this.#logger);
    request = bounded.request;
    call.request = request;
    const extras = bounded.extras;
    const uncapped = request.maxOutputTokens === undefined;
    // Metered: max_tokens becomes what the budget affords — for a call without one, and for one whose max_tokens does
    // not fit (the AI SDK's Anthropic provider sends the model's maximum, 64,000, on every call).
    const metered = this.#options.reservation === 'metered';
    const deadline = Date.now() + this.#waitMs;
    let input = inputTokensUpperBound(request);
    // Input the request does not carry (an earlier response, a file by id, web search results): the context window.
    const unbounded = unboundedInput(request);
    if (unbounded) input = Math.max(input, pricing.contextWindow ?? DEFAULT_CONTEXT_WINDOW);
    let counted = false;
    // `n` answers: each can be max_tokens long and is billed; the prompt is billed once.
    const choices = choicesOf(request);
    for (;;) {
      let output = metered ? 0 : (request.maxOutputTokens ?? pricing.maxOutputTokens) * choices;
      // A metered call's smallest answer worth sending (set below): fitting it into less may not go under it.
      let least = MIN_METERED_OUTPUT_TOKENS;
      let result = ledger.reserve(scopes, worstCaseOf(pricing, input, output, extras));
      if (!('scopes' in result) && !counted) {
        // Near the limit, count exactly instead of the fast bound before going further.
        counted = true;
        // Only with the model's own tokenizer: any other count may be lower than what the provider bills.
        const exact = unbounded ? undefined : inputTokensExact(request);
        if (exact !== undefined && exact < input) {
          input = exact;
          result = ledger.reserve(scopes, worstCaseOf(pricing, input, output, extras));
        }
      }
      if (metered) {
        // A true upper bound, streamed or not: max_tokens becomes what the tightest budget affords (at most the
        // model's maximum) and that much is reserved. Metering a stream by what it has received cannot bound it: a
        // provider goes on generating while its chunks are on their way, and bills them.
        if ('scopes' in result) ledger.unreserve(result);
        const room = Math.min(...scopes.map((scope) => scope.available), externalRoomOf(ctx.state)?.room() ?? Number.POSITIVE_INFINITY);
        const asked = Math.min(request.maxOutputTokens ?? pricing.maxOutputTokens, pricing.maxOutputTokens);
        const perChoice = Math.min(affordableOutput(pricing, input, extras, choices, room), asked);
        output = perChoice * choices;
        least = Math.min(MIN_METERED_OUTPUT_TOKENS, asked);
        result = perChoice >= least ? ledger.reserve(scopes, worstCaseOf(pricing, input, output, extras)) : this.#tightest(scopes, worstCaseOf(pricing, input, least * choices, extras));
        if ('scopes' in result && perChoice < (request.maxOutputTokens ?? pricing.maxOutputTokens)) request = { ...request, maxOutputTokens: perChoice };
      }
      if ('scopes' in result) {
        // A call without max_tokens to a provider that may not stop at the model's maximum (an OpenAI-compatible
        // server, a price from cost.prices): it gets the cap that was reserved, so it cannot generate past it.
        if (request.maxOutputTokens === undefined && (pricing.source === 'config' || ctx.provider.type === 'openai-compatible')) {
          request = { ...request, maxOutputTokens: Math.max(1, Math.floor(output / choices)) };
        }
        call.request = request;
        call.uncapped = uncapped && !metered;
        call.reservation = result;
        call.inputTokens = input;
        ctx.state.set(NAME, call);
        if (metered) {
          const shrink: ShrinkReservation = (toMicros) => this.#shrink(call, pricing, input, extras, choices, least, toMicros);
          ctx.state.set(SHRINK_RESERVATION, shrink);
        }
        return request;
      }
      // Short: wait while calls in flight hold part of the scope that is short (their unused part comes back).
      const short = result;
      const left = deadline - Date.now();
      // (A server budget's room too: calls in flight hold part of this runtime's lease, and give it back on settling.)
      const heldElsewhere = metered ? (externalRoomOf(ctx.state)?.held() ?? 0) : 0;
      if ((short.reserved > 0 || heldElsewhere > 0) && left > 0 && (await ledger.roomMayFree(left))) continue;
      const minimum = metered ? Math.min(MIN_METERED_OUTPUT_TOKENS, request.maxOutputTokens ?? MIN_METERED_OUTPUT_TOKENS) * choices : output;
      const atModelMax = !metered && !uncapped && request.maxOutputTokens! >= pricing.maxOutputTokens;
      throw this.#refuse(agent, short, worstCaseOf(pricing, input, minimum, extras), { request, input, output: minimum, uncapped: uncapped && !metered, metered, atModelMax, ctx, ...(unbounded ? { unbounded } : {}) });
    }
  }

  /** A metered call fitted into `toMicros`: max_tokens lowered, the difference given back (see SHRINK_RESERVATION). */
  #shrink(call: CallCost, pricing: ModelPricing, input: number, extras: Parameters<typeof worstCaseOf>[3], choices: number, least: number, toMicros: Micros): { request: LlmRequest; amount: Micros } | undefined {
    const reservation = call.reservation;
    if (!reservation || reservation.done || call.settled) return undefined;
    const perChoice = Math.min(affordableOutput(pricing, input, extras, choices, toMicros), call.request.maxOutputTokens ?? pricing.maxOutputTokens);
    if (perChoice < least) return undefined;
    const amount = worstCaseOf(pricing, input, perChoice * choices, extras);
    if (amount > toMicros || amount >= reservation.amount) return undefined;
    for (const scope of reservation.scopes) scope.reserved -= reservation.amount - amount;
    reservation.amount = amount;
    call.request = { ...call.request, maxOutputTokens: perChoice };
    return { request: call.request, amount };
  }

  /** The first scope that cannot take `amount` (every scope can: the first scope, for the refusal's message). */
  #tightest(scopes: BudgetScope[], amount: Micros): BudgetScope {
    return scopes.find((scope) => scope.available < amount) ?? scopes.reduce((a, b) => (b.available < a.available ? b : a));
  }

  #unknownModel(model: string, provider: string): void {
    const yaml = `cost:\n  prices:\n    ${model}: { input: 0.5, output: 1.5 }   # USD per million tokens`;
    if (this.#options.unknownModel === 'block') {
      throw new IronError(IRON_UNKNOWN_MODEL, `model "${model}" (provider "${provider}") has no known price, so its cost cannot be counted against the budget. Add its price to iron.config.yaml:\n${yaml}\nor set cost.unknownModel: warn to let such calls through uncounted`, {
        details: { model, provider },
      });
    }
    if (!this.#unknownWarned.has(model)) {
      this.#unknownWarned.add(model);
      this.#logger.warn({ model, provider }, `model "${model}" has no known price: its calls are not counted against budgets (cost.unknownModel: warn). Add it under cost.prices to count it`);
    }
  }

  #refuse(agent: AgentCost, scope: BudgetScope, needed: Micros, call: { request: LlmRequest; input: number; output: number; uncapped: boolean; metered?: boolean; atModelMax?: boolean; ctx: LlmCallContext; unbounded?: string }): IronError {
    agent.refusedCalls += 1;
    const left = Math.max(0, scope.available);
    const hint =
      (call.unbounded ? ` The provider adds input this request does not carry (${call.unbounded}), so the model's whole context window (${call.input} tokens) was reserved as input.` : '') +
      (call.uncapped ? ` The call sets no max_tokens, so ${call.output} output tokens (the model's maximum) were reserved: set max_tokens, or cost.reservation: metered.` : '') +
      (call.metered ? ` With cost.reservation: metered a call needs room for at least ${call.output} output tokens${scope.reserved > 0 ? `; calls in flight hold $${formatUsd(scope.reserved)} of it and did not free enough within cost.waitMs` : ''}.` : '') +
      (call.atModelMax ? ` The call asks for max_tokens ${call.request.maxOutputTokens}, the model's maximum${call.request.format === 'anthropic-messages' ? " (the AI SDK's Anthropic provider sends it unless maxOutputTokens is given)" : ''}: ask for fewer, or set cost.reservation: metered, which lowers it to what the budget affords.` : '');
    // Short of a server budget's room (sync's leases), not of a local one: its keeper says which limit, or that the
    // server is away (a 503 under sync.offline: block), and raises the alert with the limit's id. (Told by the local
    // scope it read "the agent's budget has $Infinity left of $0.000000", then "an agent budget of $0".)
    const external = externalRoomOf(call.ctx.state);
    if (external && scope.available >= needed) {
      const refusal = external.refusal(needed);
      if (!(refusal instanceof IronError) || refusal.code !== IRON_BUDGET_EXCEEDED) return refusal instanceof IronError ? refusal : toIronError(refusal);
      const error = new IronError(IRON_BUDGET_EXCEEDED, `${refusal.message}.${hint}`, { details: refusal.details ?? {} });
      if (this.#options.onExceeded === 'stop') this.#stop(call.ctx.agent.agentId, error);
      return error;
    }
    const where = `${scope.describe()} has $${formatUsd(left)} left of $${formatUsd(scope.limit ?? 0)}`;
    const error = new IronError(
      IRON_BUDGET_EXCEEDED,
      `budget exceeded: this ${call.request.model} call needs up to ${Number.isFinite(needed) && needed < 1e15 ? `$${formatUsd(needed)}` : 'more than any budget holds'} (${call.input} input + ${call.output} output tokens) but ${where}.${hint}`,
      { details: { scope: scope.kind, name: scope.name, limitUsd: microsToUsd(scope.limit ?? 0), spentUsd: microsToUsd(scope.spent), reservedUsd: microsToUsd(scope.reserved), neededUsd: microsToUsd(needed) } },
    );
    const { agentId } = call.ctx.agent;
    this.#runtime.events.emit({ type: 'BudgetExceeded', time: Date.now(), agentId, scope: scope.kind, name: scope.name, limitUsd: microsToUsd(scope.limit ?? 0), spentUsd: microsToUsd(scope.spent), neededUsd: microsToUsd(needed) });
    if (this.#options.onExceeded === 'stop') this.#stop(agentId, error);
    return error;
  }

  #stop(agentId: string, error: IronError): void {
    this.#runtime.stopAgent(agentId, { status: 'budget_exceeded', reason: { code: error.code, message: error.message } }).catch((stopError: unknown) => this.#logger.error({ err: stopError, agentId }, 'stopping the agent for its budget failed'));
  }

  #call(ctx: LlmCallContext): CallCost | undefined {
    return ctx.state.get(NAME) as CallCost | undefined;
  }

  async #settleResponse(response: LlmResponse, ctx: LlmCallContext): Promise<LlmResponse> {
    const call = this.#call(ctx);
    if (!call) return response;
    const usage = response.usage ?? this.#estimateUsage(call, partsText(response.parts));
    const cost = this.#settle(call, ctx, usage, response.usage === undefined);
    ctx.responseHeaders['x-iron-cost-usd'] = formatUsd(cost + (call.earlierMicros ?? 0));
    return response;
  }

  /** onLlmStreamChunk: follow usage and output as it flows (what a stream cut short is billed by). */
  #meter(chunks: LlmStreamChunk[], ctx: LlmCallContext): LlmStreamChunk[] {
    const call = this.#call(ctx);
    if (!call) return chunks;
    let out = chunks;
    for (let index = 0; index < chunks.length; index++) {
      const chunk = chunks[index]!;
      if (chunk.usage) call.usage = call.prior ? subtractUsage(chunk.usage, call.prior.usage) : chunk.usage;
      // (Most chunks carry text alone: no string is built for them.)
      const delta = chunk.reasoningDelta === undefined && chunk.toolCallDelta === undefined ? (chunk.textDelta ?? '') : (chunk.textDelta ?? '') + (chunk.reasoningDelta ?? '') + (chunk.toolCallDelta?.argumentsDelta ?? '');
      if (delta !== '') {
        call.outputText += delta;
        const bytes = Buffer.byteLength(delta);
        call.outputBytes += bytes;
        if (bytes > call.largestChunk) call.largestChunk = bytes;
        call.deltas += 1;
      }
      if (chunk.done) {
        // The cost rides along as an SSE comment just before the terminator: SDKs skip comments.
        const { usage } = this.#withUnanswered(call, call.usage ?? this.#estimateUsage(call, call.outputText));
        const cost = (call.pricing ? costOf(call.pricing, usage) : 0) + (call.prior?.micros ?? 0) + (call.earlierMicros ?? 0);
        out = [...chunks.slice(0, index), { data: '', raw: `: x-iron-cost-usd=${formatUsd(cost)}\n\n` }, ...chunks.slice(index)];
      }
    }
    return out;
  }

  async #settleStream(response: LlmResponse, complete: boolean, ctx: LlmCallContext, refused = false): Promise<void> {
    const call = this.#call(ctx);
    if (!call || call.settled) return;
    // A continuation's answer holds the earlier attempts' text and usage too: only its own deltas and usage count here.
    const reported = call.prior ? call.usage : (response.usage ?? call.usage);
    if (complete && reported) {
      this.#settle(call, ctx, reported, false);
      return;
    }
    const text = call.prior ? call.outputText : partsText(response.parts) || call.outputText;
    // Completed without usage: what was received, counted with the tokenizer.
    // Refused here mid-answer (safety blocking it): what the provider sent on was read for a moment and metered
    // (core/call.ts); when that reached its usage, the answer is billed exactly by it.
    if (refused && reported && response.finishReason !== undefined && !call.prior) {
      this.#settle(call, ctx, reported, false);
      return;
    }
    const usage = complete ? this.#estimateUsage(call, text) : this.#cutUsage(call, text, reported);
    if (complete && reported && reported.inputTokens > 0) Object.assign(usage, reportedInput(reported));
    this.#settle(call, ctx, usage, true);
    // The tokens the metrics and the summary show are the ones billed (with earlier attempts', for a continuation).
    response.usage = call.prior ? addUsage(call.prior.usage, usage) : usage;
  }

  /**
   * A stream cut short: the provider bills what it
   * generated, which is what was received (its bytes bound its tokens, for any text and tokenizer) plus what was
   * still on its way when the stream stopped (one step ahead, as the meter keeps) — never more than was reserved.
   */
  #cutUsage(call: CallCost, text: string, reported: Usage | undefined, toCap = false): Usage {
    const usage = this.#estimateUsage(call, text);
    if (reported && reported.inputTokens > 0) Object.assign(usage, reportedInput(reported));
    const inFlight = Math.max(IN_FLIGHT_TOKENS, 2 * call.largestChunk);
    const cap = (call.request.maxOutputTokens ?? call.pricing?.maxOutputTokens ?? Number.POSITIVE_INFINITY) * choicesOf(call.request);
    const received = Math.min(cap, Math.max(usage.outputTokens, Buffer.byteLength(text), call.outputBytes));
    // Never more than the reservation covers (max_tokens bounds what the provider generates), nor less than received.
    const covered = call.pricing && call.reservation ? Math.floor((call.reservation.amount * 1_000_000 - usage.inputTokens * call.pricing.input) / Math.max(1, call.pricing.output, call.pricing.reasoning)) : received + inFlight;
    usage.outputTokens = Math.max(received, Math.min(toCap ? Number.POSITIVE_INFINITY : received + inFlight, cap, covered));
    return usage;
  }

  #estimateUsage(call: CallCost, outputText: string): Usage {
    return { inputTokens: inputTokensCounted(call.request), outputTokens: countText(outputText), cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
  }

  #settle(call: CallCost, ctx: LlmCallContext, answered: Usage, estimated: boolean): Micros {
    if (call.settled) return 0;
    call.settled = true;
    // Attempts that got no answer count their prompt: the input tokens billed are this answer's and theirs.
    const { usage, unanswered } = this.#withUnanswered(call, answered);
    if (call.unanswered > 0) estimated = true;
    const agent = this.#agent(ctx.agent);
    const cost = call.pricing ? costOf(call.pricing, usage) : 0;
    if (call.reservation && cost > call.reservation.amount) this.#overReservation(call, ctx, cost, usage);
    if (call.reservation) ledger.settle(call.reservation, cost);
    if (estimated) agent.estimatedCalls += 1;
    if (!call.pricing) agent.unpricedCalls += 1;
    const model = call.request.model;
    const spend = agent.byModel.get(model) ?? { calls: 0, costMicros: 0, inputTokens: 0, outputTokens: 0 };
    spend.calls += 1;
    spend.costMicros += cost;
    spend.inputTokens += usage.inputTokens;
    spend.outputTokens += usage.outputTokens;
    agent.byModel.set(model, spend);
    const { scope } = agent;
    this.#runtime.events.emit({
      type: 'CostUpdate',
      time: Date.now(),
      agentId: ctx.agent.agentId,
      callId: ctx.callId,
      model,
      provider: ctx.provider.name,
      costUsd: microsToUsd(cost),
      usage,
      estimated,
      priced: call.pricing !== null,
      ...(unanswered ? { unanswered } : {}),
      agentSpentUsd: microsToUsd(scope.spent),
      agentLimitUsd: scope.limit === null ? null : microsToUsd(scope.limit),
      totalSpentUsd: microsToUsd(this.total.spent),
    });
    for (const counted of call.reservation?.scopes ?? [scope, this.total]) this.#warn(counted, ctx.agent.agentId);
    if (this.#options.onExceeded === 'stop' && scope.remaining === 0) {
      this.#stop(ctx.agent.agentId, new IronError(IRON_BUDGET_EXCEEDED, `budget exhausted: the agent spent its whole $${formatUsd(scope.limit ?? 0)}`));
    }
    return cost;
  }

  /**
   * The provider billed more than the reservation covered (it reported more tokens than max_tokens allows, or hidden
   * tokens): the money is spent and is counted, and it is never silent — a warning and a BudgetExceeded event.
   */
  #overReservation(call: CallCost, ctx: LlmCallContext, cost: Micros, usage: Usage): void {
    const reservation = call.reservation!;
    const over = reservation.scopes.filter((scope) => scope.limit !== null && scope.spent + cost > scope.limit);
    this.#logger.warn({ callId: ctx.callId, model: call.request.model, reservedUsd: microsToUsd(reservation.amount), costUsd: microsToUsd(cost), usage }, `a ${call.request.model} call cost more than its reservation ($${formatUsd(cost)} > $${formatUsd(reservation.amount)}): the provider reported ${usage.outputTokens} output tokens`);
    for (const scope of over) {
      this.#runtime.events.emit({ type: 'BudgetExceeded', time: Date.now(), agentId: ctx.agent.agentId, scope: scope.kind, name: scope.name, limitUsd: microsToUsd(scope.limit ?? 0), spentUsd: microsToUsd(scope.spent + cost), neededUsd: microsToUsd(cost - reservation.amount), overReservation: true });
    }
  }

  #warn(scope: BudgetScope, agentId: string): void {
    if (scope.limit === null || scope.limit === 0) return;
    const pct = (scope.spent / scope.limit) * 100;
    for (const threshold of [...this.#options.warnAt].sort((a, b) => a - b)) {
      if (pct < threshold || scope.warned.has(threshold)) continue;
      scope.warned.add(threshold);
      this.#runtime.events.emit({
        type: 'BudgetWarning',
        time: Date.now(),
        ...(scope.kind === 'runtime' ? {} : { agentId }),
        scope: scope.kind,
        name: scope.name,
        thresholdPct: threshold,
        spentUsd: microsToUsd(scope.spent),
        limitUsd: microsToUsd(scope.limit),
      });
    }
  }

  /** The call's reservation given back, or — when attempts went out unanswered — settled at what they may have cost. */
  async #release(ctx: LlmCallContext): Promise<Micros> {
    const call = this.#call(ctx);
    if (!call || call.settled) return 0;
    // Sent and never answered: the prompts may have been billed — counted (estimated), not given back as $0.
    if (call.unanswered > 0 && call.pricing) return this.#settle(call, ctx, emptyUsage(), true);
    // Answered in part and then refused here (a chunk safety blocks, a plugin that threw): the provider billed what
    // it generated, and a stream we stopped reading may have gone on to max_tokens — counted as if it had.
    if ((call.outputBytes > 0 || call.usage !== undefined) && call.pricing) return this.#settle(call, ctx, this.#cutUsage(call, call.outputText, call.usage, true), true);
    call.settled = true;
    if (call.reservation) ledger.release(call.reservation);
    return 0;
  }

  /** `answered` plus what the call's unanswered attempts may have been billed. */
  #withUnanswered(call: CallCost, answered: Usage): { usage: Usage; unanswered?: { attempts: number; inputTokens: number; outputTokens: number } } {
    if (call.unanswered === 0) return { usage: answered };
    const cap = (call.request.maxOutputTokens ?? call.pricing?.maxOutputTokens ?? 0) * choicesOf(call.request);
    const unanswered = { attempts: call.unanswered, inputTokens: call.unanswered * inputTokensCounted(call.request), outputTokens: call.brokenAnswers * cap };
    return { usage: { ...answered, inputTokens: answered.inputTokens + unanswered.inputTokens, outputTokens: answered.outputTokens + unanswered.outputTokens }, unanswered };
  }
}
