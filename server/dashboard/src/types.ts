// The API's response shapes, as the dashboard uses them. The OpenAPI document at /docs is the contract; the server's
// TypeBox schemas are not imported, since they pull Node-only modules into the browser build's type check.
export type Role = 'admin' | 'member' | 'viewer';

export interface User {
  id: string;
  email: string;
  role: Role;
  projectIds: string[];
  lockedUntil: string | null;
  createdAt: string;
}

export interface Project {
  id: string;
  name: string;
  storePrompts: boolean;
  createdAt: string;
}

/** A member or viewer of a project (GET /api/projects/:id/members); the role is the user's, on every project. */
export interface Member {
  userId: string;
  email: string;
  role: Role;
}

export interface Agent {
  id: string;
  projectId: string;
  name: string;
  kind: string;
  status: string;
  startedAt: string;
  stoppedAt: string | null;
  lastEventAt: string;
  calls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  tokens: number;
  costUsd: number;
  piiDetections: number;
}

/** How a run ended, from its agent's status alone: failed calls inside an ok run are in `failedCalls`. */
export type Outcome = 'running' | 'ok' | 'stopped' | 'failed';

export interface TraceSummary extends Agent {
  outcome: Outcome;
  models: string[];
  durationMs: number;
}

export interface Call {
  id: string;
  provider: string;
  model: string;
  status: string;
  stream: boolean;
  inputTokens: number;
  outputTokens: number;
  /** null: no cost recorded (refused before it was sent, no cost plugin, or unpriced). */
  costUsd: number | null;
  /** The model had no price: the cost is unknown, not zero. */
  unpriced: boolean;
  latencyMs: number;
  piiDetections: number;
  errorCode: string | null;
  time: string;
}

export interface StoredEvent {
  id: string;
  type: string;
  time: string;
  payload: Record<string, unknown>;
}

export interface TraceDetail {
  run: Agent & { outcome: Outcome };
  calls: Call[];
  callsTruncated: boolean;
  events: StoredEvent[];
  eventsTruncated: boolean;
}

export type GroupBy = 'hour' | 'day' | 'model' | 'agent' | 'provider' | 'project';

export interface UsageFigures {
  calls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface UsageReport {
  from: string;
  to: string;
  groupBy: GroupBy;
  totals: UsageFigures;
  groups: Array<UsageFigures & { key: string }>;
}

export type LimitScope = 'project' | 'agent' | 'provider' | 'model';
export type Period = 'hour' | 'day' | 'month' | 'total';

export interface Limit {
  id: string;
  projectId: string;
  scope: LimitScope;
  target: string;
  kind: 'budget' | 'rate';
  amountUsd: number | null;
  period: Period | null;
  requestsPerMinute: number | null;
  spentUsd: number | null;
  periodStart: string | null;
  createdAt: string;
  /** False for limits runtimes do not enforce yet (rate limits, model and provider budgets). */
  enforced: boolean;
}

export interface ApiTokenInfo {
  id: string;
  name: string;
  projectId: string;
  prefix: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** An alert as /api/alerts lists it: a live event, with its agent's name when the API knows it. */
export type Alert = LiveEvent & { agentName?: string | null };

export interface AlertsPage {
  since: string;
  until: string;
  items: Alert[];
  counts: Record<string, number>;
}

/** What /ws sends inside `{ type: 'event' }` frames. */
export interface LiveEvent {
  id: string;
  projectId: string;
  agentId: string | null;
  type: string;
  time: string;
  payload: Record<string, unknown>;
}
