// Translation between wire formats, so a call an agent makes in one format can be served by a provider that
// speaks another (a reliability fallback): the request goes forward, the answer or its stream comes back.
// Everything travels through the neutral model; only what the neutral model and a small table of common
// settings can express survives, and the request side lists what it had to drop.
import { randomUUID } from 'node:crypto';
import { IronError, IRON_BAD_REQUEST, IRON_UPSTREAM_ERROR } from '../errors.ts';
import type { ApiFormat, ContentShape, FinishReason, JsonObject, LlmMessage, LlmPart, LlmRequest, LlmResponse, LlmStreamChunk, Usage } from '../llm/types.ts';
import { emptyUsage } from '../llm/types.ts';
import { adapters } from './adapters.ts';
import { isCustomToolCall } from './openai-chat.ts';
import { isObject, nowSeconds } from './wire.ts';

type ToolResult = Extract<LlmPart, { type: 'tool-result' }>;
type Drop = (name: string) => void;

// ───────────────────────────── requests ─────────────────────────────

/** A request of one format, rewritten for another: messages, system prompt, tools, tool choice, output cap, sampling params, stop sequences, stream flag. Fields the target has no equivalent for are dropped and listed. */
export function translateRequest(request: LlmRequest, to: ApiFormat): { request: LlmRequest; dropped: string[] } {
  if (request.format === to) return { request, dropped: [] };
  const dropped = new Set<string>();
  const drop: Drop = (name) => dropped.add(name);
  const turns = mergeTurns(request.messages.flatMap((message) => neutralMessages(message, to, drop)), to);
  const out: LlmRequest = { format: to, model: request.model, stream: request.stream, messages: layoutMessages(turns, to), extra: translateExtra(request, to, drop) };
  // Anthropic refuses a request without `max_tokens`; the others let the provider decide.
  const max = request.maxOutputTokens ?? (to === 'anthropic-messages' ? 4096 : undefined);
  if (max !== undefined) out.maxOutputTokens = max;
  return { request: out, dropped: [...dropped] };
}

// Wire decorations that mean nothing in another format (ids and statuses of Responses items, part types…).
const SILENT_PART_KEYS = new Set(['role', 'type', 'id', 'status', 'annotations', 'logprobs']);

function meaningful(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  return !isObject(value) || Object.keys(value).length > 0;
}

function listExtra(extra: JsonObject | undefined, path: string, drop: Drop): void {
  for (const [key, value] of Object.entries(extra ?? {})) if (!SILENT_PART_KEYS.has(key) && meaningful(value)) drop(`${path}.${key}`);
}

function wireType(value: unknown): string {
  return isObject(value) && typeof value.type === 'string' ? value.type : 'unknown';
}

/** A part with only neutral content, or undefined when the target cannot carry it (and it was listed). */
function neutralPart(part: LlmPart, to: ApiFormat, inResult: boolean, drop: Drop): LlmPart | undefined {
  const path = 'messages[].content[]';
  switch (part.type) {
    case 'text':
      listExtra(part.extra, path, drop);
      // Anthropic rejects empty text blocks, and an empty string says nothing anywhere else.
      return part.text === '' ? undefined : { type: 'text', text: part.text };
    case 'reasoning':
      // Reasoning is signed (Anthropic) or bound to stored items (Responses): no provider accepts another's.
      drop('messages[].reasoning');
      return undefined;
    case 'tool-call':
      if (isCustomToolCall(part)) {
        // Its input is free text for a custom tool, which only Chat defines; dropped, the conversation would lie.
        throw new IronError(IRON_BAD_REQUEST, `tool call "${part.name}" is a custom tool's call (free-form input, not JSON arguments), which the ${to} format cannot carry: this request cannot fall back to a route in that format. Keep its fallbacks on OpenAI Chat Completions models, or make "${part.name}" a function tool`);
      }
      listExtra(part.extra, path, drop);
      return { type: 'tool-call', id: part.id, name: part.name, arguments: part.arguments };
    case 'tool-result': {
      listExtra(part.extra, path, drop);
      const content = part.content.flatMap((inner) => neutralPart(inner, to, true, drop) ?? []);
      const result: ToolResult = { type: 'tool-result', toolCallId: part.toolCallId, content };
      if (part.isError === true && to !== 'anthropic-messages') drop(`${path}.is_error`);
      else if (part.isError !== undefined && to === 'anthropic-messages') result.isError = part.isError;
      return result;
    }
    case 'opaque': {
      // Chat tool messages carry text only.
      const image = inResult && to === 'openai-chat' ? undefined : readImage(part.value);
      if (image) return { type: 'opaque', value: writeImage(image, to) };
      drop(`${path} (${wireType(part.value)})`);
      return undefined;
    }
  }
}

/** A source message as neutral turns: tool results become their own `tool` turns, ahead of the rest. */
function neutralMessages(message: LlmMessage, to: ApiFormat, drop: Drop): LlmMessage[] {
  if (message.origin === 'item') {
    drop(`messages[] (${wireType(message.parts[0]?.type === 'opaque' ? message.parts[0].value : undefined)})`);
    return [];
  }
  listExtra(message.extra, 'messages[]', drop);
  const parts = message.parts.flatMap((part) => neutralPart(part, to, false, drop) ?? []);
  if (message.role === 'system') {
    for (const part of parts) if (part.type !== 'text') drop('system (image)');
    const texts = parts.filter((part) => part.type === 'text');
    return texts.length > 0 ? [{ role: 'system', parts: texts }] : [];
  }
  const results: LlmMessage[] = parts.filter((part) => part.type === 'tool-result').map((part) => ({ role: 'tool', parts: [part] }));
  let rest = parts.filter((part) => part.type !== 'tool-result');
  if (message.role === 'assistant') {
    for (const part of rest) if (part.type === 'opaque') drop('messages[].content[] (image)');
    rest = rest.filter((part) => part.type !== 'opaque');
  }
  const role = message.role === 'tool' ? 'user' : message.role;
  return rest.length > 0 ? [...results, { role, parts: rest }] : results;
}

/**
 * One assistant turn per batch of tool calls (Chat pairs tool messages with the assistant message that holds
 * the calls; Anthropic wants alternating turns), and for Anthropic one user turn holding all the tool results.
 */
function mergeTurns(messages: LlmMessage[], to: ApiFormat): LlmMessage[] {
  const out: LlmMessage[] = [];
  for (const message of messages) {
    const last = out.at(-1);
    const joinAssistant = last?.role === 'assistant' && message.role === 'assistant';
    const joinResults = to === 'anthropic-messages' && last?.role === 'tool' && (message.role === 'tool' || message.role === 'user');
    if (last && (joinAssistant || joinResults)) last.parts.push(...message.parts);
    else out.push({ role: message.role, parts: [...message.parts] });
  }
  return out;
}

function textShape(parts: LlmPart[]): ContentShape {
  return parts.length === 1 && parts[0].type === 'text' ? 'string' : 'parts';
}

function withResultShape(part: LlmPart, empty: ContentShape): LlmPart {
  if (part.type !== 'tool-result') return part;
  return { ...part, shape: part.content.length === 0 ? empty : textShape(part.content) };
}

/** Sets the `origin`/`shape` each adapter reads to write a turn where the target API expects it. */
function layoutMessages(turns: LlmMessage[], to: ApiFormat): LlmMessage[] {
  if (to === 'openai-chat') return turns.map(layoutChat);
  if (to === 'anthropic-messages') return turns.map(layoutAnthropic);
  const leading = turns.findIndex((turn) => turn.role !== 'system');
  return turns.flatMap((turn, i) => layoutResponses(turn, leading === -1 || i < leading));
}

function layoutChat(turn: LlmMessage): LlmMessage {
  if (turn.role === 'tool') return { role: 'tool', parts: turn.parts.map((part) => withResultShape(part, 'string')) };
  if (turn.role !== 'assistant') return { role: turn.role, shape: textShape(turn.parts), parts: turn.parts };
  const content = turn.parts.filter((part) => part.type !== 'tool-call');
  return { role: 'assistant', shape: content.length === 0 ? 'null' : textShape(content), parts: turn.parts };
}

function layoutAnthropic(turn: LlmMessage): LlmMessage {
  if (turn.role === 'system') return { role: 'system', origin: 'system', shape: textShape(turn.parts), parts: turn.parts };
  const parts = turn.parts.map((part) => anthropicIds(withResultShape(part, 'none')));
  return { role: turn.role, shape: turn.role === 'tool' ? 'parts' : textShape(parts), parts };
}

// Anthropic tool ids must match ^[a-zA-Z0-9_-]+$; calls and results are rewritten alike so they still pair.
function anthropicId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, '_');
}

function anthropicIds(part: LlmPart): LlmPart {
  if (part.type === 'tool-call') return { ...part, id: anthropicId(part.id) };
  if (part.type === 'tool-result') return { ...part, toolCallId: anthropicId(part.toolCallId) };
  return part;
}

function layoutResponses(turn: LlmMessage, leadingSystem: boolean): LlmMessage[] {
  if (turn.role === 'system' && leadingSystem) return [{ role: 'system', origin: 'instructions', shape: 'string', parts: turn.parts }];
  if (turn.role === 'tool') return turn.parts.map((part) => ({ role: 'tool', origin: 'function_call_output', parts: [withResultShape(part, 'string')] }));
  if (turn.role !== 'assistant') return [{ role: turn.role, shape: textShape(turn.parts), parts: turn.parts }];
  const texts = turn.parts.filter((part) => part.type !== 'tool-call');
  const calls = turn.parts.filter((part) => part.type === 'tool-call');
  const out: LlmMessage[] = texts.length > 0 ? [{ role: 'assistant', shape: textShape(texts), parts: texts }] : [];
  return [...out, ...calls.map((call): LlmMessage => ({ role: 'assistant', origin: 'function_call', parts: [call] }))];
}

// ── images ──

interface Image { url: string; detail?: string }

/** An image content part of any format, as a URL (base64 images as a data URL). */
function readImage(value: unknown): Image | undefined {
  if (!isObject(value)) return undefined;
  const detail = typeof value.detail === 'string' ? { detail: value.detail } : {};
  if (value.type === 'image_url' && isObject(value.image_url) && typeof value.image_url.url === 'string') {
    return { url: value.image_url.url, ...(typeof value.image_url.detail === 'string' ? { detail: value.image_url.detail } : {}) };
  }
  if (value.type === 'input_image' && typeof value.image_url === 'string') return { url: value.image_url, ...detail };
  if (value.type === 'image' && isObject(value.source)) {
    const source = value.source;
    if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string') return { url: `data:${source.media_type};base64,${source.data}` };
    if (source.type === 'url' && typeof source.url === 'string') return { url: source.url };
  }
  return undefined;
}

function writeImage(image: Image, to: ApiFormat): JsonObject {
  if (to === 'openai-chat') return { type: 'image_url', image_url: { url: image.url, ...(image.detail ? { detail: image.detail } : {}) } };
  if (to === 'openai-responses') return { type: 'input_image', image_url: image.url, detail: image.detail ?? 'auto' };
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(image.url);
  return { type: 'image', source: data ? { type: 'base64', media_type: data[1], data: data[2] } : { type: 'url', url: image.url } };
}

// ── top-level settings ──

interface ExtraContext {
  from: ApiFormat;
  to: ApiFormat;
  source: JsonObject;
  target: JsonObject;
  used: Set<string>;
  drop: Drop;
}

// Handled by the adapters through the neutral fields (`stream`, `maxOutputTokens`, the system prompt).
const HANDLED_KEYS = new Set(['stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'instructions']);

function take(ctx: ExtraContext, key: string): unknown {
  ctx.used.add(key);
  return ctx.source[key];
}

function translateExtra(request: LlmRequest, to: ApiFormat, drop: Drop): JsonObject {
  const ctx: ExtraContext = { from: request.format, to, source: request.extra, target: {}, used: new Set(), drop };
  translateSampling(ctx);
  translateStop(ctx);
  translateTools(ctx);
  translateUser(ctx);
  translateOpenAiShared(ctx);
  for (const [key, value] of Object.entries(ctx.source)) if (!ctx.used.has(key) && !HANDLED_KEYS.has(key) && value !== null && value !== undefined) drop(key);
  // Responses stores every call unless told not to; neither Chat (store defaults to false) nor Anthropic does.
  if (to === 'openai-responses' && ctx.target.store === undefined) ctx.target.store = false;
  // Chat streams report usage only on request, and budgets need it.
  if (to === 'openai-chat' && request.stream) ctx.target.stream_options = { include_usage: true };
  return ctx.target;
}

function translateSampling(ctx: ExtraContext): void {
  const temperature = take(ctx, 'temperature');
  const topP = take(ctx, 'top_p');
  // Anthropic's temperature range is 0..1 (OpenAI's 0..2).
  if (typeof temperature === 'number') ctx.target.temperature = ctx.to === 'anthropic-messages' ? Math.min(temperature, 1) : temperature;
  if (typeof topP !== 'number') return;
  // Recent Claude models refuse temperature and top_p together: keep the more common one.
  if (ctx.to === 'anthropic-messages' && typeof temperature === 'number') ctx.drop('top_p');
  else ctx.target.top_p = topP;
}

function translateStop(ctx: ExtraContext): void {
  const key = ctx.from === 'anthropic-messages' ? 'stop_sequences' : ctx.from === 'openai-chat' ? 'stop' : undefined;
  if (!key) return;
  const value = take(ctx, key);
  const stops = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((stop) => typeof stop === 'string') : [];
  if (stops.length === 0) return;
  if (ctx.to === 'anthropic-messages') ctx.target.stop_sequences = stops;
  else if (ctx.to === 'openai-chat') ctx.target.stop = stops;
  else ctx.drop(key);
}

// ── tools ──

interface Tool { name: string; description?: string; parameters?: unknown; strict?: boolean }
type ToolChoice = { mode: 'auto' | 'none' | 'required' } | { mode: 'tool'; name: string };

function readTool(tool: unknown, from: ApiFormat): Tool | undefined {
  if (!isObject(tool)) return undefined;
  let fields: JsonObject | undefined;
  if (from === 'anthropic-messages') fields = tool.type === undefined || tool.type === 'custom' ? { ...tool, parameters: tool.input_schema } : undefined;
  else if (tool.type === 'function') fields = from === 'openai-chat' ? (isObject(tool.function) ? tool.function : undefined) : tool;
  if (!fields || typeof fields.name !== 'string') return undefined;
  const out: Tool = { name: fields.name };
  if (typeof fields.description === 'string') out.description = fields.description;
  if (fields.parameters !== undefined && fields.parameters !== null) out.parameters = fields.parameters;
  if (typeof fields.strict === 'boolean') out.strict = fields.strict;
  return out;
}

function writeTool(tool: Tool, to: ApiFormat): JsonObject {
  const description = tool.description !== undefined ? { description: tool.description } : {};
  const schema = tool.parameters ?? { type: 'object', properties: {} };
  if (to === 'anthropic-messages') return { name: tool.name, ...description, input_schema: schema };
  // Responses makes function tools strict unless told otherwise, which rejects most hand-written schemas.
  if (to === 'openai-responses') return { type: 'function', name: tool.name, ...description, parameters: schema, strict: tool.strict ?? false };
  const fn: JsonObject = { name: tool.name, ...description };
  if (tool.parameters !== undefined) fn.parameters = tool.parameters;
  if (tool.strict !== undefined) fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function readToolChoice(value: unknown, from: ApiFormat): ToolChoice | undefined {
  if (value === 'auto' || value === 'none' || value === 'required') return from === 'anthropic-messages' ? undefined : { mode: value };
  if (!isObject(value)) return undefined;
  if (from === 'anthropic-messages') {
    if (value.type === 'auto' || value.type === 'none') return { mode: value.type };
    if (value.type === 'any') return { mode: 'required' };
    return value.type === 'tool' && typeof value.name === 'string' ? { mode: 'tool', name: value.name } : undefined;
  }
  if (value.type !== 'function') return undefined;
  const name = from === 'openai-chat' ? (isObject(value.function) ? value.function.name : undefined) : value.name;
  return typeof name === 'string' ? { mode: 'tool', name } : undefined;
}

function writeToolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined, to: ApiFormat): JsonObject {
  if (to === 'anthropic-messages') {
    // Anthropic says "no parallel calls" inside tool_choice, which `none` does not accept.
    if (!choice && parallel !== false) return {};
    const mode = choice?.mode ?? 'auto';
    const base: JsonObject = mode === 'tool' ? { type: 'tool', name: (choice as { name: string }).name } : { type: mode === 'required' ? 'any' : mode };
    if (parallel === false && mode !== 'none') base.disable_parallel_tool_use = true;
    return { tool_choice: base };
  }
  const out: JsonObject = {};
  if (choice?.mode === 'tool') out.tool_choice = to === 'openai-chat' ? { type: 'function', function: { name: choice.name } } : { type: 'function', name: choice.name };
  else if (choice) out.tool_choice = choice.mode;
  if (parallel !== undefined) out.parallel_tool_calls = parallel;
  return out;
}

function translateTools(ctx: ExtraContext): void {
  const wire = take(ctx, 'tools');
  const tools: Tool[] = [];
  (Array.isArray(wire) ? wire : []).forEach((item, i) => {
    const tool = readTool(item, ctx.from);
    if (tool) tools.push(tool);
    else ctx.drop(`tools[${i}] (${wireType(item)})`);
  });
  const choiceValue = take(ctx, 'tool_choice');
  const choice = readToolChoice(choiceValue, ctx.from);
  if (choiceValue !== undefined && choiceValue !== null && !choice) ctx.drop('tool_choice');
  const parallel = ctx.from === 'anthropic-messages' ? (isObject(choiceValue) && choiceValue.disable_parallel_tool_use === true ? false : undefined) : take(ctx, 'parallel_tool_calls');
  // The APIs refuse tool_choice and parallel flags without tools.
  if (tools.length === 0) {
    if (choice) ctx.drop('tool_choice');
    if (typeof parallel === 'boolean' && ctx.from !== 'anthropic-messages') ctx.drop('parallel_tool_calls');
    return;
  }
  ctx.target.tools = tools.map((tool) => writeTool(tool, ctx.to));
  Object.assign(ctx.target, writeToolChoice(choice, typeof parallel === 'boolean' ? parallel : undefined, ctx.to));
}

/** The end user's id: OpenAI `user`, Anthropic `metadata.user_id`. */
function translateUser(ctx: ExtraContext): void {
  let user: unknown;
  if (ctx.from === 'anthropic-messages') {
    const metadata = take(ctx, 'metadata');
    for (const [key, value] of Object.entries(isObject(metadata) ? metadata : {})) {
      if (key === 'user_id') user = value;
      else if (meaningful(value)) ctx.drop(`metadata.${key}`);
    }
  } else user = take(ctx, 'user');
  if (typeof user !== 'string') return;
  if (ctx.to === 'anthropic-messages') ctx.target.metadata = { user_id: user };
  else ctx.target.user = user;
}

// Fields Chat and Responses share under the same name and meaning.
const SHARED_OPENAI_KEYS = ['metadata', 'store', 'safety_identifier', 'prompt_cache_key', 'service_tier'];

/** Between the two OpenAI formats: shared fields, reasoning effort, structured output format and verbosity. */
function translateOpenAiShared(ctx: ExtraContext): void {
  if (ctx.from === 'anthropic-messages' || ctx.to === 'anthropic-messages') return;
  for (const key of SHARED_OPENAI_KEYS) if (ctx.source[key] !== undefined) ctx.target[key] = take(ctx, key);
  if (ctx.from === 'openai-chat') {
    const effort = take(ctx, 'reasoning_effort');
    if (typeof effort === 'string') ctx.target.reasoning = { effort };
    const text: JsonObject = {};
    const format = take(ctx, 'response_format');
    if (isObject(format)) text.format = format.type === 'json_schema' && isObject(format.json_schema) ? { type: 'json_schema', ...format.json_schema } : format;
    const verbosity = take(ctx, 'verbosity');
    if (typeof verbosity === 'string') text.verbosity = verbosity;
    if (Object.keys(text).length > 0) ctx.target.text = text;
    return;
  }
  const reasoning = take(ctx, 'reasoning');
  for (const [key, value] of Object.entries(isObject(reasoning) ? reasoning : {})) {
    if (key === 'effort' && typeof value === 'string') ctx.target.reasoning_effort = value;
    else if (meaningful(value)) ctx.drop(`reasoning.${key}`);
  }
  const text = take(ctx, 'text');
  for (const [key, value] of Object.entries(isObject(text) ? text : {})) {
    if (key === 'format' && isObject(value)) {
      const { type, ...schema } = value;
      ctx.target.response_format = type === 'json_schema' ? { type, json_schema: schema } : value;
    } else if (key === 'verbosity' && typeof value === 'string') ctx.target.verbosity = value;
    else if (meaningful(value)) ctx.drop(`text.${key}`);
  }
}

// ───────────────────────────── answers ─────────────────────────────

/** An answer from a provider of another format, as the agent's format expects it (format, id, model, parts, finish reason, usage; wire-only extras of the source dropped). */
export function translateResponse(response: LlmResponse, to: ApiFormat): LlmResponse {
  if (response.format === to) return response;
  const out: LlmResponse = {
    format: to,
    id: response.id,
    model: response.model,
    parts: response.parts.flatMap((part) => answerPart(part, to)),
    finishReason: response.finishReason,
    // Empty: the target adapter then writes its own envelope (object, created, role, status…).
    extra: {},
  };
  if (response.usage) out.usage = { ...response.usage };
  return out;
}

function answerPart(part: LlmPart, to: ApiFormat): LlmPart[] {
  if (part.type === 'text') return part.text === '' ? [] : [{ type: 'text', text: part.text }];
  // An Anthropic thinking block needs a signature only Anthropic can make; sent back unsigned it fails the next turn.
  if (part.type === 'reasoning') return to === 'anthropic-messages' ? [] : [{ type: 'reasoning', text: part.text }];
  if (part.type === 'tool-call') return [{ type: 'tool-call', id: part.id, name: part.name, arguments: part.arguments }];
  return [];
}

/** The wire finish reason an adapter writes for a neutral one (the adapters keep their maps private). */
export function wireFinish(to: 'openai-chat' | 'anthropic-messages', reason: FinishReason): string {
  const body = adapters[to].serializeResponse({ format: to, id: '', model: '', parts: [], finishReason: reason, extra: {} });
  return String(to === 'openai-chat' ? (body.choices as JsonObject[])[0].finish_reason : body.stop_reason);
}

/** The wire usage object an adapter writes for neutral usage. */
export function wireUsage(to: ApiFormat, usage: Usage): JsonObject {
  return adapters[to].serializeResponse({ format: to, id: '', model: '', parts: [], finishReason: 'stop', usage, extra: {} }).usage as JsonObject;
}

// ───────────────────────────── streams ─────────────────────────────

/** One run of output in the target stream: a text block, a reasoning block or one tool call. */
interface Segment {
  kind: 'text' | 'reasoning' | 'tool';
  /** The source's index for this output (tool calls are told apart by it). */
  key: number;
  /** The target's index: choice/tool index (Chat), block index (Anthropic), output index (Responses). */
  slot: number;
  /** The target's item id (Responses). */
  itemId: string;
  id: string;
  name: string;
  /** Text or arguments so far. */
  text: string;
}

interface StreamState {
  id: string;
  model: string;
  usage?: Usage;
  finishReason?: FinishReason;
  toolCalls: number;
}

/** How one target format frames a stream; the translator core decides when segments open and close. */
interface StreamWriter {
  /** Whether the target can show reasoning that another provider produced. */
  readonly reasoning: boolean;
  start(state: StreamState): LlmStreamChunk[];
  open(segment: Segment, state: StreamState): LlmStreamChunk[];
  delta(segment: Segment, text: string, state: StreamState): LlmStreamChunk[];
  close(segment: Segment, state: StreamState): LlmStreamChunk[];
  finish(state: StreamState, reason: FinishReason): LlmStreamChunk[];
}

/** Turns the stream chunks of a provider speaking `from` into the chunk sequence `to` streams, incrementally (one upstream chunk in, zero or more out). */
export function createStreamTranslator(from: ApiFormat, to: ApiFormat, model: string, options: { includeUsage?: boolean } = {}): { push(chunk: LlmStreamChunk): LlmStreamChunk[] } {
  if (from === to) return { push: (chunk) => [chunk] };
  const writer = to === 'openai-chat' ? chatWriter(options.includeUsage ?? true) : to === 'anthropic-messages' ? anthropicWriter() : responsesWriter();
  const state: StreamState = { id: '', model, toolCalls: 0 };
  let started = false;
  let ended = false;
  let current: Segment | undefined;

  const close = (): LlmStreamChunk[] => {
    const out = current ? writer.close(current, state) : [];
    current = undefined;
    return out;
  };
  const open = (kind: Segment['kind'], key: number, id = '', name = ''): LlmStreamChunk[] => {
    const out = close();
    current = { kind, key, slot: 0, itemId: '', id, name, text: '' };
    return [...out, ...writer.open(current, state)];
  };
  const write = (kind: 'text' | 'reasoning', key: number, text: string): LlmStreamChunk[] => {
    const out = current?.kind === kind ? [] : open(kind, key);
    current!.text += text;
    return [...out, ...writer.delta(current!, text, state)];
  };
  const writeTool = (key: number, delta: NonNullable<LlmStreamChunk['toolCallDelta']>): LlmStreamChunk[] => {
    // A new call: another output index, or another id at the same index (some servers number every call 0).
    const fresh = current?.kind !== 'tool' || current.key !== key || (!!delta.id && !!current.id && delta.id !== current.id);
    const out = fresh ? open('tool', key, delta.id ?? '', delta.name ?? '') : [];
    if (fresh) state.toolCalls += 1;
    if (!delta.argumentsDelta) return out;
    current!.text += delta.argumentsDelta;
    return [...out, ...writer.delta(current!, delta.argumentsDelta, state)];
  };

  return {
    push(chunk) {
      if (ended) return [];
      absorb(state, chunk);
      if (chunk.error) {
        ended = true;
        const code = chunk.error.type?.startsWith('IRON_') ? chunk.error.type : IRON_UPSTREAM_ERROR;
        return [adapters[to].streamErrorChunk(code, chunk.error.message)];
      }
      const out: LlmStreamChunk[] = [];
      if (!started) {
        started = true;
        state.id ||= fallbackId(to);
        out.push(...writer.start(state));
      }
      const key = chunk.index ?? 0;
      if (chunk.reasoningDelta && writer.reasoning) out.push(...write('reasoning', key, chunk.reasoningDelta));
      if (chunk.textDelta) out.push(...write('text', key, chunk.textDelta));
      if (chunk.toolCallDelta) out.push(...writeTool(key, chunk.toolCallDelta));
      if (chunk.done) {
        ended = true;
        out.push(...close(), ...writer.finish(state, finalReason(state)));
      }
      return out;
    },
  };
}

function absorb(state: StreamState, chunk: LlmStreamChunk): void {
  if (chunk.id && !state.id) state.id = chunk.id;
  if (chunk.model) state.model = chunk.model;
  if (chunk.usage) state.usage = chunk.usage;
  if (chunk.finishReason) state.finishReason = chunk.finishReason;
}

// Responses streams have no finish reason (a function call in the output is the sign), so "stop" after calls means tool calls.
function finalReason(state: StreamState): FinishReason {
  const reason = state.finishReason ?? 'stop';
  return reason === 'stop' && state.toolCalls > 0 ? 'tool-calls' : reason;
}

function fallbackId(to: ApiFormat): string {
  const prefix = to === 'openai-chat' ? 'chatcmpl-' : to === 'anthropic-messages' ? 'msg_' : 'resp_';
  return prefix + randomUUID().replaceAll('-', '');
}

/** Chat: role chunk, content / reasoning / tool_calls deltas, finish chunk, usage chunk, `[DONE]`. */
function chatWriter(includeUsage: boolean): StreamWriter {
  const created = nowSeconds();
  let calls = 0;
  const envelope = (state: StreamState): JsonObject => ({ id: state.id, object: 'chat.completion.chunk', created, model: state.model });
  const piece = (state: StreamState, delta: JsonObject, neutral: Partial<LlmStreamChunk>, finish: string | null = null): LlmStreamChunk => ({
    data: { ...envelope(state), choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
    id: state.id,
    model: state.model,
    index: 0,
    ...neutral,
  });
  return {
    reasoning: true,
    start: (state) => [piece(state, { role: 'assistant', content: '', refusal: null }, {})],
    open(segment, state) {
      if (segment.kind !== 'tool') return [];
      segment.slot = calls++;
      const call = { index: segment.slot, id: segment.id, type: 'function', function: { name: segment.name, arguments: '' } };
      return [piece(state, { tool_calls: [call] }, { index: segment.slot, toolCallDelta: { id: segment.id, name: segment.name } })];
    },
    delta(segment, text, state) {
      if (segment.kind === 'text') return [piece(state, { content: text }, { textDelta: text })];
      if (segment.kind === 'reasoning') return [piece(state, { reasoning_content: text }, { reasoningDelta: text })];
      return [piece(state, { tool_calls: [{ index: segment.slot, function: { arguments: text } }] }, { index: segment.slot, toolCallDelta: { argumentsDelta: text } })];
    },
    close: () => [],
    finish(state, reason) {
      const usage = state.usage;
      // Without a usage chunk on the wire, plugins still get the figures on the finish chunk.
      const out = [piece(state, {}, { finishReason: reason, ...(usage && !includeUsage ? { usage } : {}) }, wireFinish('openai-chat', reason))];
      if (includeUsage && usage) out.push({ data: { ...envelope(state), choices: [], usage: wireUsage('openai-chat', usage) }, id: state.id, model: state.model, usage });
      out.push({ data: '[DONE]', done: true });
      return out;
    },
  };
}

/** Anthropic: message_start, content blocks (start / deltas / stop), message_delta, message_stop. */
function anthropicWriter(): StreamWriter {
  let blocks = 0;
  const event = (type: string, data: JsonObject, neutral: Partial<LlmStreamChunk> = {}): LlmStreamChunk => ({ event: type, data: { type, ...data }, ...neutral });
  return {
    reasoning: false,
    start(state) {
      const message = { id: state.id, type: 'message', role: 'assistant', model: state.model, content: [], stop_reason: null, stop_sequence: null, usage: wireUsage('anthropic-messages', state.usage ?? emptyUsage()) };
      return [event('message_start', { message }, { id: state.id, model: state.model, ...(state.usage ? { usage: state.usage } : {}) })];
    },
    open(segment) {
      segment.slot = blocks++;
      const index = segment.slot;
      if (segment.kind === 'tool') {
        const block = { type: 'tool_use', id: segment.id, name: segment.name, input: {} };
        return [event('content_block_start', { index, content_block: block }, { index, toolCallDelta: { id: segment.id, name: segment.name } })];
      }
      return [event('content_block_start', { index, content_block: { type: 'text', text: '' } }, { index })];
    },
    delta(segment, text) {
      const index = segment.slot;
      if (segment.kind === 'tool') return [event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: text } }, { index, toolCallDelta: { argumentsDelta: text } })];
      return [event('content_block_delta', { index, delta: { type: 'text_delta', text } }, { index, textDelta: text })];
    },
    close: (segment) => [event('content_block_stop', { index: segment.slot }, { index: segment.slot })],
    finish(state, reason) {
      // The whole usage goes in message_delta: sources such as Chat report input tokens only at the end.
      const usage = wireUsage('anthropic-messages', state.usage ?? emptyUsage());
      const delta = { stop_reason: wireFinish('anthropic-messages', reason), stop_sequence: null };
      return [
        event('message_delta', { delta, usage }, { finishReason: reason, ...(state.usage ? { usage: state.usage } : {}) }),
        event('message_stop', {}, { done: true, id: state.id }),
      ];
    },
  };
}

/** Responses: response.created, output items with their part/delta/done events, then response.completed with the whole answer. */
function responsesWriter(): StreamWriter {
  const adapter = adapters['openai-responses'];
  let sequence = 0;
  let outputs = 0;
  let createdAt: unknown;
  const items: JsonObject[] = [];
  const parts: LlmPart[] = [];
  const idCounts = new Map<string, number>();
  const event = (type: string, data: JsonObject, neutral: Partial<LlmStreamChunk> = {}): LlmStreamChunk => ({ event: type, data: { type, ...data, sequence_number: sequence++ }, ...neutral });
  const itemId = (prefix: string, state: StreamState): string => {
    const count = (idCounts.get(prefix) ?? 0) + 1;
    idCounts.set(prefix, count);
    return count === 1 ? `${prefix}_${state.id}` : `${prefix}_${state.id}_${count}`;
  };
  const itemEvent = (type: string, segment: Segment, data: JsonObject, neutral: Partial<LlmStreamChunk> = {}): LlmStreamChunk =>
    event(type, { item_id: segment.itemId, output_index: segment.slot, ...data }, { index: segment.slot, ...neutral });
  const added = (segment: Segment, item: JsonObject, neutral: Partial<LlmStreamChunk> = {}): LlmStreamChunk =>
    event('response.output_item.added', { output_index: segment.slot, item }, { index: segment.slot, ...neutral });
  const done = (segment: Segment, item: JsonObject, part: LlmPart): LlmStreamChunk => {
    items.push(item);
    parts.push(part);
    return event('response.output_item.done', { output_index: segment.slot, item }, { index: segment.slot });
  };
  return {
    reasoning: true,
    start(state) {
      const base = adapter.serializeResponse({ format: 'openai-responses', id: state.id, model: state.model, parts: [], finishReason: 'stop', extra: {} });
      createdAt = base.created_at;
      const pending = { ...base, status: 'in_progress', usage: null };
      const neutral = { id: state.id, model: state.model };
      return [event('response.created', { response: pending }, neutral), event('response.in_progress', { response: pending }, neutral)];
    },
    open(segment, state) {
      segment.slot = outputs++;
      if (segment.kind === 'tool') {
        segment.itemId = `fc_${segment.id}`;
        const item = { id: segment.itemId, type: 'function_call', status: 'in_progress', call_id: segment.id, name: segment.name, arguments: '' };
        return [added(segment, item, { toolCallDelta: { id: segment.id, name: segment.name } })];
      }
      if (segment.kind === 'reasoning') {
        segment.itemId = itemId('rs', state);
        return [
          added(segment, { id: segment.itemId, type: 'reasoning', summary: [] }),
          itemEvent('response.reasoning_summary_part.added', segment, { summary_index: 0, part: { type: 'summary_text', text: '' } }),
        ];
      }
      segment.itemId = itemId('msg', state);
      return [
        added(segment, { id: segment.itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] }),
        itemEvent('response.content_part.added', segment, { content_index: 0, part: { type: 'output_text', annotations: [], text: '' } }),
      ];
    },
    delta(segment, text) {
      if (segment.kind === 'tool') return [itemEvent('response.function_call_arguments.delta', segment, { delta: text }, { toolCallDelta: { argumentsDelta: text } })];
      if (segment.kind === 'reasoning') return [itemEvent('response.reasoning_summary_text.delta', segment, { summary_index: 0, delta: text }, { reasoningDelta: text })];
      return [itemEvent('response.output_text.delta', segment, { content_index: 0, delta: text, logprobs: [] }, { textDelta: text })];
    },
    close(segment) {
      const text = segment.text;
      if (segment.kind === 'tool') {
        const item = { id: segment.itemId, type: 'function_call', status: 'completed', call_id: segment.id, name: segment.name, arguments: text };
        return [
          itemEvent('response.function_call_arguments.done', segment, { name: segment.name, arguments: text }),
          done(segment, item, { type: 'tool-call', id: segment.id, name: segment.name, arguments: text }),
        ];
      }
      if (segment.kind === 'reasoning') {
        const part = { type: 'summary_text', text };
        return [
          itemEvent('response.reasoning_summary_text.done', segment, { summary_index: 0, text }),
          itemEvent('response.reasoning_summary_part.done', segment, { summary_index: 0, part }),
          done(segment, { id: segment.itemId, type: 'reasoning', summary: [part] }, { type: 'reasoning', text }),
        ];
      }
      const part = { type: 'output_text', annotations: [], text };
      return [
        itemEvent('response.output_text.done', segment, { content_index: 0, text, logprobs: [] }),
        itemEvent('response.content_part.done', segment, { content_index: 0, part }),
        done(segment, { id: segment.itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] }, { type: 'text', text }),
      ];
    },
    finish(state, reason) {
      // The streamed items are passed as the original `output`, so the adapter keeps their ids and order.
      const answer: LlmResponse = { format: 'openai-responses', id: state.id, model: state.model, parts, finishReason: reason, extra: { created_at: createdAt, output: items } };
      if (state.usage) answer.usage = state.usage;
      const type = reason === 'length' ? 'response.incomplete' : 'response.completed';
      const neutral = { id: state.id, model: state.model, done: true, finishReason: reason, ...(state.usage ? { usage: state.usage } : {}) };
      return [event(type, { response: adapter.serializeResponse(answer) }, neutral)];
    },
  };
}
