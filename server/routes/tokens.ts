// /api/tokens: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const tokensRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default tokensRoutes;
