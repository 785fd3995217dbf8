// Streams are committed to the agent only once real content arrived: until then a failure can still be retried or
// failed over. After that, silence longer than the idle window ends the stream with a typed error.
import { LlmError, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT } from '../../core/errors.ts';
import { takeQueued, type QueuedChunks } from '../../core/llm/queued-chunks.ts';
import type { LlmStreamChunk } from '../../core/llm/types.ts';

export interface StreamGuardOptions {
  firstTokenMs: number;
  /** When the request was sent (`performance.now()`): the first token is due `firstTokenMs` after it. */
  sentAt: number;
  idleMs: number;
  provider: string;
  /** Cancels the upstream request (the provider sees the disconnect). */
  abort: () => void;
  /** Runs once the guarded stream is over, however it ended. */
  onEnd?: () => void;
}

const TIMED_OUT = Symbol('timed out');

/** After the finish reason only the usage and the terminator are due, sent at once: a silent tail ends sooner. */
const TAIL_MS = 2_000;

/** `promise`, or TIMED_OUT after `ms`. The losing promise's rejection is swallowed (the caller aborts it). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function hasContent(chunk: LlmStreamChunk): boolean {
  return Boolean(chunk.textDelta || chunk.reasoningDelta || chunk.toolCallDelta || chunk.done || chunk.finishReason);
}

/**
 * Reads `chunks` until the first content (text, reasoning, a tool call, the finish or the terminator), within
 * `firstTokenMs`. Throws a retryable error if the stream fails, ends or errs before that. Returns a stream that
 * replays what was read and then enforces the idle window.
 */
export async function primeStream(chunks: AsyncIterable<LlmStreamChunk>, options: StreamGuardOptions): Promise<AsyncIterable<LlmStreamChunk>> {
  const iterator = chunks[Symbol.asyncIterator]();
  const read: LlmStreamChunk[] = [];
  const started = options.sentAt;
  const fail = (error: LlmError): never => {
    options.abort();
    void iterator.return?.().catch(() => undefined);
    throw error;
  };
  for (;;) {
    const left = options.firstTokenMs - (performance.now() - started);
    const next = left > 0 ? await within(iterator.next(), left) : TIMED_OUT;
    if (next === TIMED_OUT) {
      return fail(new LlmError(IRON_TIMEOUT, `provider "${options.provider}" sent no first token within ${options.firstTokenMs} ms of the request (reliability.timeouts.firstTokenMs)`, { details: { provider: options.provider } }));
    }
    if (next.done) return fail(new LlmError(IRON_STREAM_INTERRUPTED, `provider "${options.provider}" ended the stream before any content`, { details: { provider: options.provider } }));
    const chunk = next.value;
    if (chunk.error && !hasContent(chunk)) {
      return fail(new LlmError(IRON_STREAM_INTERRUPTED, `provider "${options.provider}" reported an error before any content: ${chunk.error.message}`, { details: { provider: options.provider, type: chunk.error.type } }));
    }
    read.push(chunk);
    if (hasContent(chunk)) break;
  }
  return guarded(iterator, read, options);
}

/** A chunk that moves the answer on: content, its finish, its usage, an error or the end. */
function isProgress(chunk: LlmStreamChunk): boolean {
  return hasContent(chunk) || chunk.usage !== undefined || chunk.error !== undefined;
}

/**
 * The primed stream: replays what was read, then passes each chunk on while enforcing the idle window. Written as an
 * iterator by hand, not an async generator: a generator layer (and a racing promise per event) cost more per event
 * than the checks themselves, on every streamed event of every call.
 */
function guarded(iterator: AsyncIterator<LlmStreamChunk>, read: LlmStreamChunk[], options: StreamGuardOptions): AsyncIterableIterator<LlmStreamChunk> {
  return new GuardedStream(iterator, read, options);
}

/** The end of a stream, as `next()` and `return()` give it. */
export const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

class GuardedStream implements AsyncIterableIterator<LlmStreamChunk>, QueuedChunks {
  readonly #iterator: AsyncIterator<LlmStreamChunk>;
  readonly #read: LlmStreamChunk[];
  readonly #options: StreamGuardOptions;
  #replayed = 0;
  // One idle timer for the whole stream, re-armed before each wait (a timer per event costs more than the event).
  // It only counts while this guard waits for the provider, not while the agent takes its time to read.
  // Only progress re-arms it: keep-alives (Anthropic `ping`, SSE comments, empty deltas) are not an answer, and a
  // provider sending nothing else has stalled.
  readonly #idle: NodeJS.Timeout;
  readonly #tailMs: number;
  #tail: NodeJS.Timeout | undefined;
  /** Set while a read from the provider is awaited: the timers end it with TIMED_OUT. */
  #wake: ((value: typeof TIMED_OUT) => void) | undefined;
  #expired = false;
  #progressed = false;
  #finished: boolean;
  #closed = false;
  /** The read under way, so that `return()` waits for it, as a generator's would. */
  #pending: Promise<unknown> | undefined;

  constructor(iterator: AsyncIterator<LlmStreamChunk>, read: LlmStreamChunk[], options: StreamGuardOptions) {
    this.#iterator = iterator;
    this.#read = read;
    this.#options = options;
    this.#idle = setTimeout(() => (this.#wake ? this.#wake(TIMED_OUT) : (this.#expired = true)), options.idleMs);
    this.#idle.unref(); // the request it watches keeps the process alive while it waits
    this.#tailMs = Math.min(TAIL_MS, options.idleMs);
    this.#finished = read.some((chunk) => chunk.finishReason !== undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The chunks already at hand (the replay, or the rest of the provider's network read), taken at once: the runtime
   * meters a read's chunks in one go instead of one promise per chunk. Each counts for the idle window as if read.
   */
  takeQueued(): LlmStreamChunk[] {
    if (this.#closed || this.#wake) return [];
    if (this.#replayed < this.#read.length) {
      const replay = this.#read.slice(this.#replayed);
      this.#replayed = this.#read.length;
      return replay;
    }
    const taken = takeQueued(this.#iterator);
    for (const chunk of taken) this.#follow(chunk);
    return taken;
  }

  next(): Promise<IteratorResult<LlmStreamChunk>> {
    if (this.#closed) return Promise.resolve(DONE);
    if (this.#replayed < this.#read.length) return Promise.resolve({ done: false, value: this.#read[this.#replayed++]! });
    if (this.#progressed) {
      this.#idle.refresh();
      this.#expired = false;
      this.#progressed = false;
    }
    if (this.#finished) this.#tail = setTimeout(() => this.#wake?.(TIMED_OUT), this.#tailMs);
    if (this.#expired) return Promise.resolve(this.#settle(TIMED_OUT));
    const pending = this.#iterator.next();
    const result = new Promise<IteratorResult<LlmStreamChunk>>((resolve, reject) => {
      let settled = false;
      this.#wake = (value) => {
        if (settled) return;
        settled = true;
        pending.catch(() => undefined); // lost the race: the guard aborts it
        resolve(this.#settle(value));
      };
      pending.then(
        (next) => {
          if (settled) return;
          settled = true;
          resolve(this.#settle(next));
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          this.#close().then(() => reject(error), () => reject(error));
        },
      );
    });
    this.#pending = result.catch(() => undefined);
    return result;
  }

  /** What a read ends in: the chunk itself (no extra promise on the common path), or the stream's end. */
  #settle(next: IteratorResult<LlmStreamChunk> | typeof TIMED_OUT): IteratorResult<LlmStreamChunk> | Promise<IteratorResult<LlmStreamChunk>> {
    this.#wake = undefined;
    this.#pending = undefined;
    clearTimeout(this.#tail);
    if (next === TIMED_OUT) {
      this.#options.abort();
      // The answer is whole; its usage or terminator never came. The caller judges it complete by its protocol.
      if (this.#finished) return this.#close().then(() => DONE);
      const error = new LlmError(IRON_TIMEOUT, `provider "${this.#options.provider}" stalled: nothing of the answer for ${this.#options.idleMs} ms (reliability.timeouts.idleMs; keep-alives do not count); the answer is incomplete`, {
        details: { provider: this.#options.provider },
      });
      return this.#close().then(() => Promise.reject(error));
    }
    if (next.done) return this.#close().then(() => DONE);
    this.#follow(next.value);
    return next;
  }

  /** A chunk read: progress re-arms the idle window, and a finish shortens the wait for the tail. */
  #follow(chunk: LlmStreamChunk): void {
    if (isProgress(chunk)) this.#progressed = true;
    // Another choice may still be writing (Chat's n > 1): content after a finish re-arms the full window.
    if (chunk.finishReason !== undefined) this.#finished = true;
    else if (chunk.textDelta || chunk.toolCallDelta || chunk.reasoningDelta) this.#finished = false;
  }

  async return(): Promise<IteratorResult<LlmStreamChunk>> {
    if (this.#pending) await this.#pending;
    await this.#close();
    return DONE;
  }

  /** However the stream ended: the timers stop, the provider's stream is released, the owner is told once. */
  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idle);
    clearTimeout(this.#tail);
    await this.#iterator.return?.().catch(() => undefined);
    this.#options.onEnd?.();
  }
}
