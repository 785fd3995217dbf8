// /api/webhooks: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const webhooksRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default webhooksRoutes;
