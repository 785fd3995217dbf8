// Sends a neutral request to a real provider over HTTP and turns its answer back into the neutral model.
import type { LlmCallContext, LlmResult } from '../context.ts';
import type { LlmRequest, LlmStreamChunk } from '../llm/types.ts';
import type { ApiAdapter } from './adapter.ts';
import { endpointUrl, type ResolvedProvider } from './routing.ts';
import { createSseParser } from './sse.ts';
import { IronError, LlmError, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT, IRON_UPSTREAM_ERROR, IRON_UPSTREAM_INVALID, IRON_UPSTREAM_UNREACHABLE } from '../errors.ts';

/** Upstream answer headers worth passing on to the agent (rate-limit and request-id headers). */
const PASSED_ON_HEADER = /^(retry-after|x-ratelimit-|anthropic-ratelimit-|x-request-id|request-id|openai-processing-ms)/;

function authHeaders(provider: ResolvedProvider): Record<string, string> {
  if (!provider.apiKey) return {};
  return provider.type === 'anthropic' ? { 'x-api-key': provider.apiKey } : { authorization: `Bearer ${provider.apiKey}` };
}

function pickHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    if (PASSED_ON_HEADER.test(key)) out[key] = value;
  });
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

/** Sends `request` to `provider` in the adapter's format. Errors are `LlmError`s carrying the provider's answer. */
export async function sendUpstream(provider: ResolvedProvider, adapter: ApiAdapter, request: LlmRequest, ctx: LlmCallContext): Promise<LlmResult> {
  const url = endpointUrl(provider, adapter.path);
  const headers: Record<string, string> = {
    ...ctx.forwardHeaders,
    ...provider.headers,
    ...authHeaders(provider),
    'content-type': 'application/json',
    accept: request.stream ? 'text/event-stream' : 'application/json',
  };
  if (provider.type === 'anthropic' && !headers['anthropic-version']) headers['anthropic-version'] = '2023-06-01';

  const timeout = AbortSignal.timeout(provider.timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(adapter.serializeRequest(request)), signal });
  } catch (error) {
    throw transportError(error, provider, timeout, ctx.signal);
  }

  if (!response.ok) {
    const body = await response.text().catch(() => '');
    throw new LlmError(IRON_UPSTREAM_ERROR, `provider "${provider.name}" answered ${response.status}: ${upstreamMessage(body)}`, {
      upstreamStatus: response.status,
      upstreamBody: body,
      upstreamHeaders: pickHeaders(response.headers),
      details: { provider: provider.name, status: response.status },
    });
  }

  const contentType = response.headers.get('content-type') ?? '';
  if (request.stream && contentType.includes('text/event-stream') && response.body) {
    return { type: 'stream', chunks: decodeStream(response.body, adapter, provider, timeout, ctx.signal) };
  }

  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw transportError(error, provider, timeout, ctx.signal);
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

async function* decodeStream(body: ReadableStream<Uint8Array>, adapter: ApiAdapter, provider: ResolvedProvider, timeout: AbortSignal, callSignal: AbortSignal): AsyncGenerator<LlmStreamChunk> {
  const decode = adapter.createStreamDecoder();
  const events = body.pipeThrough(createSseParser());
  try {
    for await (const event of events) yield decode(event);
  } catch (error) {
    if (error instanceof IronError) throw error;
    if (timeout.aborted || callSignal.aborted) throw transportError(error, provider, timeout, callSignal);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new LlmError(IRON_STREAM_INTERRUPTED, `the connection to provider "${provider.name}" broke mid-stream: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause: error,
      details: { provider: provider.name },
    });
  }
}

function transportError(error: unknown, provider: ResolvedProvider, timeout: AbortSignal, callSignal: AbortSignal): IronError {
  if (error instanceof IronError) return error;
  if (callSignal.aborted && callSignal.reason instanceof IronError) return callSignal.reason;
  if (timeout.aborted) {
    return new LlmError(IRON_TIMEOUT, `provider "${provider.name}" did not answer within ${provider.timeoutMs} ms (providers.${provider.name}.timeoutMs)`, {
      cause: error,
      details: { provider: provider.name },
    });
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LlmError(IRON_UPSTREAM_UNREACHABLE, `provider "${provider.name}" could not be reached at ${provider.baseUrl}: ${reason}`, {
    cause: error,
    details: { provider: provider.name },
  });
}
