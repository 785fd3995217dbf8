// Liveness (/health) and readiness (/ready: the database answers, and other instances' live events can reach this
// one). Public by design: a load balancer polls them.
import type { FastifyPluginAsync } from 'fastify';

/** How long /ready waits for the live channel (a paused Redis holds its socket open and answers nothing). */
const READY_TIMEOUT_MS = 1000;

const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health', { schema: { security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { security: [] } }, async (_request, reply) => {
    const channel = { kind: app.liveChannel.kind, connected: app.liveChannel.connected };
    try {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error('no answer')), 2 * READY_TIMEOUT_MS)));
      await Promise.race([app.orm.em.fork().getConnection().execute('select 1'), late]).finally(() => clearTimeout(timer));
    } catch {
      return reply.status(503).send({ error: { code: 'IRON_NOT_READY', message: 'the database does not answer', details: { database: 'down', channel } } });
    }
    if (!channel.connected || !(await app.liveChannel.answers(READY_TIMEOUT_MS))) {
      const what = channel.connected ? `does not answer within ${READY_TIMEOUT_MS} ms` : 'is not connected';
      return reply.status(503).send({ error: { code: 'IRON_NOT_READY', message: `the live event channel (${channel.kind}) ${what}: WebSocket clients here would miss other instances' events`, details: { database: 'up', channel: { ...channel, answers: false } } } });
    }
    return { status: 'ready', database: 'up', channel };
  });
};
export default healthRoutes;
