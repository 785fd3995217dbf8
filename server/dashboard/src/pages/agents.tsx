// Agents: status, spend against budget, last activity; kept live from /ws (costs added as they arrive, the list
// refetched shortly after so it converges on the server's numbers).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { budgetFor } from '../budgets.ts';
import { formatAgo, formatInt } from '../format.ts';
import { RESYNC, useLiveEvents } from '../live.ts';
import { projectName, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { navigate, useLocation } from '../router.ts';
import { useStore } from '../store.ts';
import type { Agent, Limit } from '../types.ts';
import { CALLS_TITLE, Empty, ErrorBox, Loading, PageHeader, SpendBar, StatusBadge, TableWrap } from '../ui.tsx';

const PAGE = 50;
const STATUSES = ['running', 'completed', 'failed', 'stopped', 'budget_exceeded'];

export function AgentsPage() {
  const projectId = useStore(selectedProject) || undefined;
  const { query } = useLocation();
  const status = query.get('status') ?? '';
  const offset = Number(query.get('offset') ?? 0) || 0;
  const resource = useResource(
    async (signal) => {
      const [agents, limits] = await Promise.all([
        api<{ items: Agent[]; total: number }>('/api/agents', { query: { projectId, status, limit: PAGE, offset }, signal }),
        api<{ limits: Limit[] }>('/api/limits', { query: { projectId }, signal }),
      ]);
      return { ...agents, limits: limits.limits };
    },
    [projectId, status, offset],
  );
  // Rows with live additions applied on top of the last fetch.
  const [rows, setRows] = useState<Agent[]>([]);
  useEffect(() => setRows(resource.data?.items ?? []), [resource.data]);
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 10_000);
    return () => clearInterval(timer);
  }, []);

  useLiveEvents((event) => {
    if (event === RESYNC) return resource.reloadSoon(300);
    if (projectId && event.projectId !== projectId) return;
    if (event.type === 'CostUpdate' && typeof event.payload.costUsd === 'number') {
      const cost = event.payload.costUsd;
      setRows((current) => current.map((agent) => (agent.id === event.agentId ? { ...agent, costUsd: agent.costUsd + cost, lastEventAt: event.time } : agent)));
    }
    resource.reloadSoon(1000);
  });

  const setFilter = (next: Record<string, string>) => {
    const params = new URLSearchParams({ ...(status ? { status } : {}), ...next });
    for (const [key, value] of [...params]) if (!value || value === '0') params.delete(key);
    navigate(`/agents${params.size ? `?${params}` : ''}`);
  };

  const total = resource.data?.total ?? 0;
  return (
    <section>
      <PageHeader title="Agents">
        <label class="inline">
          <span>Status</span>
          <select value={status} onChange={(event) => setFilter({ status: (event.target as HTMLSelectElement).value, offset: '0' })}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <ErrorBox error={resource.error} onRetry={resource.reload} />
      {!resource.data ? (
        resource.error ? null : <Loading />
      ) : rows.length === 0 ? (
        <Empty>{status ? `No ${status.replace('_', ' ')} agents.` : 'No agents yet. Agents appear here when a runtime with the sync plugin starts one.'}</Empty>
      ) : (
        <>
          <TableWrap label="Agents">
            <table data-testid="agents-table">
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Status</th>
                  <th scope="col">Spend</th>
                  <th scope="col" class="num" title={CALLS_TITLE}>
                    Calls (all)
                  </th>
                  <th scope="col" class="num">Tokens</th>
                  <th scope="col" class="num">PII</th>
                  <th scope="col">Last activity</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((agent) => {
                  const budget = budgetFor(resource.data!.limits, agent);
                  return (
                    <tr key={agent.id} data-agent-id={agent.id}>
                      <td>
                        <a href={`/agents/${agent.id}`} title={`agent ${agent.id}`}>
                          {agent.name}
                        </a>
                        <div class="muted small">
                          {projectName(agent.projectId)} · {agent.kind}
                        </div>
                      </td>
                      <td>
                        <StatusBadge status={agent.status} />
                      </td>
                      <td class="spend-cell" data-testid="agent-spend" data-cost={agent.costUsd}>
                        <SpendBar spentUsd={agent.costUsd} limitUsd={budget?.limit.amountUsd ?? null} label={budget?.shared ? 'spend against the project budget' : 'spend against the agent budget'} />
                        {budget?.shared ? <div class="muted small">of project budget</div> : null}
                      </td>
                      <td class="num">
                        {formatInt(agent.calls)}
                        {agent.failedCalls ? <div class="error-text small">{formatInt(agent.failedCalls)} failed</div> : null}
                      </td>
                      <td class="num">{formatInt(agent.tokens)}</td>
                      <td class="num">{agent.piiDetections ? <span class="pii">{formatInt(agent.piiDetections)}</span> : '0'}</td>
                      <td title={agent.lastEventAt}>{formatAgo(agent.lastEventAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          <Pager offset={offset} total={total} page={PAGE} onChange={(next) => setFilter({ offset: String(next) })} />
        </>
      )}
    </section>
  );
}

export function Pager({ offset, total, page, onChange }: { offset: number; total: number; page: number; onChange: (offset: number) => void }) {
  if (total <= page) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={offset === 0} title={offset === 0 ? 'This is the first page' : undefined} onClick={() => onChange(Math.max(0, offset - page))}>
        Previous
      </button>
      <span>
        {offset + 1}–{Math.min(total, offset + page)} of {formatInt(total)}
      </span>
      <button type="button" disabled={offset + page >= total} title={offset + page >= total ? 'This is the last page' : undefined} onClick={() => onChange(offset + page)}>
        Next
      </button>
    </nav>
  );
}
