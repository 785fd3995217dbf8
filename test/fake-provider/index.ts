// A fake LLM provider for tests and benchmarks: a real HTTP server on 127.0.0.1 that speaks the OpenAI Chat
// Completions, OpenAI Responses and Anthropic Messages wire formats (JSON and SSE), written by hand from the
// providers' documentation (not from Iron Cage's adapters, so it catches their mistakes), and records every request.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

type Json = Record<string, any>;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The parsed JSON body (`undefined` when it was not JSON). */
  body: Json;
  rawBody: string;
  /** The client went away before the answer was complete. */
  aborted: boolean;
  /**
   * What a real provider would bill for this request: the usage of the answer it sent, and for a stream the client
   * cut, the share of the answer's output that went out before the cut (an independent tally for budget tests).
   */
  billed?: { model: string; input: number; output: number; cacheRead: number; cacheWrite: number };
}

export interface FakeUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/** Anthropic's billed extras: of `cacheWrite`, the tokens written for an hour; web searches the server tool ran. */
export interface FakeUsageExtras {
  cacheWrite1h?: number;
  webSearches?: number;
}

/** What the next request gets. Without queued behaviours every request gets `{ kind: 'reply' }`. */
export type FakeBehaviour =
  /**
   * `tokensPerChar`: how densely the text tokenizes (default 1/4, prose); 1 for hex, base64 or CJK-like text. The
   * text is cut to what max_tokens allows at that density, as a real provider stops at max_tokens.
   */
  | { kind: 'reply'; text?: string; usage?: FakeUsage & FakeUsageExtras; toolCall?: { name: string; arguments: string }; delayMs?: number; tokensPerChar?: number }
  | { kind: 'error'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Stream (or body) cut by a dropped connection after this many events. */
  | { kind: 'cut'; afterChunks: number }
  /** Sends the headers and the first `afterChunks` events (default 1), then nothing until the client gives up. */
  | { kind: 'stall'; afterChunks?: number; /** Meanwhile a keep-alive (Anthropic `ping`, else an SSE comment) this often. */ keepAliveMs?: number }
  /** A JSON answer of the wrong shape, or an SSE event whose data is not JSON. */
  | { kind: 'malformed'; atChunk?: number }
  /** A stream that ends cleanly but without its terminator. */
  | { kind: 'no-done' }
  /** A 200 answer whose body is not JSON. */
  | { kind: 'garbage' }
  /** Never answers. */
  | { kind: 'hang' }
  /** The connection is reset before any answer. */
  | { kind: 'reset' }
  /** A stream that sends an error event (Anthropic `event: error`, OpenAI `data: {"error":…}`) after some chunks, then ends. */
  | { kind: 'error-event'; afterChunks: number }
  /** Answers normally after a delay. */
  | { kind: 'delay'; ms: number };

export interface FakeProviderOptions {
  /** Wait before every answer (ms). */
  latencyMs?: number;
  /** Wait between stream events (ms). */
  chunkDelayMs?: number;
  /** Share of requests (0–1) answered with `failureStatus` instead, decided by a seeded generator. */
  failureRate?: number;
  failureStatus?: number;
  seed?: number;
  /** When set, requests must carry this key (Bearer or x-api-key), else 401. */
  apiKey?: string;
  /** Keep request records (default true; benchmarks turn it off). */
  record?: boolean;
  /** Words per stream event (default 1). */
  wordsPerChunk?: number;
  /** Port to listen on (default: a free one). */
  port?: number;
  /**
   * A request whose last message is the assistant's (a prefill): `continue` answers with the rest of the reply that
   * text begins (Anthropic's behaviour, the default), `reject` answers 400, `ignore` answers afresh (OpenAI's).
   */
  prefill?: 'continue' | 'reject' | 'ignore';
}

export interface FakeProvider {
  /** Base URL without `/v1`, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  enqueue(...behaviours: FakeBehaviour[]): void;
  setOptions(options: FakeProviderOptions): void;
  /** Forgets requests and queued behaviours, and restores the start options. */
  reset(): void;
  close(): Promise<void>;
}

function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: Json) => (typeof part?.text === 'string' ? part.text : typeof part?.content === 'string' ? part.content : '')).join('');
}

function lastUserText(path: string, body: Json): string {
  if (path.endsWith('/responses')) {
    if (typeof body.input === 'string') return body.input;
    const items = Array.isArray(body.input) ? body.input : [];
    for (let i = items.length - 1; i >= 0; i--) if ((items[i].role ?? '') === 'user') return textOf(items[i].content);
    return '';
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return textOf(messages[i].content);
  return '';
}

/** A small seeded generator so failure rates are reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

interface Answer {
  text: string;
  finish: 'stop' | 'length' | 'tool';
  usage: Required<FakeUsage> & FakeUsageExtras;
  toolCall?: { id: string; name: string; arguments: string };
  /** Chat's `n`: this many choices, each the same answer, each billed. */
  choices: number;
}

/** The text of a trailing assistant message (a prefill), if the request ends with one. */
function prefillOf(body: Json): string | undefined {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages.at(-1);
  return last?.role === 'assistant' ? textOf(last.content) : undefined;
}

function plan(path: string, body: Json, behaviour: Extract<FakeBehaviour, { kind: 'reply' }>, seq: number, prefill: 'continue' | 'ignore' = 'continue'): Answer {
  let text = behaviour.text ?? `Echo: ${lastUserText(path, body)}`;
  // A prefill is continued: the reply is what follows it (a model's answer goes on from where the prefill stops).
  const start = prefill === 'continue' ? prefillOf(body) : undefined;
  if (start !== undefined && text.startsWith(start)) text = text.slice(start.length);
  const cap = body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;
  let finish: Answer['finish'] = behaviour.toolCall ? 'tool' : 'stop';
  const density = behaviour.tokensPerChar;
  // Density is per character (code point), never more than its UTF-8 bytes, as for any byte-level BPE.
  const outputOf = (t: string) => (density === undefined ? tokens(t) : Math.max(1, Math.ceil([...t].length * density)));
  if (typeof cap === 'number' && outputOf(text) > cap) {
    text = [...text].slice(0, density === undefined ? cap * 4 : Math.floor(cap / density)).join('');
    finish = 'length';
  }
  const prompt = JSON.stringify(body.messages ?? body.input ?? '') + (typeof body.system === 'string' ? body.system : JSON.stringify(body.system ?? '')) + (body.instructions ?? '');
  const usage = {
    input: behaviour.usage?.input ?? tokens(prompt),
    output: behaviour.usage?.output ?? outputOf(text + (behaviour.toolCall?.arguments ?? '')),
    cacheRead: behaviour.usage?.cacheRead ?? 0,
    cacheWrite: behaviour.usage?.cacheWrite ?? 0,
    reasoning: behaviour.usage?.reasoning ?? 0,
    ...(behaviour.usage?.cacheWrite1h ? { cacheWrite1h: behaviour.usage.cacheWrite1h } : {}),
    ...(behaviour.usage?.webSearches ? { webSearches: behaviour.usage.webSearches } : {}),
  };
  const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 1 && !path.endsWith('/messages') && !path.endsWith('/responses') ? body.n : 1;
  usage.output *= n;
  const answer: Answer = { text, finish, usage, choices: n };
  if (behaviour.toolCall) answer.toolCall = { id: `call_${seq}`, ...behaviour.toolCall };
  return answer;
}

// ---- OpenAI Chat Completions -------------------------------------------------------------------------------

function chatUsage(u: Required<FakeUsage>): Json {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const chatFinish = { stop: 'stop', length: 'length', tool: 'tool_calls' } as const;

function chatJson(id: string, model: string, a: Answer): Json {
  const message: Json = { role: 'assistant', content: a.toolCall ? null : a.text, refusal: null, annotations: [] };
  if (a.toolCall) message.tool_calls = [{ id: a.toolCall.id, type: 'function', function: { name: a.toolCall.name, arguments: a.toolCall.arguments } }];
  return {
    id,
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: Array.from({ length: a.choices }, (_, index) => ({ index, message, logprobs: null, finish_reason: chatFinish[a.finish] })),
    usage: chatUsage(a.usage),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
}

function chatEvents(id: string, model: string, a: Answer, body: Json, wordsPerChunk: number): string[] {
  const base = { id, object: 'chat.completion.chunk', created: 1_700_000_000, model, service_tier: 'default', system_fingerprint: 'fp_fake' };
  const includeUsage = body.stream_options?.include_usage === true;
  const event = (choices: Json[], extra: Json = {}) => `data: ${JSON.stringify({ ...base, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
  const out = [event([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])];
  if (a.toolCall) {
    out.push(event([{ index: 0, delta: { tool_calls: [{ index: 0, id: a.toolCall.id, type: 'function', function: { name: a.toolCall.name, arguments: '' } }] }, logprobs: null, finish_reason: null }]));
    out.push(event([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a.toolCall.arguments } }] }, logprobs: null, finish_reason: null }]));
  } else {
    for (let index = 0; index < a.choices; index++) for (const piece of pieces(a.text, wordsPerChunk)) out.push(event([{ index, delta: { content: piece }, logprobs: null, finish_reason: null }]));
  }
  for (let index = 0; index < a.choices; index++) out.push(event([{ index, delta: {}, logprobs: null, finish_reason: chatFinish[a.finish] }]));
  if (includeUsage) out.push(`data: ${JSON.stringify({ ...base, choices: [], usage: chatUsage(a.usage) })}\n\n`);
  out.push('data: [DONE]\n\n');
  return out;
}

// ---- OpenAI Responses --------------------------------------------------------------------------------------

function responsesJson(id: string, model: string, a: Answer, body: Json, status = 'completed'): Json {
  const output: Json[] = [];
  if (a.toolCall) output.push({ id: `fc_${id}`, type: 'function_call', status: 'completed', arguments: a.toolCall.arguments, call_id: a.toolCall.id, name: a.toolCall.name });
  else output.push({ id: `msg_${id}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text: a.text }] });
  return {
    id,
    object: 'response',
    created_at: 1_700_000_000,
    status: a.finish === 'length' ? 'incomplete' : status,
    background: false,
    error: null,
    incomplete_details: a.finish === 'length' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    store: true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: {
      input_tokens: a.usage.input,
      input_tokens_details: { cached_tokens: a.usage.cacheRead },
      output_tokens: a.usage.output,
      output_tokens_details: { reasoning_tokens: a.usage.reasoning },
      total_tokens: a.usage.input + a.usage.output,
    },
    user: null,
    metadata: {},
  };
}

function responsesEvents(id: string, model: string, a: Answer, body: Json, wordsPerChunk: number): string[] {
  let sequence = 0;
  const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
  const final = responsesJson(id, model, a, body);
  const pending = { ...final, status: 'in_progress', output: [], usage: null, incomplete_details: null };
  const out = [event('response.created', { response: pending }), event('response.in_progress', { response: pending })];
  const itemId = `msg_${id}`;
  out.push(event('response.output_item.added', { output_index: 0, item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }));
  out.push(event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } }));
  for (const delta of pieces(a.text, wordsPerChunk)) out.push(event('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta, logprobs: [] }));
  out.push(event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text: a.text, logprobs: [] }));
  const part = { type: 'output_text', annotations: [], logprobs: [], text: a.text };
  out.push(event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part }));
  out.push(event('response.output_item.done', { output_index: 0, item: { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] } }));
  out.push(event(a.finish === 'length' ? 'response.incomplete' : 'response.completed', { response: final }));
  return out;
}

// ---- Anthropic Messages ------------------------------------------------------------------------------------

const anthropicFinish = { stop: 'end_turn', length: 'max_tokens', tool: 'tool_use' } as const;

function anthropicUsage(u: Required<FakeUsage> & FakeUsageExtras): Json {
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cacheRead,
    ...(u.cacheWrite1h ? { cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite - u.cacheWrite1h, ephemeral_1h_input_tokens: u.cacheWrite1h } } : {}),
    output_tokens: u.output,
    ...(u.webSearches ? { server_tool_use: { web_search_requests: u.webSearches } } : {}),
    service_tier: 'standard',
  };
}

function anthropicJson(id: string, model: string, a: Answer): Json {
  const content: Json[] = a.toolCall
    ? [{ type: 'tool_use', id: a.toolCall.id, name: a.toolCall.name, input: JSON.parse(a.toolCall.arguments || '{}') }]
    : [{ type: 'text', text: a.text }];
  return { id, type: 'message', role: 'assistant', model, content, stop_reason: anthropicFinish[a.finish], stop_sequence: null, usage: anthropicUsage(a.usage) };
}

function anthropicEvents(id: string, model: string, a: Answer, wordsPerChunk: number): string[] {
  const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const out = [event('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...anthropicUsage(a.usage), output_tokens: 1 } } })];
  if (a.toolCall) {
    out.push(event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: a.toolCall.id, name: a.toolCall.name, input: {} } }));
    out.push(event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: a.toolCall.arguments } }));
  } else {
    out.push(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    out.push(event('ping', {}));
    for (const text of pieces(a.text, wordsPerChunk)) out.push(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }));
  }
  out.push(event('content_block_stop', { index: 0 }));
  out.push(event('message_delta', { delta: { stop_reason: anthropicFinish[a.finish], stop_sequence: null }, usage: { output_tokens: a.usage.output } }));
  out.push(event('message_stop', {}));
  return out;
}

/** A stream delta is a few tokens, as real providers send them: long runs without spaces are split too. */
const MAX_PIECE_CHARS = 16;

function pieces(text: string, wordsPerChunk: number): string[] {
  const words = (text.match(/\S+\s*|\s+/g) ?? []).flatMap((word) => {
    const chars = [...word];
    if (chars.length <= MAX_PIECE_CHARS) return [word];
    return Array.from({ length: Math.ceil(chars.length / MAX_PIECE_CHARS) }, (_, i) => chars.slice(i * MAX_PIECE_CHARS, (i + 1) * MAX_PIECE_CHARS).join(''));
  });
  const out: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerChunk) out.push(words.slice(i, i + wordsPerChunk).join(''));
  return out;
}

// ---- errors ------------------------------------------------------------------------------------------------

function errorBody(path: string, status: number, message: string): Json {
  if (path.endsWith('/messages')) {
    const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : status === 401 ? 'invalid_api_key' : 'invalid_request_error';
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: type } };
}

// ---- the server --------------------------------------------------------------------------------------------

export async function startFakeProvider(startOptions: FakeProviderOptions = {}): Promise<FakeProvider> {
  let options: FakeProviderOptions = { ...startOptions };
  let rng = random(options.seed ?? 42);
  const queue: FakeBehaviour[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let seq = 0;

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': `req_fake_${seq}`, ...headers });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: Json = {};
    try {
      body = rawBody ? JSON.parse(rawBody) : {};
    } catch {
      body = undefined as unknown as Json;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[key] = value;
    const record: RecordedRequest = { method: req.method ?? 'GET', path, headers, body, rawBody, aborted: false };
    if (options.record !== false) requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    seq += 1;
    const id = path.endsWith('/messages') ? `msg_fake${seq}` : path.endsWith('/responses') ? `resp_fake${seq}` : `chatcmpl-fake${seq}`;

    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'fake' }] });
    const known = req.method === 'POST' && ['/v1/chat/completions', '/v1/responses', '/v1/messages'].includes(path);
    if (!known) return sendJson(res, 404, errorBody(path, 404, `Unknown request URL: ${req.method} ${path}`));
    if (body === undefined) return sendJson(res, 400, errorBody(path, 400, 'We could not parse the JSON body of your request.'));

    if (options.apiKey !== undefined) {
      const given = headers['x-api-key'] ?? headers.authorization?.replace(/^Bearer /, '');
      if (given !== options.apiKey) return sendJson(res, 401, errorBody(path, 401, 'Incorrect API key provided.'));
    }
    if (path.endsWith('/messages') && !headers['anthropic-version']) return sendJson(res, 400, errorBody(path, 400, 'anthropic-version: header is required'));
    if (typeof body.model !== 'string') return sendJson(res, 400, errorBody(path, 400, 'you must provide a model parameter'));

    let behaviour: FakeBehaviour = queue.shift() ?? { kind: 'reply' };
    if (options.latencyMs) await sleep(options.latencyMs);
    if (behaviour.kind === 'reply' && options.failureRate && rng() < options.failureRate) {
      behaviour = { kind: 'error', status: options.failureStatus ?? 500 };
    }
    if (behaviour.kind === 'delay') {
      await sleep(behaviour.ms);
      behaviour = { kind: 'reply' };
    }
    if (behaviour.kind === 'reply' && behaviour.delayMs) await sleep(behaviour.delayMs);
    switch (behaviour.kind) {
      case 'error':
        return sendJson(res, behaviour.status, behaviour.body ?? errorBody(path, behaviour.status, `fake provider error ${behaviour.status}`), behaviour.headers);
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('<html>502 Bad Gateway</html>');
      case 'hang':
        return;
      case 'reset':
        return void req.socket.destroy();
      case 'malformed':
        if (body.stream !== true) return sendJson(res, 200, { unexpected: 'shape' });
        break;
      default:
        break;
    }
    if (options.prefill === 'reject' && prefillOf(body) !== undefined) return sendJson(res, 400, errorBody(path, 400, 'This model does not support assistant message prefill. The conversation must end with a user message.'));
    const answer = plan(path, body, behaviour.kind === 'reply' ? behaviour : { kind: 'reply' }, seq, options.prefill === 'ignore' ? 'ignore' : 'continue');
    const model = body.model as string;
    const bill = (share: number) => {
      record.billed = { model, input: answer.usage.input, output: Math.ceil(answer.usage.output * share), cacheRead: answer.usage.cacheRead, cacheWrite: answer.usage.cacheWrite };
    };
    if (body.stream !== true) {
      bill(1);
      const json = path.endsWith('/messages') ? anthropicJson(id, model, answer) : path.endsWith('/responses') ? responsesJson(id, model, answer, body) : chatJson(id, model, answer);
      if (behaviour.kind === 'cut') {
        const text = JSON.stringify(json);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        return void setTimeout(() => res.destroy(), 5);
      }
      return sendJson(res, 200, json);
    }
    const wordsPerChunk = options.wordsPerChunk ?? 1;
    let events = path.endsWith('/messages') ? anthropicEvents(id, model, answer, wordsPerChunk) : path.endsWith('/responses') ? responsesEvents(id, model, answer, body, wordsPerChunk) : chatEvents(id, model, answer, body, wordsPerChunk);
    if (behaviour.kind === 'no-done') events = events.slice(0, -1);
    if (behaviour.kind === 'malformed') events.splice(behaviour.atChunk ?? 1, 0, 'data: {"choices": [ this is not json\n\n');
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_fake_${seq}` });
    for (const [index, event] of events.entries()) {
      if (behaviour.kind === 'cut' && index >= behaviour.afterChunks) {
        await sleep(5);
        return void res.destroy();
      }
      if (behaviour.kind === 'stall' && index >= (behaviour.afterChunks ?? 1)) {
        const every = behaviour.keepAliveMs;
        while (every && !res.destroyed) {
          await sleep(every);
          if (!res.destroyed) res.write(path.endsWith('/messages') ? 'event: ping\ndata: {"type": "ping"}\n\n' : ': keep-alive\n\n');
        }
        return;
      }
      if (behaviour.kind === 'error-event' && index >= behaviour.afterChunks) {
        const error = { type: 'overloaded_error', message: 'Overloaded' };
        res.write(path.endsWith('/messages') ? `event: error\ndata: ${JSON.stringify({ type: 'error', error })}\n\n` : `data: ${JSON.stringify({ error: { ...error, type: 'server_error' } })}\n\n`);
        return void res.end();
      }
      if (res.destroyed) return;
      res.write(event);
      // Generated and sent: billed, whether or not the client reads on.
      bill((index + 1) / events.length);
      if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(error), type: 'server_error' } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(startOptions.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    enqueue: (...behaviours) => void queue.push(...behaviours),
    setOptions(next) {
      options = { ...options, ...next };
      if (next.seed !== undefined) rng = random(next.seed);
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      options = { ...startOptions };
      rng = random(options.seed ?? 42);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
