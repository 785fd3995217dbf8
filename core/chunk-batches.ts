// A metered stream's chunks as batches (what one network read brought) and, for whoever wants them one at a time, the
// same chunks as a stream of chunks: the gateway writes a batch in one go, without a stream read per chunk.
import type { LlmStreamChunk } from './llm/types.ts';

/**
 * The batches read ahead of the reader, counted in chunks (up to this many): what the provider sent is metered as it
 * arrives, not only as the agent gets to it, so an agent that aborts after a few events is billed for what the
 * provider had already generated and sent — as the gateway, which reads on while it writes, does.
 */
const READ_AHEAD: QueuingStrategy<LlmStreamChunk[]> = { highWaterMark: 1024, size: (batch) => batch.length };

export interface ChunkSource {
  /** Reads on and enqueues the next chunks (a pull of the underlying stream). */
  pull(enqueue: (chunks: LlmStreamChunk[]) => void, close: () => void): Promise<void>;
  /** The reader stopped reading. */
  cancel(): Promise<void>;
}

/**
 * One metered answer, readable either as batches or as single chunks (not both: either view locks the batches). An
 * error reaches both at once, so a reader of single chunks is not handed the rest of a batch first.
 */
export class ChunkBatches {
  readonly batches: ReadableStream<LlmStreamChunk[]>;
  #controller!: ReadableStreamDefaultController<LlmStreamChunk[]>;
  #chunks: ReadableStream<LlmStreamChunk> | undefined;
  #single: ReadableStreamDefaultController<LlmStreamChunk> | undefined;

  constructor(source: ChunkSource) {
    const enqueue = (chunks: LlmStreamChunk[]): void => {
      if (chunks.length > 0) this.#controller.enqueue(chunks);
    };
    const close = (): void => this.#controller.close();
    this.batches = new ReadableStream<LlmStreamChunk[]>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => source.pull(enqueue, close),
      cancel: () => source.cancel(),
    }, READ_AHEAD);
  }

  /** The same chunks one at a time (made on first use). */
  get chunks(): ReadableStream<LlmStreamChunk> {
    if (this.#chunks) return this.#chunks;
    const reader = this.batches.getReader();
    this.#chunks = new ReadableStream<LlmStreamChunk>({
      start: (controller) => {
        this.#single = controller;
      },
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else for (const chunk of value) controller.enqueue(chunk);
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
    return this.#chunks;
  }

  /** Errors both views (a reader gets `reason` at once; what was queued is dropped). */
  error(reason: unknown): void {
    for (const controller of [this.#controller, this.#single]) {
      try {
        controller?.error(reason);
      } catch {
        // already closed
      }
    }
  }
}
