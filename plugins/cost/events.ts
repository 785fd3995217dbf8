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
  scope: ScopeKind;
  name: string;
  limitUsd: number;
  spentUsd: number;
  /** What the refused call needed to reserve. */
  neededUsd: number;
}

declare module '../../core/events.ts' {
  interface IronPluginEvents {
    CostUpdate: CostUpdate;
    BudgetWarning: BudgetWarning;
    BudgetExceeded: BudgetExceeded;
  }
}
