// /api/ingest: not written yet.
import type { FastifyPluginAsync } from 'fastify';

const ingestRoutes: FastifyPluginAsync<Record<string, unknown>> = async () => {};
export default ingestRoutes;
