// What hooks receive about an agent and about one LLM call.
import type { Logger } from 'pino';
import type { AgentKind, AgentStatus } from './events.ts';
import type { ApiFormat, LlmRequest, LlmResponse, LlmStreamChunk, Usage } from './llm/types.ts';
import type { ResolvedProvider } from './providers/routing.ts';

/** An agent as plugins see it. */
export interface AgentInfo {
  readonly agentId: string;
  readonly name: string;
  readonly kind: AgentKind;
  readonly logger: Logger;
  /** Aborted when the agent stops: its calls in flight are cancelled. */
  readonly signal: AbortSignal;
  readonly status: AgentStatus;
  /**
   * Per-agent state for plugins (style rule: no module globals). `store('cost', () => new Ledger())`
   * returns the same object for the agent's whole run.
   */
  store<T>(key: string, init: () => T): T;
}

/** One LLM call as plugins see it. */
export interface LlmCallContext {
  readonly callId: string;
  readonly agent: AgentInfo;
  /** The wire format the agent spoke (and gets its answer in). */
  readonly format: ApiFormat;
  /** Where the call goes. A plugin may re-route it (fallbacks) by assigning another resolved provider. */
  provider: ResolvedProvider;
  /** `performance.now()` when the call arrived. */
  readonly startedAt: number;
  /** Aborted when the agent disconnects, the agent stops or the runtime closes. */
  readonly signal: AbortSignal;
  /** Headers added to the answer the agent receives (e.g. `x-iron-cost-usd`). */
  readonly responseHeaders: Record<string, string>;
  /** The agent's request headers that are forwarded upstream (`anthropic-version`, `openai-beta`…). */
  readonly forwardHeaders: Record<string, string>;
  /** Per-call state for plugins, keyed by plugin name. */
  readonly state: Map<string, unknown>;
  readonly logger: Logger;
  /**
   * While `onLlmStreamChunk` runs: the chunk that comes right after this one when it already arrived (the same network
   * read), else undefined. A tap whose work per chunk has a fixed cost (the safety plugin's scan) may hold a chunk for
   * the next one: both go out in the same write to the agent anyway.
   */
  nextChunk?: LlmStreamChunk | undefined;
}

/** What sending a request upstream produced. */
export type LlmResult =
  | { type: 'response'; response: LlmResponse; /** the exact body received, sent on when no plugin rewrote the answer */ rawBody?: string }
  | { type: 'stream'; chunks: AsyncIterable<LlmStreamChunk> };

/** Sends a request to its provider. Plugins wrap it through the `wrapLlmSend` hook (retries, breakers, fallbacks). */
export type LlmSend = (request: LlmRequest, ctx: LlmCallContext) => Promise<LlmResult>;

/** A stream that broke after content reached the agent, about to be continued (`recoverLlmStream`). */
export interface StreamRecovery {
  /** Why the attempt broke. */
  error: Error;
  /** The answer text the agent has received so far (every attempt's). */
  deliveredText: string;
  /** `continuation` re-asks with the delivered text as an assistant prefill; `replay` re-asks the same request. */
  strategy: 'continuation' | 'replay';
  /**
   * What the broken attempt is billed for: set by the plugin that bills (cost). The usage the agent is finally told
   * is the sum of every attempt's.
   */
  billedUsage?: Usage;
}

/** How a streamed answer ended, for `onLlmStreamEnd`. */
export interface LlmStreamEnd {
  /** The answer assembled from the upstream chunks (text, tool calls, usage, finish reason). */
  response: LlmResponse;
  /** True when the provider sent its terminator; false for a stream that was cut, stalled or refused. */
  complete: boolean;
  /** Why the stream ended early, when it did. */
  error?: Error;
}
