// /api/projects: admins create, change and delete projects and their members; everyone reads what they may see.
// A project the caller may not see is 404, never 403, so ids cannot be probed.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { Agent, ApiToken, IngestedEvent, Limit, LlmCall, Membership, Project, User, Webhook, WebhookDelivery } from '../entities/index.ts';
import { conflict, HttpError, notFound } from '../errors.ts';
import { ACCESS_CHANGED } from '../context.ts';

const ProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  storePrompts: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
const MemberSchema = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  role: Type.String({ description: "The user's role, the same on every project they belong to (set with PATCH /api/users/:id)." }),
});
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });

const view = (project: { id: string; name: string; storePrompts: boolean; createdAt: Date }) => ({
  id: project.id,
  name: project.name,
  storePrompts: project.storePrompts,
  createdAt: project.createdAt.toISOString(),
});

const projectsRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = { onRequest: [app.authenticate] };
  const adminOnly = { onRequest: [app.authenticate, app.requireRole('admin')] };

  /** Saves, turning a lost race on the unique name into the same 409 as the check before it. */
  const flushUnique = async (flush: () => Promise<void>, name: string) => {
    try {
      await flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw conflict(`a project named ${name} exists`);
      throw error;
    }
  };

  app.post(
    '/',
    { ...adminOnly, schema: { body: Type.Object({ name: Name, storePrompts: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), response: { 201: ProjectSchema } } },
    async (request, reply) => {
      const name = request.body.name.trim();
      if (await request.em.findOne(Project, { name })) throw conflict(`a project named ${name} exists`);
      const project = request.em.create(Project, { id: randomUUID(), name, storePrompts: request.body.storePrompts ?? false });
      await flushUnique(() => request.em.flush(), name);
      return reply.status(201).send(view(project));
    },
  );

  app.get('/', { ...signedIn, schema: { response: { 200: Type.Object({ projects: Type.Array(ProjectSchema) }) } } }, async (request) => {
    const visible = await app.visibleProjects(request.principal);
    const projects = await request.em.find(Project, visible === 'all' ? {} : { id: { $in: visible } }, { orderBy: { name: 'asc' } });
    return { projects: projects.map(view) };
  });

  app.get('/:id', { ...signedIn, schema: { params: IdParams, response: { 200: ProjectSchema } } }, async (request) => {
    await app.assertProject(request.principal, request.params.id);
    const project = await request.em.findOne(Project, { id: request.params.id });
    if (!project) throw notFound(`project ${request.params.id}`);
    return view(project);
  });

  app.patch(
    '/:id',
    {
      ...adminOnly,
      schema: { params: IdParams, body: Type.Object({ name: Type.Optional(Name), storePrompts: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 }), response: { 200: ProjectSchema } },
    },
    async (request) => {
      const project = await request.em.findOne(Project, { id: request.params.id });
      if (!project) throw notFound(`project ${request.params.id}`);
      const name = request.body.name?.trim();
      if (name && name !== project.name) {
        if (await request.em.findOne(Project, { name })) throw conflict(`a project named ${name} exists`);
        project.name = name;
      }
      if (request.body.storePrompts !== undefined) project.storePrompts = request.body.storePrompts;
      await flushUnique(() => request.em.flush(), project.name);
      return view(project);
    },
  );

  app.delete('/:id', { ...adminOnly, schema: { params: IdParams } }, async (request, reply) => {
    const id = request.params.id;
    const project = await request.em.findOne(Project, { id });
    if (!project) throw notFound(`project ${id}`);
    // There are no foreign keys: everything that hangs off the project goes with it, in one transaction,
    // so no API token of a deleted project keeps working and no orphan rows skew usage.
    await request.em.transactional(async (tx) => {
      const webhooks = await tx.find(Webhook, { projectId: id });
      if (webhooks.length > 0) await tx.nativeDelete(WebhookDelivery, { webhookId: { $in: webhooks.map((w) => w.id) } });
      for (const entity of [Webhook, Limit, LlmCall, IngestedEvent, Agent, ApiToken, Membership] as const) await tx.nativeDelete(entity as typeof Webhook, { projectId: id });
      await tx.nativeDelete(Project, { id });
    });
    fastify.fanout.emit(ACCESS_CHANGED);
    return reply.status(204).send();
  });

  app.get(
    '/:id/members',
    {
      ...signedIn,
      schema: {
        summary: "The project's members and viewers (admins see every project and are not listed)",
        params: IdParams,
        response: { 200: Type.Object({ members: Type.Array(MemberSchema) }) },
      },
    },
    async (request) => {
      const projectId = request.params.id;
      await app.assertProject(request.principal, projectId);
      if (!(await request.em.findOne(Project, { id: projectId }))) throw notFound(`project ${projectId}`);
      const memberships = await request.em.find(Membership, { projectId });
      const users = memberships.length ? await request.em.find(User, { id: { $in: memberships.map((m) => m.userId) } }, { orderBy: { email: 'asc' } }) : [];
      return { members: users.map((user) => ({ userId: user.id, email: user.email, role: user.role })) };
    },
  );

  app.post(
    '/:id/members',
    {
      ...adminOnly,
      schema: {
        summary: 'Adds a user to the project, by id or by email',
        params: IdParams,
        body: Type.Union([
          Type.Object({ userId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
          Type.Object({ email: Type.String({ format: 'email', maxLength: 320, description: 'Any case: emails are compared lower-cased.' }) }, { additionalProperties: false }),
        ]),
        response: { 201: Type.Object({ projectId: Type.String(), userId: Type.String(), email: Type.String(), role: Type.String() }) },
      },
    },
    async (request, reply) => {
      const projectId = request.params.id;
      if (!(await request.em.findOne(Project, { id: projectId }))) throw notFound(`project ${projectId}`);
      const body = request.body;
      let user;
      if ('userId' in body) {
        user = await request.em.findOne(User, { id: body.userId });
        if (!user) throw notFound(`user ${body.userId}`);
      } else {
        // Emails are stored lower-cased (users route): one person, one account, whatever the case typed.
        const email = body.email.toLowerCase();
        user = await request.em.findOne(User, { email });
        if (!user) throw new HttpError(404, 'IRON_NOT_FOUND', `no user has the email ${email}: create them on the Users page (POST /api/users) first`, { path: 'body/email' });
      }
      const userId = user.id;
      if (await request.em.findOne(Membership, { projectId, userId })) throw conflict(`${user.email} is already a member of project ${projectId}`);
      request.em.create(Membership, { id: randomUUID(), projectId, userId });
      try {
        await request.em.flush();
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) throw conflict(`${user.email} is already a member of project ${projectId}`);
        throw error;
      }
      return reply.status(201).send({ projectId, userId, email: user.email, role: user.role });
    },
  );

  app.delete(
    '/:id/members/:userId',
    { ...adminOnly, schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }), userId: Type.String({ format: 'uuid' }) }) } },
    async (request, reply) => {
      const removed = await request.em.nativeDelete(Membership, { projectId: request.params.id, userId: request.params.userId });
      if (removed === 0) throw notFound(`membership of user ${request.params.userId} in project ${request.params.id}`);
      fastify.fanout.emit(ACCESS_CHANGED);
      return reply.status(204).send();
    },
  );
};
export default projectsRoutes;
