// POST /api/events: runtimes send their events here in batches; each event is stored once (by id) and applied
// to the agents and llm_calls projections, then published on the live hub.
// Only API tokens may ingest (the project is the token's): a person's valid JWT gets 403 IRON_FORBIDDEN, not
// 401, because the credential is fine but is the wrong kind, the mirror of requireRole refusing API tokens.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { badRequest, ErrorBodySchema, forbidden, notFound, unauthorized } from '../errors.ts';
import { apiTokenStillValid } from '../auth/authenticate.ts';
import { ingestBatch, type IncomingEvent } from '../ingest/apply.ts';
import { rejectReason } from '../ingest/validate.ts';
import { kysely } from '../ingest/db.ts';
import { envNumber } from '../env.ts';

export const MAX_BATCH = 1000;

const EventSchema = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'An event: id (a string, unique per event, a UUID v7 ideally: re-sent ids are acknowledged and ignored), type, time (epoch ms or ISO 8601), ' +
      'agentId (a UUID, optional) and its own fields. Each event is checked alone: one that is malformed or out of range is listed in `rejected`.',
  },
);

// Items are checked one by one in the handler (a `5` or `null` among them is rejected alone, not the whole batch);
// the schema says what they should be, for the API docs.
const BodySchema = Type.Object({ events: Type.Array(Type.Unsafe<Record<string, unknown>>({ description: (EventSchema as { description?: string }).description }), { minItems: 1, maxItems: MAX_BATCH }) });
const RejectedSchema = Type.Array(
  Type.Object({ index: Type.Integer(), id: Type.String(), message: Type.String() }),
  { description: 'Events not stored, each with its index in the batch and why (a value out of range, a bad date, a NUL character).' },
);
const ResponseSchema = Type.Object({ accepted: Type.Integer(), duplicates: Type.Integer(), rejected: RejectedSchema });

const ingestRoutes: FastifyPluginAsync<Record<string, unknown>> = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  /** Ingest batches one API token may send a minute (IRON_INGEST_BATCHES_PER_MINUTE): 1,000 a second by default. */
  const batchesPerMinute = envNumber('IRON_INGEST_BATCHES_PER_MINUTE') ?? 60_000;
  app.post<{ Body: Static<typeof BodySchema> }>(
    '/events',
    {
      schema: {
        tags: ['ingest'],
        summary: 'Ingest a batch of runtime events (API tokens only)',
        body: BodySchema,
        response: { 200: ResponseSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
      },
      // 1,000 events can outgrow the server-wide 1 MiB default; batches are bounded by count instead.
      bodyLimit: Math.max(app.initialConfig.bodyLimit ?? 0, 8 * 1024 * 1024),
      // A quota per credential (not per address: many runtimes may share one), so one token cannot flood the server.
      config: { rateLimit: { max: batchesPerMinute, timeWindow: '1 minute', keyGenerator: (request: FastifyRequest) => createHash('sha256').update(request.headers.authorization ?? request.ip).digest('base64url') } },
      onRequest: app.authenticate,
    },
    async (request, reply) => {
      const principal = request.principal;
      if (principal.kind !== 'token') throw forbidden('ingest is for runtimes: send a project API token (iron_pat_…), not a login token');
      // Authenticated when the headers came; a body that took over a second may have outrun a revocation.
      if (reply.elapsedTime > 1_000 && !(await apiTokenStillValid(request, principal.tokenId))) {
        throw unauthorized('the API token was revoked or expired while this batch was being sent');
      }
      // Each event is checked alone: a bad one is rejected with its reason and the rest of the batch is stored (a
      // batch failing as a whole would be re-sent by its runtime for ever).
      const events: IncomingEvent[] = [];
      const rejected: Array<{ index: number; id: string; message: string }> = [];
      const now = Date.now();
      (request.body.events as unknown[]).forEach((item, index) => {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) {
          rejected.push({ index, id: '', message: `body/events/${index}: must be an object (an event), got ${item === null ? 'null' : Array.isArray(item) ? 'a list' : typeof item}` });
          return;
        }
        const event = item as IncomingEvent;
        const reason = rejectReason(event, now);
        if (reason) rejected.push({ index, id: typeof event.id === 'string' ? event.id : '', message: `body/events/${index}/${reason}` });
        else events.push(event);
      });
      if (events.length === 0) throw badRequest(`no event of the batch can be stored: ${rejected[0]!.message}${rejected.length > 1 ? ` (and ${rejected.length - 1} more)` : ''}`, { path: 'body/events', rejected });
      const result = await ingestBatch(request.em, principal.projectId, events);
      if (!result) throw notFound(`project ${principal.projectId}`);
      // After commit only: listeners (WebSocket, webhooks) must never see an event that could still roll back.
      for (const event of result.stored) app.live.emit('event', event);
      // Event ids are unique server-wide: an id another project already used is not this project's duplicate, it was
      // not stored, and the sender must hear so (not a silent "duplicate").
      let duplicates = result.duplicates;
      if (duplicates > 0) {
        const stored = new Set(result.stored.map((event) => event.id));
        const notStored = [...new Set(events.map((event) => event.id).filter((id) => !stored.has(id)))];
        // (Empty when the only duplicates were repeats within this batch: `IN ()` is a syntax error on PostgreSQL.)
        const foreign = new Set(
          notStored.length === 0 ? [] : (await kysely(request.em).selectFrom('events').select('id').where('id', 'in', notStored).where('project_id', '!=', principal.projectId).execute()).map((row) => row.id),
        );
        if (foreign.size > 0) {
          const indexOf = new Map((request.body.events as IncomingEvent[]).map((event, index) => [event.id, index]));
          for (const id of foreign) rejected.push({ index: indexOf.get(id)!, id, message: `body/events/${indexOf.get(id)}/id: already used by an event of another project: send a new id (a UUID v7)` });
          rejected.sort((a, b) => a.index - b.index);
          duplicates -= events.filter((event) => foreign.has(event.id)).length;
        }
      }
      return { accepted: result.accepted, duplicates, rejected };
    },
  );
};
export default ingestRoutes;
