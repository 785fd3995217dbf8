// /api/users: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const usersRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default usersRoutes;
