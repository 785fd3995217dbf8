// Translation between wire formats: requests forward, answers and streams back, checked against the adapters
// (the target parses what we write) and the official SDKs (an agent's client accepts what we stream).
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { StreamAssembler } from '../llm/assemble.ts';
import type { ApiFormat, JsonObject, LlmPart, LlmResponse, LlmStreamChunk, Usage } from '../llm/types.ts';
import { adapters } from './adapters.ts';
import { encodeSseChunk, SseParser } from './sse.ts';
import { createStreamTranslator, translateRequest, translateResponse } from './translate.ts';

const FORMATS: ApiFormat[] = ['openai-chat', 'openai-responses', 'anthropic-messages'];
const PAIRS = FORMATS.flatMap((from) => FORMATS.filter((to) => to !== from).map((to): [ApiFormat, ApiFormat] => [from, to]));

const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const description = 'Current weather for a city';
const SYSTEM = 'You are a travel assistant.';

// The same conversation in each format: system prompt, question, a tool call and its result, plus fields only that format has.
const requests: Record<ApiFormat, JsonObject> = {
  'openai-chat': {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Weather in Paris?', name: 'ann' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '18°C and sunny' },
    ],
    tools: [{ type: 'function', function: { name: 'get_weather', description, parameters: schema } }],
    tool_choice: 'auto',
    temperature: 0.3,
    stop: ['END'],
    max_tokens: 300,
    user: 'user-42',
    logit_bias: { '1234': -100 },
  },
  'anthropic-messages': {
    model: 'claude-sonnet-4-6',
    max_tokens: 300,
    system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'I need the weather.', signature: 'sig' }, { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18°C and sunny' }] },
    ],
    tools: [{ name: 'get_weather', description, input_schema: schema }, { type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
    tool_choice: { type: 'auto' },
    temperature: 0.3,
    stop_sequences: ['END'],
    top_k: 40,
    metadata: { user_id: 'user-42' },
  },
  'openai-responses': {
    model: 'gpt-4.1',
    instructions: SYSTEM,
    input: [
      { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
      { type: 'function_call_output', call_id: 'call_1', output: '18°C and sunny' },
    ],
    tools: [{ type: 'function', name: 'get_weather', description, parameters: schema, strict: false }, { type: 'web_search' }],
    tool_choice: 'auto',
    temperature: 0.3,
    max_output_tokens: 300,
    user: 'user-42',
    store: false,
    reasoning: { effort: 'low' },
  },
};

function translated(from: ApiFormat, to: ApiFormat, body: JsonObject = requests[from]): { body: any; dropped: string[] } {
  const { request, dropped } = translateRequest(adapters[from].parseRequest(structuredClone(body)), to);
  return { body: adapters[to].serializeRequest(request), dropped };
}

/** The facts every target body must carry, read the target's way. */
function facts(to: ApiFormat, body: any): JsonObject {
  if (to === 'openai-chat') {
    const messages: any[] = body.messages;
    return {
      turns: messages.map((m) => m.role),
      system: messages.find((m) => m.role === 'system')?.content,
      calls: messages.flatMap((m) => m.tool_calls ?? []).map((c: any) => ({ id: c.id, name: c.function.name, input: JSON.parse(c.function.arguments) })),
      results: messages.filter((m) => m.role === 'tool').map((m) => ({ id: m.tool_call_id, output: m.content })),
      tools: body.tools.map((t: any) => ({ name: t.function.name, schema: t.function.parameters })),
      max: body.max_tokens,
    };
  }
  if (to === 'anthropic-messages') {
    const blocks = (role: string): any[] => body.messages.filter((m: any) => m.role === role).flatMap((m: any) => (Array.isArray(m.content) ? m.content : []));
    return {
      turns: body.messages.map((m: any) => m.role),
      system: body.system,
      calls: blocks('assistant').filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.input })),
      results: blocks('user').filter((b) => b.type === 'tool_result').map((b) => ({ id: b.tool_use_id, output: b.content })),
      tools: body.tools.map((t: any) => ({ name: t.name, schema: t.input_schema })),
      max: body.max_tokens,
    };
  }
  const input: any[] = body.input;
  return {
    turns: input.map((item) => item.type ?? item.role),
    system: body.instructions,
    calls: input.filter((i) => i.type === 'function_call').map((i) => ({ id: i.call_id, name: i.name, input: JSON.parse(i.arguments) })),
    results: input.filter((i) => i.type === 'function_call_output').map((i) => ({ id: i.call_id, output: i.output })),
    tools: body.tools.map((t: any) => ({ name: t.name, schema: t.parameters })),
    max: body.max_output_tokens,
  };
}

const TURNS: Record<ApiFormat, string[]> = {
  'openai-chat': ['system', 'user', 'assistant', 'tool'],
  'anthropic-messages': ['user', 'assistant', 'user'],
  'openai-responses': ['user', 'function_call', 'function_call_output'],
};

describe('translateRequest', () => {
  it.each(PAIRS)('%s → %s: system prompt, tool call and result, tools and output cap land where the target wants them', (from, to) => {
    const { body } = translated(from, to);
    expect(facts(to, body)).toEqual({
      turns: TURNS[to],
      system: SYSTEM,
      calls: [{ id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }],
      results: [{ id: 'call_1', output: '18°C and sunny' }],
      tools: [{ name: 'get_weather', schema }],
      max: 300,
    });
    expect(body.temperature).toBe(0.3);
    // The target adapter reads its own body back.
    expect(() => adapters[to].parseRequest(structuredClone(body))).not.toThrow();
  });

  it('openai-chat → anthropic-messages: the exact body, and what was dropped', () => {
    const { body, dropped } = translated('openai-chat', 'anthropic-messages');
    expect(body).toEqual({
      model: 'gpt-4o',
      system: SYSTEM,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18°C and sunny' }] },
      ],
      tools: [{ name: 'get_weather', description, input_schema: schema }],
      tool_choice: { type: 'auto' },
      temperature: 0.3,
      stop_sequences: ['END'],
      max_tokens: 300,
      metadata: { user_id: 'user-42' },
    });
    expect(dropped.sort()).toEqual(['logit_bias', 'messages[].name']);
  });

  it('anthropic-messages → openai-chat: the exact body, and what was dropped', () => {
    const { body, dropped } = translated('anthropic-messages', 'openai-chat');
    expect(body).toEqual({
      model: 'claude-sonnet-4-6',
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ type: 'function', id: 'call_1', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C and sunny' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', description, parameters: schema } }],
      tool_choice: 'auto',
      temperature: 0.3,
      stop: ['END'],
      max_tokens: 300,
      user: 'user-42',
    });
    expect(dropped.sort()).toEqual(['messages[].content[].cache_control', 'messages[].reasoning', 'tools[1] (web_search_20250305)', 'top_k']);
  });

  it('openai-chat → openai-responses: the exact body, and what was dropped', () => {
    const { body, dropped } = translated('openai-chat', 'openai-responses');
    expect(body).toEqual({
      model: 'gpt-4o',
      instructions: SYSTEM,
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '18°C and sunny' },
      ],
      tools: [{ type: 'function', name: 'get_weather', description, parameters: schema, strict: false }],
      tool_choice: 'auto',
      temperature: 0.3,
      max_output_tokens: 300,
      user: 'user-42',
      store: false,
    });
    expect(dropped.sort()).toEqual(['logit_bias', 'messages[].name', 'stop']);
  });

  it('openai-responses → anthropic-messages and → openai-chat: reasoning items and built-in tools are dropped, shared settings kept', () => {
    const anthropic = translated('openai-responses', 'anthropic-messages');
    expect(anthropic.body).toMatchObject({ system: SYSTEM, tool_choice: { type: 'auto' }, metadata: { user_id: 'user-42' } });
    expect(anthropic.dropped.sort()).toEqual(['messages[] (reasoning)', 'reasoning', 'store', 'tools[1] (web_search)']);
    const chat = translated('openai-responses', 'openai-chat');
    expect(chat.body).toMatchObject({ reasoning_effort: 'low', store: false, user: 'user-42', tool_choice: 'auto' });
    expect(chat.dropped.sort()).toEqual(['messages[] (reasoning)', 'tools[1] (web_search)']);
  });

  it('returns the same request when the format does not change', () => {
    const request = adapters['openai-chat'].parseRequest(structuredClone(requests['openai-chat']));
    const result = translateRequest(request, 'openai-chat');
    expect(result.request).toBe(request);
    expect(result.dropped).toEqual([]);
  });

  it('keeps the stream flag, asks Chat for stream usage, and gives Anthropic a max_tokens', () => {
    const toChat = translated('anthropic-messages', 'openai-chat', { model: 'claude-sonnet-4-6', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(toChat.body).toEqual({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true }, max_tokens: 50 });
    const toAnthropic = translated('openai-chat', 'anthropic-messages', { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    expect(toAnthropic).toEqual({ body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 4096 }, dropped: [] });
  });

  it('maps tool choice, parallel calls and a temperature above Anthropic’s range', () => {
    const base = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools: requests['openai-chat'].tools };
    const forced = translated('openai-chat', 'anthropic-messages', { ...base, tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false, temperature: 1.6, top_p: 0.9 });
    expect(forced.body).toMatchObject({ tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true }, temperature: 1 });
    expect(forced.body.top_p).toBeUndefined();
    expect(forced.dropped).toEqual(['top_p']);
    expect(translated('openai-chat', 'anthropic-messages', { ...base, tool_choice: 'required' }).body.tool_choice).toEqual({ type: 'any' });
    const back = translated('anthropic-messages', 'openai-responses', { model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], tools: requests['anthropic-messages'].tools, tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true } });
    expect(back.body).toMatchObject({ tool_choice: { type: 'function', name: 'get_weather' }, parallel_tool_calls: false });
    const none = translated('openai-responses', 'openai-chat', { model: 'g', input: 'hi', tools: requests['openai-responses'].tools, tool_choice: 'none' });
    expect(none.body.tool_choice).toBe('none');
  });

  it('merges and splits turns: parallel calls, several results, text after a result', () => {
    const responses = {
      model: 'gpt-4.1',
      input: [
        { role: 'user', content: 'Paris and Rome?' },
        { role: 'assistant', content: 'Checking both.' },
        { type: 'function_call', call_id: 'a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'b', name: 'get_weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'a', output: 'sunny' },
        { type: 'function_call_output', call_id: 'b', output: 'rain' },
        { role: 'user', content: 'And tomorrow?' },
      ],
    };
    const call = (id: string, city: string) => ({ type: 'function', id, function: { name: 'get_weather', arguments: `{"city":"${city}"}` } });
    // Chat: the calls share one assistant message, which the tool messages answer.
    expect(translated('openai-responses', 'openai-chat', responses).body.messages).toEqual([
      { role: 'user', content: 'Paris and Rome?' },
      { role: 'assistant', content: 'Checking both.', tool_calls: [call('a', 'Paris'), call('b', 'Rome')] },
      { role: 'tool', tool_call_id: 'a', content: 'sunny' },
      { role: 'tool', tool_call_id: 'b', content: 'rain' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
    // Anthropic: one assistant turn with both calls, one user turn with both results first, then the text.
    const anthropic = translated('openai-responses', 'anthropic-messages', responses).body;
    expect(anthropic.messages).toEqual([
      { role: 'user', content: 'Paris and Rome?' },
      { role: 'assistant', content: [{ type: 'text', text: 'Checking both.' }, { type: 'tool_use', id: 'a', name: 'get_weather', input: { city: 'Paris' } }, { type: 'tool_use', id: 'b', name: 'get_weather', input: { city: 'Rome' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: 'sunny' }, { type: 'tool_result', tool_use_id: 'b', content: 'rain' }, { type: 'text', text: 'And tomorrow?' }] },
    ]);
    expect(anthropic.max_tokens).toBe(4096);
    // And back to Responses: the Anthropic user turn splits into outputs and a message again.
    const again = translated('anthropic-messages', 'openai-responses', anthropic).body;
    expect(again.input).toEqual([
      { role: 'user', content: 'Paris and Rome?' },
      { role: 'assistant', content: 'Checking both.' },
      ...responses.input.slice(2, 6),
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  it('carries images across all three formats and back, and lists what it cannot carry', () => {
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };
    const document = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'notes' } };
    const start = { model: 'c', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, image, document] }] };
    const chat = translated('anthropic-messages', 'openai-chat', start);
    expect(chat.body.messages[0].content).toEqual([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }]);
    expect(chat.dropped).toEqual(['messages[].content[] (document)']);
    const responses = translated('openai-chat', 'openai-responses', chat.body);
    expect(responses.body.input[0].content).toEqual([{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' }]);
    const back = translated('openai-responses', 'anthropic-messages', responses.body);
    expect(back.body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] }]);
    const url = translated('openai-chat', 'anthropic-messages', { model: 'g', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/cat.png' } }] }] });
    expect(url.body.messages[0].content).toEqual([{ type: 'image', source: { type: 'url', url: 'https://x/cat.png' } }]);
  });
});

// ───────────────────────────── answers ─────────────────────────────

const usage: Usage = { inputTokens: 120, outputTokens: 15, cacheReadTokens: 100, cacheWriteTokens: 0, reasoningTokens: 0 };
const ANSWERS: Record<'text' | 'tool call', { parts: LlmPart[]; finishReason: LlmResponse['finishReason'] }> = {
  text: { parts: [{ type: 'text', text: 'It is 18°C and sunny in Paris, a fine day for a walk.' }], finishReason: 'stop' },
  'tool call': { parts: [{ type: 'text', text: 'Let me check the weather.' }, { type: 'tool-call', id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' }], finishReason: 'tool-calls' },
};
const KINDS = Object.keys(ANSWERS) as Array<keyof typeof ANSWERS>;
const CASES = PAIRS.flatMap(([from, to]) => KINDS.map((kind): [ApiFormat, ApiFormat, keyof typeof ANSWERS] => [from, to, kind]));

/** An answer as the source provider would send it: written by its adapter and parsed back, wire extras included. */
function sourceAnswer(format: ApiFormat, kind: keyof typeof ANSWERS): LlmResponse {
  const neutral: LlmResponse = { format, id: 'up_1', model: 'upstream-model', ...structuredClone(ANSWERS[kind]), usage, extra: {} };
  return adapters[format].parseResponse(adapters[format].serializeResponse(neutral));
}

function neutralParts(parts: LlmPart[]): LlmPart[] {
  return parts.map((part) => {
    if (part.type === 'text' || part.type === 'reasoning') return { type: part.type, text: part.text };
    if (part.type === 'tool-call') return { type: 'tool-call', id: part.id, name: part.name, arguments: part.arguments };
    return part;
  });
}

function expectWireEnvelope(to: ApiFormat, body: any): void {
  if (to === 'openai-chat') {
    expect(body).toMatchObject({ id: 'up_1', object: 'chat.completion', model: 'upstream-model', choices: [{ index: 0, message: { role: 'assistant' } }] });
    expect(typeof body.created).toBe('number');
    expect(typeof body.choices[0].finish_reason).toBe('string');
    for (const call of body.choices[0].message.tool_calls ?? []) expect(call).toMatchObject({ type: 'function', id: expect.any(String), function: { name: expect.any(String), arguments: expect.any(String) } });
    expect(body.usage).toMatchObject({ prompt_tokens: 120, completion_tokens: 15, total_tokens: 135 });
  } else if (to === 'anthropic-messages') {
    expect(body).toMatchObject({ id: 'up_1', type: 'message', role: 'assistant', model: 'upstream-model', stop_sequence: null, usage: { input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 15 } });
    expect(Array.isArray(body.content)).toBe(true);
    expect(typeof body.stop_reason).toBe('string');
  } else {
    expect(body).toMatchObject({ id: 'up_1', object: 'response', status: 'completed', error: null, model: 'upstream-model', usage: { input_tokens: 120, output_tokens: 15, total_tokens: 135 } });
    expect(typeof body.created_at).toBe('number');
    for (const item of body.output) expect(item).toMatchObject({ id: expect.any(String), type: expect.stringMatching(/^(message|function_call)$/) });
  }
}

describe('translateResponse', () => {
  it.each(CASES)('%s → %s (%s answer): the target writes a complete body that parses back to the same answer', (from, to, kind) => {
    const answer = translateResponse(sourceAnswer(from, kind), to);
    expect(answer).toMatchObject({ format: to, id: 'up_1', model: 'upstream-model', extra: {} });
    const body = adapters[to].serializeResponse(answer);
    expectWireEnvelope(to, body);
    const parsed = adapters[to].parseResponse(structuredClone(body));
    expect(neutralParts(parsed.parts)).toEqual(ANSWERS[kind].parts);
    expect(parsed.finishReason).toBe(ANSWERS[kind].finishReason);
    expect(parsed.usage).toEqual(usage);
  });

  it('keeps reasoning for OpenAI targets, but not for Anthropic, which would need a signature', () => {
    const withReasoning: LlmResponse = { format: 'openai-chat', id: 'r', model: 'm', parts: [{ type: 'reasoning', text: 'hmm' }, { type: 'text', text: 'ok' }], finishReason: 'stop', extra: {} };
    expect(translateResponse(withReasoning, 'openai-responses').parts).toEqual(withReasoning.parts);
    expect(translateResponse(withReasoning, 'anthropic-messages').parts).toEqual([{ type: 'text', text: 'ok' }]);
  });
});

// ───────────────────────────── streams ─────────────────────────────

/** A Responses stream with a function call, as OpenAI sends it (the adapter's encodeStream writes text only). */
function responsesToolStream(response: LlmResponse): LlmStreamChunk[] {
  let sequence = 0;
  const event = (type: string, data: JsonObject): LlmStreamChunk => ({ event: type, data: { type, ...data, sequence_number: sequence++ } });
  const final = adapters['openai-responses'].serializeResponse(response);
  const [message, call] = final.output as any[];
  const text = message.content[0].text;
  return [
    event('response.created', { response: { ...final, status: 'in_progress', output: [], usage: null } }),
    event('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } }),
    event('response.content_part.added', { item_id: message.id, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], text: '' } }),
    event('response.output_text.delta', { item_id: message.id, output_index: 0, content_index: 0, delta: text.slice(0, 9), logprobs: [] }),
    event('response.output_text.delta', { item_id: message.id, output_index: 0, content_index: 0, delta: text.slice(9), logprobs: [] }),
    event('response.output_text.done', { item_id: message.id, output_index: 0, content_index: 0, text, logprobs: [] }),
    event('response.output_item.done', { output_index: 0, item: message }),
    event('response.output_item.added', { output_index: 1, item: { ...call, status: 'in_progress', arguments: '' } }),
    event('response.function_call_arguments.delta', { item_id: call.id, output_index: 1, delta: '{"city":' }),
    event('response.function_call_arguments.delta', { item_id: call.id, output_index: 1, delta: '"Paris"}' }),
    event('response.function_call_arguments.done', { item_id: call.id, output_index: 1, arguments: call.arguments }),
    event('response.output_item.done', { output_index: 1, item: call }),
    event('response.completed', { response: final }),
  ];
}

/** Chunks as a provider of `format` streams `answer`, decoded the way the gateway decodes an upstream. */
function upstream(format: ApiFormat, kind: keyof typeof ANSWERS): LlmStreamChunk[] {
  const answer = sourceAnswer(format, kind);
  const wire = format === 'openai-responses' && kind === 'tool call' ? responsesToolStream(answer) : adapters[format].encodeStream(answer, { includeUsage: true });
  return decodeSse(format, wire.map(encodeSseChunk).join(''));
}

function decodeSse(format: ApiFormat, text: string): LlmStreamChunk[] {
  const parser = new SseParser();
  const decode = adapters[format].createStreamDecoder();
  return [...parser.push(text), ...parser.end()].map(decode);
}

function translateAll(from: ApiFormat, to: ApiFormat, chunks: LlmStreamChunk[]): LlmStreamChunk[] {
  const translator = createStreamTranslator(from, to, 'fallback-model');
  return chunks.flatMap((chunk) => translator.push(chunk));
}

function assemble(format: ApiFormat, chunks: LlmStreamChunk[]): { response: LlmResponse; complete: boolean } {
  const assembler = new StreamAssembler(format, 'x');
  for (const chunk of chunks) assembler.add(chunk);
  return { response: assembler.response(), complete: assembler.complete };
}

describe('createStreamTranslator', () => {
  it.each(CASES)('%s → %s (%s answer): the target decoder rebuilds the same answer', (from, to, kind) => {
    const out = translateAll(from, to, upstream(from, kind));
    for (const chunk of out) {
      expect(chunk.data).toBeDefined();
      expect(chunk.raw).toBeUndefined();
      if (to === 'openai-chat') expect(chunk.event).toBeUndefined();
      else expect(chunk.event).toBe((chunk.data as JsonObject).type);
    }
    const expected = { parts: ANSWERS[kind].parts, finishReason: ANSWERS[kind].finishReason, usage };
    // What plugins read: the neutral fields of the emitted chunks.
    const neutral = assemble(to, out);
    expect(neutral.complete).toBe(true);
    expect(neutral.response).toMatchObject({ id: 'up_1', model: 'upstream-model', ...expected });
    // What the agent reads: the wire text, decoded by the target's own decoder.
    const wire = out.map(encodeSseChunk).join('');
    const decodedChunks = decodeSse(to, wire);
    const decoded = assemble(to, decodedChunks);
    expect(decoded.complete).toBe(true);
    expect(decoded.response.parts).toEqual(expected.parts);
    expect(decoded.response.usage).toEqual(usage);
    if (to === 'openai-responses') {
      // Responses streams carry no finish reason: it is read from the final response object.
      const completed = decodedChunks.at(-1)!.data as JsonObject;
      expect(completed.type).toBe('response.completed');
      const final = adapters[to].parseResponse(completed.response);
      expect(final).toMatchObject({ id: 'up_1', finishReason: expected.finishReason, usage });
      expect(neutralParts(final.parts)).toEqual(expected.parts);
      const sequence = out.map((chunk) => (chunk.data as JsonObject).sequence_number);
      expect(sequence).toEqual(sequence.map((_, i) => i));
    } else expect(decoded.response.finishReason).toBe(expected.finishReason);
  });

  it('is incremental: each text delta goes out as soon as it arrives', () => {
    const translator = createStreamTranslator('anthropic-messages', 'openai-chat', 'm');
    const chunks = upstream('anthropic-messages', 'text');
    const first = chunks.findIndex((chunk) => chunk.textDelta);
    const before = chunks.slice(0, first).flatMap((chunk) => translator.push(chunk));
    expect(before.some((chunk) => chunk.textDelta)).toBe(false);
    expect(translator.push(chunks[first]).map((chunk) => chunk.textDelta)).toEqual([chunks[first].textDelta]);
  });

  it('frames each target the way its API does', () => {
    // The source streams 'Let me check the weather.' in two pieces, then the call in one.
    const events = (to: ApiFormat) => translateAll('openai-chat', to, upstream('openai-chat', 'tool call')).map((chunk) => chunk.event ?? chunk.data);
    expect(events('anthropic-messages')).toEqual([
      'message_start',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
    expect(events('openai-responses')).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
      'response.completed',
    ]);
    const chat = translateAll('anthropic-messages', 'openai-chat', upstream('anthropic-messages', 'tool call')).map((chunk) => chunk.data as any);
    expect(chat[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chat.find((c) => c.choices?.[0]?.delta.tool_calls)?.choices[0].delta.tool_calls).toEqual([{ index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } }]);
    expect(chat.at(-3).choices[0]).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
    expect(chat.at(-2)).toMatchObject({ choices: [], usage: { prompt_tokens: 120, completion_tokens: 15 } });
    expect(chat.at(-1)).toBe('[DONE]');
  });

  it('turns an upstream error into the target’s in-stream error event and stops', () => {
    const chunks = upstream('openai-chat', 'text');
    const failure: LlmStreamChunk = { data: { error: { message: 'overloaded', type: 'server_error' } }, error: { type: 'server_error', message: 'overloaded' } };
    for (const to of ['anthropic-messages', 'openai-responses'] as const) {
      const translator = createStreamTranslator('openai-chat', to, 'm');
      translator.push(chunks[0]);
      const out = translator.push(failure);
      expect(out).toEqual([adapters[to].streamErrorChunk('IRON_UPSTREAM_ERROR', 'overloaded')]);
      expect(out[0].event).toBe('error');
      expect(translator.push(chunks[1])).toEqual([]);
    }
  });

  it('streams reasoning to the OpenAI formats, and leaves it out for Anthropic', () => {
    const source: LlmStreamChunk[] = [
      { data: {}, id: 'r1', model: 'm' },
      { data: {}, reasoningDelta: 'Thinking ' },
      { data: {}, reasoningDelta: 'hard.' },
      { data: {}, textDelta: 'Done.' },
      { data: {}, finishReason: 'stop', usage },
      { data: '[DONE]', done: true },
    ];
    for (const to of ['openai-chat', 'openai-responses'] as const) {
      const translated = createStreamTranslator('anthropic-messages', to, 'm');
      const wire = source.flatMap((chunk) => translated.push(chunk)).map(encodeSseChunk).join('');
      expect(assemble(to, decodeSse(to, wire)).response.parts).toEqual([{ type: 'reasoning', text: 'Thinking hard.' }, { type: 'text', text: 'Done.' }]);
    }
    const toAnthropic = createStreamTranslator('openai-chat', 'anthropic-messages', 'm');
    const out = source.flatMap((chunk) => toAnthropic.push(chunk));
    expect(assemble('anthropic-messages', out).response.parts).toEqual([{ type: 'text', text: 'Done.' }]);
  });

  it('passes chunks through when both sides speak the same format', () => {
    const chunk = upstream('openai-chat', 'text')[1];
    expect(createStreamTranslator('openai-chat', 'openai-chat', 'm').push(chunk)).toEqual([chunk]);
  });
});

// ───────────────────────────── official SDKs ─────────────────────────────

/** A fetch that answers every call with the SSE text of `chunks`. */
function sseFetch(chunks: LlmStreamChunk[]): typeof fetch {
  const body = chunks.map(encodeSseChunk).join('');
  return async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

function sdkCases(to: ApiFormat): ApiFormat[] {
  return FORMATS.filter((from) => from !== to);
}

describe('official SDKs read the translated streams', () => {
  it.each(sdkCases('openai-chat'))('openai chat.completions, from %s', async (from) => {
    const chunks = translateAll(from, 'openai-chat', upstream(from, 'tool call'));
    const client = new OpenAI({ apiKey: 'x', maxRetries: 0, fetch: sseFetch(chunks) });
    const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], stream_options: { include_usage: true } };
    let text = '';
    let args = '';
    let tokens: number | undefined;
    for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) {
      const delta = chunk.choices[0]?.delta;
      text += delta?.content ?? '';
      for (const call of delta?.tool_calls ?? []) args += call.function?.arguments ?? '';
      if (chunk.usage) tokens = chunk.usage.prompt_tokens;
    }
    expect({ text, args, tokens }).toEqual({ text: 'Let me check the weather.', args: '{"city":"Paris"}', tokens: 120 });
    const final = await client.chat.completions.stream(params).finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    expect(final.choices[0].message.content).toBe('Let me check the weather.');
    expect(final.choices[0].message.tool_calls).toEqual([{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(final.usage).toMatchObject({ prompt_tokens: 120, completion_tokens: 15 });
  });

  it.each(sdkCases('anthropic-messages'))('@anthropic-ai/sdk messages.stream, from %s', async (from) => {
    const chunks = translateAll(from, 'anthropic-messages', upstream(from, 'tool call'));
    const client = new Anthropic({ apiKey: 'x', maxRetries: 0, fetch: sseFetch(chunks) });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const message = await stream.finalMessage();
    expect(text).toBe('Let me check the weather.');
    expect(message).toMatchObject({
      id: 'up_1',
      role: 'assistant',
      stop_reason: 'tool_use',
      content: [{ type: 'text', text: 'Let me check the weather.' }, { type: 'tool_use', id: 'call_9', name: 'get_weather', input: { city: 'Paris' } }],
      usage: { input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 15 },
    });
  });

  it.each(sdkCases('openai-responses'))('openai responses.create and responses.stream, from %s', async (from) => {
    const chunks = translateAll(from, 'openai-responses', upstream(from, 'tool call'));
    const client = new OpenAI({ apiKey: 'x', maxRetries: 0, fetch: sseFetch(chunks) });
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of await client.responses.create({ model: 'gpt-4.1', input: 'Weather in Paris?', stream: true })) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(text).toBe('Let me check the weather.');
    expect(completed).toMatchObject({ id: 'up_1', status: 'completed', usage: { input_tokens: 120, output_tokens: 15 } });
    const final = await client.responses.stream({ model: 'gpt-4.1', input: 'Weather in Paris?' }).finalResponse();
    expect(final.output_text).toBe('Let me check the weather.');
    expect(final.output.find((item) => item.type === 'function_call')).toMatchObject({ call_id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' });
  });
});
