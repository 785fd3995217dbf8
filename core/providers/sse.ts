// Server-sent events: split a byte stream into events (keeping their exact bytes) and write chunks back.
import type { LlmStreamChunk, SseEvent } from '../llm/types.ts';

interface Draft { raw: string; event?: string; data: string[] }

/**
 * Parses an SSE byte stream. Each event keeps its exact text in `raw` (comments and blank-line framing
 * included), so a stream nobody rewrites can be passed on byte for byte.
 */
export function createSseParser(): TransformStream<Uint8Array, SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let draft: Draft = { raw: '', data: [] };

  const dispatch = (controller: TransformStreamDefaultController<SseEvent>): void => {
    if (draft.raw === '') return;
    const event: SseEvent = { data: draft.data.join('\n'), raw: draft.raw };
    if (draft.event !== undefined) event.event = draft.event;
    controller.enqueue(event);
    draft = { raw: '', data: [] };
  };

  const takeLines = (controller: TransformStreamDefaultController<SseEvent>, final: boolean): void => {
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A lone CR at the end of the buffer may be the first half of CRLF: wait for the next bytes.
        if (cr === buffer.length - 1 && !final) break;
        end = cr;
        next = buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      const line = buffer.slice(start, end);
      draft.raw += buffer.slice(start, next);
      if (line === '') dispatch(controller);
      else readField(line, draft);
      start = next;
    }
    buffer = buffer.slice(start);
  };

  return new TransformStream<Uint8Array, SseEvent>({
    transform(bytes, controller) {
      buffer += decoder.decode(bytes, { stream: true });
      takeLines(controller, false);
    },
    flush(controller) {
      buffer += decoder.decode();
      takeLines(controller, true);
      // A last event without its blank line still counts (some servers close right after the data line).
      if (buffer !== '') {
        draft.raw += buffer;
        readField(buffer, draft);
        buffer = '';
      }
      dispatch(controller);
    },
  });
}

function readField(line: string, draft: Draft): void {
  if (line.startsWith(':')) return; // a comment (keep-alive), kept only in raw
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  if (name === 'data') draft.data.push(value);
  else if (name === 'event') draft.event = value;
}

/** The wire text of a chunk: its original bytes when it was not rewritten, else `event:` + `data:` lines. */
export function encodeSseChunk(chunk: LlmStreamChunk): string {
  if (chunk.raw !== undefined) return chunk.raw;
  const data = typeof chunk.data === 'string' ? chunk.data : JSON.stringify(chunk.data);
  let out = chunk.event !== undefined ? `event: ${chunk.event}\n` : '';
  for (const line of data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}
