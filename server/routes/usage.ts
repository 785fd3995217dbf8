// /api/usage: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const usageRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default usageRoutes;
