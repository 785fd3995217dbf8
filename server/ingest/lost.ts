// Agents whose runtime died without saying so (a SIGKILL, a crashed host, a cut network) must not look alive. A
// runtime heartbeats its running agents (POST /api/agents/heartbeat) and every event it sends counts as a sign of
// life; a running agent silent for longer than IRON_AGENT_LOST_AFTER_S (default 60 s) becomes `lost`. Any later
// sign of life makes it running again, and its AgentStopped sets its real end. Only the status column changes: a
// live event (not stored) tells dashboards.
import type { FastifyInstance } from 'fastify';
import { envNumber } from '../env.ts';
import { dialectOf, kysely } from './db.ts';

/** Silence after which a running agent is lost (ms). */
export function lostAfterMs(env: NodeJS.ProcessEnv = process.env): number {
  return (envNumber('IRON_AGENT_LOST_AFTER_S', env) ?? 60) * 1000;
}

/** Marks running agents silent since before `now − afterMs` as lost; returns them. */
export async function markLost(app: FastifyInstance, afterMs: number, now = Date.now()): Promise<Array<{ id: string; projectId: string }>> {
  const em = app.orm.em.fork();
  const db = dialectOf(em);
  const rows = await kysely(em)
    .updateTable('agents')
    .set({ status: 'lost' })
    .where('status', '=', 'running')
    .where('stopped_at', 'is', null)
    .where('last_event_at', '<', db.time(now - afterMs))
    .returning(['id', 'project_id'])
    .execute();
  return rows.map((row) => ({ id: row.id, projectId: row.project_id }));
}

/** Runs the sweep every `everyMs` while the server is up, publishing each lost agent on the live hub. */
export function startLostSweep(app: FastifyInstance, afterMs = lostAfterMs(), everyMs = Math.min(5000, afterMs / 4)): void {
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const lost = await markLost(app, afterMs);
      const time = new Date().toISOString();
      for (const agent of lost) {
        app.live.emit('event', { id: `lost-${agent.id}`, projectId: agent.projectId, agentId: agent.id, type: 'AgentStopped', time, payload: { type: 'AgentStopped', agentId: agent.id, status: 'lost', reason: { code: 'IRON_RUNTIME_SILENT', message: `no sign of life from its runtime for ${Math.round(afterMs / 1000)} s` } } });
      }
      if (lost.length > 0) app.log.warn({ agents: lost.length, silentForS: afterMs / 1000 }, 'agents whose runtime went silent are now lost');
    } catch (error) {
      app.log.error({ err: error }, 'the lost-agent sweep failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
