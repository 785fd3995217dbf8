// /api/users: admins manage people (role, password, project memberships). Responses never carry the password hash.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/core';
import type { FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { MIN_PASSWORD_LENGTH } from '../auth/admin.ts';
import { hashPassword } from '../auth/passwords.ts';
import { ApiToken, Membership, Project, Session, User } from '../entities/index.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { ACCESS_CHANGED, type Role } from '../context.ts';

export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);
const IsoOrNull = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

/** The one shape a user is ever sent in: an explicit allow-list, so a new column can never leak by accident. */
export const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  projectIds: Type.Array(Type.String()),
  lockedUntil: IsoOrNull,
  createdAt: Type.String({ format: 'date-time' }),
});

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 });
const ProjectIds = Type.Array(Type.String({ format: 'uuid' }), { maxItems: 1000, uniqueItems: true });

interface UserRow {
  id: string;
  email: string;
  role: Role;
  lockedUntil?: Date | null;
  createdAt: Date;
}

export async function userView(em: EntityManager, user: UserRow) {
  const memberships = await em.find(Membership, { userId: user.id }, { orderBy: { projectId: 'asc' } });
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    projectIds: memberships.map((m) => m.projectId),
    // A lock that has run out is no lock: report null so the admin UI does not show stale locks.
    lockedUntil: user.lockedUntil && user.lockedUntil.getTime() > Date.now() ? user.lockedUntil.toISOString() : null,
    createdAt: user.createdAt.toISOString(),
  };
}

/** Unknown project ids are a client mistake (400), not a silent no-op. */
async function assertProjectsExist(em: EntityManager, projectIds: string[]): Promise<void> {
  if (projectIds.length === 0) return;
  const found = await em.find(Project, { id: { $in: projectIds } });
  const missing = projectIds.filter((id) => !found.some((p) => p.id === id));
  if (missing.length > 0) throw badRequest(`unknown project ids: ${missing.join(', ')}`, { path: 'body/projectIds', missing });
}

const usersRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  // onRequest (not preHandler): unauthenticated callers are refused before their body is even parsed.
  const adminOnly = { onRequest: [app.authenticate, app.requireRole('admin')] };

  app.get('/', { ...adminOnly, schema: { response: { 200: Type.Object({ users: Type.Array(UserSchema) }) } } }, async (request) => {
    const users = await request.em.find(User, {}, { orderBy: { email: 'asc' } });
    const memberships = await request.em.find(Membership, {}, { orderBy: { projectId: 'asc' } });
    return {
      users: users.map((user) => ({
        id: user.id,
        email: user.email,
        role: user.role,
        projectIds: memberships.filter((m) => m.userId === user.id).map((m) => m.projectId),
        lockedUntil: user.lockedUntil && user.lockedUntil.getTime() > Date.now() ? user.lockedUntil.toISOString() : null,
        createdAt: user.createdAt.toISOString(),
      })),
    };
  });

  app.post(
    '/',
    {
      ...adminOnly,
      schema: {
        body: Type.Object({ email: Type.String({ format: 'email', maxLength: 320 }), password: Password, role: RoleSchema, projectIds: Type.Optional(ProjectIds) }, { additionalProperties: false }),
        response: { 201: UserSchema },
      },
    },
    async (request, reply) => {
      const { password, role, projectIds = [] } = request.body;
      // Emails are compared lower-cased everywhere (login too): one person, one account.
      const email = request.body.email.toLowerCase();
      if (await request.em.findOne(User, { email })) throw conflict(`a user with the email ${email} exists`);
      await assertProjectsExist(request.em, projectIds);
      const user = request.em.create(User, { id: randomUUID(), email, passwordHash: await hashPassword(password), role });
      for (const projectId of projectIds) request.em.create(Membership, { id: randomUUID(), userId: user.id, projectId });
      await request.em.flush();
      return reply.status(201).send(await userView(request.em, user));
    },
  );

  app.get('/:id', { ...adminOnly, schema: { params: IdParams, response: { 200: UserSchema } } }, async (request) => {
    const user = await request.em.findOne(User, { id: request.params.id });
    if (!user) throw notFound(`user ${request.params.id}`);
    return userView(request.em, user);
  });

  app.patch(
    '/:id',
    {
      ...adminOnly,
      schema: {
        params: IdParams,
        body: Type.Object({ role: Type.Optional(RoleSchema), password: Type.Optional(Password), projectIds: Type.Optional(ProjectIds) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: UserSchema },
      },
    },
    async (request) => {
      const em = request.em;
      const user = await em.findOne(User, { id: request.params.id });
      if (!user) throw notFound(`user ${request.params.id}`);
      const { role, password, projectIds } = request.body;
      if (role && role !== 'admin' && user.role === 'admin' && (await em.count(User, { role: 'admin' })) <= 1) {
        throw conflict('this is the last admin: make another user admin first');
      }
      if (role) user.role = role;
      if (password) {
        user.passwordHash = await hashPassword(password);
        // An admin setting a password is the way out of a lockout, and it ends every session made with the old one.
        user.failedLogins = 0;
        user.lockedUntil = null;
        await em.nativeUpdate(Session, { userId: user.id, revokedAt: null }, { revokedAt: new Date() });
      }
      if (projectIds) {
        await assertProjectsExist(em, projectIds);
        // Replace, not merge: the request states the whole membership list.
        const current = await em.find(Membership, { userId: user.id });
        for (const m of current) if (!projectIds.includes(m.projectId)) em.remove(m);
        for (const projectId of projectIds) if (!current.some((m) => m.projectId === projectId)) em.create(Membership, { id: randomUUID(), userId: user.id, projectId });
      }
      await em.flush();
      if (role || password || projectIds) fastify.fanout.emit(ACCESS_CHANGED);
      return userView(em, user);
    },
  );

  app.delete('/:id', { ...adminOnly, schema: { params: IdParams } }, async (request, reply) => {
    const principal = request.principal;
    // An admin deleting themselves could leave the server with no admin at all.
    if (principal.kind === 'user' && principal.userId === request.params.id) throw badRequest('you cannot delete yourself');
    const em = request.em;
    const user = await em.findOne(User, { id: request.params.id });
    if (!user) throw notFound(`user ${request.params.id}`);
    await em.transactional(async (tx) => {
      await tx.nativeDelete(Membership, { userId: user.id });
      await tx.nativeDelete(Session, { userId: user.id });
      // The API tokens they made go with them (revoked, kept for the audit trail): someone who left keeps no way in.
      await tx.nativeUpdate(ApiToken, { createdBy: user.id, revokedAt: null }, { revokedAt: new Date() });
      await tx.nativeDelete(User, { id: user.id });
    });
    fastify.fanout.emit(ACCESS_CHANGED);
    return reply.status(204).send();
  });
};
export default usersRoutes;
