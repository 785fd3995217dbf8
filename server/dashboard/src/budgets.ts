// Which budget an agent's spend is shown against: its own agent-scope limit, else its project's.
import type { Limit } from './types.ts';

export function budgetFor(limits: Limit[], agent: { id: string; projectId: string }): { limit: Limit; shared: boolean } | undefined {
  const budgets = limits.filter((limit) => limit.kind === 'budget' && limit.projectId === agent.projectId && limit.amountUsd);
  const own = budgets.find((limit) => limit.scope === 'agent' && limit.target === agent.id);
  if (own) return { limit: own, shared: false };
  const project = budgets.find((limit) => limit.scope === 'project');
  return project ? { limit: project, shared: true } : undefined;
}
