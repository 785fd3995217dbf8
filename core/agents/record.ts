// The runtime's record of one agent: identity, status, counters and the per-agent store plugins keep state in.
import type { Logger } from 'pino';
import type { AgentInfo } from '../context.ts';
import type { AgentKind, AgentStatus } from '../events.ts';
import { AgentCounters } from '../metrics.ts';
import type { SpawnedAgent } from './process.ts';

export class AgentRecord implements AgentInfo {
  readonly agentId: string;
  readonly name: string;
  readonly kind: AgentKind;
  readonly logger: Logger;
  readonly controller = new AbortController();
  readonly counters = new AgentCounters();
  readonly startedAt = Date.now();
  status: AgentStatus = 'starting';
  stoppedAt: number | null = null;
  /** Why the agent ended, when it failed or was stopped by the cage. */
  endError: { code: string; message: string } | undefined;
  /** Process agents: the credential that stands in for the provider keys, and how the process ended. */
  credential: string | undefined;
  exitCode: number | null | undefined;
  exitSignal: string | null | undefined;
  stderrTail: string | undefined;
  process: SpawnedAgent | undefined;
  /** Set by `stopAgent`: the process's exit then ends the agent with this status, not as completed or failed. */
  stopRequest: { status: AgentStatus; reason?: { code: string; message: string } } | undefined;
  /** Settles when the agent has ended and `onAgentStop` has run. */
  readonly done: Promise<void>;
  resolveDone!: () => void;
  readonly #store = new Map<string, unknown>();
  /** The agent's calls in flight, aborted with it (cheaper than linking two signals on every call). */
  readonly #calls = new Set<AbortController>();

  constructor(agentId: string, name: string, kind: AgentKind, logger: Logger) {
    this.agentId = agentId;
    this.name = name;
    this.kind = kind;
    this.logger = logger;
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    this.controller.signal.addEventListener('abort', () => {
      for (const call of this.#calls) call.abort(this.controller.signal.reason);
      this.#calls.clear();
    }, { once: true });
  }

  /** A call started: it is aborted when the agent stops (at once, if it already has). Pair with `untrackCall`. */
  trackCall(call: AbortController): void {
    if (this.controller.signal.aborted) call.abort(this.controller.signal.reason);
    else this.#calls.add(call);
  }

  untrackCall(call: AbortController): void {
    this.#calls.delete(call);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get running(): boolean {
    return this.status === 'running';
  }

  store<T>(key: string, init: () => T): T {
    if (!this.#store.has(key)) this.#store.set(key, init());
    return this.#store.get(key) as T;
  }
}
