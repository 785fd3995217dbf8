// OpenAI Responses (`POST /v1/responses`): `instructions` + `input` items in, `output` items out, typed SSE events.
import type { JsonObject, LlmMessage, LlmPart, LlmRequest, LlmResponse, LlmStreamChunk, Role, Usage } from '../llm/types.ts';
import type { ApiAdapter, StreamDecoder } from './adapter.ts';
import {
  badAnswer,
  badRequest,
  chunkOf,
  finiteCount,
  isObject,
  nowSeconds,
  omit,
  parseContent,
  parseJsonData,
  readMaxTokens,
  sameUsage,
  setOrDelete,
  shapeOf,
  readStream,
  streamPieces,
  withExtra,
  writeContent,
  writeMaxTokens,
} from './wire.ts';

const MAX_TOKEN_KEYS = ['max_output_tokens'] as const;
const ROLES: Record<string, Role> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };
const TEXT_TYPES = ['input_text', 'output_text'];

function parseItem(item: unknown, path: string): LlmMessage {
  if (!isObject(item)) throw badRequest(path, 'an input item object', item);
  const type = item.type ?? 'message';
  if (type === 'message') {
    const role = typeof item.role === 'string' ? ROLES[item.role] : undefined;
    if (!role) throw badRequest(`${path}.role`, `one of ${Object.keys(ROLES).join(', ')}`, item.role);
    const extra = omit(item, ['role', 'content']);
    if (item.role !== role) extra.role = item.role;
    return withExtra({ role, shape: shapeOf(item.content), parts: parseContent(item.content, `${path}.content`, TEXT_TYPES) }, extra);
  }
  if (type === 'function_call') {
    if (typeof item.name !== 'string') throw badRequest(`${path}.name`, 'a string', item.name);
    if (typeof item.arguments !== 'string') throw badRequest(`${path}.arguments`, 'a JSON string', item.arguments);
    const part: LlmPart = { type: 'tool-call', id: typeof item.call_id === 'string' ? item.call_id : '', name: item.name, arguments: item.arguments };
    return withExtra({ role: 'assistant' as const, origin: 'function_call', parts: [part] }, omit(item, ['call_id', 'name', 'arguments']));
  }
  if (type === 'function_call_output') {
    if (typeof item.call_id !== 'string') throw badRequest(`${path}.call_id`, 'a string', item.call_id);
    const part: LlmPart = { type: 'tool-result', toolCallId: item.call_id, content: parseContent(item.output, `${path}.output`, TEXT_TYPES), shape: shapeOf(item.output) };
    return withExtra({ role: 'tool' as const, origin: 'function_call_output', parts: [part] }, omit(item, ['call_id', 'output']));
  }
  // Reasoning items, item references, built-in tool calls…: carried untouched.
  return { role: 'assistant', origin: 'item', parts: [{ type: 'opaque', value: item }] };
}

function textType(role: Role): string {
  return role === 'assistant' ? 'output_text' : 'input_text';
}

function writeItem(message: LlmMessage): unknown {
  if (message.origin === 'item') return message.parts[0]?.type === 'opaque' ? message.parts[0].value : {};
  if (message.origin === 'function_call') {
    const call = message.parts.find((part) => part.type === 'tool-call');
    return { type: 'function_call', ...message.extra, call_id: call?.id ?? '', name: call?.name ?? '', arguments: call?.arguments ?? '' };
  }
  const result = message.parts.find((part) => part.type === 'tool-result');
  if (message.origin === 'function_call_output' || (message.role === 'tool' && result)) {
    const out: JsonObject = { type: 'function_call_output', ...message.extra, call_id: result?.toolCallId ?? '' };
    setOrDelete(out, 'output', writeContent(result?.content ?? [], result?.shape ?? 'string', 'input_text') ?? '');
    return out;
  }
  const { role: wireRole, ...extra } = message.extra ?? {};
  const role = typeof wireRole === 'string' && ROLES[wireRole] === message.role ? wireRole : message.role === 'tool' ? 'user' : message.role;
  const out: JsonObject = { role, ...extra };
  setOrDelete(out, 'content', writeContent(message.parts, message.shape ?? 'string', textType(message.role)));
  return out;
}

function parseUsage(usage: unknown): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const input = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const output = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {};
  return {
    inputTokens: finiteCount(usage.input_tokens),
    outputTokens: finiteCount(usage.output_tokens),
    cacheReadTokens: finiteCount(input.cached_tokens),
    cacheWriteTokens: 0,
    reasoningTokens: finiteCount(output.reasoning_tokens),
  };
}

function writeUsage(usage: Usage): JsonObject {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cacheReadTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/** The neutral parts of an `output` array, in order: message text, reasoning summaries, function calls. */
function outputParts(output: unknown[], fail: typeof badAnswer): LlmPart[] {
  const parts: LlmPart[] = [];
  output.forEach((item, i) => {
    if (!isObject(item)) throw fail(`output[${i}]`, 'an output item object', item);
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of parseContent(item.content, `output[${i}].content`, TEXT_TYPES, fail)) if (part.type === 'text') parts.push(part);
    } else if (item.type === 'reasoning' && Array.isArray(item.summary)) {
      for (const summary of item.summary) if (isObject(summary) && typeof summary.text === 'string') parts.push({ type: 'reasoning', text: summary.text });
    } else if (item.type === 'function_call' && typeof item.name === 'string') {
      parts.push({ type: 'tool-call', id: String(item.call_id ?? ''), name: item.name, arguments: String(item.arguments ?? '') });
    }
  });
  return parts;
}

function messageItem(id: string, texts: LlmPart[]): JsonObject {
  return {
    id: `msg_${id}`,
    type: 'message',
    status: 'completed',
    role: 'assistant',
    content: texts.map((part) => ({ type: 'output_text', annotations: [], ...(part.type === 'text' ? part.extra : {}), text: part.type === 'text' ? part.text : '' })),
  };
}

/**
 * Writes parts over the original `output` items when they still line up one to one (so item ids, annotations
 * and statuses survive a rewrite), or builds fresh items when a plugin changed the structure.
 */
function writeOutput(response: LlmResponse, original: unknown): unknown[] {
  if (Array.isArray(original)) {
    const slots = outputParts(original, badAnswer);
    const aligned = slots.length === response.parts.length && slots.every((slot, i) => slot.type === response.parts[i].type);
    if (aligned) {
      let next = 0;
      return original.map((item) => {
        if (!isObject(item)) return item;
        if (item.type === 'message' && Array.isArray(item.content)) {
          return { ...item, content: item.content.map((part) => (isObject(part) && TEXT_TYPES.includes(String(part.type)) ? { ...part, text: (response.parts[next++] as { text: string }).text } : part)) };
        }
        if (item.type === 'reasoning' && Array.isArray(item.summary)) {
          return { ...item, summary: item.summary.map((s) => (isObject(s) && typeof s.text === 'string' ? { ...s, text: (response.parts[next++] as { text: string }).text } : s)) };
        }
        if (item.type === 'function_call' && typeof item.name === 'string') {
          const call = response.parts[next++] as Extract<LlmPart, { type: 'tool-call' }>;
          return { ...item, call_id: call.id, name: call.name, arguments: call.arguments };
        }
        return item;
      });
    }
  }
  const items: unknown[] = [];
  const reasoning = response.parts.filter((part) => part.type === 'reasoning');
  if (reasoning.length > 0) items.push({ id: `rs_${response.id}`, type: 'reasoning', summary: reasoning.map((part) => ({ type: 'summary_text', text: part.text })) });
  const texts = response.parts.filter((part) => part.type === 'text');
  if (texts.length > 0) items.push(messageItem(response.id, texts));
  for (const part of response.parts) {
    if (part.type === 'tool-call') items.push({ id: `fc_${part.id}`, type: 'function_call', status: 'completed', call_id: part.id, name: part.name, arguments: part.arguments });
  }
  return items;
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'insufficient_quota';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

const DONE_EVENTS = new Set(['response.completed', 'response.failed', 'response.incomplete']);

export const openaiResponses: ApiAdapter = {
  format: 'openai-responses',
  path: '/responses',
  credentialHeader: 'authorization',
  plainStreamEvents: ['event: response.output_text.delta\ndata: {', 'event: response.function_call_arguments.delta\ndata: {', 'event: response.reasoning_summary_text.delta\ndata: {'],

  parseRequest(body) {
    if (!isObject(body)) throw badRequest('body', 'a JSON object', body);
    if (typeof body.model !== 'string' || body.model === '') throw badRequest('model', 'a model name', body.model);
    const messages: LlmMessage[] = [];
    if (body.instructions !== undefined && body.instructions !== null) {
      if (typeof body.instructions !== 'string') throw badRequest('instructions', 'a string', body.instructions);
      messages.push({ role: 'system', origin: 'instructions', shape: 'string', parts: [{ type: 'text', text: body.instructions }] });
    }
    if (typeof body.input === 'string') messages.push({ role: 'user', origin: 'input', shape: 'string', parts: [{ type: 'text', text: body.input }] });
    else if (Array.isArray(body.input)) body.input.forEach((item, i) => messages.push(parseItem(item, `input[${i}]`)));
    else if (body.input !== undefined) throw badRequest('input', 'a string or an array of input items', body.input);
    const request: LlmRequest = {
      format: 'openai-responses',
      model: body.model,
      stream: readStream(body),
      messages,
      extra: omit(body, ['model', 'input', 'instructions']),
    };
    if (body.instructions === null) request.extra.instructions = null;
    const max = readMaxTokens(body, MAX_TOKEN_KEYS);
    if (max !== undefined) request.maxOutputTokens = max;
    return request;
  },

  serializeRequest(request) {
    const body: JsonObject = { ...request.extra, model: request.model };
    const instructions = request.messages.filter((message) => message.origin === 'instructions');
    if (instructions.length > 0) body.instructions = instructions.map((message) => message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('')).join('\n\n');
    const rest = request.messages.filter((message) => message.origin !== 'instructions');
    const only = rest[0];
    if (rest.length === 1 && only.origin === 'input' && only.parts.every((part) => part.type === 'text')) {
      body.input = only.parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
    } else if (rest.length > 0 || Array.isArray(request.extra.input)) body.input = rest.map(writeItem);
    if (request.stream) body.stream = true;
    else if (body.stream === true) delete body.stream;
    writeMaxTokens(body, MAX_TOKEN_KEYS, request.maxOutputTokens);
    return body;
  },

  parseResponse(body) {
    if (!isObject(body)) throw badAnswer('body', 'a JSON object', body);
    if (!Array.isArray(body.output)) throw badAnswer('output', 'an array of output items', body.output);
    const incomplete = isObject(body.incomplete_details) ? body.incomplete_details.reason : undefined;
    const calls = body.output.some((item) => isObject(item) && item.type === 'function_call');
    const response: LlmResponse = {
      format: 'openai-responses',
      id: typeof body.id === 'string' ? body.id : '',
      model: typeof body.model === 'string' ? body.model : '',
      parts: outputParts(body.output, badAnswer),
      finishReason: body.status === 'failed' ? 'error' : incomplete === 'max_output_tokens' ? 'length' : incomplete === 'content_filter' ? 'content-filter' : calls ? 'tool-calls' : 'stop',
      extra: omit(body, ['id', 'model', 'usage']),
    };
    const usage = parseUsage(body.usage);
    if (usage) response.usage = usage;
    if (body.usage !== undefined) response.extra.usage = body.usage;
    return response;
  },

  serializeResponse(response) {
    const { usage: wireUsage, output, ...extra } = response.extra;
    const body: JsonObject = {
      id: response.id,
      object: 'response',
      created_at: nowSeconds(),
      status: response.finishReason === 'length' ? 'incomplete' : 'completed',
      error: null,
      incomplete_details: response.finishReason === 'length' ? { reason: 'max_output_tokens' } : null,
      model: response.model,
      ...extra,
      output: writeOutput(response, output),
    };
    if (response.usage) body.usage = wireUsage !== undefined && sameUsage(parseUsage(wireUsage), response.usage) ? wireUsage : writeUsage(response.usage);
    else if (wireUsage !== undefined) body.usage = wireUsage;
    return body;
  },

  createStreamDecoder(): StreamDecoder {
    return (event) => {
      const data = parseJsonData(event.data);
      const chunk: LlmStreamChunk = { data, raw: event.raw };
      if (event.event !== undefined) chunk.event = event.event;
      if (!isObject(data)) return chunk;
      const type = typeof data.type === 'string' ? data.type : event.event;
      if (typeof data.output_index === 'number') chunk.index = data.output_index;
      if (type === 'response.output_text.delta' && typeof data.delta === 'string') chunk.textDelta = data.delta;
      else if ((type === 'response.reasoning_summary_text.delta' || type === 'response.reasoning_text.delta') && typeof data.delta === 'string') chunk.reasoningDelta = data.delta;
      else if (type === 'response.function_call_arguments.delta' && typeof data.delta === 'string') chunk.toolCallDelta = { argumentsDelta: data.delta };
      else if (type === 'response.output_item.added' && isObject(data.item) && data.item.type === 'function_call') {
        chunk.toolCallDelta = { id: String(data.item.call_id ?? ''), name: String(data.item.name ?? '') };
      } else if (type === 'error') {
        chunk.error = { message: String(data.message ?? 'stream error'), ...(typeof data.code === 'string' ? { type: data.code } : {}) };
      }
      if (isObject(data.response)) {
        const response = data.response;
        if (typeof response.id === 'string') chunk.id = response.id;
        if (typeof response.model === 'string') chunk.model = response.model;
        const usage = parseUsage(response.usage);
        if (usage) chunk.usage = usage;
        if (type && DONE_EVENTS.has(type)) {
          chunk.done = true;
          const reason = isObject(response.incomplete_details) ? response.incomplete_details.reason : undefined;
          chunk.finishReason = type === 'response.failed' ? 'error' : reason === 'max_output_tokens' ? 'length' : 'stop';
          if (type === 'response.failed') {
            const error = isObject(response.error) ? response.error : {};
            chunk.error = { message: String(error.message ?? 'the response failed'), ...(typeof error.code === 'string' ? { type: error.code } : {}) };
          }
        }
      }
      return chunk;
    };
  },

  withChunkText(chunk, text) {
    const { raw: _raw, ...rest } = chunk;
    if (!isObject(chunk.data)) return { ...rest, textDelta: text };
    return { ...rest, data: { ...chunk.data, delta: text }, textDelta: text };
  },

  withChunkArguments(chunk, text) {
    const { raw: _raw, ...rest } = chunk;
    const toolCallDelta = { ...chunk.toolCallDelta, argumentsDelta: text };
    if (!isObject(chunk.data)) return { ...rest, toolCallDelta };
    return { ...rest, data: { ...chunk.data, delta: text }, toolCallDelta };
  },

  encodeStream(response) {
    let sequence = 0;
    const event = (type: string, data: JsonObject): LlmStreamChunk => chunkOf({ type, ...data, sequence_number: sequence++ }, type);
    const final = openaiResponses.serializeResponse(response);
    const pending = { ...final, status: 'in_progress', output: [], usage: null, incomplete_details: null };
    const text = response.parts.filter((part) => part.type === 'text').map((part) => part.text).join('');
    const item = messageItem(response.id, []);
    const itemId = String(item.id);
    const chunks: LlmStreamChunk[] = [event('response.created', { response: pending }), event('response.in_progress', { response: pending })];
    chunks.push(event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress' } }));
    chunks.push(event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], text: '' } }));
    for (const delta of streamPieces(text)) if (delta !== '') chunks.push(event('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta, logprobs: [] }));
    chunks.push(event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] }));
    const part = { type: 'output_text', annotations: [], text };
    chunks.push(event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part }));
    chunks.push(event('response.output_item.done', { output_index: 0, item: { ...item, content: [part] } }));
    chunks.push(event(response.finishReason === 'length' ? 'response.incomplete' : 'response.completed', { response: final }));
    return chunks;
  },

  errorBody(status, code, message) {
    return { error: { message, type: errorType(status), param: null, code } };
  },

  streamErrorChunk(code, message) {
    return { event: 'error', data: { type: 'error', code, message, param: null }, error: { type: code, message } };
  },
};
