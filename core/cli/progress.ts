// Live progress of a caged agent: one rewritten status line on a TTY, plain lines otherwise.
import type { Runtime } from '../runtime.ts';
import { formatUsd } from './summary.ts';

export interface ProgressOptions {
  tty: boolean;
  write: (text: string) => void;
}

export interface StatusLine {
  /** Writes the agent's own output (`text`, through `write`) with the status line out of its way. */
  around(write: () => void, text: string): void;
  /** Stops following and clears the live line. */
  stop(): void;
}

const CLEAR = '\r\x1b[K';
const REPORTED = new Set(['LlmCallCompleted', 'LlmCallFailed', 'BudgetWarning', 'BudgetExceeded', 'PiiAlert', 'CircuitOpened', 'CircuitClosed', 'FallbackTaken']);

/** The status line's text: calls (all of them, failed ones counted too), tokens and spend. */
export function statusText(runtime: Runtime, agentId: string): string {
  const m = runtime.getMetrics(agentId);
  const priced = m.plugins.cost !== undefined;
  const spend = m.budget.limitUsd === null ? (priced ? formatUsd(m.costUsd) : 'unpriced') : `${formatUsd(m.budget.spentUsd)} / ${formatUsd(m.budget.limitUsd)}`;
  const calls = m.calls + m.failedCalls;
  return `iron: ${m.status}  calls ${calls}${m.failedCalls ? ` (${m.failedCalls} failed)` : ''}  tokens ${m.tokens.input} in / ${m.tokens.output} out  spend ${spend}`;
}

function eventText(event: { type: string }): string {
  const e = event as { type: string; model?: string; error?: { code: string; message: string } };
  const what = e.error ? `${e.type} ${e.model ?? ''} ${e.error.code}: ${e.error.message}` : `${e.type}${e.model ? ` ${e.model}` : ''}`;
  return what.replace(/\s+/g, ' ').trim();
}

/** Follows one agent's events. On a TTY the status line is redrawn in place and steps aside for the agent's output. */
export function followAgent(runtime: Runtime, agentId: string, options: ProgressOptions): StatusLine {
  let drawn = false;
  // The agent wrote part of a line: drawing now would glue the status to it, so wait for its newline.
  let agentMidLine = false;
  const draw = () => {
    if (agentMidLine) return;
    options.write(`${CLEAR}${statusText(runtime, agentId)}`);
    drawn = true;
  };
  const unsubscribe = runtime.events.onAny((event) => {
    // Runtime-wide events (a breaker opening) concern every agent; the rest only their own.
    if ('agentId' in event ? event.agentId !== agentId : event.type !== 'CircuitOpened' && event.type !== 'CircuitClosed') return;
    if (options.tty) {
      // What went wrong or needs attention stays on screen above the status line; completed calls only move it.
      if (REPORTED.has(event.type) && event.type !== 'LlmCallCompleted') {
        options.write(`${drawn ? CLEAR : ''}${agentMidLine ? '\n' : ''}iron: ${eventText(event)}\n`);
        drawn = false;
        agentMidLine = false;
      }
      draw();
    } else if (REPORTED.has(event.type)) {
      options.write(`${eventText(event)} | ${statusText(runtime, agentId)}\n`);
    }
  });
  return {
    around(write, text) {
      if (!options.tty) return write();
      if (drawn) options.write(CLEAR);
      drawn = false;
      write();
      if (text.length > 0) agentMidLine = !text.endsWith('\n');
      draw();
    },
    stop() {
      unsubscribe();
      if (options.tty && drawn) options.write(CLEAR);
      drawn = false;
    },
  };
}
