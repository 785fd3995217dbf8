// Live progress of a caged agent: one rewritten status line on a TTY, plain lines otherwise.
import type { Runtime } from '../runtime.ts';

export interface ProgressOptions {
  tty: boolean;
  write: (text: string) => void;
}

/** Follows one agent's events; returns a function that stops following and clears the live line. */
export function followAgent(runtime: Runtime, agentId: string, options: ProgressOptions): () => void {
  const line = (): string => {
    const m = runtime.getMetrics(agentId);
    const spend = m.budget.limitUsd === null ? `$${m.costUsd.toFixed(4)}` : `$${m.budget.spentUsd.toFixed(4)} / $${m.budget.limitUsd.toFixed(2)}`;
    return `iron: ${m.status}  calls ${m.calls}${m.failedCalls ? ` (${m.failedCalls} failed)` : ''}  tokens ${m.tokens.input} in / ${m.tokens.output} out  spend ${spend}`;
  };
  const unsubscribe = runtime.events.onAny((event) => {
    // Runtime-wide events (a breaker opening) concern every agent; the rest only their own.
    if ('agentId' in event ? event.agentId !== agentId : event.type !== 'CircuitOpened' && event.type !== 'CircuitClosed') return;
    if (options.tty) {
      options.write(`\r\x1b[K${line()}`);
    } else if (event.type === 'LlmCallCompleted' || event.type === 'LlmCallFailed' || event.type === 'BudgetWarning' || event.type === 'PiiAlert' || event.type === 'CircuitOpened' || event.type === 'CircuitClosed' || event.type === 'FallbackTaken') {
      const e = event as { type: string; model?: string; error?: { code: string; message: string } };
      const what = e.error ? `${e.type} ${e.model ?? ''} ${e.error.code}: ${e.error.message}` : `${e.type}${e.model ? ` ${e.model}` : ''}`;
      options.write(`${what.trim()} | ${line()}\n`);
    }
  });
  return () => {
    unsubscribe();
    if (options.tty) options.write('\r\x1b[K');
  };
}
