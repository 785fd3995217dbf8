// A server budget shared by 5 runtimes (issue 18): how fast calls go through a limit that every runtime borrows from
// (leases), and how much of the limit is actually used — before the first refusal, and in all — since a cap that
// refuses far below its limit is not useful either. Calls/s are counted until the first refusal; the last refusal
// comes later, once runtimes that waited for a share given back have found none left. Offline provider (no network on the call itself), a real
// `iron server` app on a SQLite file, the sync plugin with its default lease settings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../core/index.ts';
import { buildApp } from '../server/app.ts';
import { Limit } from '../server/entities/index.ts';
import { createApiToken, createProject } from '../server/testing.ts';
import type { Row } from './lib/stats.ts';
import { randomUUID } from 'node:crypto';

const RUNTIMES = 5;

/** `busy`: how many of the 5 runtimes make calls (the others run, hold what they borrowed, and call nothing). */
async function run(limitUsd: number, agentsPerRuntime: number, stream: boolean, busy = RUNTIMES): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'iron-bench-shared-'));
  const app = await buildApp({ db: join(dir, 'server.db'), logger: false });
  try {
    const projectId = await createProject(app, 'shared');
    const em = app.orm.em.fork();
    em.create(Limit, { id: randomUUID(), projectId, scope: 'project', target: '', kind: 'budget', amountUsd: limitUsd, period: 'total', requestsPerMinute: null });
    await em.flush();
    const { token } = await createApiToken(app, projectId);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const runtimes = Array.from({ length: RUNTIMES }, (_, i) => new Runtime({ env: {}, logLevel: 'silent', config: { sync: { server: url, token, outbox: join(dir, `outbox-${i}.db`), flushIntervalMs: 50 } } }));
    await Promise.all(runtimes.map((runtime) => runtime.ready()));
    let ok = 0;
    let spentAtFirstRefusal: number | null = null;
    let firstRefusal = null as { at: number; calls: number } | null;
    const spent = () => runtimes.reduce((sum, runtime) => sum + runtime.listAgents().reduce((s, agent) => s + agent.costUsd, 0), 0);
    const started = performance.now();
    const ids = await Promise.all(
      runtimes.slice(0, busy).flatMap((runtime) =>
        Array.from({ length: agentsPerRuntime }, () =>
          runtime.startAgent(async (agent) => {
            for (;;) {
              try {
                const request = { model: 'gpt-4o', maxTokens: 100, messages: [{ role: 'user' as const, content: 'one more, please' }] };
                if (stream) {
                  const answer = agent.llm.stream(request);
                  for await (const text of answer) void text;
                  await answer.result;
                } else await agent.llm.chat(request);
                ok++;
              } catch (error) {
                if ((error as { code?: string }).code !== 'IRON_BUDGET_EXCEEDED') throw error;
                spentAtFirstRefusal ??= spent();
                firstRefusal ??= { at: performance.now(), calls: ok };
                return;
              }
            }
          }),
        ),
      ),
    );
    await Promise.all(runtimes.slice(0, busy).flatMap((runtime, r) => ids.slice(r * agentsPerRuntime, (r + 1) * agentsPerRuntime).map((id) => runtime.waitForAgent(id))));
    const seconds = (performance.now() - started) / 1000;
    const total = spent();
    await Promise.all(runtimes.map((runtime) => runtime.close()));
    return {
      what: `${RUNTIMES} runtimes${busy < RUNTIMES ? ` (${busy} busy)` : ''} × ${agentsPerRuntime} agents, $${limitUsd} limit, ${stream ? 'streams' : 'JSON'}`,
      'calls/s': firstRefusal ? firstRefusal.calls / ((firstRefusal.at - started) / 1000) : ok / seconds,
      calls: ok,
      'all refused after s': seconds,
      'used at 1st refusal %': ((spentAtFirstRefusal ?? total) / limitUsd) * 100,
      'used in all %': (total / limitUsd) * 100,
      'over limit': total > limitUsd + 1e-9 ? 'YES' : 'no',
    };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchSharedBudget(quick: boolean): Promise<Row[]> {
  const limit = quick ? 0.1 : 0.5;
  return [await run(limit, 10, false), await run(limit, 10, true), await run(limit, 10, false, 1)];
}
