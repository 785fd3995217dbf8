// The runtime's sign of life for its running agents: every `sync.heartbeatMs` it tells the server which agents are
// still running, so that the agents of a runtime that dies without a word (SIGKILL, a crashed host) become `lost`
// on the server after its silence window (IRON_AGENT_LOST_AFTER_S there) instead of looking alive forever.
import type { Logger } from 'pino';
import type { Runtime } from '../../core/runtime.ts';

const MAX_IDS = 1000;

export class Heartbeat {
  readonly #running = new Set<string>();
  readonly #server: string;
  readonly #token: string;
  readonly #everyMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  readonly #stopping = new AbortController();

  constructor(options: { server: string; token: string; everyMs: number }, logger: Logger) {
    this.#server = options.server;
    this.#token = options.token;
    this.#everyMs = options.everyMs;
    this.#logger = logger;
  }

  start(runtime: Runtime): void {
    runtime.events.on('AgentStarted', (event) => void this.#running.add(event.agentId));
    runtime.events.on('AgentStopped', (event) => void this.#running.delete(event.agentId));
    this.#timer = setInterval(() => void this.beat(), this.#everyMs);
    this.#timer.unref();
  }

  async beat(): Promise<void> {
    const ids = [...this.#running];
    for (let i = 0; i < ids.length; i += MAX_IDS) {
      try {
        const response = await fetch(`${this.#server}/api/agents/heartbeat`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ agentIds: ids.slice(i, i + MAX_IDS) }),
          signal: AbortSignal.any([AbortSignal.timeout(5000), this.#stopping.signal]),
        });
        await response.body?.cancel();
        if (!response.ok) throw new Error(`${response.status}`);
        this.#failing = false;
      } catch (error) {
        // Said once per outage: the outbox already reports the server being away in detail.
        if (!this.#failing) this.#logger.debug(`heartbeat to ${this.#server} failed (${(error as Error).message}); the server marks agents lost after its silence window`);
        this.#failing = true;
        return;
      }
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#stopping.abort();
  }
}
