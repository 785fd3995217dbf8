// The runtime's event bus: typed, past-tense events that the CLI, the sync plugin and users subscribe to.
import type { Logger } from 'pino';
import type { FinishReason, Usage } from './llm/types.ts';

interface EventBase {
  /** Epoch milliseconds. */
  time: number;
  agentId?: string;
}

export interface AgentStarted extends EventBase { type: 'AgentStarted'; agentId: string; kind: AgentKind; name: string }
export interface AgentStopped extends EventBase {
  type: 'AgentStopped';
  agentId: string;
  status: AgentStatus;
  exitCode?: number | null;
  error?: { code: string; message: string };
}
export interface LlmCallCompleted extends EventBase {
  type: 'LlmCallCompleted';
  agentId: string;
  callId: string;
  provider: string;
  model: string;
  stream: boolean;
  usage?: Usage;
  finishReason?: FinishReason;
  latencyMs: number;
  /** Whether the stream ended with its terminator (always true for non-streamed calls). */
  complete: boolean;
}
export interface LlmCallFailed extends EventBase {
  type: 'LlmCallFailed';
  agentId: string;
  callId: string;
  provider?: string;
  model?: string;
  stream: boolean;
  latencyMs: number;
  error: { code: string; message: string; status: number };
}

export type AgentKind = 'in-process' | 'process';
/** `lost`: only ever reported for a runtime that was killed (by the next run from its outbox, or the server). */
export type AgentStatus = 'starting' | 'running' | 'completed' | 'failed' | 'stopped' | 'budget_exceeded' | 'lost';

/** Events the core emits. Plugins add theirs through declaration merging on `IronPluginEvents`. */
export interface IronCoreEvents {
  AgentStarted: AgentStarted;
  AgentStopped: AgentStopped;
  LlmCallCompleted: LlmCallCompleted;
  LlmCallFailed: LlmCallFailed;
}

/** Plugins extend this interface (`declare module 'iron-cage' { interface IronPluginEvents { CostUpdate: … } }`). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface IronPluginEvents {}

export type IronEvents = IronCoreEvents & IronPluginEvents;
export type IronEventType = keyof IronEvents;
export type IronEvent = IronEvents[IronEventType] | { type: string; time: number; agentId?: string; [key: string]: unknown };

type Listener<E> = (event: E) => void;

/** What a recorder returns while it holds events it has not stored yet: settles once they are stored. */
export type PendingRecord = Promise<void> | undefined;

/**
 * A synchronous, typed event bus. A listener that throws is logged and never breaks the call path or
 * other listeners.
 */
export class EventBus {
  readonly #byType = new Map<string, Set<Listener<never>>>();
  readonly #any = new Set<Listener<IronEvent>>();
  readonly #recorders = new Set<() => PendingRecord>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  on<T extends IronEventType>(type: T, listener: Listener<IronEvents[T]>): () => void;
  on(type: string, listener: Listener<IronEvent>): () => void;
  on(type: string, listener: Listener<never>): () => void {
    let set = this.#byType.get(type);
    if (!set) this.#byType.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Every event, whatever its type (what the sync plugin and the CLI use). */
  onAny(listener: Listener<IronEvent>): () => void {
    this.#any.add(listener);
    return () => this.#any.delete(listener);
  }

  emit<T extends IronEventType>(event: IronEvents[T]): void;
  emit(event: IronEvent): void;
  emit(event: IronEvent): void {
    const set = this.#byType.get(event.type);
    if (set) for (const listener of set) this.#call(listener as Listener<IronEvent>, event);
    for (const listener of this.#any) this.#call(listener, event);
  }

  /**
   * A listener that stores events durably (the sync plugin's outbox) and batches its writes registers here: a call
   * waits for `recorded()` before its answer goes out, so one write can serve every call that ended meanwhile.
   */
  addRecorder(pending: () => PendingRecord): () => void {
    this.#recorders.add(pending);
    return () => this.#recorders.delete(pending);
  }

  /** Settles once every recorder stored what was emitted so far; undefined when none holds anything (no wait). */
  recorded(): PendingRecord {
    let waits: Array<Promise<void>> | undefined;
    for (const recorder of this.#recorders) {
      const pending = recorder();
      if (pending) (waits ??= []).push(pending);
    }
    if (!waits) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  #call(listener: Listener<IronEvent>, event: IronEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#logger.error({ err: error, event: event.type }, 'event listener threw; the event was still delivered to the others');
    }
  }
}
