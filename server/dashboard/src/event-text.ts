// One line about an event for the alerts feed and a run's timeline: the fields a person looks for, never a raw value.
// Payloads come from runtimes of any version, so a missing or unexpected field leaves its part out rather than
// printing `undefined` or a made-up $0.00.
import { formatMs, formatUsd, shortId } from './format.ts';

type Payload = Record<string, unknown>;

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

/** Whether a budget event is about a limit set on the server (the sync plugin names it by `limitId`), not a local budget. */
export function isServerLimit(p: Payload): boolean {
  return str(p.limitId) !== undefined || p.scope === 'server';
}

/**
 * Which budget a BudgetWarning or BudgetExceeded is about. Local budgets: `agent budget`, `runtime budget`,
 * `budget for model gpt-4o*`. Server limits: `project budget (server limit 1a2b3c4d)`, or `server limit …` when the
 * scope is `server` itself. Any other scope string is shown as it is.
 */
export function budgetLabel(p: Payload): string {
  const scope = str(p.scope);
  const name = str(p.name);
  const limitId = str(p.limitId);
  if (isServerLimit(p)) {
    const limit = `server limit${limitId ? ` ${shortId(limitId)}` : ''}`;
    // The sync plugin names a server limit "server limit <id>": said once is enough.
    const named = name && !name.startsWith('server limit') ? ` ${name}` : '';
    if (scope === 'project' || scope === 'agent') return `${scope} budget (${limit})${named}`;
    return `${limit}${named}`;
  }
  switch (scope) {
    // An agent budget's name is the agent's id, and the alert already names its agent.
    case 'agent':
      return 'agent budget';
    case 'runtime':
      return 'runtime budget';
    case 'model':
    case 'provider':
      return `budget for ${scope} ${name ?? '?'}`;
    case undefined:
      return name ? `budget ${name}` : 'budget';
    default:
      return `${scope} budget${name ? ` ${name}` : ''}`;
  }
}

/** "$0.80 of $1.00 spent", or what of it the payload has. */
function spentOf(p: Payload): string | undefined {
  const spent = num(p.spentUsd);
  const limit = num(p.limitUsd);
  if (spent !== undefined && limit !== undefined) return `${formatUsd(spent)} of ${formatUsd(limit)} spent`;
  if (limit !== undefined) return `limit ${formatUsd(limit)}`;
  if (spent !== undefined) return `${formatUsd(spent)} spent`;
  return undefined;
}

export function describeEvent(event: { type: string; payload: Payload }): string {
  const p = event.payload;
  switch (event.type) {
    case 'PiiAlert':
      return `${num(p.count) ?? 1} × ${str(p.entityType) ?? 'PII'} in the ${str(p.direction) ?? 'call'}, ${str(p.action) ?? 'found'}`;
    case 'BudgetWarning': {
      const threshold = num(p.thresholdPct);
      const spent = spentOf(p);
      return `${budgetLabel(p)}${spent ? `: ${spent}` : ''}${threshold !== undefined ? ` (${threshold}%)` : ''}`;
    }
    case 'BudgetExceeded': {
      const needed = num(p.neededUsd);
      const parts = [needed !== undefined ? `refused a call needing ${formatUsd(needed)}` : 'refused a call', spentOf(p)].filter(Boolean);
      return `${budgetLabel(p)}: ${parts.join('; ')}`;
    }
    case 'CircuitOpened': {
      const cooldown = num(p.cooldownMs);
      return `${str(p.provider) ?? '?'}/${str(p.model) ?? '?'}: ${str(p.reason) ?? 'failing'}${cooldown !== undefined ? `; cooling down ${formatMs(cooldown)}` : ''}`;
    }
    case 'CostUpdate':
      return `${str(p.model) ?? ''}: ${p.priced === false ? 'unpriced' : formatUsd(num(p.costUsd))}`;
    case 'LlmCallCompleted':
      return `${str(p.model) ?? ''} in ${formatMs(num(p.latencyMs))}`;
    case 'LlmCallFailed':
      return `${str(p.model) ?? ''} ${str((p.error as { code?: unknown } | undefined)?.code) ?? ''}`.trim();
    case 'AgentStopped':
      return str(p.status)?.replace(/_/g, ' ') ?? '';
    default:
      return '';
  }
}
