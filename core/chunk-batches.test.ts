// A metered answer read as batches or one chunk at a time: the same chunks, errors at once, cancels reach the source.
import { describe, expect, it } from 'vitest';
import { ChunkBatches, type ChunkSource } from './chunk-batches.ts';
import type { LlmStreamChunk } from './llm/types.ts';

const chunk = (n: number): LlmStreamChunk => ({ data: { n } });

/** A source that hands over the given batches, one per pull, then closes; it counts its pulls and cancels. */
function source(batches: LlmStreamChunk[][]): ChunkSource & { pulls: number; cancelled: number } {
  const left = [...batches];
  return {
    pulls: 0,
    cancelled: 0,
    async pull(enqueue, close) {
      this.pulls += 1;
      const next = left.shift();
      if (next) enqueue(next);
      else close();
    },
    async cancel() {
      this.cancelled += 1;
    },
  };
}

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of stream) out.push(value);
  return out;
}

describe('ChunkBatches', () => {
  it('gives the same chunks as batches or one at a time, and reads ahead of the reader', async () => {
    const batches = [[chunk(1), chunk(2)], [chunk(3)]];
    expect(await readAll(new ChunkBatches(source(batches)).batches)).toEqual(batches);
    const from = source(batches);
    const metered = new ChunkBatches(from);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(from.pulls).toBe(3); // read to the end before anyone asked
    expect(await readAll(metered.chunks)).toEqual([chunk(1), chunk(2), chunk(3)]);
  });

  it('errors the one-at-a-time view at once, without handing over the rest of a batch first', async () => {
    const metered = new ChunkBatches(source([[chunk(1), chunk(2), chunk(3)]]));
    const reader = metered.chunks.getReader();
    expect((await reader.read()).value).toEqual(chunk(1));
    const reason = new Error('the agent went away');
    metered.error(reason);
    await expect(reader.read()).rejects.toBe(reason);
  });

  it('passes a cancel of either view on to the source', async () => {
    const from = source([[chunk(1)], [chunk(2)]]);
    const metered = new ChunkBatches(from);
    await metered.chunks.cancel();
    expect(from.cancelled).toBe(1);
  });
});
