// Traces: agent runs, newest first, searchable by name or id and filterable by outcome, failed calls, model and time;
// each links to its detail (calls and events in order). Pages follow the server's cursor. A run's outcome is how its
// agent ended; calls that failed inside it show as their own badge, so a completed run with a refused call is not red.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatInt, formatMs, formatRunCost, formatTime, NONE } from '../format.ts';
import { projectName, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { navigate, useLocation } from '../router.ts';
import { useStore } from '../store.ts';
import type { TraceSummary } from '../types.ts';
import { CALLS_TITLE, Empty, ErrorBox, FailedCalls, Loading, outcomeHint, PageHeader, StatusBadge, TableWrap } from '../ui.tsx';

const SINCE = [
  { value: '', label: 'Any time' },
  { value: '1', label: 'Last hour' },
  { value: '24', label: 'Last 24 hours' },
  { value: '168', label: 'Last 7 days' },
];

export function TracesPage() {
  const projectId = useStore(selectedProject) || undefined;
  const { query } = useLocation();
  const filters = { q: query.get('q') ?? '', status: query.get('status') ?? '', failed: query.get('failed') ?? '', model: query.get('model') ?? '', since: query.get('since') ?? '' };
  const [cursor, setCursor] = useState<string | undefined>();
  const [items, setItems] = useState<TraceSummary[]>([]);

  const resource = useResource(
    (signal) =>
      api<{ items: TraceSummary[]; nextCursor: string | null }>('/api/traces', {
        query: {
          projectId,
          q: filters.q,
          status: filters.status,
          withFailedCalls: filters.failed === '1' ? true : undefined,
          model: filters.model,
          from: filters.since ? new Date(Date.now() - Number(filters.since) * 3_600_000).toISOString() : undefined,
          cursor,
          limit: 50,
        },
        signal,
      }),
    [projectId, filters.q, filters.status, filters.failed, filters.model, filters.since, cursor],
  );
  // A new filter starts from the first page; "Load more" appends.
  useEffect(() => setCursor(undefined), [projectId, filters.q, filters.status, filters.failed, filters.model, filters.since]);
  useEffect(() => {
    if (!resource.data) return;
    setItems((current) => (cursor ? [...current, ...resource.data!.items] : resource.data!.items));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [resource.data]);

  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const params = new URLSearchParams();
    for (const key of ['q', 'status', 'failed', 'model', 'since']) {
      const value = String(form.get(key) ?? '').trim();
      if (value) params.set(key, value);
    }
    navigate(`/traces${params.size ? `?${params}` : ''}`);
  };

  return (
    <section>
      <PageHeader title="Traces" />
      <form class="toolbar" role="search" onSubmit={apply} key={query.toString()}>
        <label class="inline grow">
          <span>Search</span>
          <input type="search" name="q" defaultValue={filters.q} placeholder="agent name or id" />
        </label>
        <label class="inline">
          <span>Outcome</span>
          <select name="status" defaultValue={filters.status} title="How the agent ended; failed calls inside a run do not change it">
            <option value="">Any</option>
            <option value="running">running</option>
            <option value="ok">ok (completed)</option>
            <option value="stopped">stopped</option>
            <option value="failed">failed (failed, over budget, lost)</option>
          </select>
        </label>
        <label class="check">
          <input type="checkbox" name="failed" value="1" defaultChecked={filters.failed === '1'} /> with failed calls
        </label>
        <label class="inline">
          <span>Model</span>
          <input name="model" defaultValue={filters.model} placeholder="e.g. gpt-4o-mini" size={14} />
        </label>
        <label class="inline">
          <span>Active</span>
          <select name="since" defaultValue={filters.since}>
            {SINCE.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorBox error={resource.error} onRetry={resource.reload} />
      {!resource.data && resource.loading && items.length === 0 ? (
        <Loading />
      ) : items.length === 0 && !resource.error ? (
        <Empty>No runs match.</Empty>
      ) : items.length > 0 ? (
        <>
          <TableWrap label="Runs">
            <table data-testid="traces-table">
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Models</th>
                  <th scope="col" class="num" title={CALLS_TITLE}>
                    Calls (all)
                  </th>
                  <th scope="col" class="num">Cost</th>
                  <th scope="col" class="num">Duration</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {items.map((run) => (
                  <tr key={run.id}>
                    <td>
                      <a href={`/traces/${run.id}`}>{run.name}</a>
                      <div class="muted small">{projectName(run.projectId)}</div>
                    </td>
                    <td class="outcome" data-testid="run-outcome">
                      <span title={outcomeHint(run.outcome, run.status)}>
                        <StatusBadge status={run.outcome} />
                      </span>
                      {run.outcome === 'failed' && run.status !== 'failed' ? <span class="muted small"> {run.status.replace(/_/g, ' ')}</span> : null}
                      {run.failedCalls > 0 ? (
                        <>
                          {' '}
                          <FailedCalls count={run.failedCalls} />
                        </>
                      ) : null}
                    </td>
                    <td>{run.models.join(', ') || NONE}</td>
                    <td class="num">{formatInt(run.calls)}</td>
                    <td class="num">{formatRunCost(run)}</td>
                    <td class="num">{formatMs(run.durationMs)}</td>
                    <td>{formatTime(run.startedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          {resource.data?.nextCursor ? (
            <button type="button" class="more" disabled={resource.loading} onClick={() => setCursor(resource.data!.nextCursor!)}>
              {resource.loading ? 'Loading…' : 'Load more'}
            </button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
