// /api/leases: runtimes borrow tranches of a server budget, so several runtimes sharing one limit can never spend
// more than it together. Grants are atomic: never more than limit − committed, where an active or expired lease
// counts its whole grant (or its reported use when that is more) and a returned one what its holder reported using.
// The protocol — states, who moves a lease between them, what each failure does — is plugins/sync/LEASES.md.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { EntityManager, InferEntity } from '@mikro-orm/core';
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { Principal } from '../context.ts';
import { Lease, Limit } from '../entities/index.ts';
import { badRequest, ErrorBodySchema, forbidden, HttpError, notFound } from '../errors.ts';
import { ingestBatch } from '../ingest/apply.ts';
import { isSqlite } from '../db.ts';
import { leasedSpend, periodStart } from '../usage/spend.ts';
import { microsToUsd, usdToMicros } from '../../plugins/cost/money.ts';

type LeaseRow = InferEntity<typeof Lease>;
type LimitEntity = InferEntity<typeof Limit>;

const Usd = (description: string) => Type.Number({ minimum: 0, maximum: 1_000_000, description });
const GrantBody = Type.Object(
  {
    limitId: Type.String({ format: 'uuid' }),
    holder: Type.String({ minLength: 1, maxLength: 200, description: 'Who borrows (a runtime id).' }),
    requestUsd: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'How much the runtime would like to be able to spend.' }),
    minUsd: Type.Optional(Usd('What it needs now (a call waiting): granted in full when the budget has it, even above the fair share.')),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'The lease expires unless renewed within this. Default 60.' })),
  },
  { additionalProperties: false },
);
const RenewBody = Type.Object(
  {
    usedUsd: Usd('Spent under this lease so far (never decreases).'),
    requestUsd: Type.Optional(Usd('More to add to the grant, as far as the budget allows.')),
    minUsd: Type.Optional(Usd('Of that, what it needs now: granted in full when the budget has it, even above the fair share.')),
    keepUsd: Type.Optional(Usd('Give back the rest: lower the grant to this (never below the use reported), so other runtimes can borrow it.')),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  },
  { additionalProperties: false },
);
const ReturnBody = Type.Object({ usedUsd: Usd('Spent under this lease in total.') }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const LeaseSchema = Type.Object({
  id: Type.String(),
  limitId: Type.String(),
  holder: Type.String(),
  status: Type.String(),
  grantedUsd: Type.Number(),
  usedUsd: Type.Number(),
  expiresAt: Type.String({ format: 'date-time' }),
  /** What the limit can still lend after this answer. */
  availableUsd: Type.Number(),
  /** The grant fell short of the request: the budget is (nearly) used up. */
  exhausted: Type.Boolean(),
  /** Granted to other active leases of the limit and not yet reported used: what waiting may free. */
  othersUnusedUsd: Type.Number(),
});

const DEFAULT_TTL_S = 60;

/** Leases are for the runtimes of the limit's project (API tokens) and for admins. */
function assertMayLease(principal: Principal, limit: { projectId: string }): void {
  if (principal.kind === 'token') {
    if (principal.projectId !== limit.projectId) throw notFound('limit');
    return;
  }
  if (principal.role !== 'admin') throw forbidden('leases are taken by runtimes (API tokens of the project) or admins');
}

interface LimitRow {
  id: string;
  projectId: string;
  scope: 'project' | 'agent' | 'provider' | 'model';
  target: string;
  amountUsd?: number | string | null;
  period?: 'hour' | 'day' | 'month' | 'total' | null;
}

/** What a lease holds against its limit: an active or expired lease may have spent its whole grant (or more). */
export function committedMicros(lease: { status: string; grantedMicros: number; usedMicros: number }): number {
  return lease.status === 'returned' ? lease.usedMicros : Math.max(lease.grantedMicros, lease.usedMicros);
}

/**
 * Locks the limit for the rest of the transaction (PostgreSQL `for update`; SQLite runs one writer at a time), so
 * every grant, renewal and return of one limit runs one after another.
 */
async function lockLimit(em: EntityManager, limitId: string): Promise<void> {
  if (!isSqlite(em)) await em.getConnection().execute('select "id" from "limits" where "id" = ? for update', [limitId], 'all', em.getTransactionContext());
}

/** What the limit can lend now, and what other active leases hold unused. Call with the limit locked. */
interface Room {
  free: number;
  /** Per lease id: granted and not reported used, over active leases. */
  unused: Map<string, number>;
}

/** Expires stale leases and returns what the limit can still lend. Call with the limit locked. */
async function available(em: EntityManager, limit: LimitRow, now: Date): Promise<Room> {
  // Active and expired leases count the same (their grant); the status is for people and for refusing renewals.
  await em.nativeUpdate(Lease, { limitId: limit.id, status: 'active', expiresAt: { $lte: now } }, { status: 'expired' });
  const start = periodStart(limit.period ?? 'total', now);
  const leases = await em.find(Lease, { limitId: limit.id, ...(start ? { createdAt: { $gte: start } } : {}) });
  const committed = leases.reduce((sum, lease) => sum + committedMicros(lease), 0);
  // Spend this limit's leases do not account for: before the limit existed, by runtimes that never leased from it.
  // What leases reported using is inside `committed` already; the rest of what was spent comes on top. (When a lease
  // reports use not ingested yet, `spent − reported` hides spend from before the first lease: that counts for certain.)
  const { spent, reported, beforeLeases } = await leasedSpend(em, { projectId: limit.projectId, scope: limit.scope, target: limit.target, period: limit.period ?? 'total' }, leases, now);
  const outside = Math.max(0, spent - reported, beforeLeases);
  const unused = new Map(leases.filter((lease) => lease.status === 'active' && lease.expiresAt > now).map((lease) => [lease.id, Math.max(0, lease.grantedMicros - lease.usedMicros)]));
  return { free: Math.max(0, usdToMicros(Number(limit.amountUsd ?? 0)) - committed - outside), unused };
}

/**
 * How much of a request to grant: no single grant takes more than half of what is left (so that near the end the
 * rest is shared out among the runtimes rather than held by the first to ask), but what a waiting call needs
 * (`min`) is granted in full when the budget has it.
 */
function grantOf(free: number, requested: number, min: number): number {
  return Math.min(free, requested, Math.max(min, Math.ceil(free / 2)));
}

function othersUnused(room: Room, leaseId: string): number {
  let sum = 0;
  for (const [id, micros] of room.unused) if (id !== leaseId) sum += micros;
  return sum;
}

/** The lease and its limit, read after the limit is locked (so two requests on one lease never interleave). */
async function lockedLease(em: EntityManager, id: string, principal: Principal): Promise<{ lease: LeaseRow; limit: LimitEntity }> {
  const found = await em.findOne(Lease, { id });
  if (!found) throw notFound('lease');
  await lockLimit(em, found.limitId);
  const lease = await em.findOneOrFail(Lease, { id }, { refresh: true });
  const limit = await em.findOneOrFail(Limit, { id: lease.limitId });
  assertMayLease(principal, limit);
  // Bound to the token that took it: another runtime of the project returning it while its holder still spends would
  // let the server lend the same money twice.
  if (principal.kind === 'token' && lease.tokenId && lease.tokenId !== principal.tokenId) {
    throw forbidden('this lease was taken with another API token of the project: only that token, or an admin, renews or returns it');
  }
  if (lease.status === 'active' && lease.expiresAt.getTime() <= Date.now()) lease.status = 'expired';
  return { lease, limit };
}

/** Records what the holder reports it spent: use never decreases, and is kept in full even above the grant. */
function recordUse(lease: LeaseRow, usedUsd: number): { overBy: number } {
  const before = lease.usedMicros;
  lease.usedMicros = Math.max(lease.usedMicros, usdToMicros(usedUsd));
  // Only the report that first crosses the grant (or grows past it further) raises an alert.
  return { overBy: lease.usedMicros > lease.grantedMicros && lease.usedMicros > before ? lease.usedMicros - lease.grantedMicros : 0 };
}

function view(lease: { id: string; limitId: string; holder: string; status: string; grantedMicros: number; usedMicros: number; expiresAt: Date }, availableMicros: number, requested: number, othersUnusedMicros: number) {
  return {
    id: lease.id,
    limitId: lease.limitId,
    holder: lease.holder,
    status: lease.status,
    grantedUsd: microsToUsd(lease.grantedMicros),
    usedUsd: microsToUsd(lease.usedMicros),
    expiresAt: lease.expiresAt.toISOString(),
    availableUsd: microsToUsd(availableMicros),
    exhausted: requested > 0,
    othersUnusedUsd: microsToUsd(othersUnusedMicros),
  };
}

/** The lease can no longer be renewed: take a new one (its use was recorded). */
function notRenewable(lease: LeaseRow): HttpError {
  const code = lease.status === 'expired' ? 'IRON_LEASE_EXPIRED' : 'IRON_LEASE_RETURNED';
  return new HttpError(409, code, `lease ${lease.id} is ${lease.status}: its use is recorded; take a new lease to borrow more`, { status: lease.status, usedUsd: microsToUsd(lease.usedMicros) });
}

const leasesRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const authenticated = { onRequest: app.authenticate };

  /** Use above a grant is real money spent: it becomes a BudgetExceeded alert (Alerts page, /ws, webhooks). */
  async function alertOverGrant(lease: LeaseRow, limit: LimitEntity, overBy: number, log: FastifyBaseLogger): Promise<void> {
    if (overBy <= 0) return;
    const event = {
      id: randomUUID(),
      type: 'BudgetExceeded',
      time: Date.now(),
      scope: limit.scope,
      name: `server limit ${limit.id}`,
      limitId: limit.id,
      leaseId: lease.id,
      holder: lease.holder,
      limitUsd: Number(limit.amountUsd ?? 0),
      grantedUsd: microsToUsd(lease.grantedMicros),
      spentUsd: microsToUsd(lease.usedMicros),
      overUsd: microsToUsd(overBy),
      message: `runtime ${lease.holder} reported $${microsToUsd(lease.usedMicros)} spent under a lease of $${microsToUsd(lease.grantedMicros)}`,
    };
    try {
      const result = await ingestBatch(app.orm.em.fork(), lease.projectId, [event]);
      for (const stored of result?.stored ?? []) app.live.emit('event', stored);
    } catch (error) {
      log.error({ err: error, leaseId: lease.id }, 'could not record the alert for use above a lease');
    }
    log.warn({ leaseId: lease.id, limitId: limit.id, holder: lease.holder, overUsd: microsToUsd(overBy) }, 'a runtime spent more than its lease');
  }

  app.post('/', { ...authenticated, schema: { tags: ['leases'], body: GrantBody, response: { 201: LeaseSchema } } }, async (request, reply) => {
    const body = request.body;
    const result = await request.em.transactional(async (em) => {
      const limit = await em.findOne(Limit, { id: body.limitId });
      if (!limit) throw notFound('limit');
      assertMayLease(request.principal, limit);
      if (limit.kind !== 'budget') throw badRequest('body/limitId: only budget limits are lent (this is a rate limit)', { path: 'body/limitId' });
      await lockLimit(em, limit.id);
      const now = new Date();
      const room = await available(em, limit, now);
      const free = room.free;
      const granted = grantOf(free, usdToMicros(body.requestUsd), usdToMicros(body.minUsd ?? 0));
      const lease = em.create(Lease, {
        id: randomUUID(),
        limitId: limit.id,
        projectId: limit.projectId,
        holder: body.holder,
        tokenId: request.principal.kind === 'token' ? request.principal.tokenId : null,
        grantedMicros: granted,
        usedMicros: 0,
        status: 'active',
        expiresAt: new Date(now.getTime() + (body.ttlSeconds ?? DEFAULT_TTL_S) * 1000),
      });
      await em.flush();
      return view(lease, free - granted, usdToMicros(body.requestUsd) - granted, othersUnused(room, lease.id));
    });
    return reply.status(201).send(result);
  });

  app.post('/:id/renew', { ...authenticated, schema: { tags: ['leases'], params: IdParams, body: RenewBody, response: { 200: LeaseSchema, 409: ErrorBodySchema } } }, async (request) => {
    const outcome = await request.em.transactional(async (em) => {
      const { lease, limit } = await lockedLease(em, request.params.id, request.principal);
      const { overBy } = recordUse(lease, request.body.usedUsd);
      if (lease.status !== 'active') {
        await em.flush();
        return { lease, limit, overBy, refused: notRenewable(lease) };
      }
      const now = new Date();
      // Given back first (never below the use reported), so that it counts as free for this very request too.
      if (request.body.keepUsd !== undefined) lease.grantedMicros = Math.max(lease.usedMicros, Math.min(lease.grantedMicros, usdToMicros(request.body.keepUsd)));
      const wanted = usdToMicros(request.body.requestUsd ?? 0);
      const room = await available(em, limit, now);
      const more = grantOf(room.free, wanted, usdToMicros(request.body.minUsd ?? 0));
      lease.grantedMicros += more;
      lease.expiresAt = new Date(now.getTime() + (request.body.ttlSeconds ?? DEFAULT_TTL_S) * 1000);
      await em.flush();
      return { lease, limit, overBy, answer: view(lease, room.free - more, wanted - more, othersUnused(room, lease.id)) };
    });
    await alertOverGrant(outcome.lease, outcome.limit, outcome.overBy, request.log);
    if (outcome.refused) throw outcome.refused;
    return outcome.answer!;
  });

  app.post('/:id/return', { ...authenticated, schema: { tags: ['leases'], params: IdParams, body: ReturnBody, response: { 200: LeaseSchema } } }, async (request) => {
    const outcome = await request.em.transactional(async (em) => {
      const { lease, limit } = await lockedLease(em, request.params.id, request.principal);
      // A late report (an outage, a restarted runtime settling its predecessor's lease) raises use; it never lowers it.
      const { overBy } = recordUse(lease, request.body.usedUsd);
      lease.status = 'returned';
      await em.flush();
      const room = await available(em, limit, new Date());
      return { lease, limit, overBy, answer: view(lease, room.free, 0, othersUnused(room, lease.id)) };
    });
    await alertOverGrant(outcome.lease, outcome.limit, outcome.overBy, request.log);
    return outcome.answer;
  });
};

export default leasesRoutes;
