// /api/ws: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const wsRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default wsRoutes;
