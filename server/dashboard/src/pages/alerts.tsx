// Alerts: PII found, budgets nearly or fully spent, circuits opened — the last 24 hours from the API, then new ones
// from /ws as they happen (marked new).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatTime } from '../format.ts';
import { RESYNC, useLiveEvents } from '../live.ts';
import { projectName, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { useStore } from '../store.ts';
import type { Alert, AlertsPage as AlertsBody } from '../types.ts';
import { Empty, ErrorBox, Loading, PageHeader } from '../ui.tsx';
import { describeEvent } from './agent.tsx';

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

  // Agent names: from the fetched alerts, from live AgentStarted events, else asked for once per agent.
  const [names, setNames] = useState<Record<string, string>>({});
  useEffect(() => {
    const known: Record<string, string> = {};
    for (const item of resource.data?.items ?? []) if (item.agentId && item.agentName) known[item.agentId] = item.agentName;
    setNames((current) => ({ ...current, ...known }));
  }, [resource.data]);
  useLiveEvents((event) => {
    if (event === RESYNC || event.type !== 'AgentStarted' || !event.agentId || typeof event.payload.name !== 'string') return;
    setNames((current) => ({ ...current, [event.agentId!]: event.payload.name as string }));
  });
  useEffect(() => {
    const missing = [...new Set(items.map((item) => item.agentId).filter((id): id is string => Boolean(id) && !(id! in names)))];
    for (const id of missing.slice(0, 20)) {
      setNames((current) => ({ ...current, [id]: current[id] ?? '' }));
      api<{ name: string }>(`/api/agents/${id}`).then(
        (agent) => setNames((current) => ({ ...current, [id]: agent.name })),
        () => undefined,
      );
    }
  }, [items]);

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
                <strong>{alert.type}</strong> {describeEvent(alert)}
              </div>
              <div class="muted small">
                <time dateTime={alert.time}>{formatTime(alert.time)}</time> · {projectName(alert.projectId)}
                {alert.agentId ? (
                  <>
                    {' · '}
                    <a href={`/agents/${alert.agentId}`} title={`agent ${alert.agentId}`} data-testid="alert-agent">
                      {names[alert.agentId] || `agent ${alert.agentId.slice(0, 8)}`}
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
