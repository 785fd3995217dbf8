// Liveness (/health) and readiness (/ready: the database answers). Public by design.
import type { FastifyPluginAsync } from 'fastify';

const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health', { schema: { security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { security: [] } }, async (_request, reply) => {
    try {
      await app.orm.em.fork().getConnection().execute('select 1');
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({ error: { code: 'IRON_NOT_READY', message: 'the database does not answer' } });
    }
  });
};
export default healthRoutes;
