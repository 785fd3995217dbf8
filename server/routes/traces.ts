// /api/traces: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const tracesRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default tracesRoutes;
