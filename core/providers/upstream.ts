// Sends a neutral request to a real provider over HTTP and turns its answer back into the neutral model.
import type { IncomingHttpHeaders } from 'node:http';
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import type { LlmCallContext, LlmResult } from '../context.ts';
import type { ApiFormat, LlmRequest, LlmStreamChunk, SseEvent } from '../llm/types.ts';
import type { ApiAdapter } from './adapter.ts';
import { endpointUrl, type ResolvedProvider } from './routing.ts';
import { SseParser } from './sse.ts';
import { isPlainTextDelta } from './text-delta.ts';
import type { QueuedChunks } from '../llm/queued-chunks.ts';
import { IronError, LlmError, IRON_BAD_REQUEST, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT, IRON_UPSTREAM_BROKEN, IRON_UPSTREAM_ERROR, IRON_UPSTREAM_INVALID, IRON_UPSTREAM_UNREACHABLE } from '../errors.ts';

/** Upstream answer headers worth passing on to the agent (rate-limit and request-id headers). */
const PASSED_ON_HEADER = /^(retry-after|x-ratelimit-|anthropic-ratelimit-|x-request-id|request-id|openai-processing-ms)/;

/** A stream's reader fell this many network chunks behind: the provider is paused until it catches up. */
const MAX_BUFFERED_CHUNKS = 64;

function authHeaders(provider: ResolvedProvider): Record<string, string> {
  if (!provider.apiKey) return {};
  return provider.type === 'anthropic' ? { 'x-api-key': provider.apiKey } : { authorization: `Bearer ${provider.apiKey}` };
}

function pickHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value !== undefined && PASSED_ON_HEADER.test(key)) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function upstreamMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error && typeof parsed.error.message === 'string') return parsed.error.message;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 300);
}

/** Where an endpoint lives, split once per provider and path (undici's dispatch takes origin and path apart). */
interface Endpoint {
  origin: string;
  path: string;
}

const endpoints = new WeakMap<ResolvedProvider, Map<string, Endpoint>>();

function endpointOf(provider: ResolvedProvider, path: string): Endpoint {
  let byPath = endpoints.get(provider);
  if (!byPath) endpoints.set(provider, (byPath = new Map()));
  let endpoint = byPath.get(path);
  if (!endpoint) {
    const url = new URL(endpointUrl(provider, path));
    byPath.set(path, (endpoint = { origin: url.origin, path: url.pathname + url.search }));
  }
  return endpoint;
}

/**
 * One request to a provider through undici's dispatch API: the answer's bytes are collected (JSON) or handed
 * to one reader as they arrive (streams, with backpressure), without a Node stream or a URL parse per call.
 */
class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** Body bytes received so far (what a broken answer is reported by). */
  bytes = 0;
  /** Set once the provider answered, completely, or failed. */
  ended = false;
  error: unknown;
  readonly #chunks: Buffer[] = [];
  #text: string | undefined;
  /** A reader takes the chunks as they come (a stream): the provider is paused while it falls behind. */
  #streaming = false;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #started: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #wake: (() => void) | undefined;

  /** Cancels the request (before it started, or at any point of the answer). */
  abort(reason: Error): void {
    if (this.ended) return;
    if (this.#controller) this.#controller.abort(reason);
    else this.#abortReason ??= reason;
  }

  /** Resolves when the status and headers arrived; rejects when the request failed first. */
  started(): Promise<void> {
    if (this.status !== 0) return Promise.resolve();
    if (this.ended) return Promise.reject(this.error);
    return new Promise((resolve, reject) => (this.#started = { resolve, reject }));
  }

  /** The whole answer body as text (decoded once: the send waits for it, then reads it). */
  async text(): Promise<string> {
    while (!this.ended) await this.#changed();
    if (this.error !== undefined) throw this.error;
    if (this.#text === undefined) {
      const chunks = this.#chunks;
      this.#text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    }
    return this.#text;
  }

  /**
   * The body's chunks that arrived since the last take (a stream's one reader); resumes a paused provider. A resumed
   * parser hands over what it holds at once, and may end the answer, before `resume` returns: those chunks are taken
   * too, so a reader that then sees the answer ended has all of it (an outside review: taken later, a stream written a
   * byte at a time lost an event's tail about one time in three).
   */
  take(): Buffer[] {
    this.#streaming = true;
    const taken = this.#chunks.splice(0);
    if (this.#resumed()) for (const chunk of this.#chunks.splice(0)) taken.push(chunk);
    return taken;
  }

  /** Resolves when more of the answer arrived, or it ended or failed. */
  changed(): Promise<void> {
    if (this.#chunks.length > 0 || this.ended) return Promise.resolve();
    // Paused again by what the last take's resume brought, with nothing left to read: resumed, or this waits for ever.
    if (this.#resumed() && (this.#chunks.length > 0 || this.ended)) return Promise.resolve();
    return this.#changed();
  }

  /** Resumes a paused provider (its parser may hand over chunks, and end the answer, before this returns). */
  #resumed(): boolean {
    if (!this.#controller?.paused) return false;
    this.#controller.resume();
    return true;
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: the real answer follows
    this.status = statusCode;
    this.headers = headers;
    this.#started?.resolve();
    this.#started = undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    this.#chunks.push(chunk);
    if (this.#streaming && this.#chunks.length >= MAX_BUFFERED_CHUNKS && this.#wake === undefined) controller.pause();
    this.#notify();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.#notify();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.#started?.reject(error);
    this.#started = undefined;
    this.#notify();
  }
}

/** Aborts a call's request when the caller gives up or the provider's time is up, whichever comes first. */
class CallDeadline {
  timedOut = false;
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort: () => void;
  readonly #callSignal: AbortSignal;

  constructor(callSignal: AbortSignal, timeoutMs: number, exchange: Exchange) {
    this.#callSignal = callSignal;
    this.#onAbort = () => exchange.abort(callSignal.reason instanceof Error ? callSignal.reason : new Error('the call was aborted', { cause: callSignal.reason }));
    if (callSignal.aborted) this.#onAbort();
    else callSignal.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      exchange.abort(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    this.#timer.unref();
  }

  get callAborted(): boolean {
    return this.#callSignal.aborted;
  }

  get reason(): unknown {
    return this.#callSignal.reason;
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#callSignal.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * Sends `request` to `provider` in the adapter's format. Errors are `LlmError`s carrying the provider's answer.
 * `rawBody` is the exact body to send when the caller knows it still says what `request` says (the agent's own
 * bytes, when nothing rewrote them); otherwise the request is serialized.
 */
export async function sendUpstream(
  provider: ResolvedProvider,
  adapter: ApiAdapter,
  request: LlmRequest,
  ctx: LlmCallContext,
  dispatcher?: Dispatcher,
  rawBody?: string,
): Promise<LlmResult> {
  const { origin, path } = endpointOf(provider, adapter.path);
  const headers: Record<string, string> = {
    ...ctx.forwardHeaders,
    ...provider.headers,
    ...authHeaders(provider),
    'content-type': 'application/json',
    accept: request.stream ? 'text/event-stream' : 'application/json',
  };
  if (provider.type === 'anthropic' && !headers['anthropic-version']) headers['anthropic-version'] = '2023-06-01';

  const wireBody = rawBody ?? serializeBody(adapter, request);
  const exchange = new Exchange();
  const deadline = new CallDeadline(ctx.signal, provider.timeoutMs, exchange);
  try {
    (dispatcher ?? getGlobalDispatcher()).dispatch(
      {
        origin,
        path,
        method: 'POST',
        headers,
        body: wireBody,
        // The call's own deadline governs; undici's idle timers would cut long reasoning answers.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      exchange,
    );
    // A stream's status and headers decide how its body is read; any other answer is read whole.
    await (request.stream ? exchange.started() : exchange.text());
  } catch (error) {
    // Failed before an answer started: the provider was not reached. (A body that broke is handled below.)
    if (exchange.status === 0) {
      deadline.clear();
      throw transportError(error, provider, deadline);
    }
  }

  const status = exchange.status;
  if (status < 200 || status >= 300) {
    const body = withoutSecrets(await exchange.text().catch(() => ''), provider.secrets);
    deadline.clear();
    throw new LlmError(IRON_UPSTREAM_ERROR, `provider "${provider.name}" answered ${status}: ${upstreamMessage(body)}`, {
      upstreamStatus: status,
      upstreamBody: body,
      upstreamHeaders: pickHeaders(exchange.headers),
      details: { provider: provider.name, status },
    });
  }

  const contentType = String(exchange.headers['content-type'] ?? '');
  if (request.stream && contentType.includes('text/event-stream')) {
    return { type: 'stream', chunks: new StreamEvents(exchange, adapter, provider, deadline) };
  }

  let text: string;
  try {
    text = await exchange.text();
  } catch (error) {
    // Answered, then the body broke off: the provider was reached, and said so much.
    if (!deadline.timedOut && !deadline.callAborted && !(error instanceof IronError)) throw brokenAnswer(error, provider, exchange.bytes);
    throw transportError(error, provider, deadline);
  } finally {
    deadline.clear();
  }
  text = withoutSecrets(text, provider.secrets);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new LlmError(IRON_UPSTREAM_INVALID, `provider "${provider.name}" answered with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`, {
      cause: error,
      details: { provider: provider.name },
    });
  }
  return { type: 'response', response: adapter.parseResponse(body), rawBody: text };
}

const KEY_REDACTED = '[redacted: the provider key]';

/**
 * `text` without the provider's secrets (its key, its credential headers' values): an upstream that echoes a
 * credential (in an error, or a proxy's debug field) must not hand it to the agent, which is caged precisely so that
 * it never holds one. Longest first, so a header's `Bearer x` goes before its `x`.
 */
export function withoutSecrets(text: string, secrets: readonly string[]): string {
  for (const secret of secrets) if (text.includes(secret)) text = text.replaceAll(secret, KEY_REDACTED);
  return text;
}

/**
 * `event` without the provider's secrets: in its data, its raw text and its name, and also where JSON escapes spell one
 * (`sk\u002d…`, decoded by the agent's parser: an outside review read the key back through the official SDK). Such
 * escapes of printable characters (not a quote or a backslash) are written plain first, which leaves the JSON the same.
 */
function withoutSecretsIn(event: SseEvent, secrets: readonly string[]): SseEvent {
  const plain = event.raw.includes('\\u') ? { ...event, data: printableUnescaped(event.data), raw: printableUnescaped(event.raw) } : event;
  if (!holdsSecret(plain.raw, secrets)) return event;
  const safe: SseEvent = { ...plain, data: withoutSecrets(plain.data, secrets), raw: withoutSecrets(plain.raw, secrets) };
  if (plain.event !== undefined) safe.event = withoutSecrets(plain.event, secrets);
  return safe;
}

/** `text` with its `\uXXXX` escapes of printable ASCII (not `"` or `\`) written as the characters. */
function printableUnescaped(text: string): string {
  return text.replace(/(?<!\\)((?:\\\\)*)\\u00([2-7][0-9a-fA-F])/g, (match, backslashes: string, hex: string) => {
    const code = Number.parseInt(hex, 16);
    return code === 0x22 || code === 0x5c || code === 0x7f ? match : `${backslashes}${String.fromCharCode(code)}`;
  });
}

/** Whether `text` holds one of the secrets (a stream event is copied only then). */
function holdsSecret(text: string, secrets: readonly string[]): boolean {
  for (const secret of secrets) if (text.includes(secret)) return true;
  return false;
}

/** An event whose data is not JSON (other than `[DONE]`, and comments or empty events) is a broken stream. */
function checked(chunk: LlmStreamChunk, provider: ResolvedProvider): LlmStreamChunk {
  // (A text delta read without parsing matched JSON's grammar already: reading its data here would parse it.)
  if (!isPlainTextDelta(chunk) && typeof chunk.data === 'string' && chunk.data !== '[DONE]' && chunk.data.trim() !== '') {
    throw new LlmError(IRON_UPSTREAM_INVALID, `provider "${provider.name}" sent a stream event that is not JSON: ${JSON.stringify(chunk.data.slice(0, 80))}`, {
      details: { provider: provider.name },
    });
  }
  return chunk;
}

/**
 * A stream's bytes for a reader that passes them on as they came (the gateway, when no plugin reads the stream), and
 * decodes only the events it must read. Offered only while nothing was read through the iterator.
 */
export interface UpstreamBytes {
  readonly format: ApiFormat;
  /** The provider's secrets, which an event must not carry to the agent (such an event is read and cleaned). */
  readonly secrets: readonly string[];
  /** The body's chunks that arrived since the last take. */
  take(): Buffer[];
  /** Resolves when more arrived, or the answer ended or failed. */
  changed(): Promise<void>;
  /** The answer ended (completely, or with `failure()`). */
  readonly ended: boolean;
  /** Why the answer broke off, typed as the call path types it; undefined while it has not. */
  failure(): unknown;
  /**
   * Decodes whole events' text (with `final`, the stream's last text) as the iterator does, handing each chunk to
   * `read` until it returns false; throws at a broken event (the chunks before it were handed over).
   */
  decode(text: string, final: boolean, read: (chunk: LlmStreamChunk) => boolean): void;
  /** Done reading: the deadline is cleared, and the request cancelled if its answer had not ended. */
  finish(): void;
}

/**
 * A stream's events as they arrive, decoded a network read at a time: the events of one read are handed out from a
 * queue with already-settled promises (an async generator would cost several promise jobs per event). Errors are
 * typed like the rest of the call path; stopping early (`return`) releases the connection.
 */
class StreamEvents implements AsyncIterableIterator<LlmStreamChunk>, QueuedChunks {
  readonly #exchange: Exchange;
  readonly #provider: ResolvedProvider;
  readonly #deadline: CallDeadline;
  readonly #decode: ReturnType<ApiAdapter['createStreamDecoder']>;
  readonly #format: ApiFormat;
  /** Read through the iterator at least once (the bytes are then no longer offered). */
  #reading = false;
  readonly #parser = new SseParser();
  readonly #text = new TextDecoder();
  #queue: LlmStreamChunk[] = [];
  #at = 0;
  #finished = false;
  /** A broken event: thrown once the good events before it were handed out. */
  #broken: unknown;

  constructor(exchange: Exchange, adapter: ApiAdapter, provider: ResolvedProvider, deadline: CallDeadline) {
    this.#exchange = exchange;
    this.#provider = provider;
    this.#deadline = deadline;
    this.#decode = adapter.createStreamDecoder();
    this.#format = adapter.format;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The stream as bytes (see UpstreamBytes), while nothing was read as events; the iterator is then not used. */
  passThrough(): UpstreamBytes | undefined {
    if (this.#reading || this.#finished) return undefined;
    const exchange = this.#exchange;
    return {
      format: this.#format,
      secrets: this.#provider.secrets,
      take: () => exchange.take(),
      changed: () => exchange.changed(),
      get ended() {
        return exchange.ended;
      },
      failure: () => (exchange.error === undefined ? undefined : this.#streamError(exchange.error)),
      decode: (text, final, read) => {
        const parsed = this.#parser.push(text);
        for (const event of final ? [...parsed, ...this.#parser.end()] : parsed) if (!read(this.#decoded(event))) return;
      },
      finish: () => this.#finish(),
    };
  }

  next(): Promise<IteratorResult<LlmStreamChunk>> {
    if (this.#at < this.#queue.length) return Promise.resolve({ value: this.#queue[this.#at++]!, done: false });
    return this.#read();
  }

  /**
   * The events already decoded and not yet handed out, taken at once (a caller that meters a whole network read in one
   * go, instead of one promise per event). A broken event after them is still thrown by the next `next()`.
   */
  takeQueued(): LlmStreamChunk[] {
    const queued = this.#at === 0 ? this.#queue : this.#queue.slice(this.#at);
    this.#queue = [];
    this.#at = 0;
    return queued;
  }

  return(): Promise<IteratorResult<LlmStreamChunk>> {
    this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  async #read(): Promise<IteratorResult<LlmStreamChunk>> {
    this.#reading = true;
    try {
      for (;;) {
        if (this.#broken !== undefined) {
          const broken = this.#broken;
          this.#broken = undefined;
          throw broken;
        }
        if (this.#finished) return { value: undefined, done: true };
        this.#queue = [];
        this.#at = 0;
        const exchange = this.#exchange;
        for (const bytes of exchange.take()) this.#push(this.#parser.push(this.#text.decode(bytes, { stream: true })));
        if (this.#queue.length === 0 && this.#broken === undefined) {
          if (exchange.error !== undefined) throw exchange.error;
          if (exchange.ended) {
            // The last event may come without its blank line.
            this.#push([...this.#parser.push(this.#text.decode()), ...this.#parser.end()]);
            this.#finish();
          } else await exchange.changed();
        }
        if (this.#queue.length > 0) return { value: this.#queue[this.#at++]!, done: false };
      }
    } catch (error) {
      this.#finish();
      throw this.#streamError(error);
    }
  }

  #push(events: SseEvent[]): void {
    if (this.#broken !== undefined) return; // nothing after a broken event counts
    try {
      for (const event of events) this.#queue.push(this.#decoded(event));
    } catch (error) {
      this.#broken = error;
    }
  }

  /** An event's chunk, without the provider's secrets; throws when the event is broken (not JSON). */
  #decoded(event: SseEvent): LlmStreamChunk {
    const secrets = this.#provider.secrets;
    return checked(this.#decode(secrets.length > 0 ? withoutSecretsIn(event, secrets) : event), this.#provider);
  }

  /** Done reading (to the end, on an error, or stopped early): the deadline is cleared and the connection released. */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#deadline.clear();
    // (An Error costs a stack trace: only made when there is a request left to cancel.)
    if (!this.#exchange.ended) this.#exchange.abort(new Error('the stream was not read to its end'));
  }

  #streamError(error: unknown): unknown {
    if (error instanceof IronError) return error;
    const deadline = this.#deadline;
    const provider = this.#provider;
    if (deadline.timedOut || deadline.callAborted) return transportError(error, provider, deadline);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return new LlmError(IRON_STREAM_INTERRUPTED, `the connection to provider "${provider.name}" broke mid-stream after ${this.#exchange.bytes.toLocaleString('en-US')} bytes: ${reasonOf(cause)}`, {
      cause: error,
      details: { provider: provider.name, bytes: this.#exchange.bytes },
    });
  }
}

/**
 * The request as the provider's wire body. A request this process cannot serialize (nested so deep that JSON.stringify
 * overflows the stack) is the caller's problem: a 400, never counted against the provider (no breaker trips on it).
 */
function serializeBody(adapter: ApiAdapter, request: LlmRequest): string {
  try {
    return JSON.stringify(adapter.serializeRequest(request));
  } catch (error) {
    throw new IronError(IRON_BAD_REQUEST, `the request cannot be forwarded: ${error instanceof RangeError ? 'it is nested too deeply' : (error as Error).message}`, { cause: error });
  }
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/**
 * What went wrong, for the agent to read: a system error's text names the provider's address (an internal host,
 * often), so only its code is said.
 */
function reasonOf(cause: unknown): string {
  const code = (cause as { code?: string } | undefined)?.code;
  if (code) return `${SOCKET_ERRORS[code] ?? 'network error'} (${code})`;
  return cause instanceof Error ? cause.message || cause.name : String(cause);
}

/** The provider's answer started (status and headers) and then broke off. */
function brokenAnswer(error: unknown, provider: ResolvedProvider, bytes: number): LlmError {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return new LlmError(IRON_UPSTREAM_BROKEN, `provider "${provider.name}"'s answer ended after ${bytes.toLocaleString('en-US')} bytes: ${reasonOf(cause)}`, {
    cause: error,
    details: { provider: provider.name, bytes },
  });
}

function transportError(error: unknown, provider: ResolvedProvider, deadline: CallDeadline): IronError {
  if (error instanceof IronError) return error;
  if (deadline.callAborted) {
    const reason = deadline.reason;
    if (reason instanceof IronError) return reason;
    // Cancelled by the caller (its AbortSignal, a stop): not the provider's failure, whatever the socket said.
    return new LlmError(IRON_STREAM_INTERRUPTED, `the call was cancelled before provider "${provider.name}" answered${reason instanceof Error && reason.message ? `: ${reason.message}` : ''}`, {
      cause: error,
      details: { provider: provider.name, cancelled: true },
    });
  }
  if (deadline.timedOut) {
    return new LlmError(IRON_TIMEOUT, `provider "${provider.name}" did not answer within ${provider.timeoutMs} ms (providers.${provider.name}.timeoutMs)`, {
      cause: error,
      details: { provider: provider.name },
    });
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!failedBeforeSending(cause)) {
    // Connected, and then closed without a status line: the provider may have read the whole request and worked on
    // it (a proxy dropping a long call, a crash after reading the prompt). Its prompt may be billed.
    return new LlmError(IRON_UPSTREAM_UNREACHABLE, `provider "${provider.name}" closed the connection without answering: ${reasonOf(cause)} (the request may have reached it: its prompt is counted)`, {
      cause: error,
      details: { provider: provider.name, mayHaveReached: true },
    });
  }
  return new LlmError(IRON_UPSTREAM_UNREACHABLE, `provider "${provider.name}" could not be reached: ${reasonOf(cause)}`, {
    cause: error,
    details: { provider: provider.name },
  });
}

/** Failures that happen before a request can leave: no address, no route, no connection, no trusted TLS session. */
const BEFORE_SENDING = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_SSL_WRONG_VERSION_NUMBER']);

function failedBeforeSending(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && BEFORE_SENDING.has(code);
}
