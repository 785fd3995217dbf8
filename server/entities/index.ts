// The server's tables, defined with MikroORM's defineEntity (no decorators: the code runs as plain ESM).
import { defineEntity, p } from '@mikro-orm/core';

export const Project = defineEntity({
  name: 'Project',
  tableName: 'projects',
  properties: {
    id: p.uuid().primary(),
    name: p.string().unique(),
    /** Prompt bodies are kept in traces only when a project turns this on (and then redacted by the runtime). */
    storePrompts: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary(),
    email: p.string().unique(),
    passwordHash: p.string().hidden(),
    role: p.enum(['admin', 'member', 'viewer'] as const),
    failedLogins: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

/** Which projects a member or viewer may see (admins see all). */
export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid().index(),
    projectId: p.uuid().index(),
  },
  uniques: [{ properties: ['userId', 'projectId'] }],
});

/** A refresh token; tokens of one login share a family, so reuse of a rotated one revokes them all. */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.uuid().primary(),
    userId: p.uuid().index(),
    family: p.uuid().index(),
    tokenHash: p.string().unique().hidden(),
    expiresAt: p.datetime(),
    rotatedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export const ApiToken = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    id: p.uuid().primary(),
    name: p.string(),
    projectId: p.uuid().index(),
    /** SHA-256 of the token: tokens are 32 random bytes, so a fast hash is enough and lookups stay O(1). */
    tokenHash: p.string().unique().hidden(),
    /** The first characters, to recognise a token in a list. */
    prefix: p.string(),
    createdBy: p.uuid().nullable(),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export const Agent = defineEntity({
  name: 'Agent',
  tableName: 'agents',
  properties: {
    id: p.uuid().primary(),
    projectId: p.uuid().index(),
    name: p.string(),
    kind: p.string(),
    status: p.string(),
    startedAt: p.datetime(),
    stoppedAt: p.datetime().nullable(),
    lastEventAt: p.datetime(),
    calls: p.integer().default(0),
    failedCalls: p.integer().default(0),
    inputTokens: p.bigint('number').default(0),
    outputTokens: p.bigint('number').default(0),
    costMicros: p.bigint('number').default(0),
    piiDetections: p.integer().default(0),
  },
});

/** Every event a runtime sent, once: the id makes ingest idempotent. */
export const IngestedEvent = defineEntity({
  name: 'IngestedEvent',
  tableName: 'events',
  properties: {
    id: p.string().primary(),
    projectId: p.uuid(),
    agentId: p.uuid().nullable(),
    type: p.string(),
    time: p.datetime(),
    payload: p.json<Record<string, unknown>>(),
  },
  // Ingest writes every event: one index (a run's events in time order, for traces) keeps inserts cheap.
  indexes: [
    { properties: ['agentId', 'time'] },
    // Partial (alert types only, for /api/alerts): written by hand in the migrations, declared here so diffs keep it.
    { name: 'events_alerts_time_index', expression: "create index events_alerts_time_index on events (time) where type in ('PiiAlert', 'BudgetWarning', 'BudgetExceeded', 'CircuitOpened')" },
  ],
});

/** One LLM call, for usage and traces. */
export const LlmCall = defineEntity({
  name: 'LlmCall',
  tableName: 'llm_calls',
  properties: {
    id: p.string().primary(),
    // (project_id, time) below serves project filters; no separate project index to maintain on ingest. No
    // provider or model index either: each cost every ingested call a write, and queries filter by time first.
    projectId: p.uuid(),
    agentId: p.uuid().index(),
    provider: p.string(),
    model: p.string(),
    status: p.enum(['ok', 'failed'] as const),
    stream: p.boolean().default(false),
    inputTokens: p.integer().default(0),
    outputTokens: p.integer().default(0),
    costMicros: p.bigint('number').default(0),
    latencyMs: p.integer().default(0),
    piiDetections: p.integer().default(0),
    errorCode: p.string().nullable(),
    time: p.datetime().index(),
  },
  indexes: [{ properties: ['projectId', 'time'] }],
});

/**
 * Calls summed per project, provider, model and UTC hour (`hour` = epoch ms / 3,600,000), kept by database
 * triggers on llm_calls (see the usage_hourly migration), so usage over millions of calls reads a few thousand rows.
 */
export const UsageHourly = defineEntity({
  name: 'UsageHourly',
  tableName: 'usage_hourly',
  properties: {
    projectId: p.uuid().primary(),
    provider: p.string().primary(),
    model: p.string().primary(),
    hour: p.bigint('number').primary(),
    calls: p.bigint('number').default(0),
    failedCalls: p.bigint('number').default(0),
    inputTokens: p.bigint('number').default(0),
    outputTokens: p.bigint('number').default(0),
    costMicros: p.bigint('number').default(0),
  },
  indexes: [{ properties: ['hour'] }],
});

export const Limit = defineEntity({
  name: 'Limit',
  tableName: 'limits',
  properties: {
    id: p.uuid().primary(),
    projectId: p.uuid().index(),
    scope: p.enum(['project', 'agent', 'provider', 'model'] as const),
    /** The agent id, provider name or model glob the limit applies to (empty for the project). */
    target: p.string().default(''),
    kind: p.enum(['budget', 'rate'] as const),
    amountUsd: p.double().nullable(),
    period: p.enum(['hour', 'day', 'month', 'total'] as const).nullable(),
    requestsPerMinute: p.integer().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

/**
 * A tranche of a budget limit lent to one runtime: it may spend up to `granted` without asking again. Active
 * leases count in full against the limit; returned and expired ones count what their holder reported using.
 */
export const Lease = defineEntity({
  name: 'Lease',
  tableName: 'leases',
  properties: {
    id: p.uuid().primary(),
    limitId: p.uuid().index(),
    projectId: p.uuid(),
    /** Who holds it (a runtime's id), for people reading the list. */
    holder: p.string(),
    /** The API token that took it: only that token (or an admin) renews or returns it. Null when an admin took it. */
    tokenId: p.uuid().nullable(),
    grantedMicros: p.bigint('number').default(0),
    usedMicros: p.bigint('number').default(0),
    status: p.enum(['active', 'returned', 'expired'] as const),
    expiresAt: p.datetime(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export const Webhook = defineEntity({
  name: 'Webhook',
  tableName: 'webhooks',
  properties: {
    id: p.uuid().primary(),
    projectId: p.uuid().index(),
    url: p.string(),
    events: p.json<string[]>(),
    /** HMAC key for the signature header: shown once at creation, needed in clear to sign, so stored sealed with the server key (enc1:…). */
    secret: p.string().hidden(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  properties: {
    id: p.uuid().primary(),
    webhookId: p.uuid().index(),
    eventId: p.string(),
    eventType: p.string(),
    status: p.enum(['pending', 'delivered', 'failed'] as const),
    attempts: p.integer().default(0),
    responseStatus: p.integer().nullable(),
    lastError: p.string().nullable(),
    nextAttemptAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    deliveredAt: p.datetime().nullable(),
  },
});

/** Server-wide settings kept in the database (the JWT signing key, so tokens survive restarts). */
export const Setting = defineEntity({
  name: 'Setting',
  tableName: 'settings',
  properties: {
    key: p.string().primary(),
    value: p.text().hidden(),
  },
});

export const ENTITIES = [Project, User, Membership, Session, ApiToken, Agent, IngestedEvent, LlmCall, UsageHourly, Limit, Lease, Webhook, WebhookDelivery, Setting];
