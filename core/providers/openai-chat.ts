// OpenAI Chat Completions (`POST /v1/chat/completions`), also spoken by vLLM, Ollama, LM Studio and most gateways.
import type { JsonObject, LlmMessage, LlmPart, LlmRequest, LlmResponse, LlmStreamChunk, Role, Usage } from '../llm/types.ts';
import type { ApiAdapter, StreamDecoder } from './adapter.ts';
import { ChatTextDeltas } from './text-delta.ts';
import {
  badAnswer,
  badRequest,
  chunkOf,
  finiteCount,
  isObject,
  mapFinish,
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
  writeFinish,
  writeMaxTokens,
  type FinishMap,
} from './wire.ts';

const MAX_TOKEN_KEYS = ['max_completion_tokens', 'max_tokens'] as const;
/** OpenAI's reasoning models refuse `max_tokens`: a cap set here (a fallback, a metered budget) uses the newer field. */
const REASONING_MAX_TOKEN_KEYS = ['max_tokens', 'max_completion_tokens'] as const;
const REASONING_MODEL = /^(?:openai\/)?(?:o\d|gpt-5)/;
const FINISH: FinishMap = { stop: 'stop', length: 'length', tool_calls: 'tool-calls', content_filter: 'content-filter', function_call: 'tool-calls' };
const ROLES: Record<string, Role> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant', tool: 'tool', function: 'tool' };
const TEXT_TYPES = ['text'];

/**
 * A Chat tool call as a neutral one: a function call's JSON arguments, or a custom tool's free-form `input` (GPT-5
 * custom tools: `{ type: 'custom', custom: { name, input } }`), told apart by the `type` kept in `extra`.
 */
function parseToolCalls(calls: unknown[], path: string, fail: typeof badRequest): LlmPart[] {
  return calls.map((call, i): LlmPart => {
    if (isObject(call) && call.type === 'custom') {
      if (!isObject(call.custom)) throw fail(`${path}[${i}].custom`, 'an object with name and input', call.custom);
      const { name, input = '' } = call.custom;
      if (typeof name !== 'string') throw fail(`${path}[${i}].custom.name`, 'a string', name);
      if (typeof input !== 'string') throw fail(`${path}[${i}].custom.input`, 'a string', input);
      const extra = omit(call, ['id', 'custom']);
      const customExtra = omit(call.custom, ['name', 'input']);
      if (Object.keys(customExtra).length > 0) extra.custom = customExtra;
      return withExtra({ type: 'tool-call' as const, id: typeof call.id === 'string' ? call.id : '', name, arguments: input }, extra);
    }
    if (!isObject(call) || !isObject(call.function)) throw fail(`${path}[${i}].function`, 'an object with name and arguments (or type "custom" and custom: { name, input })', isObject(call) ? call.function : call);
    const fn = call.function;
    if (typeof fn.name !== 'string') throw fail(`${path}[${i}].function.name`, 'a string', fn.name);
    const args = fn.arguments ?? '';
    if (typeof args !== 'string') throw fail(`${path}[${i}].function.arguments`, 'a JSON string', args);
    const extra = omit(call, ['id', 'function']);
    const fnExtra = omit(fn, ['name', 'arguments']);
    if (Object.keys(fnExtra).length > 0) extra.function = fnExtra;
    return withExtra({ type: 'tool-call' as const, id: typeof call.id === 'string' ? call.id : '', name: fn.name, arguments: args }, extra);
  });
}

/** Whether a neutral tool call is a custom tool's (free-form input, not JSON arguments). */
export function isCustomToolCall(part: Extract<LlmPart, { type: 'tool-call' }>): boolean {
  return part.extra?.type === 'custom';
}

function writeToolCall(part: Extract<LlmPart, { type: 'tool-call' }>): JsonObject {
  if (isCustomToolCall(part)) {
    const { custom: customExtra, ...extra } = part.extra ?? {};
    return { ...extra, id: part.id, custom: { ...(isObject(customExtra) ? customExtra : {}), name: part.name, input: part.arguments } };
  }
  const { function: fnExtra, ...extra } = part.extra ?? {};
  return { type: 'function', ...extra, id: part.id, function: { ...(isObject(fnExtra) ? fnExtra : {}), name: part.name, arguments: part.arguments } };
}

function parseMessage(message: unknown, path: string): LlmMessage {
  if (!isObject(message)) throw badRequest(path, 'a message object', message);
  const role = typeof message.role === 'string' ? ROLES[message.role] : undefined;
  if (!role) throw badRequest(`${path}.role`, `one of ${Object.keys(ROLES).join(', ')}`, message.role);
  const extra = omit(message, ['role', 'content', 'tool_calls', 'tool_call_id']);
  if (message.role !== role) extra.role = message.role;
  const content = parseContent(message.content, `${path}.content`, TEXT_TYPES);
  const shape = shapeOf(message.content);
  if (role === 'tool') {
    if ('tool_call_id' in message && typeof message.tool_call_id !== 'string') throw badRequest(`${path}.tool_call_id`, 'a string', message.tool_call_id);
    const result: LlmPart = { type: 'tool-result', toolCallId: (message.tool_call_id as string | undefined) ?? '', content, shape };
    return withExtra({ role, parts: [result] }, extra);
  }
  const parts = [...content];
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) parts.push(...parseToolCalls(message.tool_calls, `${path}.tool_calls`, badRequest));
  else if ('tool_calls' in message) extra.tool_calls = message.tool_calls;
  return withExtra({ role, parts, shape }, extra);
}

function writeMessage(message: LlmMessage): JsonObject {
  const { role: wireRole, ...extra } = message.extra ?? {};
  const out: JsonObject = { role: typeof wireRole === 'string' && ROLES[wireRole] === message.role ? wireRole : message.role, ...extra };
  if (message.role === 'tool') {
    const result = message.parts.find((part) => part.type === 'tool-result');
    if (result) {
      if (result.toolCallId !== '') out.tool_call_id = result.toolCallId;
      setOrDelete(out, 'content', writeContent(result.content, result.shape, 'text'));
    } else setOrDelete(out, 'content', writeContent(message.parts, message.shape, 'text'));
    return out;
  }
  const calls = message.parts.filter((part) => part.type === 'tool-call');
  const content = message.parts.filter((part) => part.type !== 'tool-call' && part.type !== 'tool-result');
  setOrDelete(out, 'content', writeContent(content, message.shape, 'text'));
  if (calls.length > 0) out.tool_calls = calls.map(writeToolCall);
  return out;
}

function parseUsage(usage: unknown): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const prompt = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completion = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    inputTokens: finiteCount(usage.prompt_tokens),
    outputTokens: finiteCount(usage.completion_tokens),
    cacheReadTokens: finiteCount(prompt.cached_tokens),
    cacheWriteTokens: 0,
    reasoningTokens: finiteCount(completion.reasoning_tokens),
  };
}

function writeUsage(usage: Usage): JsonObject {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

function responseParts(message: JsonObject, path: string): LlmPart[] {
  const parts: LlmPart[] = [];
  if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') parts.push({ type: 'reasoning', text: message.reasoning_content });
  if (typeof message.content === 'string') parts.push({ type: 'text', text: message.content });
  else if (message.content !== null && message.content !== undefined) throw badAnswer(`${path}.content`, 'a string or null', message.content);
  if (Array.isArray(message.tool_calls)) parts.push(...parseToolCalls(message.tool_calls, `${path}.tool_calls`, badAnswer));
  return parts;
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * A stream event's error, if it is one: its `error` object, or the whole event when it is named `error`. The official
 * client fails on an event named `error` whatever its data (an outside review: a content delta sent so was recorded as
 * a completed call while the agent's SDK threw); `[DONE]` still ends the stream, as the client reads it.
 */
function streamErrorOf(name: string | undefined, data: unknown): Record<string, unknown> | undefined {
  if (isObject(data) && isObject(data.error)) return data.error;
  if (name !== 'error' || data === '[DONE]') return undefined;
  return isObject(data) ? data : {};
}

export const openaiChat: ApiAdapter = {
  format: 'openai-chat',
  path: '/chat/completions',
  credentialHeader: 'authorization',
  plainStreamEvents: ['data: {'],

  parseRequest(body) {
    if (!isObject(body)) throw badRequest('body', 'a JSON object', body);
    if (typeof body.model !== 'string' || body.model === '') throw badRequest('model', 'a model name', body.model);
    if (!Array.isArray(body.messages)) throw badRequest('messages', 'an array of messages', body.messages);
    const request: LlmRequest = {
      format: 'openai-chat',
      model: body.model,
      stream: readStream(body),
      messages: body.messages.map((message, i) => parseMessage(message, `messages[${i}]`)),
      extra: omit(body, ['model', 'messages']),
    };
    const max = readMaxTokens(body, MAX_TOKEN_KEYS);
    if (max !== undefined) request.maxOutputTokens = max;
    return request;
  },

  serializeRequest(request) {
    const body: JsonObject = { ...request.extra, model: request.model, messages: request.messages.map(writeMessage) };
    if (request.stream) body.stream = true;
    else if (body.stream === true) delete body.stream;
    writeMaxTokens(body, REASONING_MODEL.test(request.model) ? REASONING_MAX_TOKEN_KEYS : MAX_TOKEN_KEYS, request.maxOutputTokens);
    return body;
  },

  parseResponse(body) {
    if (!isObject(body)) throw badAnswer('body', 'a JSON object', body);
    if (!Array.isArray(body.choices)) throw badAnswer('choices', 'an array', body.choices);
    const first = body.choices[0];
    if (first !== undefined && (!isObject(first) || !isObject(first.message))) throw badAnswer('choices[0].message', 'an object', isObject(first) ? first.message : first);
    const response: LlmResponse = {
      format: 'openai-chat',
      id: typeof body.id === 'string' ? body.id : '',
      model: typeof body.model === 'string' ? body.model : '',
      parts: first ? responseParts(first.message as JsonObject, 'choices[0].message') : [],
      finishReason: first ? mapFinish(FINISH, (first as JsonObject).finish_reason) : 'other',
      extra: omit(body, ['id', 'model']),
    };
    const usage = parseUsage(body.usage);
    if (usage) response.usage = usage;
    return response;
  },

  serializeResponse(response) {
    const { choices: wireChoices, usage: wireUsage, ...extra } = response.extra;
    const body: JsonObject = { id: response.id, object: 'chat.completion', created: nowSeconds(), model: response.model, ...extra };
    const choices = Array.isArray(wireChoices) && wireChoices.length > 0 ? [...wireChoices] : [{ index: 0, message: { role: 'assistant', refusal: null, annotations: [] }, logprobs: null }];
    const choice = { ...(choices[0] as JsonObject) };
    const original = isObject(choice.message) ? choice.message : { role: 'assistant' };
    const message: JsonObject = { ...original };
    const text = response.parts.filter((part) => part.type === 'text');
    const reasoning = response.parts.filter((part) => part.type === 'reasoning');
    const calls = response.parts.filter((part) => part.type === 'tool-call');
    message.content = text.length > 0 ? text.map((part) => part.text).join('') : typeof original.content === 'string' ? '' : (original.content ?? null);
    if (reasoning.length > 0) message.reasoning_content = reasoning.map((part) => part.text).join('');
    if (calls.length > 0) message.tool_calls = calls.map(writeToolCall);
    else if (Array.isArray(original.tool_calls) && original.tool_calls.length > 0) delete message.tool_calls;
    choice.message = message;
    choice.finish_reason = writeFinish(FINISH, response.finishReason, choice.finish_reason);
    choices[0] = choice;
    body.choices = choices;
    if (response.usage) body.usage = wireUsage !== undefined && sameUsage(parseUsage(wireUsage), response.usage) ? wireUsage : writeUsage(response.usage);
    else if (wireUsage !== undefined) body.usage = wireUsage;
    return body;
  },

  createStreamDecoder(): StreamDecoder {
    const deltas = new ChatTextDeltas();
    return (event) => {
      const textDelta = event.event === undefined ? deltas.read(event.data, event.raw) : undefined;
      if (textDelta) return textDelta;
      const data = parseJsonData(event.data);
      const chunk: LlmStreamChunk = { data, raw: event.raw };
      if (event.event !== undefined) chunk.event = event.event;
      if (data === '[DONE]') chunk.done = true;
      const error = streamErrorOf(event.event, data);
      if (error !== undefined) {
        chunk.error = { message: String(error.message ?? 'stream error'), ...(typeof error.type === 'string' ? { type: error.type } : {}) };
        return chunk;
      }
      if (!isObject(data)) return chunk;
      if (typeof data.id === 'string') chunk.id = data.id;
      if (typeof data.model === 'string') chunk.model = data.model;
      const usage = parseUsage(data.usage);
      if (usage) chunk.usage = usage;
      const choice = Array.isArray(data.choices) ? data.choices[0] : undefined;
      if (!isObject(choice)) return chunk;
      chunk.index = typeof choice.index === 'number' ? choice.index : 0;
      const delta = isObject(choice.delta) ? choice.delta : {};
      if (typeof delta.content === 'string' && delta.content !== '') chunk.textDelta = delta.content;
      if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') chunk.reasoningDelta = delta.reasoning_content;
      const call = Array.isArray(delta.tool_calls) ? delta.tool_calls[0] : undefined;
      if (isObject(call)) {
        // A custom tool's call streams its free-form input under `custom` as a function's streams its arguments.
        const fn = isObject(call.function) ? call.function : isObject(call.custom) ? call.custom : {};
        const args = isObject(call.custom) && !isObject(call.function) ? fn.input : fn.arguments;
        chunk.toolCallDelta = {
          ...(typeof call.id === 'string' ? { id: call.id } : {}),
          ...(typeof fn.name === 'string' ? { name: fn.name } : {}),
          ...(typeof args === 'string' ? { argumentsDelta: args } : {}),
        };
        if (typeof call.index === 'number') chunk.index = call.index;
      }
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) chunk.finishReason = mapFinish(FINISH, choice.finish_reason);
      return chunk;
    };
  },

  withChunkText(chunk, text) {
    const { raw: _raw, ...rest } = chunk;
    if (!isObject(chunk.data) || !Array.isArray(chunk.data.choices)) return { ...rest, textDelta: text };
    const choices = chunk.data.choices.map((choice, i) => {
      if (i !== 0 || !isObject(choice)) return choice;
      return { ...choice, delta: { ...(isObject(choice.delta) ? choice.delta : {}), content: text } };
    });
    return { ...rest, data: { ...chunk.data, choices }, textDelta: text };
  },

  withChunkArguments(chunk, text) {
    const { raw: _raw, ...rest } = chunk;
    const toolCallDelta = { ...chunk.toolCallDelta, argumentsDelta: text };
    if (!isObject(chunk.data) || !Array.isArray(chunk.data.choices)) return { ...rest, toolCallDelta };
    const choices = chunk.data.choices.map((choice, i) => {
      if (i !== 0 || !isObject(choice) || !isObject(choice.delta) || !Array.isArray(choice.delta.tool_calls)) return choice;
      const calls = choice.delta.tool_calls.map((call, j) => {
        if (j !== 0 || !isObject(call)) return call;
        if (isObject(call.custom) && !isObject(call.function)) return { ...call, custom: { ...call.custom, input: text } };
        return { ...call, function: { ...(isObject(call.function) ? call.function : {}), arguments: text } };
      });
      return { ...choice, delta: { ...choice.delta, tool_calls: calls } };
    });
    return { ...rest, data: { ...chunk.data, choices }, toolCallDelta };
  },

  encodeStream(response, options = {}) {
    const base = { id: response.id, object: 'chat.completion.chunk', created: nowSeconds(), model: response.model };
    const piece = (delta: JsonObject, finish: string | null = null): LlmStreamChunk =>
      chunkOf({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    const chunks: LlmStreamChunk[] = [piece({ role: 'assistant', content: '', refusal: null })];
    const text = response.parts.filter((part) => part.type === 'text').map((part) => part.text).join('');
    for (const content of streamPieces(text)) if (content !== '') chunks.push(piece({ content }));
    response.parts.forEach((part) => {
      if (part.type !== 'tool-call') return;
      const call = isCustomToolCall(part) ? { type: 'custom', custom: { name: part.name, input: part.arguments } } : { type: 'function', function: { name: part.name, arguments: part.arguments } };
      chunks.push(piece({ tool_calls: [{ index: 0, id: part.id, ...call }] }));
    });
    chunks.push(piece({}, writeFinish(FINISH, response.finishReason, undefined)));
    if (options.includeUsage && response.usage) chunks.push(chunkOf({ ...base, choices: [], usage: writeUsage(response.usage) }));
    chunks.push(chunkOf('[DONE]'));
    return chunks;
  },

  errorBody(status, code, message) {
    return { error: { message, type: errorType(status), param: null, code } };
  },

  streamErrorChunk(code, message) {
    return { data: { error: { message, type: 'server_error', param: null, code } }, error: { type: code, message } };
  },
};
