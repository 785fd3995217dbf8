// The wire-format adapters: lossless round trips, field-naming errors, and streams decoded from a real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IronError, LlmError } from '../errors.ts';
import { StreamAssembler } from '../llm/assemble.ts';
import type { ApiFormat, LlmStreamChunk } from '../llm/types.ts';
import { startFakeProvider, type FakeProvider } from '../../test/fake-provider/index.ts';
import { adapterForPath, adapters } from './adapters.ts';
import { createSseParser, encodeSseChunk } from './sse.ts';

const chatRequest = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'developer', content: 'Be terse.' },
    { role: 'user', content: [{ type: 'text', text: 'What is on this picture?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }], name: 'ann' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'a cat' }] },
    { role: 'assistant', content: 'A cat.', refusal: null },
  ],
  max_completion_tokens: 300,
  temperature: 0.2,
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
  stream: false,
  x_vendor_field: { keep: [1, 2, 3] },
};

const chatResponse = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 20, completion_tokens: 3, total_tokens: 23, prompt_tokens_details: { cached_tokens: 8, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
  system_fingerprint: 'fp_1',
};

const responsesRequest = {
  model: 'gpt-4.1',
  instructions: 'You are helpful.',
  input: [
    { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
    { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}', id: 'fc_1', status: 'completed' },
    { type: 'function_call_output', call_id: 'c1', output: '18°C' },
    { type: 'reasoning', id: 'rs_1', summary: [] },
    { role: 'assistant', content: 'It is 18°C.' },
  ],
  max_output_tokens: 500,
  store: false,
  reasoning: { effort: 'low' },
};

const responsesResponse = {
  id: 'resp_1',
  object: 'response',
  created_at: 1700000000,
  status: 'completed',
  error: null,
  incomplete_details: null,
  model: 'gpt-4.1-2025-04-14',
  output: [
    { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Thinking about it.' }] },
    { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [{ type: 'url_citation', url: 'https://x' }], text: 'Sunny.' }] },
  ],
  usage: { input_tokens: 50, input_tokens_details: { cached_tokens: 0 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 5 }, total_tokens: 62 },
  metadata: {},
};

const anthropicRequest = {
  model: 'claude-sonnet-4-6',
  max_tokens: 1024,
  system: [{ type: 'text', text: 'You are a reviewer.', cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'user', content: 'Review this.' },
    { role: 'assistant', content: [{ type: 'thinking', thinking: 'Hmm.', signature: 'sig' }, { type: 'tool_use', id: 'tu_1', name: 'read', input: { path: 'a.ts', lines: [1, 2] } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: [{ type: 'text', text: 'code' }], is_error: false }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
  ],
  metadata: { user_id: 'u1' },
  stream: false,
};

const anthropicResponse = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  content: [{ type: 'text', text: 'Looks good.', citations: null }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 4, service_tier: 'standard' },
};

describe('adapters: lossless round trips', () => {
  const cases: Array<[ApiFormat, object, object]> = [
    ['openai-chat', chatRequest, chatResponse],
    ['openai-responses', responsesRequest, responsesResponse],
    ['anthropic-messages', anthropicRequest, anthropicResponse],
  ];
  it.each(cases)('%s: serialize(parse(body)) equals the body, for requests and answers', (format, request, response) => {
    const adapter = adapters[format];
    expect(adapter.serializeRequest(adapter.parseRequest(structuredClone(request)))).toEqual(request);
    expect(adapter.serializeResponse(adapter.parseResponse(structuredClone(response)))).toEqual(response);
  });

  it('gives plugins a neutral view: roles, system prompt, tool calls and results, output cap', () => {
    const chat = adapters['openai-chat'].parseRequest(structuredClone(chatRequest));
    expect(chat.maxOutputTokens).toBe(300);
    expect(chat.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(chat.messages[2].parts[0]).toMatchObject({ type: 'tool-call', id: 'call_1', name: 'lookup', arguments: '{"q":"cat"}' });
    expect(chat.messages[3].parts[0]).toMatchObject({ type: 'tool-result', toolCallId: 'call_1', content: [{ type: 'text', text: 'a cat' }] });

    const anthropic = adapters['anthropic-messages'].parseRequest(structuredClone(anthropicRequest));
    expect(anthropic.messages[0]).toMatchObject({ role: 'system', parts: [{ type: 'text', text: 'You are a reviewer.' }] });
    expect(anthropic.maxOutputTokens).toBe(1024);

    const responses = adapters['openai-responses'].parseRequest(structuredClone(responsesRequest));
    expect(responses.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'assistant']);
  });

  it('writes rewritten text back in place and keeps every other field', () => {
    const adapter = adapters['anthropic-messages'];
    const request = adapter.parseRequest(structuredClone(anthropicRequest));
    const system = request.messages[0].parts[0];
    if (system.type === 'text') system.text = 'You are a [REDACTED] reviewer.';
    request.maxOutputTokens = 50;
    const body = adapter.serializeRequest(request) as typeof anthropicRequest;
    expect(body.system[0]).toEqual({ type: 'text', text: 'You are a [REDACTED] reviewer.', cache_control: { type: 'ephemeral' } });
    expect(body.max_tokens).toBe(50);
    expect(body.messages).toEqual(anthropicRequest.messages);

    const chat = adapters['openai-chat'];
    const response = chat.parseResponse(structuredClone(chatResponse));
    response.parts = [{ type: 'text', text: 'Hi [PERSON]' }];
    expect(chat.serializeResponse(response)).toEqual({ ...chatResponse, choices: [{ ...chatResponse.choices[0], message: { ...chatResponse.choices[0].message, content: 'Hi [PERSON]' } }] });
  });

  it('reads usage with cached and reasoning tokens the way price catalogs count them', () => {
    expect(adapters['openai-chat'].parseResponse(structuredClone(chatResponse)).usage).toEqual({ inputTokens: 20, outputTokens: 3, cacheReadTokens: 8, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(adapters['openai-responses'].parseResponse(structuredClone(responsesResponse)).usage).toMatchObject({ inputTokens: 50, outputTokens: 12, reasoningTokens: 5 });
    // Anthropic reports cached input apart from input_tokens: the neutral input count includes it.
    expect(adapters['anthropic-messages'].parseResponse(structuredClone(anthropicResponse)).usage).toEqual({ inputTokens: 115, outputTokens: 4, cacheReadTokens: 100, cacheWriteTokens: 5, reasoningTokens: 0 });
  });
});

describe('adapters: output caps', () => {
  it('keep the field the agent used, and write max_completion_tokens for OpenAI reasoning models when none was set', () => {
    const chat = adapters['openai-chat'];
    const capped = (model: string, body: Record<string, unknown> = {}) => {
      const request = chat.parseRequest({ model, messages: [{ role: 'user', content: 'x' }], ...body });
      return chat.serializeRequest({ ...request, maxOutputTokens: 100 });
    };
    expect(capped('gpt-4o-mini')).toMatchObject({ max_tokens: 100 });
    expect(capped('o3-mini')).toMatchObject({ max_completion_tokens: 100 });
    expect(capped('gpt-5')).not.toHaveProperty('max_tokens');
    expect(capped('o3-mini', { max_tokens: 50 })).toMatchObject({ max_tokens: 100 });
    expect(capped('gpt-4o', { max_completion_tokens: 50 })).toMatchObject({ max_completion_tokens: 100 });
  });
});

describe('adapters: bad input', () => {
  it('names the field a client got wrong', () => {
    const chat = adapters['openai-chat'];
    expect(() => chat.parseRequest([])).toThrow('body: expected a JSON object, got an array');
    expect(() => chat.parseRequest({ messages: [] })).toThrow('model: expected a model name, got undefined');
    expect(() => chat.parseRequest({ model: 'm', messages: [{ role: 'wizard', content: 'x' }] })).toThrow('messages[0].role: expected one of system, developer, user, assistant, tool, function, got "wizard"');
    expect(() => chat.parseRequest({ model: 'm', messages: [{ role: 'user', content: 5 }] })).toThrow('messages[0].content: expected a string or an array of content parts, got 5');
    expect(() => chat.parseRequest({ model: 'm', messages: [], max_tokens: -1 })).toThrow('max_tokens: expected a positive integer, got -1');
    expect(() => adapters['anthropic-messages'].parseRequest({ model: 'm', messages: [{ role: 'system', content: 'x' }] })).toThrow('messages[0].role: expected one of user, assistant');
    try {
      adapters['openai-responses'].parseRequest({ model: 'm', input: 42 });
    } catch (error) {
      expect(error).toBeInstanceOf(IronError);
      expect(error).toMatchObject({ code: 'IRON_BAD_REQUEST', status: 400, details: { path: 'input' } });
    }
  });

  it('rejects a provider answer of the wrong shape with a typed LlmError', () => {
    for (const adapter of Object.values(adapters)) {
      let error: unknown;
      try {
        adapter.parseResponse({ unexpected: 'shape' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LlmError);
      expect(error).toMatchObject({ code: 'IRON_UPSTREAM_INVALID' });
    }
  });

  it('maps endpoint paths to formats', () => {
    expect(adapterForPath('/v1/chat/completions')?.format).toBe('openai-chat');
    expect(adapterForPath('/openai/v1/responses/')?.format).toBe('openai-responses');
    expect(adapterForPath('/v1/messages')?.format).toBe('anthropic-messages');
    expect(adapterForPath('/v1/embeddings')).toBeUndefined();
  });
});

describe('adapters: streams from a real server', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  const bodies: Record<ApiFormat, object> = {
    'openai-chat': { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream this answer' }] },
    'openai-responses': { model: 'gpt-4o-mini', stream: true, input: 'stream this answer' },
    'anthropic-messages': { model: 'claude-sonnet-4-6', stream: true, max_tokens: 100, messages: [{ role: 'user', content: 'stream this answer' }] },
  };

  async function streamed(format: ApiFormat): Promise<{ chunks: LlmStreamChunk[]; raw: string; json: Record<string, any> }> {
    const adapter = adapters[format];
    const url = `${fake.url}/v1${adapter.path}`;
    const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(bodies[format]) });
    const decode = adapter.createStreamDecoder();
    const chunks: LlmStreamChunk[] = [];
    let raw = '';
    for await (const event of response.body!.pipeThrough(createSseParser())) {
      raw += event.raw;
      chunks.push(decode(event));
    }
    const json = await (await fetch(url, { method: 'POST', headers, body: JSON.stringify({ ...bodies[format], stream: false }) })).json();
    return { chunks, raw, json };
  }

  it.each(['openai-chat', 'openai-responses', 'anthropic-messages'] as const)('%s: decoded chunks rebuild the same answer and usage as the JSON call', async (format) => {
    const { chunks, raw, json } = await streamed(format);
    const assembler = new StreamAssembler(format, 'x');
    for (const chunk of chunks) assembler.add(chunk);
    const expected = adapters[format].parseResponse(json);
    expect(assembler.complete).toBe(true);
    expect(assembler.response().parts).toEqual(expected.parts.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : part)));
    expect(assembler.usage).toEqual(expected.usage);
    expect(assembler.response().finishReason).toBe('stop');
    // Untouched chunks re-encode to the received bytes.
    expect(chunks.map(encodeSseChunk).join('')).toBe(raw);
  });

  it.each(['openai-chat', 'openai-responses', 'anthropic-messages'] as const)('%s: a rewritten text chunk is re-encoded with the new text', async (format) => {
    const { chunks } = await streamed(format);
    const adapter = adapters[format];
    const first = chunks.find((chunk) => chunk.textDelta)!;
    const rewritten = adapter.withChunkText(first, '[X]');
    expect(rewritten.raw).toBeUndefined();
    const event = { data: JSON.stringify(rewritten.data), raw: encodeSseChunk(rewritten), ...(rewritten.event ? { event: rewritten.event } : {}) };
    expect(adapter.createStreamDecoder()(event).textDelta).toBe('[X]');
  });

  it.each(['openai-chat', 'openai-responses', 'anthropic-messages'] as const)('%s: encodeStream writes a stream the decoder reads back', (format) => {
    const adapter = adapters[format];
    const response = { format, id: 'r1', model: 'm', parts: [{ type: 'text' as const, text: 'one two three four five six seven' }], finishReason: 'stop' as const, usage: { inputTokens: 7, outputTokens: 9, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, extra: {} };
    const decode = adapter.createStreamDecoder();
    const assembler = new StreamAssembler(format, 'm');
    for (const chunk of adapter.encodeStream(response, { includeUsage: true })) {
      const raw = encodeSseChunk(chunk);
      assembler.add(decode({ data: typeof chunk.data === 'string' ? chunk.data : JSON.stringify(chunk.data), raw, ...(chunk.event ? { event: chunk.event } : {}) }));
    }
    expect(assembler.complete).toBe(true);
    expect(assembler.response().parts).toEqual([{ type: 'text', text: 'one two three four five six seven' }]);
    expect(assembler.usage).toEqual(response.usage);
  });

  it('openai-chat: an event named error is an error whatever its data, as the official client reads it', () => {
    const decode = adapters['openai-chat'].createStreamDecoder();
    const delta = '{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}';
    expect(decode({ event: 'error', data: delta, raw: `event: error\ndata: ${delta}\n\n` }).error).toEqual({ message: 'stream error' });
    expect(decode({ event: 'error', data: '{"message":"overloaded","type":"server_error"}', raw: 'event: error\ndata: {"message":"overloaded","type":"server_error"}\n\n' }).error).toEqual({ message: 'overloaded', type: 'server_error' });
    // Unnamed, the same delta is content.
    expect(decode({ data: delta, raw: `data: ${delta}\n\n` }).error).toBeUndefined();
  });
});
