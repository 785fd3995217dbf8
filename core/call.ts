// The LLM call path shared by agent.fetch, agent.llm and the gateway: parse, hooks, send, hooks, answer.
import { timeOrderedId } from './ids.ts';
import type { Logger } from 'pino';
import type { AgentRecord } from './agents/record.ts';
import type { LlmCallContext, LlmSend } from './context.ts';
import type { EventBus } from './events.ts';
import type { RuntimeHooks } from './hooks.ts';
import type { ApiFormat, LlmRequest, LlmResponse, LlmStreamChunk } from './llm/types.ts';
import { StreamAssembler } from './llm/assemble.ts';
import { readToEnd, takeQueued } from './llm/queued-chunks.ts';
import { ChunkBatches } from './chunk-batches.ts';
import { adapters } from './providers/adapters.ts';
import type { ProviderRegistry } from './providers/routing.ts';
import { sendSimulated } from './providers/simulated.ts';
import { sendUpstream, type UpstreamBytes } from './providers/upstream.ts';
import { passThroughOutput, type PassThroughOutput } from './pass-through.ts';
import { finishedWithoutTerminator, chatUsageChunk, isUsageOnlyChunk, streamErrorChunk, terminatorChunk, warnErrorAfterFinish, warnMissingTerminator } from './stream-rules.ts';
import { IronError, LlmError, toIronError, IRON_AGENT_STOPPED, IRON_BAD_REQUEST, IRON_STREAM_INTERRUPTED, IRON_UPSTREAM_ERROR } from './errors.ts';

/** What the call path needs from the runtime. */
export interface CallEnvironment {
  hooks: RuntimeHooks;
  events: EventBus;
  providers: ProviderRegistry;
  logger: Logger;
  /** The calls under way, by id, with their agent's (until their LlmCallCompleted or LlmCallFailed): stopping an agent and closing wait for them to settle. */
  openCalls?: Map<string, string>;
}

export interface LlmCallInput {
  format: ApiFormat;
  /** The parsed JSON body the agent sent. */
  body: unknown;
  /** The exact text of `body`: sent upstream as it is while nothing can have rewritten the request. */
  rawBody?: string;
  /** Agent request headers to forward upstream (already filtered). */
  forwardHeaders?: Record<string, string>;
  /** Aborted when the agent goes away mid-call. */
  signal?: AbortSignal;
  /** The caller's own controller (the gateway's): the call runs on its signal, and aborting it aborts the call. */
  controller?: AbortController;
  /**
   * The caller writes a stream's bytes itself (the gateway): a stream no plugin reads then comes as a PassThroughOutput,
   * the provider's bytes with only the events the accounting needs decoded.
   */
  passThrough?: boolean;
}

/** A finished call: the answer in the agent's format, as a body or as a stream of chunks. */
export type LlmCallOutput =
  | { type: 'response'; response: LlmResponse; body: string; headers: Record<string, string> }
  | {
      type: 'stream';
      /** The answer's chunks one at a time. */
      readonly chunks: ReadableStream<LlmStreamChunk>;
      /** The same chunks as they come, a network read's worth at a time (read this or `chunks`, not both). */
      readonly batches: ReadableStream<LlmStreamChunk[]>;
      headers: Record<string, string>;
    };

/**
 * The provider send at the core of every call: real HTTP, or the offline simulated provider. `raw` is the agent's
 * own text for `rawFor`, sent as it is when that very request object reaches the provider.
 */
function providerSend(env: CallEnvironment, rawFor?: LlmRequest, raw?: string): LlmSend {
  return (request, ctx) =>
    ctx.provider.type === 'simulated'
      ? sendSimulated(adapters[request.format], request, ctx)
      : sendUpstream(ctx.provider, adapters[request.format], request, ctx, env.providers.dispatcher, request === rawFor ? raw : undefined);
}

interface CallLink {
  /** Undoes the links. */
  unlink: () => void;
  /** From now on the caller's signal calls `handler` instead of aborting the call (a stream that has started). */
  whenCallerGone: (handler: (reason: unknown) => void) => void;
}

/** Links the call's controller to the agent and to the caller's signal. */
function linkCall(agent: AgentRecord, controller: AbortController, signal: AbortSignal | undefined): CallLink {
  agent.trackCall(controller);
  let gone: ((reason: unknown) => void) | undefined;
  if (!signal) return { unlink: () => agent.untrackCall(controller), whenCallerGone: () => undefined };
  const follow = () => (gone ? gone(signal.reason) : controller.abort(signal.reason));
  if (signal.aborted) follow();
  else signal.addEventListener('abort', follow, { once: true });
  return {
    unlink: () => {
      agent.untrackCall(controller);
      signal.removeEventListener('abort', follow);
    },
    whenCallerGone: (handler) => {
      gone = handler;
    },
  };
}

/**
 * Runs one LLM call through the hooks. Throws an IronError when the call fails before an answer starts
 * (after `onLlmError` ran); a stream that fails later ends with the provider-format error chunk.
 */
/** The longest model name a call may give (provider ids are far shorter; fine-tune ids run to ~100). */
const MAX_MODEL_CHARS = 256;

export async function executeLlmCall(env: CallEnvironment, agent: AgentRecord, input: LlmCallInput & { passThrough: true }): Promise<LlmCallOutput | PassThroughOutput>;
export async function executeLlmCall(env: CallEnvironment, agent: AgentRecord, input: LlmCallInput): Promise<LlmCallOutput>;
export async function executeLlmCall(env: CallEnvironment, agent: AgentRecord, input: LlmCallInput): Promise<LlmCallOutput | PassThroughOutput> {
  const adapter = adapters[input.format];
  let request: LlmRequest;
  try {
    request = adapter.parseRequest(input.body);
    // A model name is an id, not a payload: a 4 MB one would be copied into every event, span and metric label.
    if (typeof request.model === 'string' && request.model.length > MAX_MODEL_CHARS) {
      throw new IronError(IRON_BAD_REQUEST, `model: ${request.model.length.toLocaleString('en-US')} characters is not a model name (at most ${MAX_MODEL_CHARS})`, { details: { path: 'model' } });
    }
  } catch (error) {
    const err = toIronError(error);
    agent.counters.addError(err.code, err.message, false);
    throw err;
  }

  const controller = input.controller ?? new AbortController();
  const link = linkCall(agent, controller, input.signal);
  const unlink = link.unlink;
  // Time-ordered, like the sync plugin's event ids: the server's calls table is keyed by it.
  const callId = timeOrderedId();
  const ctx: LlmCallContext = {
    callId,
    agent,
    format: input.format,
    provider: env.providers.get('simulated')!,
    startedAt: performance.now(),
    signal: controller.signal,
    responseHeaders: {},
    forwardHeaders: input.forwardHeaders ?? {},
    state: new Map(),
    logger: agent.logger,
  };
  env.openCalls?.set(callId, agent.agentId);
  const failed = async (error: unknown, stream: boolean): Promise<IronError> => {
    const err = toIronError(error, IRON_UPSTREAM_ERROR);
    await runErrorHooks(env, err, ctx);
    agent.counters.addError(err.code, err.message, true);
    env.events.emit({
      type: 'LlmCallFailed',
      time: Date.now(),
      agentId: agent.agentId,
      callId,
      provider: ctx.provider.name,
      model: request.model,
      stream,
      latencyMs: performance.now() - ctx.startedAt,
      error: { code: err.code, message: err.message, status: err.status },
    });
    await env.events.recorded();
    return err;
  };

  const { hooks } = env;
  let streaming = false;
  try {
    if (!agent.running) {
      throw new IronError(IRON_AGENT_STOPPED, `agent ${agent.agentId} is ${agent.status}; it can make no more LLM calls`);
    }
    const parsed = request;
    request = routeRequest(env, ctx, request);
    const routedModel = request.model;
    if (hooks.beforeLlmCall.taps.length > 0) request = await hooks.beforeLlmCall.promise(request, ctx).catch((error: unknown) => Promise.reject(tooDeepOr(error, input.body)));
    if (request.model !== routedModel) request = routeRequest(env, ctx, request);
    // The agent's own bytes go upstream when no plugin could have touched the request on its way out.
    let raw = request === parsed && hooks.beforeLlmCall.taps.length === 0 && hooks.wrapLlmSend.taps.length === 0 ? input.rawBody : undefined;
    const asked = askForStreamUsage(request, ctx);
    if (asked !== request) raw = raw === undefined ? undefined : withStreamUsage(raw, request);
    request = asked;
    const direct = providerSend(env, request, raw);
    const send = hooks.wrapLlmSend.taps.length > 0 ? hooks.wrapLlmSend.call(direct, ctx) : direct;
    const result = await send(request, ctx);

    if (result.type === 'response') {
      const upstream = result.response;
      const response = hooks.afterLlmCall.taps.length > 0 ? await hooks.afterLlmCall.promise(upstream, ctx) : upstream;
      agent.counters.addUsage(upstream.usage, true);
      env.events.emit({
        type: 'LlmCallCompleted',
        time: Date.now(),
        agentId: agent.agentId,
        callId,
        provider: ctx.provider.name,
        model: upstream.model || request.model,
        stream: false,
        ...(upstream.usage ? { usage: upstream.usage } : {}),
        finishReason: upstream.finishReason,
        latencyMs: performance.now() - ctx.startedAt,
        complete: true,
      });
      // The answer goes out once the call's events are stored (a crash after it cannot lose what the call cost).
      const stored = env.events.recorded();
      if (stored) await stored;
      // Unchanged answers go on byte for byte; rewritten ones are written in the agent's format.
      const body = response === upstream && result.rawBody !== undefined && response.format === input.format
        ? result.rawBody
        : JSON.stringify(adapters[input.format].serializeResponse(response));
      return { type: 'response', response, body, headers: { 'content-type': 'application/json', ...ctx.responseHeaders } };
    }

    const bytes = input.passThrough === true && noPluginReadsStreams(hooks) ? bytesOf(result.chunks, ctx.format) : undefined;
    if (bytes) {
      const assembler = new StreamAssembler(ctx.format, request.model);
      let settled: Promise<LlmResponse> | undefined;
      const settle = (error?: IronError): Promise<LlmResponse> => {
        if (settled) return settled;
        unlink();
        return (settled = settleStream(env, agent, ctx, request, assembler, failed, error));
      };
      // Answered once the first event came, so an upstream that fails at once still gets a real error status.
      const output = await passThroughOutput({ bytes, ctx, request, assembler, hideUsage: ctx.state.get(HIDDEN_USAGE) === true, settle }, streamHeaders(ctx));
      streaming = true;
      return output;
    }

    // Read the first chunk before answering, so an upstream that fails at once still gets a real error status.
    const iterator = result.chunks[Symbol.asyncIterator]();
    const first = await iterator.next();
    streaming = true;
    const metered = meterStream(env, agent, ctx, request, iterator, first, failed, () => controller.abort(), link);
    return {
      type: 'stream',
      get chunks() {
        return metered.chunks;
      },
      batches: metered.batches,
      headers: streamHeaders(ctx),
    };
  } catch (error) {
    controller.abort();
    throw await failed(error, request.stream);
  } finally {
    // A stream lets go of the agent when it ends (meterStream); anything else is done here.
    if (!streaming) unlink();
  }
}

function streamHeaders(ctx: LlmCallContext): Record<string, string> {
  return { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...ctx.responseHeaders };
}

/** No plugin reads or wraps a stream: its bytes can go to the agent as they came. */
function noPluginReadsStreams(hooks: RuntimeHooks): boolean {
  return hooks.onLlmStreamChunk.taps.length === 0 && hooks.flushLlmStream.taps.length === 0 && hooks.onLlmStreamEnd.taps.length === 0 && hooks.wrapLlmSend.taps.length === 0;
}

/** The upstream stream's bytes, when it offers them in the agent's own format (a real provider's, not yet read). */
function bytesOf(chunks: AsyncIterable<LlmStreamChunk>, format: ApiFormat): UpstreamBytes | undefined {
  const source = chunks as Partial<{ passThrough(): UpstreamBytes | undefined }>;
  const bytes = typeof source.passThrough === 'function' ? source.passThrough() : undefined;
  return bytes?.format === format ? bytes : undefined;
}

/** Deeper than any real request (tool schemas nest a few dozen levels): a stack overflow on it is the caller's. */
const MAX_NESTING = 1000;

/**
 * A plugin that overflowed the stack walking a request nested thousands of levels deep did not fail: the request
 * did (a 400 naming it, as the serializer's own check says), never a 500 that blames the plugin. Measured only then,
 * so no call pays for the walk.
 */
function tooDeepOr(error: unknown, body: unknown): unknown {
  const cause = error instanceof IronError ? error.cause : error;
  if (!(cause instanceof RangeError) || nestingDepth(body, MAX_NESTING) <= MAX_NESTING) return error;
  return new IronError(IRON_BAD_REQUEST, `the request is nested too deeply: more than ${MAX_NESTING} levels of arrays and objects`, { cause: error });
}

/** How deep arrays and objects nest in `value`, counted without recursion, up to `limit` + 1. */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return deepest;
}

const HIDDEN_USAGE = 'iron:hidden-usage-chunk';

/**
 * OpenAI-style streams carry usage only when asked (`stream_options.include_usage`). Ask for it always, so every
 * streamed call is counted, and hide the extra usage chunk from a client that did not ask.
 */
function askForStreamUsage(request: LlmRequest, ctx: LlmCallContext): LlmRequest {
  if (request.format !== 'openai-chat' || !request.stream) return request;
  const options = request.extra.stream_options;
  if (typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true) return request;
  ctx.state.set(HIDDEN_USAGE, true);
  return { ...request, extra: { ...request.extra, stream_options: { ...(typeof options === 'object' && options !== null ? options : {}), include_usage: true } } };
}

/**
 * `raw` with `stream_options.include_usage` added, when the agent's body has no `stream_options` at all (so the key
 * can be appended to the object's text); otherwise undefined, and the request is serialized.
 */
function withStreamUsage(raw: string, request: LlmRequest): string | undefined {
  if (request.extra.stream_options !== undefined) return undefined;
  const end = raw.lastIndexOf('}');
  return end === -1 ? undefined : `${raw.slice(0, end)},"stream_options":{"include_usage":true}${raw.slice(end)}`;
}

function routeRequest(env: CallEnvironment, ctx: LlmCallContext, request: LlmRequest): LlmRequest {
  const route = env.providers.route(request.model, request.format);
  ctx.provider = route.provider;
  return route.model === request.model ? request : { ...request, model: route.model };
}

async function runErrorHooks(env: CallEnvironment, error: IronError, ctx: LlmCallContext): Promise<void> {
  try {
    await env.hooks.onLlmError.promise(error, ctx);
  } catch (hookError) {
    ctx.logger.error({ err: hookError, callId: ctx.callId }, 'an onLlmError tap threw; the original error is reported');
  }
}

/**
 * Passes upstream chunks through `onLlmStreamChunk` one at a time (never buffering the answer), assembles
 * the whole answer on the side, and ends with `onLlmStreamEnd`. A stream that ends without its
 * terminator, or breaks, ends with an error chunk in the agent's format: never as a clean success.
 */
function meterStream(
  env: CallEnvironment,
  agent: AgentRecord,
  ctx: LlmCallContext,
  request: LlmRequest,
  iterator: AsyncIterator<LlmStreamChunk>,
  first: IteratorResult<LlmStreamChunk>,
  failed: (error: unknown, stream: boolean) => Promise<IronError>,
  abortUpstream: () => void,
  link: CallLink,
): ChunkBatches {
  const unlink = link.unlink;
  const assembler = new StreamAssembler(ctx.format, request.model);
  const hideUsage = ctx.state.get(HIDDEN_USAGE) === true;
  let pending: IteratorResult<LlmStreamChunk> | undefined = first;
  // The chunks the source already decoded (the rest of a network read), metered and enqueued in one pull instead of
  // one iterator promise and one pull per chunk.
  let queued: LlmStreamChunk[] = [];
  let queuedAt = 0;
  const ready = (): boolean => {
    if (queuedAt < queued.length) return true;
    queued = takeQueued(iterator);
    queuedAt = 0;
    return queued.length > 0;
  };
  let ended = false;
  let pulling = false;
  // The call aborted while the agent is not reading (fetch's signal fired after the headers, the agent stopped):
  // nobody pulls, so settle here — as fetch does, the body then errors with the abort.
  const onAbort = (): void => {
    if (ended || pulling) return;
    const err = toIronError(ctx.signal.reason ?? new LlmError(IRON_STREAM_INTERRUPTED, 'the call was aborted before its stream ended'), IRON_STREAM_INTERRUPTED);
    abortUpstream();
    void (async () => {
      await iterator.return?.().catch(() => undefined);
      if (!ended) await end(err);
      stream.error(ctx.signal.reason ?? err);
    })();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  // The agent stopped reading (its fetch signal, or it cancelled the body): it gets its AbortError at once, and what
  // the provider already sent is still read for a moment and metered before the upstream is cut — a fast provider
  // has generated (and billed) well past what the agent read.
  let stopping = false;
  let refused = false;
  let currentPull: Promise<void> | undefined;
  /**
   * Reads on for DRAIN_MS what the provider already sent, metered by the plugins' chunk hook and never delivered: after
   * the agent stopped reading, or after a plugin refused the answer (a tap that throws again is ignored: the taps
   * before it metered the chunk).
   */
  const drainMetered = async (): Promise<void> => {
    const until = performance.now() + DRAIN_MS;
    while (!ended) {
      const left = until - performance.now();
      if (left <= 0) return;
      let result: IteratorResult<LlmStreamChunk> | 'late' | undefined;
      if (ready()) result = { value: queued[queuedAt++]!, done: false };
      else {
        let timer: NodeJS.Timeout | undefined;
        const next = iterator.next();
        next.catch(() => undefined);
        result = await Promise.race([next, new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), left)))]).catch(() => undefined);
        clearTimeout(timer);
      }
      if (result === undefined || result === 'late' || result.done) return;
      assembler.add(result.value);
      try {
        if (env.hooks.onLlmStreamChunk.taps.length > 0) env.hooks.onLlmStreamChunk.call([result.value], ctx);
      } catch {
        // a refusal again
      }
      if (result.value.done) return;
    }
  };
  const callerGone = async (reason: unknown, visible: boolean): Promise<void> => {
    if (ended || stopping) return;
    stopping = true;
    ctx.signal.removeEventListener('abort', onAbort);
    const err = toIronError(reason instanceof IronError ? reason : new LlmError(IRON_STREAM_INTERRUPTED, 'the agent stopped reading the stream before it ended'), IRON_STREAM_INTERRUPTED);
    if (visible) stream.error(reason ?? err);
    await currentPull?.catch(() => undefined);
    await drainMetered();
    abortUpstream();
    await iterator.return?.().catch(() => undefined);
    if (!ended) await end(err);
  };
  link.whenCallerGone((reason) => void callerGone(reason, true));

  const end = (error?: IronError): Promise<LlmResponse> => {
    ended = true;
    ctx.signal.removeEventListener('abort', onAbort);
    unlink();
    return settleStream(env, agent, ctx, request, assembler, failed, error);
  };

  const stream = new ChunkBatches({
    pull(enqueue, close) {
      currentPull = pullOnce(enqueue, close);
      return currentPull;
    },
    async cancel() {
      if (ended) return;
      await callerGone(new LlmError(IRON_STREAM_INTERRUPTED, 'the agent stopped reading the stream before it ended'), false);
    },
  });
  return stream;

  /**
   * Meters what the provider sent and enqueues what goes to the agent: the chunks of one network read in one batch,
   * handed over before anything is awaited.
   */
  async function pullOnce(enqueue: (chunks: LlmStreamChunk[]) => void, closeStream: () => void): Promise<void> {
      if (stopping) return;
      pulling = true;
      let batch: LlmStreamChunk[] = [];
      const flush = (): void => {
        if (batch.length === 0) return;
        enqueue(batch);
        batch = [];
      };
      const controller = {
        enqueue: (chunk: LlmStreamChunk) => void batch.push(chunk),
        close: () => {
          flush();
          closeStream();
        },
      };
      try {
        for (;;) {
          // The next chunk, or undefined at the end (a chunk already decoded is taken without an iterator result).
          let chunk: LlmStreamChunk | undefined;
          if (pending !== undefined) chunk = pending.done ? undefined : pending.value;
          else if (ready()) chunk = queued[queuedAt++]!;
          else {
            flush();
            const next = await iterator.next();
            chunk = next.done ? undefined : next.value;
          }
          pending = undefined;
          if (chunk === undefined) {
            if (assembler.error) {
              flush();
              await end();
              controller.close();
              return;
            }
            if (finishedWithoutTerminator(assembler.finishReason !== undefined, ctx, request)) {
              // Complete by the protocol (the finish reason came, usage too if the provider sends it) though the
              // terminator did not: the agent gets one, the call is complete, and the provider's omission is logged.
              warnMissingTerminator(ctx);
              const terminator = terminatorChunk(ctx);
              assembler.add(terminator);
              const out = env.hooks.onLlmStreamChunk.taps.length === 0 ? [terminator] : env.hooks.onLlmStreamChunk.call([terminator], ctx);
              const usageDue = ctx.format === 'openai-chat' && !hideUsage && assembler.usage === undefined;
              flush();
              const response = await end();
              // The agent asked for the usage chunk (include_usage) and the provider's was lost: it gets the usage
              // billed for the call (the cost plugin's count), in the chunk it expects.
              if (usageDue && response.usage) controller.enqueue(chatUsageChunk(response, request.model));
              for (const piece of out) controller.enqueue(piece);
              controller.close();
              return;
            }
            // The upstream closed without its terminator: release what plugins hold, then say so.
            for (const chunk of env.hooks.flushLlmStream.call([], ctx)) controller.enqueue(chunk);
            throw new LlmError(IRON_STREAM_INTERRUPTED, `provider "${ctx.provider.name}" ended the stream before its terminator: the answer is incomplete`, {
              details: { provider: ctx.provider.name, chunks: assembler.chunks },
            });
          }
          if (stopping) {
            // Read by a pull that was under way when the agent left: metered like the rest, never delivered.
            assembler.add(chunk);
            if (env.hooks.onLlmStreamChunk.taps.length > 0) env.hooks.onLlmStreamChunk.call([chunk], ctx);
            return;
          }
          if (chunk.error && finishedWithoutTerminator(assembler.finishReason !== undefined, ctx, request)) {
            // An error after the finish reason: the answer was whole; only its tail failed. Complete by the protocol.
            warnErrorAfterFinish(ctx, chunk);
            abortUpstream();
            pending = { done: true, value: undefined };
            continue;
          }
          assembler.add(chunk);
          const hidden = hideUsage && isUsageOnlyChunk(chunk);
          let out: LlmStreamChunk[];
          try {
            if (env.hooks.onLlmStreamChunk.taps.length === 0) out = hidden ? [] : [chunk];
            else {
              ctx.nextChunk = ready() ? queued[queuedAt] : undefined;
              out = env.hooks.onLlmStreamChunk.call([chunk], ctx);
              if (hidden) out = out.filter((piece) => piece !== chunk);
            }
          } catch (error) {
            refused = true; // a plugin refused the answer (safety blocking it): the provider is still sending
            throw error;
          } finally {
            ctx.nextChunk = undefined;
          }
          if (chunk.done) {
            // The call is complete once the terminator arrived, even if the agent stops reading right after it
            // (SDKs cancel the body on `[DONE]`): settle first, then hand over the last chunks.
            flush();
            await end();
            for (const piece of out) controller.enqueue(piece);
            controller.close();
            // Nothing follows a terminator; drain so the upstream connection is released cleanly.
            void readToEnd(iterator);
            return;
          }
          for (const piece of out) controller.enqueue(piece);
          if (out.length > 0 && !ready()) {
            flush();
            return;
          }
        }
      } catch (error) {
        // The agent is gone: callerGone settles the call once it has read what was already sent.
        if (stopping) return;
        const err = toIronError(error, IRON_STREAM_INTERRUPTED);
        controller.enqueue(streamErrorChunk(ctx, err));
        flush();
        // Refused mid-answer: what the provider already sent is read for a moment and metered (never delivered), as
        // when the agent stops reading, so the call is billed by what was generated — with its usage, if it came.
        if (refused) await drainMetered();
        abortUpstream();
        await iterator.return?.().catch(() => undefined);
        if (!ended) await end(err);
        controller.close();
      } finally {
        pulling = false;
        // Aborted while this pull waited on a chunk that then arrived: nobody may pull again.
        if (!ended && !stopping && ctx.signal.aborted) onAbort();
      }
  }
}

/**
 * Settles a streamed call once its stream ended: `onLlmStreamEnd`, the agent's counters, and the call's event
 * (LlmCallCompleted, stored before the agent gets the end, or LlmCallFailed).
 */
async function settleStream(
  env: CallEnvironment,
  agent: AgentRecord,
  ctx: LlmCallContext,
  request: LlmRequest,
  assembler: StreamAssembler,
  failed: (error: unknown, stream: boolean) => Promise<IronError>,
  error: IronError | undefined,
): Promise<LlmResponse> {
  const response = assembler.response();
  const complete = assembler.complete && !assembler.error && !error;
  try {
    await env.hooks.onLlmStreamEnd.promise(error ? { response, complete, error } : { response, complete }, ctx);
  } catch (hookError) {
    ctx.logger.error({ err: hookError, callId: ctx.callId }, 'an onLlmStreamEnd tap threw');
  }
  // After the taps: a stream cut before its usage counts the tokens it was billed for (cost sets them).
  agent.counters.addUsage(response.usage ?? assembler.usage, complete);
  if (complete) {
    env.events.emit({
      type: 'LlmCallCompleted',
      time: Date.now(),
      agentId: agent.agentId,
      callId: ctx.callId,
      provider: ctx.provider.name,
      model: response.model || request.model,
      stream: true,
      ...(response.usage ? { usage: response.usage } : {}),
      finishReason: response.finishReason,
      latencyMs: performance.now() - ctx.startedAt,
      complete: true,
    });
    const stored = env.events.recorded();
    if (stored) await stored;
  } else {
    const err = error ?? new LlmError(IRON_UPSTREAM_ERROR, `provider "${ctx.provider.name}" reported an error in the stream: ${assembler.error?.message ?? 'unknown'}`);
    await failed(err, true);
  }
  return response;
}

/**
 * How long what the provider already sent is still read (and metered) after the agent stopped reading or a plugin
 * refused the answer. Long enough for the usage event to arrive on a loaded machine (at 100 ms a CI run missed it
 * and billed a blocked answer by its byte bound, 1.7× what the provider billed), short enough not to hold a stop up.
 */
const DRAIN_MS = 300;
