// Plain-text tables of agent metrics, for `iron run` and the demo.
import type { AgentMetrics } from '../metrics.ts';

/**
 * USD for people: cents from $1 up, four decimals from $0.01, and two significant digits below that, so
 * $0.000031 never reads as $0.0000 and a $0.00005 limit never as $0.00.
 */
export function formatUsd(value: number): string {
  if (value === 0) return '$0.00';
  const abs = Math.abs(value);
  const sign = value < 0 ? '-' : '';
  if (abs >= 1) return `${sign}$${abs.toFixed(2)}`;
  if (abs >= 0.01) return `${sign}$${abs.toFixed(4)}`;
  if (abs < 1e-8) return `${sign}<$0.00000001`;
  const decimals = Math.min(8, 1 - Math.floor(Math.log10(abs)));
  return `${sign}$${abs.toFixed(decimals)}`;
}

/** A fixed-width table: one row per agent. `calls` counts every call, `failed` those that failed. */
export function metricsTable(rows: AgentMetrics[]): string {
  const header = ['agent', 'status', 'calls', 'failed', 'tokens in', 'tokens out', 'cost', 'budget', 'PII'];
  const body = rows.map((m) => [
    m.name.length > 28 ? `…${m.name.slice(-27)}` : m.name,
    m.status,
    String(m.calls),
    String(m.failedCalls),
    String(m.tokens.input),
    String(m.tokens.output),
    // Without the cost plugin nothing was priced: a dash, never a $0 that reads as "free".
    m.plugins.cost === undefined ? 'unpriced' : formatUsd(m.costUsd),
    m.budget.limitUsd === null ? '-' : `${formatUsd(m.budget.spentUsd)} / ${formatUsd(m.budget.limitUsd)}`,
    String(m.piiDetections),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
