// Overview: spend today and this month against budgets, running agents, calls per minute, error rate, PII alerts
// in the last 24 h and spend over the last 30 days. Live events trigger a (debounced) refetch.
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import { formatInt, formatPct, formatUsd, startOfUtcDay, startOfUtcMonth } from '../format.ts';
import { RESYNC, useLiveEvents } from '../live.ts';
import { projectName, projects, projectsLoaded, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { sessionState } from '../session.ts';
import { useStore } from '../store.ts';
import type { AlertsPage, ApiTokenInfo, Limit, UsageReport } from '../types.ts';
import { Empty, ErrorBox, Loading, PageHeader, SpendBar, Stat } from '../ui.tsx';

const DAY_MS = 86_400_000;

interface OverviewData {
  today: UsageReport;
  month: UsageReport;
  lastHour: UsageReport;
  last5Min: UsageReport;
  days: UsageReport;
  running: number;
  alerts: AlertsPage;
  budgets: Limit[];
}

/**
 * The first steps of a team, shown until calls arrive, each ticked once done: a fresh server is never a dead end.
 * Viewers cannot make tokens (the API refuses them the list too), so their token step is not checked.
 */
function GettingStarted({ projectCount, role }: { projectCount: number; role: string }) {
  const canMakeTokens = role !== 'viewer';
  const tokens = useResource(
    (signal) => (canMakeTokens && projectCount > 0 ? api<{ tokens: ApiTokenInfo[] }>('/api/tokens', { signal }).then((body) => body.tokens.filter((t) => !t.revokedAt).length) : Promise.resolve(0)),
    [projectCount, canMakeTokens],
  );
  const [copied, setCopied] = useState(false);
  const command = `IRON_SERVER_URL=${window.location.origin} IRON_TOKEN=<the token> npx iron run agent.py`;
  const hasProject = projectCount > 0;
  const hasToken = (tokens.data ?? 0) > 0;
  const Done = ({ done }: { done: boolean }) => (done ? <span class="step-done" aria-label="done">✓ </span> : null);
  return (
    <div class="card" data-testid="getting-started">
      <h2>Get started</h2>
      <ol class="steps">
        <li data-done={hasProject}>
          <Done done={hasProject} />
          {role === 'admin' ? <a href={hasProject ? '/projects' : '/projects?new=1'}>Create a project</a> : hasProject ? 'You are in a project' : 'Ask an admin to add you to a project'} — it groups a
          team's agents, tokens and limits.
        </li>
        <li data-done={hasToken}>
          <Done done={hasToken} />
          {canMakeTokens ? <a href="/tokens">Create an API token</a> : 'Ask a member for an API token'} for the project: runtimes report with it.
        </li>
        <li>
          Where the agent runs:
          <div class="snippet-row">
            <code class="snippet" data-testid="run-command">
              {command}
            </code>
            <button
              type="button"
              onClick={() =>
                void navigator.clipboard.writeText(command).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
          Every call then appears here as it happens.
        </li>
        <li>
          <a href="/limits">Set a budget</a>: every runtime of the project stops calling models before it is spent.
        </li>
      </ol>
    </div>
  );
}

export function OverviewPage() {
  const projectId = useStore(selectedProject) || undefined;
  const projectList = useStore(projects);
  const loaded = useStore(projectsLoaded);
  const session = useStore(sessionState);
  const role = session.status === 'signedIn' ? session.user.role : 'viewer';
  const resource = useResource<OverviewData>(async (signal) => {
    const now = Date.now();
    const usage = (from: Date, groupBy: string) => api<UsageReport>('/api/usage/aggregate', { query: { from: from.toISOString(), groupBy, projectId }, signal });
    const [today, month, lastHour, last5Min, days, running, alerts, limits] = await Promise.all([
      usage(startOfUtcDay(), 'hour'),
      usage(startOfUtcMonth(), 'day'),
      usage(new Date(now - 3_600_000), 'project'),
      usage(new Date(now - 300_000), 'project'),
      usage(new Date(startOfUtcDay().getTime() - 29 * DAY_MS), 'day'),
      api<{ total: number }>('/api/agents', { query: { status: 'running', limit: 1, projectId }, signal }),
      api<AlertsPage>('/api/alerts', { query: { type: ['PiiAlert'], limit: 1, projectId }, signal }),
      api<{ limits: Limit[] }>('/api/limits', { query: { projectId }, signal }),
    ]);
    const budgets = limits.limits.filter((limit) => limit.kind === 'budget' && limit.scope === 'project');
    return { today, month, lastHour, last5Min, days, running: running.total, alerts, budgets };
  }, [projectId]);

  useLiveEvents((event) => {
    if (event === RESYNC || !projectId || event.projectId === projectId) resource.reloadSoon(1000);
  });

  const chart = useMemo(() => {
    const days = resource.data?.days;
    if (!days) return null;
    // Every day of the window, zero where nothing was spent, so the line does not skip quiet days.
    const start = startOfUtcDay().getTime() - 29 * DAY_MS;
    const byKey = new Map(days.groups.map((group) => [Date.parse(group.key), group]));
    const times: number[] = [];
    const cost: number[] = [];
    const calls: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = start + i * DAY_MS;
      times.push(t);
      cost.push(byKey.get(t)?.costUsd ?? 0);
      calls.push(byKey.get(t)?.calls ?? 0);
    }
    return { times, series: [
      { label: 'Spend', values: cost, color: '#2563eb', format: formatUsd },
      { label: 'Calls', values: calls, color: '#9333ea', axis: 'right' as const, format: formatInt },
    ] };
  }, [resource.data?.days]);

  const data = resource.data;
  const dayBudget = data?.budgets.find((limit) => limit.period === 'day');
  const monthBudget = data?.budgets.find((limit) => limit.period === 'month');
  const errorRate = data && data.lastHour.totals.calls > 0 ? data.lastHour.totals.failedCalls / data.lastHour.totals.calls : 0;

  return (
    <section>
      <PageHeader title="Overview" />
      {loaded && (projectList.length === 0 || data?.days.totals.calls === 0) ? <GettingStarted projectCount={projectList.length} role={role} /> : null}
      <ErrorBox error={resource.error} onRetry={resource.reload} />
      {!data ? (
        resource.error ? null : <Loading />
      ) : (
        <>
          <div class="stats">
            <Stat label="Spend today (UTC)" testId="spend-today" value={formatUsd(data.today.totals.costUsd)} hint={dayBudget ? <SpendBar spentUsd={dayBudget.spentUsd ?? 0} limitUsd={dayBudget.amountUsd} label="daily budget" /> : 'no daily budget'} />
            <Stat label="Spend this month" testId="spend-month" value={formatUsd(data.month.totals.costUsd)} hint={monthBudget ? <SpendBar spentUsd={monthBudget.spentUsd ?? 0} limitUsd={monthBudget.amountUsd} label="monthly budget" /> : 'no monthly budget'} />
            <Stat label="Running agents" testId="running-agents" value={formatInt(data.running)} hint={<a href="/agents">see agents</a>} />
            <Stat label="Calls per minute" testId="calls-per-minute" value={(data.last5Min.totals.calls / 5).toFixed(1)} hint="average over 5 min" />
            <Stat label="Error rate (1 h)" testId="error-rate" value={formatPct(errorRate)} hint={`${formatInt(data.lastHour.totals.failedCalls)} of ${formatInt(data.lastHour.totals.calls)} calls failed`} />
            <Stat label="PII alerts (24 h)" testId="pii-alerts" value={formatInt(data.alerts.counts.PiiAlert ?? 0)} hint={<a href="/alerts">see alerts</a>} />
          </div>
          <div class="card">
            <h2>Spend over the last 30 days</h2>
            {data.days.totals.calls === 0 ? <Empty>No calls in the last 30 days. Start an agent with the sync plugin to see spend here.</Empty> : chart ? <TimeChart label="Spend and calls per day, last 30 days" times={chart.times} series={chart.series} /> : null}
          </div>
          <div class="card">
            <h2>Project budgets</h2>
            {data.budgets.length === 0 ? (
              <Empty>
                No project budgets. <a href="/limits">Create one</a> to see spend against it.
              </Empty>
            ) : (
              <ul class="budget-list">
                {data.budgets.map((limit) => (
                  <li key={limit.id}>
                    <span>
                      {projectName(limit.projectId)} · {limit.period}
                    </span>
                    <SpendBar spentUsd={limit.spentUsd ?? 0} limitUsd={limit.amountUsd} label={`${projectName(limit.projectId)} ${limit.period} budget`} />
                  </li>
                ))}
              </ul>
            )}
          </div>
        </>
      )}
    </section>
  );
}
