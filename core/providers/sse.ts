// Server-sent events: split a byte stream into events (keeping their exact bytes) and write chunks back.
import type { LlmStreamChunk, SseEvent } from '../llm/types.ts';

/** The event being read: its text so far, its name, its first `data` line and any further ones (rare). */
interface Draft { raw: string; event: string | undefined; data: string | undefined; more: string[] | undefined }

/**
 * Incremental SSE parser over text. Each event keeps its exact text in `raw` (comments and blank-line framing
 * included), so a stream nobody rewrites can be passed on byte for byte.
 */
export class SseParser {
  #buffer = '';
  // (One draft, reset per event: an object and an array per event were most of the parser's garbage.)
  readonly #draft: Draft = { raw: '', event: undefined, data: undefined, more: undefined };

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.#buffer += text;
    return this.#takeLines(false);
  }

  /** The stream ended: returns the last event, even without its blank line (some servers close right after it). */
  end(): SseEvent[] {
    const events = this.#takeLines(true);
    const rest = this.#buffer;
    if (rest !== '') {
      this.#draft.raw += rest;
      readField(rest, 0, rest.length, this.#draft);
      this.#buffer = '';
    }
    // Written on, the last event ends with its blank line: what follows it (a terminator the runtime adds) is not glued
    // onto its last line (an outside review: `:keepalivedata: [DONE]`, and the agent never saw the end).
    const raw = this.#draft.raw;
    this.#dispatch(events, raw === '' || raw.endsWith('\n\n') || raw.endsWith('\r\r') ? '' : raw.endsWith('\n') || raw.endsWith('\r') ? '\n' : '\n\n');
    return events;
  }

  /** Completes the draft event; `tail` is the rest of its text (up to and with its blank line). */
  #dispatch(into: SseEvent[], tail = ''): void {
    const draft = this.#draft;
    const raw = draft.raw + tail;
    if (raw === '') return;
    const data = draft.more === undefined ? (draft.data ?? '') : `${draft.data}\n${draft.more.join('\n')}`;
    const event: SseEvent = { data, raw };
    if (draft.event !== undefined) event.event = draft.event;
    into.push(event);
    draft.raw = '';
    draft.event = undefined;
    draft.data = undefined;
    draft.more = undefined;
  }

  /**
   * Reads the buffer's complete lines. An event's raw text is cut from the buffer in one slice when it lies in it
   * whole, and the next CR is looked up once, not per line (a stream with none would rescan the buffer per line).
   */
  #takeLines(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.#buffer;
    let start = 0;
    /** Where the draft event's text not yet in `draft.raw` starts. */
    let rawFrom = 0;
    let cr = buffer.indexOf('\r');
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A lone CR at the end of the buffer may be the first half of CRLF: wait for the next bytes.
        if (cr === buffer.length - 1 && !final) break;
        end = cr;
        next = buffer.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      if (end === start) {
        this.#dispatch(events, buffer.slice(rawFrom, next));
        rawFrom = next;
      } else readField(buffer, start, end, this.#draft);
      start = next;
    }
    if (rawFrom < start) this.#draft.raw += buffer.slice(rawFrom, start);
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }
}

/** The same parser as a web stream transform over bytes. */
export function createSseParser(): TransformStream<Uint8Array, SseEvent> {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  return new TransformStream<Uint8Array, SseEvent>({
    transform(bytes, controller) {
      for (const event of parser.push(decoder.decode(bytes, { stream: true }))) controller.enqueue(event);
    },
    flush(controller) {
      for (const event of [...parser.push(decoder.decode()), ...parser.end()]) controller.enqueue(event);
    },
  });
}

/** Reads the field on `text`'s line from `start` to `end` (without its line break) into the draft. */
function readField(text: string, start: number, end: number, draft: Draft): void {
  if (text.charCodeAt(start) === 58) return; // ':' a comment (keep-alive), kept only in raw
  // The common line, `data: ` and its value, without cutting the name out first.
  if (text.startsWith('data: ', start)) {
    addData(draft, text.slice(start + 6, end));
    return;
  }
  const line = text.slice(start, end);
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  if (name === 'data') addData(draft, value);
  else if (name === 'event') draft.event = value;
}

function addData(draft: Draft, line: string): void {
  if (draft.data === undefined) draft.data = line;
  else (draft.more ??= []).push(line);
}

/** The wire text of a chunk: its original bytes when it was not rewritten, else `event:` + `data:` lines. */
export function encodeSseChunk(chunk: LlmStreamChunk): string {
  if (chunk.raw !== undefined) return chunk.raw;
  const data = typeof chunk.data === 'string' ? chunk.data : JSON.stringify(chunk.data);
  let out = chunk.event !== undefined ? `event: ${chunk.event}\n` : '';
  for (const line of data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}
