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
/** Events shown as lines (a refusal's BudgetExceeded is not: the call's LlmCallFailed says the same). */
const REPORTED = new Set(['LlmCallCompleted', 'LlmCallFailed', 'BudgetWarning', 'PiiAlert', 'CircuitOpened', 'CircuitClosed', 'FallbackTaken', 'StreamRecovered']);

/** The status line's text: calls (all of them, failed ones counted too), tokens and spend. */
export function statusText(runtime: Runtime, agentId: string): string {
  const m = runtime.getMetrics(agentId);
  const priced = m.plugins.cost !== undefined;
  const spend = m.budget.limitUsd === null ? (priced ? formatUsd(m.costUsd) : 'unpriced') : `${formatUsd(m.budget.spentUsd)} / ${formatUsd(m.budget.limitUsd)}`;
  const calls = m.calls;
  return `iron: ${m.status}  calls ${calls}${m.failedCalls ? ` (${m.failedCalls} failed)` : ''}  tokens ${m.tokens.input} in / ${m.tokens.output} out  spend ${spend}`;
}

/** One event as a line: what happened and the detail a person acts on (never a PII value: only types and counts). */
function eventText(event: { type: string }): string {
  const e = event as Record<string, unknown> & { type: string; model?: string; error?: { code: string; message: string } };
  let what: string;
  switch (e.type) {
    case 'PiiAlert':
      what = `PiiAlert ${String(e.direction)}: ${String(e.count)} ${String(e.entityType)} (${String(e.action)})`;
      break;
    case 'BudgetWarning':
      what = `BudgetWarning ${String(e.scope)} ${String(e.name)}: ${String(e.thresholdPct)} % of ${formatUsd(Number(e.limitUsd))} spent`;
      break;
    case 'CircuitOpened':
      what = `CircuitOpened ${String(e.provider)}/${String(e.model)}: ${String(e.reason)}`;
      break;
    case 'CircuitClosed':
      what = `CircuitClosed ${String(e.provider)}/${String(e.model)}`;
      break;
    case 'FallbackTaken':
      what = `FallbackTaken ${String(e.from)} → ${String(e.to)}: ${String(e.reason)}`;
      break;
    case 'StreamRecovered':
      what = `StreamRecovered on ${String(e.provider)}/${String(e.model)} (${String(e.strategy)}, after ${String(e.deliveredChars)} characters): ${String(e.reason)}`;
      break;
    default:
      what = e.error ? `${e.type} ${e.model ?? ''} ${e.error.code}: ${e.error.message}` : `${e.type}${e.model ? ` ${e.model}` : ''}`;
  }
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
