// Plain-text tables of agent metrics, for `iron run` and the demo.
import type { AgentMetrics } from '../metrics.ts';

function usd(value: number | null): string {
  return value === null ? '-' : `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

/** A fixed-width table: one row per agent. */
export function metricsTable(rows: AgentMetrics[]): string {
  const header = ['agent', 'status', 'calls', 'failed', 'tokens in', 'tokens out', 'cost', 'budget', 'PII'];
  const body = rows.map((m) => [
    m.name.length > 28 ? `…${m.name.slice(-27)}` : m.name,
    m.status,
    String(m.calls),
    String(m.failedCalls),
    String(m.tokens.input),
    String(m.tokens.output),
    usd(m.costUsd),
    m.budget.limitUsd === null ? '-' : `${usd(m.budget.spentUsd)} / ${usd(m.budget.limitUsd)}`,
    String(m.piiDetections),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
