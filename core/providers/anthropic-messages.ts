// Anthropic Messages (`POST /v1/messages`): system prompt beside the messages, typed content blocks, named SSE events.
import { IronError, IRON_BAD_REQUEST } from '../errors.ts';
import type { JsonObject, LlmMessage, LlmPart, LlmRequest, LlmResponse, LlmStreamChunk, Usage } from '../llm/types.ts';
import type { ApiAdapter, StreamDecoder } from './adapter.ts';
import { AnthropicTextDeltas } from './text-delta.ts';
import {
  badAnswer,
  badRequest,
  chunkOf,
  finiteCount,
  isObject,
  mapFinish,
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
  writeFinish,
  writeMaxTokens,
  type FinishMap,
} from './wire.ts';

const MAX_TOKEN_KEYS = ['max_tokens'] as const;
const FINISH: FinishMap = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool-calls', refusal: 'content-filter', pause_turn: 'other' };

function parseBlocks(content: unknown, path: string, fail: typeof badRequest): LlmPart[] {
  if (typeof content === 'string' || content === undefined || content === null) return parseContent(content, path, ['text'], fail);
  if (!Array.isArray(content)) throw fail(path, 'a string or an array of content blocks', content);
  return content.map((block, i): LlmPart => {
    const at = `${path}[${i}]`;
    if (!isObject(block)) throw fail(at, 'a content block object', block);
    switch (block.type) {
      case 'text':
        if (typeof block.text !== 'string') throw fail(`${at}.text`, 'a string', block.text);
        return withExtra({ type: 'text' as const, text: block.text }, omit(block, ['text']));
      case 'thinking':
        if (typeof block.thinking !== 'string') throw fail(`${at}.thinking`, 'a string', block.thinking);
        return withExtra({ type: 'reasoning' as const, text: block.thinking }, omit(block, ['thinking']));
      case 'tool_use':
        if (typeof block.name !== 'string') throw fail(`${at}.name`, 'a string', block.name);
        return withExtra(
          { type: 'tool-call' as const, id: typeof block.id === 'string' ? block.id : '', name: block.name, arguments: JSON.stringify(block.input ?? {}) },
          omit(block, ['id', 'name', 'input']),
        );
      case 'tool_result': {
        if (typeof block.tool_use_id !== 'string') throw fail(`${at}.tool_use_id`, 'a string', block.tool_use_id);
        const part: LlmPart = { type: 'tool-result', toolCallId: block.tool_use_id, content: parseBlocks(block.content, `${at}.content`, fail), shape: shapeOf(block.content) };
        if (typeof block.is_error === 'boolean') part.isError = block.is_error;
        return withExtra(part, omit(block, ['tool_use_id', 'content', 'is_error']));
      }
      default:
        return { type: 'opaque', value: block };
    }
  });
}

function toolInput(part: Extract<LlmPart, { type: 'tool-call' }>): unknown {
  try {
    return JSON.parse(part.arguments === '' ? '{}' : part.arguments);
  } catch (error) {
    throw new IronError(IRON_BAD_REQUEST, `tool call "${part.name}" has arguments that are not JSON: ${JSON.stringify(part.arguments.slice(0, 80))}`, { cause: error });
  }
}

function writeBlock(part: LlmPart): unknown {
  switch (part.type) {
    case 'text':
      return { type: 'text', ...part.extra, text: part.text };
    case 'reasoning':
      return { type: 'thinking', ...part.extra, thinking: part.text };
    case 'tool-call':
      return { type: 'tool_use', ...part.extra, id: part.id, name: part.name, input: toolInput(part) };
    case 'tool-result': {
      const block: JsonObject = { type: 'tool_result', ...part.extra, tool_use_id: part.toolCallId };
      setOrDelete(block, 'content', writeBlocks(part.content, part.shape));
      if (part.isError !== undefined) block.is_error = part.isError;
      return block;
    }
    case 'opaque':
      return part.value;
  }
}

function writeBlocks(parts: LlmPart[], shape: LlmMessage['shape']): unknown {
  if ((shape === 'none' || shape === 'null') && parts.length === 0) return shape === 'null' ? null : undefined;
  if (shape === 'string' && parts.every((part) => part.type === 'text')) return parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return parts.map(writeBlock);
}

function parseUsage(usage: unknown): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const cacheRead = finiteCount(usage.cache_read_input_tokens);
  const cacheWrite = finiteCount(usage.cache_creation_input_tokens);
  const parsed: Usage = {
    inputTokens: finiteCount(usage.input_tokens) + cacheRead + cacheWrite,
    outputTokens: finiteCount(usage.output_tokens),
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: 0,
  };
  // Priced apart: an hour's cache write costs more than five minutes', and each web search has its own fee.
  const hour = isObject(usage.cache_creation) ? Math.min(cacheWrite, finiteCount(usage.cache_creation.ephemeral_1h_input_tokens)) : 0;
  if (hour > 0) parsed.cacheWrite1hTokens = hour;
  const searches = isObject(usage.server_tool_use) ? finiteCount(usage.server_tool_use.web_search_requests) : 0;
  if (searches > 0) parsed.webSearches = searches;
  return parsed;
}

function writeUsage(usage: Usage): JsonObject {
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens),
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cacheReadTokens,
    output_tokens: usage.outputTokens,
  };
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

export const anthropicMessages: ApiAdapter = {
  format: 'anthropic-messages',
  path: '/messages',
  credentialHeader: 'x-api-key',
  plainStreamEvents: ['event: content_block_delta\ndata: {', 'event: ping\ndata: {'],

  parseRequest(body) {
    if (!isObject(body)) throw badRequest('body', 'a JSON object', body);
    if (typeof body.model !== 'string' || body.model === '') throw badRequest('model', 'a model name', body.model);
    if (!Array.isArray(body.messages)) throw badRequest('messages', 'an array of messages', body.messages);
    const messages: LlmMessage[] = [];
    if (body.system !== undefined) {
      messages.push({ role: 'system', origin: 'system', shape: shapeOf(body.system), parts: parseBlocks(body.system, 'system', badRequest) });
    }
    body.messages.forEach((message, i) => {
      const path = `messages[${i}]`;
      if (!isObject(message)) throw badRequest(path, 'a message object', message);
      if (message.role !== 'user' && message.role !== 'assistant') throw badRequest(`${path}.role`, 'one of user, assistant', message.role);
      messages.push(withExtra({ role: message.role, shape: shapeOf(message.content), parts: parseBlocks(message.content, `${path}.content`, badRequest) }, omit(message, ['role', 'content'])));
    });
    const request: LlmRequest = {
      format: 'anthropic-messages',
      model: body.model,
      stream: readStream(body),
      messages,
      extra: omit(body, ['model', 'messages', 'system']),
    };
    const max = readMaxTokens(body, MAX_TOKEN_KEYS);
    if (max !== undefined) request.maxOutputTokens = max;
    return request;
  },

  serializeRequest(request) {
    const body: JsonObject = { ...request.extra, model: request.model };
    const system = request.messages.filter((message) => message.role === 'system');
    if (system.length === 1) setOrDelete(body, 'system', writeBlocks(system[0].parts, system[0].shape));
    else if (system.length > 1) body.system = system.flatMap((message) => message.parts.map(writeBlock));
    body.messages = request.messages
      .filter((message) => message.role !== 'system')
      .map((message) => {
        const out: JsonObject = { role: message.role === 'tool' ? 'user' : message.role, ...message.extra };
        setOrDelete(out, 'content', writeBlocks(message.parts, message.shape));
        return out;
      });
    if (request.stream) body.stream = true;
    else if (body.stream === true) delete body.stream;
    writeMaxTokens(body, MAX_TOKEN_KEYS, request.maxOutputTokens);
    return body;
  },

  parseResponse(body) {
    if (!isObject(body)) throw badAnswer('body', 'a JSON object', body);
    if (!Array.isArray(body.content)) throw badAnswer('content', 'an array of content blocks', body.content);
    const response: LlmResponse = {
      format: 'anthropic-messages',
      id: typeof body.id === 'string' ? body.id : '',
      model: typeof body.model === 'string' ? body.model : '',
      parts: parseBlocks(body.content, 'content', badAnswer),
      finishReason: mapFinish(FINISH, body.stop_reason),
      extra: omit(body, ['id', 'model', 'content']),
    };
    const usage = parseUsage(body.usage);
    if (usage) response.usage = usage;
    return response;
  },

  serializeResponse(response) {
    const { usage: wireUsage, ...extra } = response.extra;
    const body: JsonObject = { id: response.id, type: 'message', role: 'assistant', model: response.model, content: response.parts.map(writeBlock), stop_sequence: null, ...extra };
    body.stop_reason = writeFinish(FINISH, response.finishReason, extra.stop_reason);
    if (response.usage) body.usage = wireUsage !== undefined && sameUsage(parseUsage(wireUsage), response.usage) ? wireUsage : writeUsage(response.usage);
    else if (wireUsage !== undefined) body.usage = wireUsage;
    return body;
  },

  createStreamDecoder(): StreamDecoder {
    let usage: JsonObject = {};
    let id: string | undefined;
    const toolIds = new Map<number, { id: string; name: string }>();
    const deltas = new AnthropicTextDeltas();
    return (event) => {
      const textDelta = deltas.read(event.data, event.raw, event.event);
      if (textDelta) return textDelta;
      const data = parseJsonData(event.data);
      const chunk: LlmStreamChunk = { data, raw: event.raw };
      if (event.event !== undefined) chunk.event = event.event;
      if (!isObject(data)) return chunk;
      const type = typeof data.type === 'string' ? data.type : event.event;
      if (typeof data.index === 'number') chunk.index = data.index;
      switch (type) {
        case 'message_start': {
          const message = isObject(data.message) ? data.message : {};
          if (typeof message.id === 'string') chunk.id = id = message.id;
          if (typeof message.model === 'string') chunk.model = message.model;
          if (isObject(message.usage)) usage = { ...message.usage };
          chunk.usage = parseUsage(usage);
          break;
        }
        case 'content_block_start': {
          const block = isObject(data.content_block) ? data.content_block : {};
          if (block.type === 'tool_use') {
            const call = { id: String(block.id ?? ''), name: String(block.name ?? '') };
            toolIds.set(chunk.index ?? 0, call);
            chunk.toolCallDelta = { id: call.id, name: call.name };
          } else if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') chunk.textDelta = block.text;
          break;
        }
        case 'content_block_delta': {
          const delta = isObject(data.delta) ? data.delta : {};
          if (delta.type === 'text_delta' && typeof delta.text === 'string') chunk.textDelta = delta.text;
          else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') chunk.reasoningDelta = delta.thinking;
          else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') chunk.toolCallDelta = { argumentsDelta: delta.partial_json };
          break;
        }
        case 'message_delta': {
          const delta = isObject(data.delta) ? data.delta : {};
          if (delta.stop_reason !== undefined && delta.stop_reason !== null) chunk.finishReason = mapFinish(FINISH, delta.stop_reason);
          if (isObject(data.usage)) {
            for (const [key, value] of Object.entries(data.usage)) if (value !== null && value !== undefined) usage[key] = value;
            chunk.usage = parseUsage(usage);
          }
          break;
        }
        case 'message_stop':
          chunk.done = true;
          if (id) chunk.id = id;
          break;
        case 'error': {
          const error = isObject(data.error) ? data.error : {};
          chunk.error = { message: String(error.message ?? 'stream error'), ...(typeof error.type === 'string' ? { type: error.type } : {}) };
          break;
        }
      }
      return chunk;
    };
  },

  withChunkText(chunk, text) {
    const { raw: _raw, ...rest } = chunk;
    if (!isObject(chunk.data)) return { ...rest, textDelta: text };
    if (chunk.data.type === 'content_block_start' && isObject(chunk.data.content_block)) {
      return { ...rest, data: { ...chunk.data, content_block: { ...chunk.data.content_block, text } }, textDelta: text };
    }
    const delta = isObject(chunk.data.delta) ? chunk.data.delta : { type: 'text_delta' };
    return { ...rest, data: { ...chunk.data, delta: { ...delta, text } }, textDelta: text };
  },

  withChunkArguments(chunk, text) {
    const { raw: _raw, ...rest } = chunk;
    const toolCallDelta = { ...chunk.toolCallDelta, argumentsDelta: text };
    if (!isObject(chunk.data)) return { ...rest, toolCallDelta };
    const delta = isObject(chunk.data.delta) ? chunk.data.delta : { type: 'input_json_delta' };
    return { ...rest, data: { ...chunk.data, delta: { ...delta, partial_json: text } }, toolCallDelta };
  },

  encodeStream(response) {
    const usage = response.usage ? writeUsage(response.usage) : { input_tokens: 0, output_tokens: 0 };
    const event = (type: string, data: JsonObject): LlmStreamChunk => chunkOf({ type, ...data }, type);
    const chunks: LlmStreamChunk[] = [
      event('message_start', {
        message: { id: response.id, type: 'message', role: 'assistant', model: response.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
      }),
    ];
    response.parts.forEach((part, index) => {
      if (part.type === 'text') {
        chunks.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
        if (index === 0) chunks.push(event('ping', {}));
        for (const text of streamPieces(part.text)) if (text !== '') chunks.push(event('content_block_delta', { index, delta: { type: 'text_delta', text } }));
      } else if (part.type === 'tool-call') {
        chunks.push(event('content_block_start', { index, content_block: { type: 'tool_use', id: part.id, name: part.name, input: {} } }));
        chunks.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part.arguments } }));
      } else return;
      chunks.push(event('content_block_stop', { index }));
    });
    chunks.push(event('message_delta', { delta: { stop_reason: writeFinish(FINISH, response.finishReason, undefined), stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }));
    chunks.push(event('message_stop', {}));
    return chunks;
  },

  errorBody(status, code, message) {
    return { type: 'error', error: { type: errorType(status), message }, iron_code: code };
  },

  streamErrorChunk(code, message) {
    return { event: 'error', data: { type: 'error', error: { type: code === 'IRON_BUDGET_EXCEEDED' ? 'billing_error' : 'api_error', message } }, error: { type: code, message } };
  },
};
