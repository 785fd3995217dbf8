// What a reader does with a stream of chunks beyond `next()`: take at once the chunks its source already has (the rest
// of a network read), and read it to its end after the answer is complete (so the provider's connection is reused).
import type { LlmStreamChunk } from './types.ts';

/** A chunk source that can hand over at once the chunks it already has (the runtime's upstream stream does). */
export interface QueuedChunks {
  takeQueued(): LlmStreamChunk[];
}

/** The chunks `source` already has, taken at once; none when it cannot tell (it is read one `next()` at a time). */
export function takeQueued(source: AsyncIterator<LlmStreamChunk>): LlmStreamChunk[] {
  const queued = source as Partial<QueuedChunks>;
  return typeof queued.takeQueued === 'function' ? queued.takeQueued() : [];
}

/** Reads `source` to its end, dropping what comes (the answer was already complete; a broken tail changes nothing). */
export async function readToEnd(source: AsyncIterator<LlmStreamChunk>): Promise<void> {
  try {
    while (!(await source.next()).done);
  } catch {
    // the answer was already complete
  }
}
