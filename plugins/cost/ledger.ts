// Budgets as scopes (agent, runtime, model, provider) that reserve, settle and release in micro-USD.
import type { Micros } from './money.ts';
import type { LlmRequest } from '../../core/llm/types.ts';

export type ScopeKind = 'agent' | 'runtime' | 'model' | 'provider';

/**
 * `ctx.state` key another plugin sets before the cost plugin reserves (an ExternalRoom): the most this call can be
 * given from budgets the cost plugin does not keep — the sync plugin's server budgets. A metered call's `max_tokens`
 * is lowered to fit it too, and a call short of it waits while calls in flight hold part of it.
 */
export const EXTERNAL_ROOM = 'budget:external-room';

export interface ExternalRoom {
  /** Micro-USD this call can be given now (asked again after every wait). */
  room(): Micros;
  /** Micro-USD calls in flight hold of it: what may come back when they settle. */
  held(): Micros;
  /**
   * The error for a call it cannot give `needed`: the keeper of those budgets says which one and why (a server limit
   * by its id, or a server that is away under `sync.offline: block`), and raises its own alert.
   */
  refusal(needed: Micros): Error;
}

/**
 * `ctx.state` key the cost plugin sets on a metered call: fits the call into `toMicros` (lowering its max_tokens
 * further, giving back the difference in every local scope), or answers undefined when that leaves it less than the
 * smallest answer worth sending. The keeper of server budgets uses it when its lease holds less than the cost plugin
 * planned with (the server's room is known only as of its last answer).
 */
export const SHRINK_RESERVATION = 'budget:shrink';

export type ShrinkReservation = (toMicros: Micros) => { request: LlmRequest; amount: Micros } | undefined;

export function externalRoomOf(state: Map<string, unknown>): ExternalRoom | undefined {
  const value = state.get(EXTERNAL_ROOM);
  return typeof value === 'object' && value !== null && 'room' in value ? (value as ExternalRoom) : undefined;
}

export class BudgetScope {
  readonly kind: ScopeKind;
  /** The agent id, model glob or provider name; empty for the runtime. */
  readonly name: string;
  limit: Micros | null;
  spent: Micros = 0;
  reserved: Micros = 0;
  /** Warning thresholds (fractions) already announced. */
  readonly warned = new Set<number>();

  constructor(kind: ScopeKind, name: string, limit: Micros | null) {
    this.kind = kind;
    this.name = name;
    this.limit = limit;
  }

  /** What a new reservation may still take. */
  get available(): Micros {
    return this.limit === null ? Number.POSITIVE_INFINITY : this.limit - this.spent - this.reserved;
  }

  get remaining(): Micros | null {
    return this.limit === null ? null : Math.max(0, this.limit - this.spent);
  }

  describe(): string {
    return this.kind === 'runtime' ? 'the runtime total budget' : this.kind === 'agent' ? "the agent's budget" : `the ${this.kind} budget for ${this.name}`;
  }
}

/** Money held for one call across every scope it counts against. */
export interface Reservation {
  readonly scopes: BudgetScope[];
  amount: Micros;
  done: boolean;
}

/** Calls waiting for room: woken whenever a reservation settles or is released (room may have come back). */
const waiting = new Set<() => void>();

function roomMayHaveFreed(): void {
  for (const wake of [...waiting]) wake();
}

/**
 * Reserve-then-settle accounting. Every step is synchronous, so under any concurrency of calls (JavaScript runs one
 * at a time) the sum of spent and reserved never passes a limit: a call either gets its whole worst case or nothing.
 */
export const ledger = {
  /** Reserves `amount` in every scope, or in none; returns the first scope without room when it does not fit. */
  reserve(scopes: BudgetScope[], amount: Micros): Reservation | BudgetScope {
    for (const scope of scopes) if (scope.available < amount) return scope;
    for (const scope of scopes) scope.reserved += amount;
    return { scopes, amount, done: false };
  },

  /** Replaces the reservation by the real cost. */
  settle(reservation: Reservation, cost: Micros): void {
    if (reservation.done) return;
    reservation.done = true;
    for (const scope of reservation.scopes) {
      scope.reserved -= reservation.amount;
      scope.spent += cost;
    }
    roomMayHaveFreed();
  },

  release(reservation: Reservation): void {
    if (reservation.done) return;
    ledger.unreserve(reservation);
    roomMayHaveFreed();
  },

  /**
   * Takes back a reservation made a moment ago in the same synchronous step (a probe): no room came back that was
   * there before it, so nobody is woken. (Waking there made waiting metered calls wake each other without end, in
   * promise jobs that starved the event loop: the calls holding the budget never got to settle.)
   */
  unreserve(reservation: Reservation): void {
    if (reservation.done) return;
    reservation.done = true;
    for (const scope of reservation.scopes) scope.reserved -= reservation.amount;
  },

  /**
   * Resolves when some reservation settles or is released (true), or after `ms` (false). A call that does not fit
   * while others hold reservations in its scope waits for this instead of being refused: what they do not spend
   * comes back when they settle.
   */
  roomMayFree(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiting.delete(wake);
        resolve(false);
      }, Math.max(0, ms));
      waiting.add(wake);
    });
  },
};
