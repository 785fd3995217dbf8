// POST /api/events: runtimes send their events here in batches; each event is stored once (by id) and applied
// to the agents and llm_calls projections, then published on the live hub.
// Only API tokens may ingest (the project is the token's): a person's valid JWT gets 403 IRON_FORBIDDEN, not
// 401, because the credential is fine but is the wrong kind, the mirror of requireRole refusing API tokens.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { badRequest, ErrorBodySchema, forbidden, notFound } from '../errors.ts';
import { ingestBatch, timeOf, type IncomingEvent } from '../ingest/apply.ts';

export const MAX_BATCH = 1000;

const EventSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200, description: 'Unique per event (a UUID): re-sent ids are acknowledged and ignored.' }),
    type: Type.String({ minLength: 1, maxLength: 100 }),
    time: Type.Union([Type.Number({ minimum: 0 }), Type.String({ format: 'date-time' })], { description: 'Epoch milliseconds or an ISO 8601 string.' }),
    agentId: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: true },
);

const BodySchema = Type.Object({ events: Type.Array(EventSchema, { minItems: 1, maxItems: MAX_BATCH }) });
const ResponseSchema = Type.Object({ accepted: Type.Integer(), duplicates: Type.Integer() });

const ingestRoutes: FastifyPluginAsync<Record<string, unknown>> = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
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
      onRequest: app.authenticate,
    },
    async (request) => {
      const principal = request.principal;
      if (principal.kind !== 'token') throw forbidden('ingest is for runtimes: send a project API token (iron_pat_…), not a login token');
      const events = request.body.events as IncomingEvent[];
      // JSON Schema checks an ISO string's shape; an impossible date still has to be refused here.
      events.forEach((event, index) => {
        const path = `body/events/${index}/time`;
        if (!Number.isFinite(timeOf(event.time))) throw badRequest(`${path}: must be a valid date`, { path });
      });
      const result = await ingestBatch(request.em, principal.projectId, events);
      if (!result) throw notFound(`project ${principal.projectId}`);
      // After commit only: listeners (WebSocket, webhooks) must never see an event that could still roll back.
      for (const event of result.stored) app.live.emit('event', event);
      return { accepted: result.accepted, duplicates: result.duplicates };
    },
  );
};
export default ingestRoutes;
