// Budgets as scopes (agent, runtime, model, provider) that reserve, settle and release in micro-USD.
import type { Micros } from './money.ts';

export type ScopeKind = 'agent' | 'runtime' | 'model' | 'provider';

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

  /** Grows a reservation (a metered stream), or returns the scope that has no room. */
  extend(reservation: Reservation, more: Micros): true | BudgetScope {
    for (const scope of reservation.scopes) if (scope.available < more) return scope;
    for (const scope of reservation.scopes) scope.reserved += more;
    reservation.amount += more;
    return true;
  },

  /** Replaces the reservation by the real cost. */
  settle(reservation: Reservation, cost: Micros): void {
    if (reservation.done) return;
    reservation.done = true;
    for (const scope of reservation.scopes) {
      scope.reserved -= reservation.amount;
      scope.spent += cost;
    }
  },

  release(reservation: Reservation): void {
    if (reservation.done) return;
    reservation.done = true;
    for (const scope of reservation.scopes) scope.reserved -= reservation.amount;
  },
};
