// /api/webhooks: outgoing webhooks per project, and the delivery worker's lifecycle (started onReady, stopped onClose).
// People only (API tokens are for runtimes). Creating and deleting needs the admin or member role; reading is open to
// anyone who sees the project. Projects (and webhooks of projects) one cannot see answer 404, never 403.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { InferEntity } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { newToken } from '../auth/secrets.ts';
import { Webhook, WebhookDelivery } from '../entities/index.ts';
import { conflict, ErrorBodySchema, forbidden, notFound } from '../errors.ts';
import { WEBHOOK_EVENT_TYPES, WebhookWorker, type DeliveryOptions } from '../webhooks/deliver.ts';
import { checkWebhookUrl } from '../webhooks/targets.ts';

const EventType = Type.Union(WEBHOOK_EVENT_TYPES.map((type) => Type.Literal(type)));

const WebhookSchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});

const CreatedWebhookSchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  secret: Type.String({ description: 'The HMAC signing key (whsec_…): shown only in this response.' }),
  createdAt: Type.String({ format: 'date-time' }),
});

const DeliverySchema = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  responseStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

type WebhookRow = InferEntity<typeof Webhook>;

function view(hook: WebhookRow) {
  return { id: hook.id, projectId: hook.projectId, url: hook.url, events: hook.events, createdAt: hook.createdAt.toISOString() };
}

const webhooksRoutes: FastifyPluginAsync<{ delivery?: DeliveryOptions }> = async (instance, options) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  const worker = new WebhookWorker(app.orm, app.live, app.log.child({ component: 'webhooks' }), options.delivery, (stored) => app.serverKey.open(stored));
  app.addHook('onReady', async () => {
    // Signing secrets stored in clear by an older version are sealed with the server key before anything is sent.
    const em = app.orm.em.fork();
    for (const hook of await em.find(Webhook, {})) if (!hook.secret.startsWith('enc1:')) hook.secret = app.serverKey.seal(hook.secret);
    await em.flush();
    worker.start();
  });
  app.addHook('onClose', async () => worker.stop());

  app.addHook('onRequest', app.authenticate);
  app.addHook('onRequest', async (request) => {
    if (request.principal.kind !== 'user') throw forbidden('webhooks are managed by people (log in); API tokens may only ingest and read their own project');
  });
  const writer = app.requireRole('admin', 'member');

  /** The webhook if the caller may see its project; 404 otherwise (same answer as a missing id). */
  const visibleHook = async (request: FastifyRequest, id: string) => {
    const hook = await request.em.findOne(Webhook, { id });
    if (!hook) throw notFound(`webhook ${id}`);
    const visible = await app.visibleProjects(request.principal);
    if (visible !== 'all' && !visible.includes(hook.projectId)) throw notFound(`webhook ${id}`);
    return hook;
  };

  app.post(
    '/',
    {
      preHandler: writer,
      schema: {
        tags: ['webhooks'],
        summary: 'Create a webhook (the signing secret is shown once)',
        body: Type.Object(
          {
            projectId: Type.String({ format: 'uuid' }),
            url: Type.String({ maxLength: 2048 }),
            events: Type.Array(EventType, { minItems: 1, uniqueItems: true }),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedWebhookSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const { projectId, events } = request.body;
      const url = checkWebhookUrl(request.body.url, worker.options.allowPrivate);
      await app.assertProject(request.principal, projectId);
      const existing = await request.em.count(Webhook, { projectId });
      if (existing >= worker.options.maxPerProject) {
        throw conflict(`project ${projectId} has ${existing} webhooks, the most a project may have (IRON_WEBHOOK_MAX_PER_PROJECT): delete one first`);
      }
      const secret = newToken('whsec_');
      // Stored sealed (AES-256-GCM with the server key): the signing secret is needed in clear to sign, so it is
      // encrypted rather than hashed; a copy of the database alone does not give it away.
      const hook = request.em.create(Webhook, { id: randomUUID(), projectId, url, events, secret: app.serverKey.seal(secret) });
      await request.em.flush();
      return reply.status(201).send({ ...view(hook), secret });
    },
  );

  app.get(
    '/',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhooks of the projects you can see (without secrets)',
        querystring: Type.Object({ projectId: Type.Optional(Type.String({ format: 'uuid' })) }),
        response: { 200: Type.Object({ webhooks: Type.Array(WebhookSchema) }), 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const { projectId } = request.query;
      if (projectId) await app.assertProject(request.principal, projectId);
      const visible = await app.visibleProjects(request.principal);
      const where = projectId ? { projectId } : visible === 'all' ? {} : { projectId: { $in: visible } };
      const hooks = await request.em.find(Webhook, where, { orderBy: { createdAt: 'desc', id: 'asc' } });
      return { webhooks: hooks.map(view) };
    },
  );

  app.delete(
    '/:id',
    { preHandler: writer, schema: { tags: ['webhooks'], summary: 'Delete a webhook and its delivery history', params: IdParams, response: { 204: Type.Null(), 404: ErrorBodySchema } } },
    async (request, reply) => {
      const hook = await visibleHook(request, request.params.id);
      // Pending deliveries go with it: the worker would otherwise post to an endpoint its owner removed.
      await request.em.nativeDelete(WebhookDelivery, { webhookId: hook.id });
      await request.em.nativeDelete(Webhook, { id: hook.id });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Recent deliveries of a webhook, newest first',
        params: IdParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }),
        response: { 200: Type.Object({ deliveries: Type.Array(DeliverySchema) }), 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const hook = await visibleHook(request, request.params.id);
      const rows = await request.em.find(WebhookDelivery, { webhookId: hook.id }, { orderBy: { createdAt: 'desc', id: 'asc' }, limit: request.query.limit ?? 50 });
      return {
        deliveries: rows.map((row) => ({
          id: row.id,
          eventId: row.eventId,
          eventType: row.eventType,
          status: row.status,
          attempts: row.attempts,
          responseStatus: row.responseStatus ?? null,
          lastError: row.lastError ?? null,
          nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
          createdAt: row.createdAt.toISOString(),
          deliveredAt: row.deliveredAt?.toISOString() ?? null,
        })),
      };
    },
  );
};

export default webhooksRoutes;
