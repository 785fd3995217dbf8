// Usage: calls, tokens and cost over a chosen range, as a chart over time and a table by project, provider, model
// or agent, with CSV export of the table.
import { useMemo, useState } from 'preact/hooks';
import { useAgentNames } from '../agent-names.ts';
import { api } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import { downloadCsv, toCsv } from '../csv.ts';
import { formatInt, formatUsd, shortId } from '../format.ts';
import { projectName, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { useStore } from '../store.ts';
import type { GroupBy, UsageReport } from '../types.ts';
import { CALLS_TITLE, Empty, ErrorBox, Loading, PageHeader, TableWrap } from '../ui.tsx';

const PRESETS = [
  { label: 'Last 24 hours', hours: 24 },
  { label: 'Last 7 days', hours: 24 * 7 },
  { label: 'Last 30 days', hours: 24 * 30 },
  { label: 'Last 90 days', hours: 24 * 90 },
];
const DIMENSIONS: Array<{ value: GroupBy; label: string }> = [
  { value: 'project', label: 'Project' },
  { value: 'provider', label: 'Provider' },
  { value: 'model', label: 'Model' },
  { value: 'agent', label: 'Agent' },
];

/** A value for <input type="datetime-local"> in the browser's zone. */
function localInput(ms: number): string {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 16);
}

export function UsagePage() {
  const projectId = useStore(selectedProject) || undefined;
  const [range, setRange] = useState(() => ({ from: Date.now() - 24 * 7 * 3_600_000, to: Date.now() }));
  const [dimension, setDimension] = useState<GroupBy>('model');
  const [rangeError, setRangeError] = useState<string>();
  const bucket: GroupBy = range.to - range.from <= 3 * 86_400_000 ? 'hour' : 'day';

  const resource = useResource(
    async (signal) => {
      const query = { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), projectId };
      const [series, table] = await Promise.all([
        api<UsageReport>('/api/usage/aggregate', { query: { ...query, groupBy: bucket }, signal }),
        api<UsageReport>('/api/usage/aggregate', { query: { ...query, groupBy: dimension }, signal }),
      ]);
      return { series, table };
    },
    [range.from, range.to, dimension, projectId, bucket],
  );

  const chart = useMemo(() => {
    const series = resource.data?.series;
    if (!series || series.groups.length === 0) return null;
    // Every bucket of the range, zero where nothing happened: a lone busy hour still sits in its place in time.
    const size = bucket === 'hour' ? 3_600_000 : 86_400_000;
    const byKey = new Map(series.groups.map((group) => [Date.parse(group.key), group]));
    const times: number[] = [];
    for (let t = Math.floor(range.from / size) * size; t < range.to; t += size) times.push(t);
    return {
      times,
      series: [
        { label: 'Spend', values: times.map((t) => byKey.get(t)?.costUsd ?? 0), color: '#2563eb', format: formatUsd },
        { label: 'Calls', values: times.map((t) => byKey.get(t)?.calls ?? 0), color: '#9333ea', axis: 'right' as const, format: formatInt },
      ],
    };
  }, [resource.data?.series]);

  const table = resource.data?.table;
  const rows = table ? [...table.groups].sort((a, b) => b.costUsd - a.costUsd) : [];
  const agentNames = useAgentNames(dimension === 'agent' ? rows.map((row) => row.key) : []);
  const labelOf = (key: string) => (dimension === 'project' ? projectName(key) : dimension === 'agent' ? (agentNames[key] ?? shortId(key)) : key);

  const applyCustom = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const from = Date.parse(String(form.get('from')));
    const to = Date.parse(String(form.get('to')));
    if (!Number.isFinite(from) || !Number.isFinite(to)) return setRangeError('Pick both a start and an end.');
    if (from >= to) return setRangeError('The start must be before the end.');
    if (to - from > 400 * 86_400_000) return setRangeError('Pick at most 400 days.');
    setRangeError(undefined);
    setRange({ from, to });
  };

  const exportCsv = () => {
    if (!table) return;
    const header = [dimension, 'calls', 'failed_calls', 'input_tokens', 'output_tokens', 'cost_usd'];
    const csv = toCsv(header, rows.map((g) => [dimension === 'project' ? projectName(g.key) : g.key, g.calls, g.failedCalls, g.inputTokens, g.outputTokens, g.costUsd.toFixed(6)]));
    downloadCsv(`iron-usage-by-${dimension}-${new Date(range.from).toISOString().slice(0, 10)}-${new Date(range.to).toISOString().slice(0, 10)}.csv`, csv);
  };

  return (
    <section>
      <PageHeader title="Usage">
        <button type="button" onClick={exportCsv} disabled={!table || rows.length === 0} title={!table || rows.length === 0 ? 'Nothing to export: no calls in this range' : 'The table below, as CSV'}>
          Export CSV
        </button>
      </PageHeader>
      <div class="toolbar">
        <div class="presets" role="group" aria-label="Time range">
          {PRESETS.map((preset) => (
            <button type="button" key={preset.hours} onClick={() => setRange({ from: Date.now() - preset.hours * 3_600_000, to: Date.now() })}>
              {preset.label}
            </button>
          ))}
        </div>
        <form class="range" onSubmit={applyCustom} key={`${range.from}-${range.to}`}>
          <label class="inline">
            <span>From</span>
            <input type="datetime-local" name="from" defaultValue={localInput(range.from)} />
          </label>
          <label class="inline">
            <span>To</span>
            <input type="datetime-local" name="to" defaultValue={localInput(range.to)} />
          </label>
          <button type="submit">Apply</button>
        </form>
        <label class="inline">
          <span>Group by</span>
          <select value={dimension} onChange={(event) => setDimension((event.target as HTMLSelectElement).value as GroupBy)}>
            {DIMENSIONS.map((d) => (
              <option key={d.value} value={d.value}>
                {d.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {rangeError ? (
        <p class="field-error" role="alert">
          {rangeError}
        </p>
      ) : null}
      <ErrorBox error={resource.error} onRetry={resource.reload} />
      {!resource.data ? (
        resource.error ? null : <Loading />
      ) : resource.data.table.totals.calls === 0 ? (
        <Empty>No calls in this range.</Empty>
      ) : (
        <>
          <div class="stats">
            <div class="stat">
              <div class="stat-label">Spend</div>
              <div class="stat-value" data-testid="usage-total-cost">{formatUsd(resource.data.table.totals.costUsd)}</div>
            </div>
            <div class="stat">
              <div class="stat-label" title={CALLS_TITLE}>
                Calls (all)
              </div>
              <div class="stat-value">{formatInt(resource.data.table.totals.calls)}</div>
              <div class="stat-hint">{formatInt(resource.data.table.totals.failedCalls)} failed</div>
            </div>
            <div class="stat">
              <div class="stat-label">Tokens</div>
              <div class="stat-value">{formatInt(resource.data.table.totals.inputTokens + resource.data.table.totals.outputTokens)}</div>
            </div>
          </div>
          <div class="card">
            <h2>Spend and calls per {bucket}</h2>
            {chart ? <TimeChart label={`Spend and calls per ${bucket}`} times={chart.times} series={chart.series} /> : null}
          </div>
          <TableWrap label={`Usage by ${dimension}`}>
            <table data-testid="usage-table">
              <thead>
                <tr>
                  <th scope="col">{DIMENSIONS.find((d) => d.value === dimension)?.label}</th>
                  <th scope="col" class="num" title={CALLS_TITLE}>
                    Calls (all)
                  </th>
                  <th scope="col" class="num" title="Of those calls, the ones that failed or were refused">
                    Failed
                  </th>
                  <th scope="col" class="num">Input tokens</th>
                  <th scope="col" class="num">Output tokens</th>
                  <th scope="col" class="num">Cost</th>
                  <th scope="col">Share</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((group) => {
                  const share = resource.data!.table.totals.costUsd > 0 ? group.costUsd / resource.data!.table.totals.costUsd : 0;
                  return (
                    <tr key={group.key}>
                      <td class="key">{dimension === 'agent' ? <a href={`/agents/${group.key}`} title={`agent ${group.key}`}>{labelOf(group.key)}</a> : labelOf(group.key)}</td>
                      <td class="num">{formatInt(group.calls)}</td>
                      <td class="num">{formatInt(group.failedCalls)}</td>
                      <td class="num">{formatInt(group.inputTokens)}</td>
                      <td class="num">{formatInt(group.outputTokens)}</td>
                      <td class="num">{formatUsd(group.costUsd)}</td>
                      <td>
                        <div class="bar bar-ok share" aria-label={`${Math.round(share * 100)}% of spend`}>
                          <span style={{ width: `${share * 100}%` }} />
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        </>
      )}
    </section>
  );
}
