// /api/auth: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const authRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default authRoutes;
