// /api/tokens: API tokens for runtimes, one project each. The clear token is returned once; only its SHA-256 is kept.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { hashToken, newToken } from '../auth/secrets.ts';
import { ApiToken, Project } from '../entities/index.ts';
import { badRequest, notFound } from '../errors.ts';
import { ACCESS_CHANGED } from '../context.ts';

const IsoOrNull = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const TokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  projectId: Type.String(),
  prefix: Type.String(),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  expiresAt: IsoOrNull,
  revokedAt: IsoOrNull,
  lastUsedAt: IsoOrNull,
  createdAt: Type.String({ format: 'date-time' }),
});
const CreatedSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  projectId: Type.String(),
  token: Type.String(),
  prefix: Type.String(),
  expiresAt: IsoOrNull,
  createdAt: Type.String({ format: 'date-time' }),
});

/** Enough of the token to recognise it in a list (`iron_pat_` + 4 characters), far too little to guess the rest. */
const PREFIX_LENGTH = 13;

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

const tokensRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  // People only (an API token cannot mint tokens); viewers only look. Members act within their own projects.
  const guard = { onRequest: [app.authenticate, app.requireRole('admin', 'member')] };

  app.post(
    '/',
    {
      ...guard,
      schema: {
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), projectId: Type.String({ format: 'uuid' }), expiresAt: Type.Optional(Type.String({ format: 'date-time' })) },
          { additionalProperties: false },
        ),
        response: { 201: CreatedSchema },
      },
    },
    async (request, reply) => {
      const { name, projectId } = request.body;
      // 404 for projects the caller cannot see, whether they exist or not.
      await app.assertProject(request.principal, projectId);
      const project = await request.em.findOne(Project, { id: projectId });
      if (!project) throw notFound(`project ${projectId}`);
      const expiresAt = request.body.expiresAt ? new Date(request.body.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw badRequest('body/expiresAt: must be in the future', { path: 'body/expiresAt' });
      const token = newToken('iron_pat_');
      const principal = request.principal;
      const row = request.em.create(ApiToken, {
        id: randomUUID(),
        name,
        projectId,
        tokenHash: hashToken(token),
        prefix: token.slice(0, PREFIX_LENGTH),
        createdBy: principal.kind === 'user' ? principal.userId : null,
        expiresAt,
      });
      await request.em.flush();
      return reply.status(201).send({ id: row.id, name: row.name, projectId: row.projectId, token, prefix: row.prefix, expiresAt: iso(row.expiresAt), createdAt: row.createdAt.toISOString() });
    },
  );

  app.get(
    '/',
    {
      ...guard,
      schema: {
        querystring: Type.Object({ projectId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ tokens: Type.Array(TokenSchema) }) },
      },
    },
    async (request) => {
      const { projectId } = request.query;
      if (projectId) await app.assertProject(request.principal, projectId);
      const visible = await app.visibleProjects(request.principal);
      const where = projectId ? { projectId } : visible === 'all' ? {} : { projectId: { $in: visible } };
      const rows = await request.em.find(ApiToken, where, { orderBy: { createdAt: 'desc' } });
      return {
        tokens: rows.map((row) => ({
          id: row.id,
          name: row.name,
          projectId: row.projectId,
          prefix: row.prefix,
          createdBy: row.createdBy ?? null,
          expiresAt: iso(row.expiresAt),
          revokedAt: iso(row.revokedAt),
          lastUsedAt: iso(row.lastUsedAt),
          createdAt: row.createdAt.toISOString(),
        })),
      };
    },
  );

  app.delete('/:id', { ...guard, schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } }, async (request, reply) => {
    const row = await request.em.findOne(ApiToken, { id: request.params.id });
    if (!row) throw notFound(`token ${request.params.id}`);
    await app.assertProject(request.principal, row.projectId);
    // Revoked, not deleted: the row stays for the audit trail; authenticate refuses it from the next request on.
    if (!row.revokedAt) {
      row.revokedAt = new Date();
      await request.em.flush();
      fastify.fanout.emit(ACCESS_CHANGED);
    }
    return reply.status(204).send();
  });
};
export default tokensRoutes;
