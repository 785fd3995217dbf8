// Streams are committed to the agent only once real content arrived: until then a failure can still be retried or
// failed over. After that, silence longer than the idle window ends the stream with a typed error.
import { LlmError, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT } from '../../core/errors.ts';
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

async function* guarded(iterator: AsyncIterator<LlmStreamChunk>, read: LlmStreamChunk[], options: StreamGuardOptions): AsyncGenerator<LlmStreamChunk> {
  const waitNext = (): Promise<IteratorResult<LlmStreamChunk> | typeof TIMED_OUT> => {
    const pending = iterator.next();
    pending.catch(() => undefined); // lost the race: the caller aborts it
    return new Promise((resolve, reject) => {
      wake = resolve;
      pending.then(resolve, reject);
    });
  };
  // One idle timer for the whole stream, re-armed before each wait (a timer per event costs more than the event).
  // It only counts while this guard waits for the provider, not while the agent takes its time to read.
  // Only progress re-arms it: keep-alives (Anthropic `ping`, SSE comments, empty deltas) are not an answer, and a
  // provider sending nothing else has stalled.
  let wake: ((value: typeof TIMED_OUT) => void) | undefined;
  let expired = false;
  let progressed = false;
  const idle = setTimeout(() => (wake ? wake(TIMED_OUT) : (expired = true)), options.idleMs);
  idle.unref(); // the request it watches keeps the process alive while it waits
  const tailMs = Math.min(TAIL_MS, options.idleMs);
  let tail: NodeJS.Timeout | undefined;
  let finished = read.some((chunk) => chunk.finishReason !== undefined);
  try {
    yield* read;
    for (;;) {
      if (progressed) {
        idle.refresh();
        expired = false;
        progressed = false;
      }
      if (finished) tail = setTimeout(() => wake?.(TIMED_OUT), tailMs);
      const next = expired ? TIMED_OUT : await waitNext();
      wake = undefined;
      clearTimeout(tail);
      if (next === TIMED_OUT && finished) {
        // The answer is whole; its usage or terminator never came. The caller judges it complete by its protocol.
        options.abort();
        return;
      }
      if (next === TIMED_OUT) {
        options.abort();
        throw new LlmError(IRON_TIMEOUT, `provider "${options.provider}" stalled: nothing of the answer for ${options.idleMs} ms (reliability.timeouts.idleMs; keep-alives do not count); the answer is incomplete`, {
          details: { provider: options.provider },
        });
      }
      if (next.done) return;
      if (isProgress(next.value)) progressed = true;
      // Another choice may still be writing (Chat's n > 1): content after a finish re-arms the full window.
      if (next.value.finishReason !== undefined) finished = true;
      else if (next.value.textDelta || next.value.toolCallDelta || next.value.reasoningDelta) finished = false;
      yield next.value;
    }
  } finally {
    clearTimeout(idle);
    clearTimeout(tail);
    await iterator.return?.().catch(() => undefined);
    options.onEnd?.();
  }
}
