// Alerts: PII found, budgets nearly or fully spent, circuits opened — the last 24 hours from the API, then new ones
// from /ws as they happen (marked new).
import { useEffect, useState } from 'preact/hooks';
import { rememberAgentNames, useAgentNames } from '../agent-names.ts';
import { api } from '../api.ts';
import { formatTime } from '../format.ts';
import { RESYNC, useLiveEvents } from '../live.ts';
import { projectName, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { useStore } from '../store.ts';
import type { Alert, AlertsPage as AlertsBody } from '../types.ts';
import { Empty, ErrorBox, Loading, PageHeader } from '../ui.tsx';
import { describeEvent, isServerLimit } from '../event-text.ts';

const TYPES = [
  { value: 'PiiAlert', label: 'PII' },
  { value: 'BudgetWarning', label: 'Budget warnings' },
  { value: 'BudgetExceeded', label: 'Budgets exceeded' },
  { value: 'CircuitOpened', label: 'Circuits opened' },
];

export function AlertsPage() {
  const projectId = useStore(selectedProject) || undefined;
  const [types, setTypes] = useState<string[]>(TYPES.map((t) => t.value));
  const resource = useResource((signal) => api<AlertsBody>('/api/alerts', { query: { projectId, type: types, limit: 200 }, signal }), [projectId, types.join()]);
  const [items, setItems] = useState<Array<Alert & { fresh?: boolean }>>([]);
  // Live arrivals since the last fetch, added to the fetched counts.
  const [arrived, setArrived] = useState<Record<string, number>>({});
  useEffect(() => {
    setItems(resource.data?.items ?? []);
    setArrived({});
  }, [resource.data]);

  useLiveEvents((event) => {
    if (event === RESYNC) return resource.reloadSoon(300);
    if (!types.includes(event.type) || (projectId && event.projectId !== projectId)) return;
    if (items.some((item) => item.id === event.id)) return;
    setItems((current) => [{ ...event, fresh: true }, ...current].slice(0, 500));
    setArrived((current) => ({ ...current, [event.type]: (current[event.type] ?? 0) + 1 }));
  });

  // Agents by name: the API names the fetched ones, live AgentStarted events name new ones, the rest are asked for.
  useEffect(() => {
    rememberAgentNames(Object.fromEntries((resource.data?.items ?? []).filter((item) => item.agentId).map((item) => [item.agentId!, item.agentName])));
  }, [resource.data]);
  useLiveEvents((event) => {
    if (event !== RESYNC && event.type === 'AgentStarted' && event.agentId && typeof event.payload.name === 'string') rememberAgentNames({ [event.agentId]: event.payload.name });
  });
  const names = useAgentNames(items.map((item) => item.agentId));

  const toggle = (type: string) => setTypes((current) => (current.includes(type) ? current.filter((t) => t !== type) : [...current, type]));

  return (
    <section>
      <PageHeader title="Alerts" />
      <fieldset class="toolbar filters">
        <legend class="visually-hidden">Alert types</legend>
        {TYPES.map((type) => (
          <label key={type.value} class="check">
            <input type="checkbox" checked={types.includes(type.value)} onChange={() => toggle(type.value)} /> {type.label}
            {resource.data ? <span class="muted"> ({(resource.data.counts[type.value] ?? 0) + (arrived[type.value] ?? 0)})</span> : null}
          </label>
        ))}
      </fieldset>
      <ErrorBox error={resource.error} onRetry={resource.reload} />
      {types.length === 0 ? (
        <Empty>Pick at least one alert type.</Empty>
      ) : !resource.data ? (
        resource.error ? null : <Loading />
      ) : items.length === 0 ? (
        <Empty>No alerts in the last 24 hours. New ones appear here as they happen.</Empty>
      ) : (
        <ol class="feed" data-testid="alerts-feed" aria-live="polite">
          {items.map((alert) => (
            <li key={alert.id} class={`alert alert-${alert.type}${alert.fresh ? ' fresh' : ''}`} data-alert-type={alert.type}>
              <div>
                <strong>{alert.type}</strong> <span data-testid="alert-text">{describeEvent(alert)}</span>
                {(alert.type === 'BudgetExceeded' || alert.type === 'BudgetWarning') && isServerLimit(alert.payload) ? (
                  <>
                    {' · '}
                    <a href="/limits" class="nowrap-link" data-testid="alert-limit">
                      see limits
                    </a>
                  </>
                ) : null}
              </div>
              <div class="muted small">
                <time dateTime={alert.time}>{formatTime(alert.time)}</time> · {projectName(alert.projectId)}
                {alert.agentId ? (
                  <>
                    {' · '}
                    <a href={`/agents/${alert.agentId}`} title={`agent ${alert.agentId}`} data-testid="alert-agent">
                      {names[alert.agentId] ?? `agent ${alert.agentId.slice(0, 8)}`}
                    </a>
                  </>
                ) : null}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
