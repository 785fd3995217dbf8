// An agent's figures: what the core counts itself, and the shape plugins fill in through the `metrics` hook.
import type { AgentKind, AgentStatus } from './events.ts';
import type { Usage } from './llm/types.ts';

export interface TokenCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

export interface AgentMetrics {
  agentId: string;
  name: string;
  kind: AgentKind;
  status: AgentStatus;
  /** Every LLM call the agent made, failed and refused ones too (streams count when they end); as the server and `iron run` count. */
  calls: number;
  /** Of `calls`, those that failed or were refused (a budget, a PII block, a provider error). */
  failedCalls: number;
  tokens: TokenCounts;
  /** Spend in USD, as the cost plugin settles it; 0 without the cost plugin. */
  costUsd: number;
  /** Budget in USD; limit and remaining are null while no budget applies (no cost plugin, or no limit). */
  budget: { limitUsd: number | null; spentUsd: number; remainingUsd: number | null };
  /** PII findings, as the safety plugin counts them; 0 without it. */
  piiDetections: number;
  errorCount: number;
  /** The last errors (at most 20), newest last; never carries a secret or a raw PII value. */
  errors: Array<{ code: string; message: string; time: string }>;
  startedAt: string;
  stoppedAt: string | null;
  lastActivityAt: string | null;
  /** Process agents: the process id (also its process group's), exit code (null when killed by a signal), the signal, and the end of stderr. */
  pid?: number | null;
  exitCode?: number | null;
  exitSignal?: string | null;
  stderrTail?: string;
  /** Figures plugins add under their own name (cost by model, breaker states…). */
  plugins: Record<string, unknown>;
}

const MAX_ERRORS = 20;

/** The counters the runtime keeps per agent. */
export class AgentCounters {
  calls = 0;
  failedCalls = 0;
  readonly tokens: TokenCounts = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  readonly errors: Array<{ code: string; message: string; time: string }> = [];
  errorCount = 0;
  lastActivityAt: number | null = null;

  /** Counts a finished call's tokens; `succeeded` false for a stream that broke after tokens were spent. */
  addUsage(usage: Usage | undefined, succeeded: boolean): void {
    if (succeeded) this.calls += 1; // a failed one is counted by addError
    this.lastActivityAt = Date.now();
    if (!usage) return;
    this.tokens.input += usage.inputTokens;
    this.tokens.output += usage.outputTokens;
    this.tokens.cacheRead += usage.cacheReadTokens;
    this.tokens.cacheWrite += usage.cacheWriteTokens;
    this.tokens.reasoning += usage.reasoningTokens;
  }

  addError(code: string, message: string, countsAsFailedCall: boolean): void {
    if (countsAsFailedCall) {
      this.calls += 1;
      this.failedCalls += 1;
    }
    this.errorCount += 1;
    this.lastActivityAt = Date.now();
    this.errors.push({ code, message, time: new Date().toISOString() });
    if (this.errors.length > MAX_ERRORS) this.errors.shift();
  }
}
