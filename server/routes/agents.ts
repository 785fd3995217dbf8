// /api/agents: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const agentsRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default agentsRoutes;
