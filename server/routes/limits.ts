// /api/limits: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const limitsRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default limitsRoutes;
