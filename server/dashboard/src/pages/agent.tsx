// One agent's run (also the trace detail page): summary, its LLM calls, and its events in time order; live.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { budgetFor } from '../budgets.ts';
import { describeEvent } from '../event-text.ts';
import { formatCost, formatInt, formatMs, formatRunCost, formatTime } from '../format.ts';
import { RESYNC, useLiveEvents } from '../live.ts';
import { projectName } from '../projects.ts';
import { useResource } from '../resource.ts';
import type { Limit, TraceDetail } from '../types.ts';
import { CALLS_TITLE, Empty, ErrorBox, FailedCalls, Loading, outcomeHint, PageHeader, SpendBar, Stat, StatusBadge, TableWrap } from '../ui.tsx';

export function AgentPage({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const resource = useResource(
    async (signal) => {
      const trace = await api<TraceDetail>(`/api/traces/${encodeURIComponent(id)}`, { signal });
      const limits = await api<{ limits: Limit[] }>('/api/limits', { query: { projectId: trace.run.projectId }, signal });
      return { trace, limits: limits.limits };
    },
    [id],
  );
  const [tab, setTab] = useState<'calls' | 'events'>('calls');
  useLiveEvents((event) => {
    if (event === RESYNC || event.agentId === id) resource.reloadSoon(500);
  });

  const data = resource.data;
  if (!data) {
    return (
      <section>
        <PageHeader title="Agent" />
        <ErrorBox error={resource.error} onRetry={resource.reload} />
        {resource.error ? null : <Loading />}
      </section>
    );
  }
  const { run, calls, events } = data.trace;
  const budget = budgetFor(data.limits, run);
  const unpriced = calls.filter((call) => call.unpriced).length;
  return (
    <section>
      <PageHeader title={run.name}>
        <StatusBadge status={run.status} />
      </PageHeader>
      <ErrorBox error={resource.error} onRetry={resource.reload} />
      <p class="muted">
        {projectName(run.projectId)} · {run.kind} · <code>{run.id}</code> · started {formatTime(run.startedAt)}
        {run.stoppedAt ? ` · stopped ${formatTime(run.stoppedAt)}` : ''}
      </p>
      <div class="stats">
        <Stat
          label="Spend"
          testId="agent-cost"
          value={formatRunCost(run)}
          hint={
            <>
              {budget ? <SpendBar spentUsd={budget.shared ? run.costUsd : budget.limit.spentUsd ?? run.costUsd} limitUsd={budget.limit.amountUsd} /> : 'no budget on the server'}
              {unpriced ? <div data-testid="unpriced-calls">{unpriced === 1 ? '1 call unpriced (not in the sum)' : `${formatInt(unpriced)} calls unpriced (not in the sum)`}</div> : null}
            </>
          }
        />
        <Stat label="Calls (all)" testId="agent-calls" value={<span title={CALLS_TITLE}>{formatInt(run.calls)}</span>} hint={run.failedCalls ? <FailedCalls count={run.failedCalls} /> : 'none failed'} />
        <Stat label="Tokens" value={formatInt(run.tokens)} hint={`${formatInt(run.inputTokens)} in · ${formatInt(run.outputTokens)} out`} />
        <Stat label="PII found" value={formatInt(run.piiDetections)} />
        <Stat label="Outcome" testId="agent-outcome" value={<StatusBadge status={run.outcome} />} hint={outcomeHint(run.outcome, run.status)} />
      </div>
      <div
        class="tabs"
        role="tablist"
        aria-label="Run details"
        onKeyDown={(event) => {
          // The tabs pattern: arrow keys move between tabs, Tab moves on to the panel.
          if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
          const next = tab === 'calls' ? 'events' : 'calls';
          setTab(next);
          (event.currentTarget.querySelector(`#tab-${next}`) as HTMLElement | null)?.focus();
        }}
      >
        <button type="button" role="tab" id="tab-calls" aria-controls="panel" aria-selected={tab === 'calls'} tabIndex={tab === 'calls' ? 0 : -1} onClick={() => setTab('calls')}>
          Calls ({calls.length})
        </button>
        <button type="button" role="tab" id="tab-events" aria-controls="panel" aria-selected={tab === 'events'} tabIndex={tab === 'events' ? 0 : -1} onClick={() => setTab('events')}>
          Events ({events.length})
        </button>
      </div>
      <div id="panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
      {tab === 'calls' ? (
        calls.length === 0 ? (
          <Empty>No LLM calls yet.</Empty>
        ) : (
          <TableWrap label="LLM calls">
            <table data-testid="calls-table">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Model</th>
                  <th scope="col" class="num">Input</th>
                  <th scope="col" class="num">Output</th>
                  <th scope="col" class="num">Cost</th>
                  <th scope="col" class="num">Latency</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">PII</th>
                </tr>
              </thead>
              <tbody>
                {calls.map((call) => (
                  <tr key={call.id}>
                    <td>{formatTime(call.time)}</td>
                    <td>
                      {call.model}
                      <div class="muted small">
                        {call.provider}
                        {call.stream ? ' · stream' : ''}
                      </div>
                    </td>
                    <td class="num">{formatInt(call.inputTokens)}</td>
                    <td class="num">{formatInt(call.outputTokens)}</td>
                    <td class="num" title={call.costUsd === null ? (call.unpriced ? 'the model has no known price: the cost of this call is unknown' : 'no cost recorded: the call was refused or failed before it was answered') : undefined}>
                      {formatCost(call)}
                    </td>
                    <td class="num">{formatMs(call.latencyMs)}</td>
                    <td>
                      <StatusBadge status={call.status} />
                      {call.errorCode ? <div class="error-text small">{call.errorCode}</div> : null}
                    </td>
                    <td class="num">{call.piiDetections}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )
      ) : events.length === 0 ? (
        <Empty>No events.</Empty>
      ) : (
        <ol class="timeline" data-testid="events-list">
          {events.map((event) => (
            <li key={event.id}>
              <time dateTime={event.time}>{formatTime(event.time)}</time> <strong>{event.type}</strong> <span class="muted">{describeEvent(event)}</span>
            </li>
          ))}
        </ol>
      )}
      </div>
      {data.trace.callsTruncated || data.trace.eventsTruncated ? <p class="muted">Showing the first 1,000 calls and events of this run.</p> : null}
    </section>
  );
}
