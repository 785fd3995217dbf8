// Server budgets shared by several runtimes: before a call, its worst case (the cost plugin's reservation) must fit
// in what this runtime borrowed from the server (a lease); when it runs low the lease is topped up, and the unused
// part is returned when the runtime closes. Limits are re-read from the server every few seconds.
import type { Logger } from 'pino';
import type { LlmCallContext } from '../../core/context.ts';
import { IronError, IRON_BUDGET_EXCEEDED } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { Runtime } from '../../core/runtime.ts';
import { microsToUsd, usdToMicros } from '../cost/money.ts';

const STATE = 'sync:lease';

export interface LeaseOptions {
  server: string;
  token: string;
  holder: string;
  /** How much to borrow at a time (USD). */
  trancheUsd: number;
  ttlSeconds: number;
  pollMs: number;
  /** Server unreachable: spend what the lease still holds (`lease`) or refuse every call (`block`). */
  offline: 'lease' | 'block';
}

interface ServerLimit {
  id: string;
  scope: string;
  target: string;
  kind: string;
  amountUsd: number | null;
}

/** One server budget as this runtime sees it. All amounts are micro-USD. */
class Account {
  leaseId: string | undefined;
  /** The top-up in flight: concurrent calls wait for it instead of each opening a lease of their own. */
  pending: Promise<void> | undefined;
  granted = 0;
  used = 0;
  reserved = 0;
  readonly limitId: string;
  /** Set for an agent-scoped limit: only that agent's calls count against it. */
  readonly agentId: string | undefined;
  /** The limit's amount as last read (USD), for the alert a refusal raises. */
  amountUsd: number;
  constructor(limitId: string, agentId: string | undefined, amountUsd: number) {
    this.limitId = limitId;
    this.agentId = agentId;
    this.amountUsd = amountUsd;
  }
  get free(): number {
    return this.granted - this.used - this.reserved;
  }
}


export class LeaseKeeper {
  readonly #runtime: Runtime;
  readonly #options: LeaseOptions;
  readonly #logger: Logger;
  readonly #accounts = new Map<string, Account>();
  readonly #byCall = new Map<string, Array<{ account: Account; amount: number }>>();
  #timer: NodeJS.Timeout | undefined;
  #offline = false;
  #warnedNoCost = false;

  constructor(runtime: Runtime, options: LeaseOptions, logger: Logger) {
    this.#runtime = runtime;
    this.#options = options;
    this.#logger = logger;
  }

  async #request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.#options.server}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#options.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
    this.#offline = false;
    return JSON.parse(text) as T;
  }

  /** Reads the project's budget limits (project scope) and keeps accounts in step with them. */
  async refreshLimits(): Promise<void> {
    try {
      const body = await this.#request<{ limits: ServerLimit[] }>('GET', '/api/limits');
      const limits = body.limits.filter((limit) => limit.kind === 'budget' && (limit.scope === 'project' || limit.scope === 'agent'));
      const ids = new Set(limits.map((limit) => limit.id));
      for (const id of [...this.#accounts.keys()]) if (!ids.has(id)) this.#accounts.delete(id);
      for (const limit of limits) {
        const account = this.#accounts.get(limit.id);
        if (account) account.amountUsd = limit.amountUsd ?? 0;
        else this.#accounts.set(limit.id, new Account(limit.id, limit.scope === 'agent' ? limit.target : undefined, limit.amountUsd ?? 0));
      }
    } catch (error) {
      this.#offline = true;
      this.#logger.warn(`cannot read the server's limits: ${(error as Error).message}`);
    }
  }

  async start(): Promise<void> {
    await this.refreshLimits();
    await this.#borrowAhead();
    const { hooks } = this.#runtime;
    // After the cost plugin reserved the call's worst case: that much must fit in every server budget's lease.
    hooks.beforeLlmCall.tapPromise({ name: 'sync', stage: STAGE.cost + 1 }, async (request, ctx) => {
      await this.#reserve(ctx);
      return request;
    });
    hooks.onLlmError.tapPromise({ name: 'sync', stage: STAGE.sync }, async (_error, ctx) => this.#release(ctx.callId, 0));
    this.#runtime.events.on('CostUpdate', (event) => this.#release((event as { callId: string }).callId, usdToMicros((event as { costUsd: number }).costUsd)));
    this.#timer = setInterval(() => void this.#heartbeat(), this.#options.pollMs);
    this.#timer.unref();
  }

  async #reserve(ctx: LlmCallContext): Promise<void> {
    if (this.#accounts.size === 0) return;
    if (![...this.#accounts.values()].some((account) => account.agentId === undefined || account.agentId === ctx.agent.agentId)) return;
    if (this.#offline && this.#options.offline === 'block') {
      throw new IronError(IRON_BUDGET_EXCEEDED, 'the Iron Cage server cannot be reached and sync.offline is block: calls wait until it is back');
    }
    const reservation = (ctx.state.get('cost') as { reservation?: { amount: number } | null } | undefined)?.reservation;
    if (!reservation) {
      if (!this.#warnedNoCost) this.#logger.warn('the server has budgets for this project, but the cost plugin is off: set a budget or a cost section so calls can be priced against them');
      this.#warnedNoCost = true;
      return;
    }
    const amount = reservation.amount;
    const held: Array<{ account: Account; amount: number }> = [];
    for (const account of this.#accounts.values()) {
      if (account.agentId !== undefined && account.agentId !== ctx.agent.agentId) continue;
      while (account.free < amount && account.pending) await account.pending;
      if (account.free < amount) {
        account.pending = this.#topUp(account, amount - account.free).finally(() => (account.pending = undefined));
        await account.pending;
      }
      if (account.free < amount) {
        for (const h of held) h.account.reserved -= h.amount;
        // Raised like a local budget's refusal, so a server limit's refusals reach the team's Alerts page too.
        this.#runtime.events.emit({
          type: 'BudgetExceeded',
          time: Date.now(),
          agentId: ctx.agent.agentId,
          scope: account.agentId ? 'agent' : 'project',
          name: `server limit ${account.limitId}`,
          limitId: account.limitId,
          limitUsd: account.amountUsd,
          spentUsd: microsToUsd(account.used),
          neededUsd: microsToUsd(amount),
        });
        throw new IronError(
          IRON_BUDGET_EXCEEDED,
          `the ${account.agentId ? "agent's" : "project's"} server budget (limit ${account.limitId}) has no room for this call: it needs up to $${microsToUsd(amount).toFixed(6)} and this runtime holds $${microsToUsd(Math.max(0, account.free)).toFixed(6)}${this.#offline ? ' (the server cannot be reached)' : ''}`,
          { details: { limitId: account.limitId, neededUsd: microsToUsd(amount) } },
        );
      }
      account.reserved += amount;
      held.push({ account, amount });
    }
    this.#byCall.set(ctx.callId, held);
  }

  /** Borrows at least `needed` more (a tranche when that is more), as far as the server allows. */
  async #topUp(account: Account, needed: number): Promise<void> {
    const want = microsToUsd(Math.max(needed, usdToMicros(this.#options.trancheUsd)));
    try {
      const lease = account.leaseId
        ? await this.#request<{ id: string; grantedUsd: number; status: string }>('POST', `/api/leases/${account.leaseId}/renew`, { usedUsd: microsToUsd(account.used), requestUsd: want, ttlSeconds: this.#options.ttlSeconds })
        : await this.#request<{ id: string; grantedUsd: number }>('POST', '/api/leases', { limitId: account.limitId, holder: this.#options.holder, requestUsd: want, ttlSeconds: this.#options.ttlSeconds });
      account.leaseId = lease.id;
      account.granted = usdToMicros(lease.grantedUsd);
    } catch (error) {
      // An expired lease (a long pause): start a new one with what was used so far settled on the old.
      if (account.leaseId && /: 400 /.test((error as Error).message)) {
        account.leaseId = undefined;
        account.used = 0;
        account.granted = 0;
        return this.#topUp(account, needed + account.reserved);
      }
      this.#offline = !/: 4\d\d /.test((error as Error).message);
      this.#logger.warn(`cannot borrow from the server budget: ${(error as Error).message}`);
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
    for (const { account, amount } of held) {
      account.reserved -= amount;
      account.used += cost;
    }
  }

  /** Keeps leases alive with the use so far, and picks up limit changes. */
  async #heartbeat(): Promise<void> {
    await this.refreshLimits();
    await this.#borrowAhead();
    for (const account of this.#accounts.values()) {
      if (!account.leaseId) continue;
      try {
        const lease = await this.#request<{ grantedUsd: number }>('POST', `/api/leases/${account.leaseId}/renew`, { usedUsd: microsToUsd(account.used), ttlSeconds: this.#options.ttlSeconds });
        account.granted = usdToMicros(lease.grantedUsd);
      } catch {
        // the next call tops up (or finds the server away)
      }
    }
  }

  /** Returns what was not used, so other runtimes can spend it. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await Promise.all(
      [...this.#accounts.values()]
        .filter((account) => account.leaseId)
        .map((account) => this.#request('POST', `/api/leases/${account.leaseId}/return`, { usedUsd: microsToUsd(account.used) }).catch((error: Error) => this.#logger.warn(`could not return a lease: ${error.message}`))),
    );
  }
}
