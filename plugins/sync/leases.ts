// Server budgets shared by several runtimes: before a call, its worst case (the cost plugin's reservation, a true
// upper bound in both reservation modes) must fit in what this runtime borrowed from the server (a lease). Leases
// are topped up when they run low, renewed with the use so far, and returned with the final use when
// the runtime closes. The protocol (states, failures, what the server counts) is in LEASES.md beside this file.
import type { Logger } from 'pino';
import type { LlmCallContext } from '../../core/context.ts';
import type { LlmRequest } from '../../core/llm/types.ts';
import { ConfigError, IronError, IRON_BUDGET_EXCEEDED, IRON_BUDGET_UNAVAILABLE, IRON_UNKNOWN_MODEL } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { Runtime } from '../../core/runtime.ts';
import { microsToUsd, usdToMicros } from '../cost/money.ts';
import { DEFAULT_WAIT_MS, type CostOptions } from '../cost/options.ts';
import type { Journal, Orphan } from './journal.ts';
import { EXTERNAL_ROOM, SHRINK_RESERVATION, type ExternalRoom, type ShrinkReservation } from '../cost/ledger.ts';

export type OfflineMode = 'lease' | 'block' | 'allow';

/** How long reading the server's limits may take before the server counts as away. */
const LIMITS_TIMEOUT_MS = 2000;

export interface LeaseOptions {
  server: string;
  token: string;
  holder: string;
  /** How much to borrow at a time (USD). */
  trancheUsd: number;
  ttlSeconds: number;
  pollMs: number;
  /**
   * Server unreachable: spend what unexpired leases still hold (`lease`), refuse every call a server budget could
   * forbid (`block`), or let calls through without server budgets (`allow`).
   */
  offline: OfflineMode;
  /** Where leases and their use are noted durably, so that the next run can settle them if this one is killed. */
  journal?: Journal;
}

interface ServerLimit {
  id: string;
  scope: string;
  target: string;
  kind: string;
  amountUsd: number | null;
}

/** The server's answer to a grant or renewal (server/routes/leases.ts). */
interface LeaseAnswer {
  id: string;
  grantedUsd: number;
  availableUsd?: number;
  othersUnusedUsd?: number;
}

/** An HTTP answer that is not 2xx, with the server's error code when it sent one. */
class ServerAnswer extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(message: string, status: number, code: string | undefined) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One server budget as this runtime sees it. All amounts are micro-USD. */
class Account {
  leaseId: string | undefined;
  /** The top-up in flight: concurrent calls wait for it instead of each opening a lease of their own. */
  pending: Promise<void> | undefined;
  granted = 0;
  /** Settled cost of calls under the current lease. */
  used = 0;
  /** Held by calls in flight (their reservations, grown with their streams). */
  reserved = 0;
  /**
   * When the lease stops being spendable, by this runtime's clock: the renewal's send time plus its TTL, never later
   * than the server's own expiry, so an outage never lets this runtime spend past a lease the server has expired.
   */
  expiresAt = 0;
  readonly limitId: string;
  /** Set for an agent-scoped limit: only that agent's calls count against it. */
  readonly agentId: string | undefined;
  /** The limit's amount as last read (USD), for the alert a refusal raises. */
  amountUsd: number;
  /** When a call last reserved here: a lease idle for a whole poll gives back what it does not need. */
  lastReservedAt = 0;
  /** What other runtimes' leases held unused at the last answer: worth waiting for when this one falls short. */
  othersUnused = 0;
  /** What the limit had left to lend at the last answer: below a tranche, idle leases give back what they hold. */
  available = Number.POSITIVE_INFINITY;
  constructor(limitId: string, agentId: string | undefined, amountUsd: number) {
    this.limitId = limitId;
    this.agentId = agentId;
    this.amountUsd = amountUsd;
  }
  /** What a new reservation may take now: nothing once the lease has expired (a renewal comes first). */
  get free(): number {
    if (!this.leaseId || Date.now() >= this.expiresAt) return Math.min(0, this.granted - this.used - this.reserved);
    return this.granted - this.used - this.reserved;
  }
  appliesTo(agentId: string): boolean {
    return this.agentId === undefined || this.agentId === agentId;
  }
}

/**
 * What the whole limit has spent (every runtime's), as the last lease answer tells: the limit less what it can still
 * lend and what leases hold unused — at least this runtime's own use. (Its own use alone said "$0.00 of $0.0002
 * spent" on a limit other runtimes had used up.)
 */
function limitSpent(account: Account): number {
  const limit = usdToMicros(account.amountUsd);
  if (!Number.isFinite(account.available)) return account.used;
  // (Held by calls in flight is not spent: only what settled.)
  const unusedHere = Math.max(0, account.granted - account.used);
  return Math.max(account.used, Math.min(limit, limit - account.available - account.othersUnused - unusedHere));
}

/** What one call holds: the amount of its cost reservation, in every account that applies to it. */
interface Held {
  accounts: Account[];
  amount: number;
}

export class LeaseKeeper {
  readonly #runtime: Runtime;
  readonly #options: LeaseOptions;
  readonly #logger: Logger;
  readonly #warnedUnenforced = new Set<string>();
  readonly #accounts = new Map<string, Account>();
  readonly #byCall = new Map<string, Held>();
  #timer: NodeJS.Timeout | undefined;
  #offline = false;
  /** The server's limits were read at least once: until then no call a server budget could forbid goes out. */
  #limitsKnown = false;
  #reading: Promise<void> | undefined;
  #lastRead = 0;
  /** How long the last read of the limits took: a quick refusal (nothing listening) is asked again on every call. */
  #lastReadTook = 0;
  /** Why the limits could not be read, for the refusal's message. */
  #limitsError: Error | undefined;
  #limitsWarnedAt = 0;
  #warnedAllow = false;
  /** Leases of killed runtimes the server has not taken back yet (retried on every heartbeat). */
  readonly #unsettled: Array<{ leaseId: string; usedMicros: number; pid: number }> = [];
  /** Aborts requests still in flight once closing has used its time. */
  readonly #stopping = new AbortController();
  /** Calls waiting for calls in flight to give back part of a lease: woken on every release. */
  readonly #onRelease = new Set<() => void>();
  /** How long a call short of its lease waits for calls in flight (the cost plugin's cost.waitMs). */
  readonly #waitMs: number;

  constructor(runtime: Runtime, options: LeaseOptions, logger: Logger) {
    this.#runtime = runtime;
    this.#options = options;
    this.#logger = logger;
    const cost = runtime.config.cost as Partial<CostOptions> | false | undefined;
    this.#waitMs = (cost ? cost.waitMs : undefined) ?? DEFAULT_WAIT_MS;
  }

  async #request<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 5000): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.#options.server}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#options.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#stopping.signal]),
      });
    } catch (error) {
      this.#offline = true;
      throw error;
    }
    const text = await response.text();
    // Any answer means the server is there; a 5xx means it cannot decide, which counts as away.
    this.#offline = response.status >= 500;
    if (!response.ok) {
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      } catch {
        // not the server's error shape (a proxy's page, say)
      }
      throw new ServerAnswer(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`, response.status, code);
    }
    return JSON.parse(text) as T;
  }

  /** Reads the project's budget limits and keeps accounts in step with them. */
  refreshLimits(): Promise<void> {
    this.#reading ??= this.#readLimits().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #readLimits(): Promise<void> {
    this.#lastRead = Date.now();
    try {
      await this.#readLimitsOnce();
    } finally {
      this.#lastReadTook = Date.now() - this.#lastRead;
    }
  }

  async #readLimitsOnce(): Promise<void> {
    try {
      // A short wait: calls may be waiting on it, and a server that does not answer soon is treated as away.
      const body = await this.#request<{ limits: ServerLimit[] }>('GET', '/api/limits', undefined, LIMITS_TIMEOUT_MS);
      const limits = body.limits.filter((limit) => limit.kind === 'budget' && (limit.scope === 'project' || limit.scope === 'agent'));
      // Never silent: a limit the server holds that this runtime does not enforce is said once.
      for (const limit of body.limits) {
        if (limits.includes(limit) || this.#warnedUnenforced.has(limit.id)) continue;
        this.#warnedUnenforced.add(limit.id);
        const what = limit.kind === 'budget' ? `a ${limit.scope} budget (${limit.target})` : `a ${limit.kind} limit on the ${limit.scope}${limit.target ? ` ${limit.target}` : ''}`;
        this.#logger.warn({ limitId: limit.id }, `the server holds ${what} that runtimes do not enforce yet: only project and agent budgets stop calls`);
      }
      const ids = new Set(limits.map((limit) => limit.id));
      for (const [id, account] of [...this.#accounts]) {
        if (ids.has(id)) continue;
        this.#accounts.delete(id);
        if (account.leaseId) void this.#settle(account.leaseId, account.used);
      }
      for (const limit of limits) {
        const account = this.#accounts.get(limit.id);
        if (account) account.amountUsd = limit.amountUsd ?? 0;
        else this.#accounts.set(limit.id, new Account(limit.id, limit.scope === 'agent' ? limit.target : undefined, limit.amountUsd ?? 0));
      }
      this.#limitsKnown = true;
      this.#limitsError = undefined;
      this.#limitsWarnedAt = 0;
    } catch (error) {
      this.#limitsError = error as Error;
      // Once a minute while it lasts (asked about every second: the log would be nothing else).
      if (Date.now() - this.#limitsWarnedAt >= 60_000) {
        this.#limitsWarnedAt = Date.now();
        this.#logger.warn(`cannot read the server's limits from ${this.#options.server}: ${(error as Error).message} (said again once a minute while it lasts)`);
      }
    }
  }

  async start(): Promise<void> {
    await this.refreshLimits();
    // The server answered, and said no: a mistake in the settings, not an outage — stop here, saying which.
    const answer = this.#limitsError instanceof ServerAnswer ? this.#limitsError : undefined;
    if (answer && (answer.status === 401 || answer.status === 403)) {
      throw new ConfigError(`IRON_TOKEN: the server at ${this.#options.server} refused this runtime's API token (${answer.status}: revoked, expired, or not a project API token): create one on the server (dashboard → Tokens, or POST /api/tokens) and set IRON_TOKEN or sync.token`, { path: 'sync.token' });
    }
    if (answer && answer.status === 404) {
      throw new ConfigError(`IRON_SERVER_URL: ${this.#options.server} has no Iron Cage API (GET /api/limits answered 404): give the server's root address, e.g. http://127.0.0.1:8787${/\/api\/?$/.test(this.#options.server) ? ' (without /api)' : ''}`, { path: 'sync.server' });
    }
    if (!this.#limitsKnown) {
      const what = {
        lease: 'calls are refused (503 IRON_BUDGET_UNAVAILABLE) until it answers (sync.offline: allow lets them through without server budgets)',
        block: 'calls are refused (503 IRON_BUDGET_UNAVAILABLE) until it answers (sync.offline: block)',
        allow: 'calls go ahead WITHOUT server budgets until it answers (sync.offline: allow)',
      }[this.#options.offline];
      this.#logger.warn(`the server's budgets are not known yet (${this.#options.server} did not answer): ${what}`);
    }
    await this.#borrowAhead();
    const { hooks } = this.#runtime;
    // Before the cost plugin reserves: the most the server budgets can give this call, so that a metered call's
    // max_tokens fits them as well as the local budgets.
    hooks.beforeLlmCall.tapPromise({ name: 'sync', stage: STAGE.cost - 1 }, async (request, ctx) => {
      const agentId = ctx.agent.agentId;
      if (this.#roomFor(agentId) !== undefined) {
        const external: ExternalRoom = {
          room: () => this.#roomFor(agentId) ?? Number.POSITIVE_INFINITY,
          held: () => this.#heldFor(agentId),
          refusal: (needed) => this.#refusal(ctx, needed),
        };
        ctx.state.set(EXTERNAL_ROOM, external);
      }
      return request;
    });
    // After the cost plugin reserved the call's worst case: that much must fit in every server budget's lease.
    hooks.beforeLlmCall.tapPromise({ name: 'sync', stage: STAGE.cost + 1 }, async (request, ctx) => (await this.#reserve(request.model, ctx)) ?? request);
    hooks.onLlmError.tapPromise({ name: 'sync', stage: STAGE.sync }, async (_error, ctx) => this.#release(ctx.callId, 0));
    this.#runtime.events.on('CostUpdate', (event) => this.#release((event as { callId: string }).callId, usdToMicros((event as { costUsd: number }).costUsd)));
    this.#timer = setInterval(() => void this.#heartbeat(), this.#options.pollMs);
    this.#timer.unref();
  }

  /** What this runtime holds plus what one top-up can bring, over the server limits that apply to the agent. */
  #roomFor(agentId: string): number | undefined {
    if (!this.#limitsKnown || (this.#offline && this.#options.offline === 'allow')) return undefined;
    let room: number | undefined;
    for (const account of this.#accounts.values()) {
      if (!account.appliesTo(agentId)) continue;
      // What one top-up can bring: a tranche at most, of what the server has left or others may give back.
      const lendable = this.#offline ? 0 : Math.min(usdToMicros(this.#options.trancheUsd), (Number.isFinite(account.available) ? account.available : usdToMicros(account.amountUsd)) + account.othersUnused);
      const mine = Math.max(0, account.free) + lendable;
      room = room === undefined ? mine : Math.min(room, mine);
    }
    return room;
  }

  /** Why a call the cost plugin found short of the server budgets' room is refused: the server away, or a limit. */
  #refusal(ctx: LlmCallContext, needed: number): IronError {
    if (this.#offline && this.#options.offline === 'block') return this.#unavailable('cannot be reached (sync.offline: block)');
    const accounts = [...this.#accounts.values()].filter((account) => account.appliesTo(ctx.agent.agentId));
    const tightest = accounts.reduce<Account | undefined>((a, b) => (a === undefined || b.free < a.free ? b : a), undefined);
    if (!tightest) return this.#unavailable('has not answered since this runtime started');
    return this.#refuse(ctx, tightest, needed, 'this call');
  }

  /** What calls in flight hold of the leases that apply to the agent (they give it back on settling). */
  #heldFor(agentId: string): number {
    let held = 0;
    for (const account of this.#accounts.values()) if (account.appliesTo(agentId)) held = Math.max(held, account.reserved);
    return held;
  }

  #unavailable(why: string): IronError {
    return new IronError(IRON_BUDGET_UNAVAILABLE, `the Iron Cage server at ${this.#options.server} ${why}, so its budgets cannot be checked: the call is refused until it answers (sync.offline: allow lets calls through without server budgets while it is away)`, {
      details: { server: this.#options.server, offline: this.#options.offline },
    });
  }

  #skipWhileAway(): boolean {
    if (this.#options.offline !== 'allow') return false;
    if (!this.#warnedAllow) this.#logger.warn(`the server at ${this.#options.server} cannot be reached: calls go ahead without server budgets (sync.offline: allow)`);
    this.#warnedAllow = true;
    return true;
  }

  /** Reserves the call's worst case in every lease that applies; a metered call may come back fitted into less. */
  async #reserve(model: string, ctx: LlmCallContext): Promise<LlmRequest | undefined> {
    if (!this.#limitsKnown) {
      // Asked again at most once a second when it was slow to fail: a server that is away must not make every call
      // wait for a timeout. A quick refusal is asked again at once, so the first call after it is back goes ahead.
      if (this.#reading || this.#lastReadTook < 250 || Date.now() - this.#lastRead >= 1000) await this.refreshLimits();
      if (!this.#limitsKnown) {
        if (this.#skipWhileAway()) return;
        const refused = this.#limitsError instanceof ServerAnswer && (this.#limitsError.status === 401 || this.#limitsError.status === 403);
        throw this.#unavailable(refused ? `refused this runtime's API token (${(this.#limitsError as ServerAnswer).status}: check IRON_TOKEN)` : `has not answered since this runtime started (${this.#limitsError?.message ?? 'no answer'})`);
      }
    }
    const accounts = [...this.#accounts.values()].filter((account) => account.appliesTo(ctx.agent.agentId));
    if (accounts.length === 0) return;
    if (this.#offline && this.#skipWhileAway()) return;
    if (this.#offline && this.#options.offline === 'block') throw this.#unavailable('cannot be reached (sync.offline: block)');
    const reservation = (ctx.state.get('cost') as { reservation?: { amount: number } | null } | undefined)?.reservation;
    if (!reservation) {
      // Fail closed: a call the cost plugin cannot price could spend anything against the server's budget.
      throw new IronError(IRON_UNKNOWN_MODEL, `model "${model}" has no known price, and the server has a budget for this project: add its price under cost.prices in iron.config.yaml so its calls can be counted`, {
        details: { model },
      });
    }
    let amount = reservation.amount;
    let fitted: LlmRequest | undefined;
    const held: Account[] = [];
    const shrink = ctx.state.get(SHRINK_RESERVATION) as ShrinkReservation | undefined;
    const fit = shrink
      ? (free: number) => {
          const smaller = shrink(free);
          if (smaller) fitted = smaller.request;
          return smaller?.amount;
        }
      : undefined;
    for (const account of accounts) {
      const taken = await this.#take(account, amount, fit);
      if (taken === undefined) {
        for (const h of held) h.reserved -= amount;
        throw this.#refuse(ctx, account, amount, 'this call');
      }
      // Fitted into less: the leases taken before give back the difference.
      for (const h of held) h.reserved -= amount - taken;
      amount = taken;
      account.lastReservedAt = Date.now();
      held.push(account);
    }
    this.#byCall.set(ctx.callId, { accounts: held, amount });
    return fitted;
  }

  /**
   * The budget is lent out, but other runtimes hold parts of it unused: they give back what they do not need on their
   * next heartbeat, so the call waits (at most two polls) rather than being refused while the limit still has room.
   */
  async #waitForShare(account: Account, amount: number): Promise<void> {
    const deadline = Date.now() + 2 * this.#options.pollMs + 1000;
    // Its own unused part is too small for this call: give it back too, so that the fragments other waiting runtimes
    // give back add up to what one of them needs (otherwise they would all wait for each other's heartbeats).
    if (account.othersUnused >= amount - account.free && account.granted > account.used + account.reserved && !account.pending) {
      account.pending = this.#renew(account, true).finally(() => (account.pending = undefined));
      await account.pending;
    }
    while (account.free < amount && account.othersUnused >= amount - account.free && !this.#offline && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, this.#options.pollMs / 4)));
      while (account.free < amount && account.pending) await account.pending;
      if (account.free >= amount) return;
      account.pending = this.#topUp(account, amount - account.free).finally(() => (account.pending = undefined));
      await account.pending;
    }
  }

  /**
   * Reserves `amount` of the account's lease and answers what it took, or undefined: first what it holds, then a
   * top-up, then shares other runtimes give back, then what calls in flight give back when they settle (up to
   * cost.waitMs, as a local budget's call waits: a metered call without max_tokens reserves all the budget affords, so
   * the next one always lands there). A metered call (`fit`) that still does not fit is fitted into what the lease
   * holds — the cost plugin planned it with the server's room as of its last answer, and other runtimes may hold the
   * rest. Each check is followed by the reservation in the same synchronous step: of several calls woken by one
   * release, only those that fit take it (a check on one side of an await and the reservation on the other let them
   * all see the same room, and all but one were then refused).
   */
  async #take(account: Account, amount: number, fit?: (free: number) => number | undefined): Promise<number | undefined> {
    const take = (): number | undefined => {
      if (account.free < amount) return undefined;
      account.reserved += amount;
      return amount;
    };
    const fitted = (): number | undefined => {
      const smaller = fit && account.free > 0 ? fit(account.free) : undefined;
      if (smaller === undefined || account.free < smaller) return undefined;
      amount = smaller;
      return take();
    };
    const topUp = async () => {
      while (account.free < amount && account.pending) await account.pending;
      if (take() !== undefined) return amount;
      account.pending = this.#topUp(account, amount - account.free).finally(() => (account.pending = undefined));
      await account.pending;
      return take();
    };
    if (take() !== undefined || (await topUp()) !== undefined) return amount;
    await this.#waitForShare(account, amount);
    if (take() !== undefined || fitted() !== undefined) return amount;
    const deadline = Date.now() + this.#waitMs;
    // Waits for its own calls in flight to settle, or for other runtimes to give back what they hold unused (asked
    // again a few times a second).
    while ((account.reserved > 0 || account.othersUnused > 0) && !this.#offline && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#onRelease.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, Math.min(deadline - Date.now(), account.reserved > 0 ? Number.POSITIVE_INFINITY : this.#options.pollMs / 4)));
        this.#onRelease.add(wake);
      });
      if (take() !== undefined) return amount;
      // Everything of its own settled and it is still short: the lease needs more from the server.
      if (account.reserved === 0 && (await topUp()) !== undefined) return amount;
      if (fitted() !== undefined) return amount;
    }
    return take() ?? fitted();
  }

  #refuse(ctx: LlmCallContext, account: Account, amount: number, what: string): IronError {
    const scope = account.agentId ? 'agent' : 'project';
    // Raised like a local budget's refusal, so a server limit's refusals reach the team's Alerts page too.
    this.#runtime.events.emit({
      type: 'BudgetExceeded',
      time: Date.now(),
      agentId: ctx.agent.agentId,
      scope,
      name: `server limit ${account.limitId}`,
      limitId: account.limitId,
      limitUsd: account.amountUsd,
      spentUsd: microsToUsd(limitSpent(account)),
      neededUsd: microsToUsd(amount),
    });
    const away = this.#offline ? ` (the server at ${this.#options.server} cannot be reached: this runtime spends only what its unexpired lease holds)` : '';
    const uncapped = (ctx.state.get('cost') as { uncapped?: boolean } | undefined)?.uncapped === true;
    const hint = uncapped ? '. The call sets no max_tokens, so the model\'s whole output maximum was reserved: set max_tokens, or cost.reservation: metered' : '';
    return new IronError(
      IRON_BUDGET_EXCEEDED,
      `the ${scope === 'agent' ? "agent's" : "project's"} server budget (limit ${account.limitId}) has no room for ${what}: it needs up to $${microsToUsd(amount).toFixed(6)} and this runtime holds $${microsToUsd(Math.max(0, account.free)).toFixed(6)}${away}${hint}`,
      { details: { limitId: account.limitId, neededUsd: microsToUsd(amount), offline: this.#offline } },
    );
  }

  /** Borrows at least `needed` more (a tranche when that is more), as far as the server allows. */
  async #topUp(account: Account, needed: number): Promise<void> {
    const want = microsToUsd(Math.max(needed, usdToMicros(this.#options.trancheUsd)));
    const sentAt = Date.now();
    try {
      const lease = account.leaseId
        ? await this.#request<LeaseAnswer>('POST', `/api/leases/${account.leaseId}/renew`, { usedUsd: microsToUsd(account.used), requestUsd: want, minUsd: microsToUsd(needed), ttlSeconds: this.#options.ttlSeconds })
        : await this.#request<LeaseAnswer>('POST', '/api/leases', { limitId: account.limitId, holder: this.#options.holder, requestUsd: want, minUsd: microsToUsd(needed), ttlSeconds: this.#options.ttlSeconds });
      this.#took(account, lease, sentAt);
    } catch (error) {
      if (account.leaseId && this.#ended(account, error)) return this.#topUp(account, needed);
      this.#logger.warn(`cannot borrow from the server budget (limit ${account.limitId}): ${(error as Error).message}`);
    }
  }

  #took(account: Account, lease: LeaseAnswer, sentAt: number): void {
    account.leaseId = lease.id;
    account.granted = usdToMicros(lease.grantedUsd);
    account.othersUnused = usdToMicros(lease.othersUnusedUsd ?? 0);
    account.available = usdToMicros(lease.availableUsd ?? Number.POSITIVE_INFINITY);
    account.expiresAt = sentAt + this.#options.ttlSeconds * 1000;
    this.#options.journal?.lease(lease.id, account.limitId, account.used);
  }

  /**
   * The server no longer renews this lease (it expired during a pause or an outage, or is unknown to it). It has
   * recorded the use the refused renewal reported; settle it so its unused part is lent again, and start afresh:
   * calls in flight keep their reservations, which move to the next lease. True when a new lease should be taken.
   */
  #ended(account: Account, error: unknown): boolean {
    if (!(error instanceof ServerAnswer) || (error.status !== 409 && error.status !== 404)) return false;
    const old = account.leaseId!;
    this.#logger.info(`lease ${old} of limit ${account.limitId} ended (${error.code ?? error.status}): settling it and taking a new one`);
    if (error.status === 409) void this.#settle(old, account.used);
    else this.#options.journal?.leaseEnded(old);
    account.leaseId = undefined;
    account.used = 0;
    account.granted = 0;
    account.expiresAt = 0;
    return true;
  }

  /** Returns a lease with its final use; true once the server has it (the journal then forgets the lease). */
  async #settle(leaseId: string, used: number): Promise<boolean> {
    try {
      await this.#request('POST', `/api/leases/${leaseId}/return`, { usedUsd: microsToUsd(used) });
      this.#options.journal?.leaseEnded(leaseId);
      return true;
    } catch (error) {
      if (error instanceof ServerAnswer && error.status === 404) {
        this.#options.journal?.leaseEnded(leaseId);
        return true;
      }
      if (error instanceof ServerAnswer && error.status === 403) {
        // Taken with another API token (IRON_TOKEN changed between runs): only that token or an admin may return it.
        // Until then the server counts its whole grant (fail closed); asking again would not change the answer.
        this.#logger.warn(`lease ${leaseId} was taken with another API token, so this runtime cannot settle it: it stays committed at its grant until an admin returns it (POST /api/leases/${leaseId}/return) with $${microsToUsd(used)} used`);
        this.#options.journal?.leaseEnded(leaseId);
        return true;
      }
      this.#logger.warn(`could not settle lease ${leaseId}: ${(error as Error).message}`);
      return false;
    }
  }

  /**
   * Returns the leases a killed runtime held, with their use plus everything it had in flight (each call's
   * reservation: the provider may have billed it). Those the server cannot take now stay noted for the next run.
   */
  async settleOrphans(orphans: Orphan[]): Promise<void> {
    for (const orphan of orphans) {
      const inFlight = orphan.calls.reduce((sum, call) => sum + call.reservedMicros, 0);
      for (const lease of orphan.leases) this.#unsettled.push({ leaseId: lease.leaseId, usedMicros: lease.usedMicros + inFlight, pid: orphan.pid });
    }
    await this.#settleUnsettled();
  }

  async #settleUnsettled(): Promise<void> {
    const waiting = this.#unsettled.splice(0);
    for (const lease of waiting) {
      if (await this.#settle(lease.leaseId, lease.usedMicros)) this.#logger.info(`settled lease ${lease.leaseId} of a runtime that was killed (pid ${lease.pid}): $${microsToUsd(lease.usedMicros)} used`);
      else this.#unsettled.push(lease);
    }
  }

  /** A budget this runtime holds no lease of yet gets a tranche now: calls then start, and survive an outage, with it. */
  async #borrowAhead(): Promise<void> {
    for (const account of this.#accounts.values()) {
      // Agent budgets are borrowed when that agent first calls: most agents of a project have none.
      if (account.leaseId || account.pending || account.agentId !== undefined) continue;
      account.pending = this.#topUp(account, 0).finally(() => (account.pending = undefined));
      await account.pending;
    }
  }

  #release(callId: string, cost: number): void {
    const held = this.#byCall.get(callId);
    if (!held) return;
    this.#byCall.delete(callId);
    for (const account of held.accounts) {
      account.reserved -= held.amount;
      account.used += cost;
      if (account.leaseId && cost > 0) this.#options.journal?.lease(account.leaseId, account.limitId, account.used);
    }
    const waiting = [...this.#onRelease];
    this.#onRelease.clear();
    for (const wake of waiting) wake();
  }

  /** Keeps leases alive with the use so far, and picks up limit changes. */
  async #heartbeat(): Promise<void> {
    await this.refreshLimits();
    if (this.#unsettled.length > 0) await this.#settleUnsettled();
    await this.#borrowAhead();
    for (const account of this.#accounts.values()) {
      if (!account.leaseId || account.pending) continue;
      account.pending = this.#renew(account).finally(() => (account.pending = undefined));
      await account.pending;
    }
  }

  /** The heartbeat's renewal: reports the use so far, and gives back what an idle (or waiting) lease does not need. */
  async #renew(account: Account, giveBack = false): Promise<void> {
    const needs = account.used + account.reserved;
    // A lease keeps what it holds while the limit has plenty left (it carries the runtime through an outage), and
    // gives back what its calls do not hold once the limit runs short, busy or not: another runtime may be waiting
    // for it (a busy runtime kept a small limit to itself, and the others' calls were refused).
    const contended = account.available < usdToMicros(this.#options.trancheUsd);
    const idle = (giveBack || contended) && account.granted > needs;
    // Lowered here first: a call that starts while the renewal is on its way sees the smaller room and waits for it.
    if (idle) account.granted = needs;
    const sentAt = Date.now();
    try {
      const lease = await this.#request<LeaseAnswer>('POST', `/api/leases/${account.leaseId}/renew`, { usedUsd: microsToUsd(account.used), ttlSeconds: this.#options.ttlSeconds, ...(idle ? { keepUsd: microsToUsd(needs) } : {}) });
      this.#took(account, lease, sentAt);
      // The answer says the limit has run short since the last beat: an idle lease gives back now, not a beat later.
      const nowContended = account.available < usdToMicros(this.#options.trancheUsd);
      if (!idle && !contended && nowContended) return this.#renew(account, true);
    } catch (error) {
      // An ended lease is settled now and replaced by the next call; a server away is retried on the next beat
      // while the lease runs out by this runtime's clock.
      this.#ended(account, error);
    }
  }

  /**
   * Returns what was not used, so other runtimes can spend it — within `withinMs`: a lease the server does not take
   * back in time stays noted in the journal, and the next run from this outbox returns it.
   */
  async close(withinMs: number): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const timer = setTimeout(() => this.#stopping.abort(), withinMs);
    await Promise.all([...this.#accounts.values()].filter((account) => account.leaseId).map((account) => this.#settle(account.leaseId!, account.used)));
    clearTimeout(timer);
    this.#stopping.abort();
  }
}
