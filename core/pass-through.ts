// A streamed answer no plugin reads, written to the agent as the bytes the provider sent. Only the events the call's
// accounting needs (usage, the finish, errors, the terminator) are decoded; the rest goes on unread, a network read at
// a time. The metered stream (call.ts) decodes every event into a chunk for the plugins; with none reading them, the
// chunks, the assembler and the re-encoded text were work (and garbage: 127 → 42 KB a stream) nobody used.
import type { ServerResponse } from 'node:http';
import type { LlmCallContext } from './context.ts';
import type { LlmRequest, LlmResponse, LlmStreamChunk } from './llm/types.ts';
import type { StreamAssembler } from './llm/assemble.ts';
import { adapters } from './providers/adapters.ts';
import { encodeSseChunk } from './providers/sse.ts';
import { asByteString, byteString, byteStringsOf, eventRuns } from './providers/sse-bytes.ts';
import type { UpstreamBytes } from './providers/upstream.ts';
import { whenWritable } from './writable.ts';
import { chatUsageChunk, finishedWithoutTerminator, isUsageOnlyChunk, streamErrorChunk, terminatorChunk, warnErrorAfterFinish, warnMissingTerminator } from './stream-rules.ts';
import { LlmError, toIronError, IRON_STREAM_INTERRUPTED, type IronError } from './errors.ts';

/** A streamed answer the caller writes itself, as bytes (the gateway does, when no plugin reads the stream). */
export interface PassThroughOutput {
  type: 'bytes';
  headers: Record<string, string>;
  /** Writes the answer's body to `res` (whose head the caller wrote) to its end, and settles the call. */
  writeTo(res: ServerResponse): Promise<void>;
}

export interface PassThroughCall {
  bytes: UpstreamBytes;
  ctx: LlmCallContext;
  request: LlmRequest;
  assembler: StreamAssembler;
  /** The agent did not ask for Chat's usage chunk (the runtime did): it is not passed on. */
  hideUsage: boolean;
  /** Settles the call (its event, the agent's counters), once; an error makes it a failed call. */
  settle(error?: IronError): Promise<LlmResponse>;
}

/**
 * The pass-through output of a call, once its first event arrived: an upstream that fails before it (or whose first
 * event is broken) throws here, so the agent gets a real error status, as from the metered stream.
 */
export async function passThroughOutput(call: PassThroughCall, headers: Record<string, string>): Promise<PassThroughOutput> {
  const stream = new PassThrough(call);
  await stream.start();
  return { type: 'bytes', headers, writeTo: (res) => stream.writeTo(res) };
}

/** Reads the rest of a complete answer (nothing follows its terminator), so the provider's connection is kept. */
async function readToEnd(bytes: UpstreamBytes): Promise<void> {
  for (;;) {
    bytes.take();
    if (bytes.ended) break;
    await bytes.changed();
  }
  bytes.finish();
}

class PassThrough {
  readonly #call: PassThroughCall;
  readonly #plain: readonly string[];
  readonly #secrets: readonly string[];
  /**
   * What goes to the agent next, in one write, as a byte string (one character per byte, written as latin1): the
   * provider's bytes pass on as they came, without a Buffer made or a UTF-8 decode and encode.
   */
  #out = '';
  /** Bytes of an event begun and not yet ended (whole events only are passed on, or read). */
  #carry: Buffer | undefined;
  /** CR-framed events: from there on, read as text by the decoder's own parser. */
  #text: TextDecoder | undefined;
  /** Whole events seen (passed on or read). */
  #events = 0;
  /** The terminator chunk, once it came. */
  #terminator: LlmStreamChunk | undefined;
  /** A provider error after the finish reason: the answer is complete, and the rest is not read. */
  #cutAfterFinish = false;
  /** The upstream ended (or the stream is over): nothing more is taken. */
  #over = false;
  /** A broken event or upstream failure after the first event: the stream ends with it once what came before is out. */
  #failure: unknown;

  constructor(call: PassThroughCall) {
    this.#call = call;
    this.#plain = adapters[call.ctx.format].plainStreamEvents;
    this.#secrets = byteStringsOf(call.bytes.secrets);
  }

  /** Reads up to the first whole event (or the end): throws when the upstream failed before it, or it is broken. */
  async start(): Promise<void> {
    try {
      while (this.#events === 0 && !this.#over) await this.#next();
    } catch (error) {
      this.#call.bytes.finish();
      throw error;
    }
  }

  async writeTo(res: ServerResponse): Promise<void> {
    const { bytes, ctx, request, assembler, hideUsage } = this.#call;
    try {
      for (;;) {
        if (this.#failure !== undefined) throw this.#failure;
        if (!this.#write(res)) await whenWritable(res);
        if (this.#over) break;
        await this.#next().catch((error: unknown) => void (this.#failure = error));
      }
      if (this.#terminator === undefined && !this.#cutAfterFinish) {
        // The upstream ended: its last event may have come without its blank line.
        const last = this.#text !== undefined ? this.#text.decode() : (this.#carry?.toString('utf8') ?? '');
        bytes.decode(last, true, (chunk) => this.#read(chunk));
      }
      if (this.#terminator !== undefined) {
        // Complete: settled before the agent gets the end (an agent that stops reading at `[DONE]` loses nothing).
        this.#write(res);
        await this.#call.settle();
        this.#send(this.#terminator);
        this.#end(res);
        void readToEnd(bytes);
        return;
      }
      if (assembler.error && !this.#cutAfterFinish) {
        // The provider's error event went on to the agent as it came; the call failed.
        this.#write(res);
        bytes.finish();
        await this.#call.settle();
        this.#end(res);
        return;
      }
      if (finishedWithoutTerminator(assembler.finishReason !== undefined, ctx, request)) {
        // Complete by the protocol (the finish reason came) though the terminator did not: the agent gets one.
        warnMissingTerminator(ctx);
        const added = terminatorChunk(ctx);
        assembler.add(added);
        const usageDue = ctx.format === 'openai-chat' && !hideUsage && assembler.usage === undefined;
        this.#write(res);
        bytes.finish();
        const response = await this.#call.settle();
        if (usageDue && response.usage) this.#send(chatUsageChunk(response, request.model));
        this.#send(added);
        this.#end(res);
        return;
      }
      throw new LlmError(IRON_STREAM_INTERRUPTED, `provider "${ctx.provider.name}" ended the stream before its terminator: the answer is incomplete`, {
        details: { provider: ctx.provider.name, chunks: assembler.chunks },
      });
    } catch (error) {
      // An agent that hung up (or was stopped) ended the call: its reason, not the socket error it caused upstream.
      const reason = ctx.signal.aborted ? ctx.signal.reason : undefined;
      const err = toIronError(reason instanceof Error ? reason : error, IRON_STREAM_INTERRUPTED);
      bytes.finish();
      if (!res.destroyed) this.#send(streamErrorChunk(ctx, err));
      this.#write(res);
      await this.#call.settle(err);
      this.#end(res);
    }
  }

  /** Takes what arrived (waiting for it when nothing did) and cuts it into events: passed on, or read. */
  async #next(): Promise<void> {
    const { bytes } = this.#call;
    const taken = bytes.take();
    if (taken.length === 0) {
      const failure = bytes.failure();
      if (failure !== undefined) throw failure;
      if (bytes.ended) this.#over = true;
      else await bytes.changed();
      return;
    }
    const carry = this.#carry;
    const data = carry !== undefined ? Buffer.concat([carry, ...taken]) : taken.length === 1 ? taken[0]! : Buffer.concat(taken);
    this.#carry = undefined;
    try {
      this.#cut(data);
    } catch (error) {
      // A broken event: after good ones, the stream ends with it once they are out; first, the call fails.
      if (this.#events === 0) throw error;
      this.#failure = error;
      this.#over = true;
    }
  }

  #cut(data: Buffer): void {
    const { bytes } = this.#call;
    const raw = this.#text === undefined ? byteString(data) : undefined;
    const cut = raw === undefined ? undefined : eventRuns(raw, this.#plain, this.#secrets);
    if (cut === undefined) {
      this.#text ??= new TextDecoder();
      bytes.decode(this.#text.decode(data, { stream: true }), false, (chunk) => {
        this.#events++;
        return this.#read(chunk);
      });
      return;
    }
    const { runs } = cut;
    for (let i = 0; i < runs.length; i += 3) {
      let more = true;
      if (runs[i + 2] === 0) this.#out += raw!.slice(runs[i], runs[i + 1]);
      else bytes.decode(data.toString('utf8', runs[i], runs[i + 1]), false, (chunk) => (more = this.#read(chunk)));
      this.#events++;
      if (!more) return;
    }
    if (cut.rest < data.length) this.#carry = data.subarray(cut.rest);
  }

  /** Reads one decoded chunk: metered, and queued for the agent unless hidden. False once the stream is over. */
  #read(chunk: LlmStreamChunk): boolean {
    const { ctx, request, assembler, hideUsage } = this.#call;
    if (chunk.error && finishedWithoutTerminator(assembler.finishReason !== undefined, ctx, request)) {
      warnErrorAfterFinish(ctx, chunk);
      this.#cutAfterFinish = true;
      this.#over = true;
      return false;
    }
    assembler.add(chunk);
    if (chunk.done) {
      this.#terminator = chunk;
      this.#over = true;
      return false;
    }
    if (!(hideUsage && isUsageOnlyChunk(chunk))) this.#send(chunk);
    return true;
  }

  #send(chunk: LlmStreamChunk): void {
    this.#out += asByteString(encodeSseChunk(chunk));
  }

  /** Writes what is due; false when the agent's socket asks to wait (backpressure). */
  #write(res: ServerResponse): boolean {
    const piece = this.#out;
    this.#out = '';
    return piece === '' || res.destroyed ? true : res.write(piece, 'latin1');
  }

  #end(res: ServerResponse): void {
    const piece = this.#out;
    this.#out = '';
    if (piece === '') res.end();
    else res.end(piece, 'latin1');
  }
}
