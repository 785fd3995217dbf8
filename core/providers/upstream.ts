// Sends a neutral request to a real provider over HTTP and turns its answer back into the neutral model.
import { request as httpRequest, type Dispatcher } from 'undici';
import type { LlmCallContext, LlmResult } from '../context.ts';
import type { LlmRequest, LlmStreamChunk } from '../llm/types.ts';
import type { ApiAdapter } from './adapter.ts';
import { endpointUrl, type ResolvedProvider } from './routing.ts';
import { SseParser } from './sse.ts';
import { IronError, LlmError, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT, IRON_UPSTREAM_ERROR, IRON_UPSTREAM_INVALID, IRON_UPSTREAM_UNREACHABLE } from '../errors.ts';

/** Upstream answer headers worth passing on to the agent (rate-limit and request-id headers). */
const PASSED_ON_HEADER = /^(retry-after|x-ratelimit-|anthropic-ratelimit-|x-request-id|request-id|openai-processing-ms)/;

function authHeaders(provider: ResolvedProvider): Record<string, string> {
  if (!provider.apiKey) return {};
  return provider.type === 'anthropic' ? { 'x-api-key': provider.apiKey } : { authorization: `Bearer ${provider.apiKey}` };
}

function pickHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
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

/** Aborts a call when the caller gives up or the provider's time is up, whichever comes first. */
class CallDeadline {
  readonly controller = new AbortController();
  timedOut = false;
  readonly #timer: NodeJS.Timeout;
  readonly #onAbort: () => void;
  readonly #callSignal: AbortSignal;

  constructor(callSignal: AbortSignal, timeoutMs: number) {
    this.#callSignal = callSignal;
    this.#onAbort = () => this.controller.abort(callSignal.reason);
    if (callSignal.aborted) this.controller.abort(callSignal.reason);
    else callSignal.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, timeoutMs);
    this.#timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get callAborted(): boolean {
    return this.#callSignal.aborted;
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#callSignal.removeEventListener('abort', this.#onAbort);
  }
}

/** Sends `request` to `provider` in the adapter's format. Errors are `LlmError`s carrying the provider's answer. */
export async function sendUpstream(provider: ResolvedProvider, adapter: ApiAdapter, request: LlmRequest, ctx: LlmCallContext, dispatcher?: Dispatcher): Promise<LlmResult> {
  const url = endpointUrl(provider, adapter.path);
  const headers: Record<string, string> = {
    ...ctx.forwardHeaders,
    ...provider.headers,
    ...authHeaders(provider),
    'content-type': 'application/json',
    accept: request.stream ? 'text/event-stream' : 'application/json',
  };
  if (provider.type === 'anthropic' && !headers['anthropic-version']) headers['anthropic-version'] = '2023-06-01';

  const deadline = new CallDeadline(ctx.signal, provider.timeoutMs);
  let response: Dispatcher.ResponseData;
  try {
    response = await httpRequest(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(adapter.serializeRequest(request)),
      signal: deadline.signal,
      ...(dispatcher ? { dispatcher } : {}),
      // The call's own deadline governs; undici's idle timers would cut long reasoning answers.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (error) {
    deadline.clear();
    throw transportError(error, provider, deadline);
  }

  const status = response.statusCode;
  if (status < 200 || status >= 300) {
    const body = await response.body.text().catch(() => '');
    deadline.clear();
    throw new LlmError(IRON_UPSTREAM_ERROR, `provider "${provider.name}" answered ${status}: ${upstreamMessage(body)}`, {
      upstreamStatus: status,
      upstreamBody: body,
      upstreamHeaders: pickHeaders(response.headers),
      details: { provider: provider.name, status },
    });
  }

  const contentType = String(response.headers['content-type'] ?? '');
  if (request.stream && contentType.includes('text/event-stream')) {
    return { type: 'stream', chunks: decodeStream(response.body, adapter, provider, deadline) };
  }

  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    throw transportError(error, provider, deadline);
  } finally {
    deadline.clear();
  }
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

/** An event whose data is not JSON (other than `[DONE]`, and comments or empty events) is a broken stream. */
function checked(chunk: LlmStreamChunk, provider: ResolvedProvider): LlmStreamChunk {
  if (typeof chunk.data === 'string' && chunk.data !== '[DONE]' && chunk.data.trim() !== '') {
    throw new LlmError(IRON_UPSTREAM_INVALID, `provider "${provider.name}" sent a stream event that is not JSON: ${JSON.stringify(chunk.data.slice(0, 80))}`, {
      details: { provider: provider.name },
    });
  }
  return chunk;
}

async function* decodeStream(body: Dispatcher.ResponseData['body'], adapter: ApiAdapter, provider: ResolvedProvider, deadline: CallDeadline): AsyncGenerator<LlmStreamChunk> {
  const decode = adapter.createStreamDecoder();
  const parser = new SseParser();
  const text = new TextDecoder();
  try {
    for await (const bytes of body) {
      for (const event of parser.push(text.decode(bytes as Buffer, { stream: true }))) yield checked(decode(event), provider);
    }
    for (const event of [...parser.push(text.decode()), ...parser.end()]) yield checked(decode(event), provider);
  } catch (error) {
    if (error instanceof IronError) throw error;
    if (deadline.timedOut || deadline.callAborted) throw transportError(error, provider, deadline);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new LlmError(IRON_STREAM_INTERRUPTED, `the connection to provider "${provider.name}" broke mid-stream: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause: error,
      details: { provider: provider.name },
    });
  } finally {
    deadline.clear();
    // Stopped early (the agent went away, or a plugin cut the stream): release the connection.
    if (!body.destroyed) body.destroy();
  }
}

function transportError(error: unknown, provider: ResolvedProvider, deadline: CallDeadline): IronError {
  if (error instanceof IronError) return error;
  if (deadline.callAborted) {
    const reason = deadline.signal.reason;
    if (reason instanceof IronError) return reason;
  }
  if (deadline.timedOut) {
    return new LlmError(IRON_TIMEOUT, `provider "${provider.name}" did not answer within ${provider.timeoutMs} ms (providers.${provider.name}.timeoutMs)`, {
      cause: error,
      details: { provider: provider.name },
    });
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: string } | undefined)?.code;
  const reason = cause instanceof Error ? cause.message || code || cause.name : String(cause);
  return new LlmError(IRON_UPSTREAM_UNREACHABLE, `provider "${provider.name}" could not be reached at ${provider.baseUrl}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`, {
    cause: error,
    details: { provider: provider.name },
  });
}
