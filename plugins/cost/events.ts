// The events the cost plugin adds to the runtime's bus.
import type { Usage } from '../../core/llm/types.ts';
import type { ScopeKind } from './ledger.ts';

export interface CostUpdate {
  type: 'CostUpdate';
  time: number;
  agentId: string;
  callId: string;
  model: string;
  provider: string;
  /** This call's cost. */
  costUsd: number;
  usage: Usage;
  /** The usage was counted here (a stream cut short, an answer without usage), not reported by the provider. */
  estimated: boolean;
  /** False when the model has no known price and `cost.unknownModel` is `warn`. */
  priced: boolean;
  /**
   * Attempts of this call that were sent and never answered (timed out, aborted, cut after their 200), counted in
   * `usage`: their prompts (and, for a cut answer, max_tokens) — the provider may have billed them.
   */
  unanswered?: { attempts: number; inputTokens: number; outputTokens: number };
  agentSpentUsd: number;
  agentLimitUsd: number | null;
  totalSpentUsd: number;
}

export interface BudgetWarning {
  type: 'BudgetWarning';
  time: number;
  agentId?: string;
  scope: ScopeKind;
  name: string;
  thresholdPct: number;
  spentUsd: number;
  limitUsd: number;
}

export interface BudgetExceeded {
  type: 'BudgetExceeded';
  time: number;
  agentId: string;
  /** A local budget's scope, or `project` / `agent` with `limitId` for a server limit (the sync plugin's leases). */
  scope: ScopeKind | 'project';
  name: string;
  limitUsd: number;
  /** Local budgets: spent in the scope. Server limits: spent by this runtime against its lease. */
  spentUsd: number;
  /** What the refused call needed to reserve. */
  neededUsd: number;
  /** The server limit that refused the call. */
  limitId?: string;
}

declare module '../../core/events.ts' {
  interface IronPluginEvents {
    CostUpdate: CostUpdate;
    BudgetWarning: BudgetWarning;
    BudgetExceeded: BudgetExceeded;
  }
}
