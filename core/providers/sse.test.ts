import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../llm/types.ts';
import { createSseParser, encodeSseChunk } from './sse.ts';

async function parse(pieces: (string | Uint8Array)[]): Promise<SseEvent[]> {
  const encoder = new TextEncoder();
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(typeof piece === 'string' ? encoder.encode(piece) : piece);
      controller.close();
    },
  });
  const events: SseEvent[] = [];
  for await (const event of source.pipeThrough(createSseParser())) events.push(event);
  return events;
}

describe('SSE parser', () => {
  it('reads named events, multi-line data, comments, and all three line endings', async () => {
    const text = 'event: message_start\ndata: {"a":1}\n\n: ping\r\n\r\ndata:first\rdata: second\r\rdata: [DONE]\r\n\r\n';
    const events = await parse([text]);
    expect(events.map(({ event, data }) => ({ event, data }))).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: undefined, data: '' },
      { event: undefined, data: 'first\nsecond' },
      { event: undefined, data: '[DONE]' },
    ]);
    expect(events.map((e) => e.raw).join('')).toBe(text);
  });

  it('keeps exact bytes when events and UTF-8 characters are split across reads', async () => {
    const text = 'data: {"t":"Grüße 世界 ✓"}\r\n\r\ndata: {"t":"x"}\n\n';
    const bytes = new TextEncoder().encode(text);
    // Split at every byte: the worst case for a parser.
    const pieces = Array.from(bytes, (byte) => new Uint8Array([byte]));
    const events = await parse(pieces);
    expect(events.map((e) => JSON.parse(e.data).t)).toEqual(['Grüße 世界 ✓', 'x']);
    expect(events.map((e) => e.raw).join('')).toBe(text);
  });

  it('starts each event afresh: no name or data line carries over, and three data lines join', async () => {
    const events = await parse(['event: a\ndata: 1\ndata: 2\ndata: 3\n\ndata: 4\n\nevent: b\n\ndata: 5\n\n']);
    expect(events.map(({ event, data }) => ({ event, data }))).toEqual([
      { event: 'a', data: '1\n2\n3' },
      { event: undefined, data: '4' },
      { event: 'b', data: '' },
      { event: undefined, data: '5' },
    ]);
  });

  it('delivers a last event that lacks its blank line', async () => {
    const events = await parse(['data: {"a":1}\n\ndata: tail']);
    expect(events.map((e) => e.data)).toEqual(['{"a":1}', 'tail']);
  });

  it('writes chunks: raw bytes when untouched, event and data lines otherwise', () => {
    expect(encodeSseChunk({ data: { a: 1 }, raw: 'data:{"a":1}\r\n\r\n' })).toBe('data:{"a":1}\r\n\r\n');
    expect(encodeSseChunk({ event: 'ping', data: { type: 'ping' } })).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(encodeSseChunk({ data: 'a\nb' })).toBe('data: a\ndata: b\n\n');
  });
});
