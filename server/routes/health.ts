// Liveness (/health) and readiness (/ready: the database answers, and other instances' live events can reach this
// one). Public by design: a load balancer polls them.
import type { FastifyPluginAsync } from 'fastify';

const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health', { schema: { security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { security: [] } }, async (_request, reply) => {
    const channel = { kind: app.liveChannel.kind, connected: app.liveChannel.connected };
    try {
      await app.orm.em.fork().getConnection().execute('select 1');
    } catch {
      return reply.status(503).send({ error: { code: 'IRON_NOT_READY', message: 'the database does not answer', details: { database: 'down', channel } } });
    }
    if (!channel.connected) {
      return reply.status(503).send({ error: { code: 'IRON_NOT_READY', message: `the live event channel (${channel.kind}) is not connected: WebSocket clients here would miss other instances' events`, details: { database: 'up', channel } } });
    }
    return { status: 'ready', database: 'up', channel };
  });
};
export default healthRoutes;
