// The web dashboard: the Vite build (dist/dashboard, made by `npm run build`) served as static files, with the
// single-page routes answered by index.html. It talks only to the public API and /ws, like any other client.
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DashboardOptions {
  /** The built dashboard; default dist/dashboard in this package (IRON_DASHBOARD_DIR overrides). */
  dir?: string;
}

/** Client-side routes: a reload or a shared link on any of them gets the app. */
export const DASHBOARD_ROUTES = ['/', '/login', '/agents', '/agents/:id', '/usage', '/traces', '/traces/:id', '/limits', '/projects', '/tokens', '/users', '/alerts'];

// The app has no inline scripts; uPlot sets inline styles. WebSockets to this origin are covered by 'self'.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/** This package's root (the folder with package.json), from the source tree or from dist/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dir;
}

export function defaultDashboardDir(): string {
  return process.env.IRON_DASHBOARD_DIR || join(packageRoot(), 'dist', 'dashboard');
}

const dashboardRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const dir = options.dir ?? defaultDashboardDir();
  const built = existsSync(join(dir, 'index.html'));

  if (!built) {
    app.log.warn({ dir }, 'dashboard not built: run npm run build (the API is served without it)');
    const notBuilt = (_request: unknown, reply: FastifyReply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(`The dashboard is not built (${dir} has no index.html). Run \`npm run build\`, then restart the server. The API is at /api and its documentation at /docs.\n`);
    for (const route of DASHBOARD_ROUTES) app.get(route, { schema: { hide: true } }, notBuilt);
    return;
  }

  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: false,
    // Routes are registered for the files present at start-up: no catch-all that would shadow the API's 404s.
    wildcard: false,
    setHeaders: (res, path) => {
      res.header('content-security-policy', CSP);
      // Vite content-hashes everything under assets/: cache it for good; everything else is revalidated.
      res.header('cache-control', path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });

  const serveApp = (_request: unknown, reply: FastifyReply) => reply.header('content-security-policy', CSP).header('cache-control', 'no-cache').sendFile('index.html');
  for (const route of DASHBOARD_ROUTES) app.get(route, { schema: { hide: true } }, serveApp);
};
export default dashboardRoutes;
