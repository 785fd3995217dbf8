// /api/projects: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const projectsRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default projectsRoutes;
