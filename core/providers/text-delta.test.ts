// The text-delta readers (OpenAI Chat, Anthropic) against JSON.parse: the same chunk for every event it reads, and no event read that JSON
// would refuse. Seeded and bounded (IRON_FUZZ_RUNS for a longer run).
import { describe, expect, it } from 'vitest';
import { seededGen, type SeededGen } from '../../plugins/safety/eval/seeded-random.ts';
import { anthropicMessages } from './anthropic-messages.ts';
import { openaiChat } from './openai-chat.ts';
import { AnthropicTextDeltas, ChatTextDeltas, isPlainTextDelta, readAnthropicTextDelta, readChatTextDelta } from './text-delta.ts';
import type { LlmStreamChunk } from '../llm/types.ts';

const RUNS = Number(process.env.IRON_FUZZ_RUNS ?? 3000);

/** Text as models write it: words, Unicode, quotes, backslashes, control characters, lone surrogates. */
function content(gen: SeededGen): string {
  const pieces = ['hello', ' ', 'é', '日本', '😀', '"', '\\', '\n', '\t', '\u0000', '\u001f', '</', '\ud800', '\u2028', 'a/b', '{"x":1}', ''];
  let out = '';
  for (let i = gen.int(0, 6); i > 0; i--) out += gen.pick(pieces);
  return out;
}

/** JSON as providers write strings: JSON.stringify's escapes, or `\uXXXX` and `\/` where it would not use them. */
function jsonString(gen: SeededGen, value: string): string {
  const plain = JSON.stringify(value);
  if (!gen.chance(0.3)) return plain;
  return plain.replace(/[é/]/g, (c) => (c === '/' ? '\\/' : '\\u00e9'));
}

/** A Chat stream event: usually a text delta in OpenAI's field order, sometimes something else. */
function chatEvent(gen: SeededGen): string {
  const text = content(gen);
  const fields: string[] = [`"id":${jsonString(gen, gen.pick(['chatcmpl-abc', 'chatcmpl-é', '', 'x"y']))}`, '"object":"chat.completion.chunk"', `"created":${gen.pick(['0', '1733000000', '7'])}`, `"model":${jsonString(gen, gen.pick(['gpt-4o-mini', 'gpt/é', '']))}`];
  if (gen.chance(0.7)) fields.push(`"service_tier":${jsonString(gen, 'default')}`);
  if (gen.chance(0.7)) fields.push(`"system_fingerprint":${gen.chance(0.2) ? 'null' : '"fp_44709d6fcb"'}`);
  const delta = gen.pick([`{"content":${jsonString(gen, text)}}`, `{"content":${jsonString(gen, text)}}`, `{"content":${jsonString(gen, text)}}`, `{"role":"assistant","content":""}`, `{"reasoning_content":${jsonString(gen, text)}}`, '{}', `{"content":${jsonString(gen, text)},"refusal":null}`]);
  const logprobs = gen.pick(['null', 'null', 'null', '{"content":[]}']);
  const finish = gen.pick(['null', 'null', 'null', '"stop"']);
  fields.push(`"choices":[{"index":${gen.pick(['0', '0', '1'])},"delta":${delta},"logprobs":${logprobs},"finish_reason":${finish}}]`);
  if (gen.chance(0.5)) fields.push(`"usage":${gen.pick(['null', 'null', '{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}'])}`);
  if (gen.chance(0.3)) fields.push(`"obfuscation":${jsonString(gen, gen.str('abcXYZ019', gen.int(0, 12)))}`);
  if (gen.chance(0.05)) fields.splice(1, 0, fields.splice(2, 1)[0]!); // another order
  const spaced = gen.chance(0.05);
  return `{${fields.join(spaced ? ', ' : ',')}}`;
}

/** What a chunk tells its readers: every field, `data` included. */
function seen(chunk: LlmStreamChunk): Record<string, unknown> {
  return { ...chunk };
}

/** An Anthropic stream event: usually a text delta as Anthropic writes it, sometimes another delta or event. */
function anthropicEvent(gen: SeededGen): { event: string; data: string } {
  const text = jsonString(gen, content(gen));
  const index = gen.pick(['0', '0', '2']);
  const data = gen.pick([
    `{"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":${text}}}`,
    `{"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":${text}}}`,
    `{"type":"content_block_delta","index":${index},"delta":{"type":"thinking_delta","thinking":${text}}}`,
    `{"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":${text}}}`,
    `{"type":"content_block_delta","index":${index},"delta":{"text":${text},"type":"text_delta"}}`,
    `{"type":"content_block_start","index":${index},"content_block":{"type":"text","text":${text}}}`,
    `{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":3,"output_tokens":1}}}`,
    `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}`,
    `{"type": "content_block_delta", "index": ${index}, "delta": {"type": "text_delta", "text": ${text}}}`,
  ]);
  return { event: gen.pick(['content_block_delta', 'content_block_delta', 'ping']), data };
}

const FORMATS = [
  { name: 'OpenAI Chat', adapter: openaiChat, next: (gen: SeededGen) => ({ event: undefined as string | undefined, data: chatEvent(gen) }), share: 0.12 },
  { name: 'Anthropic', adapter: anthropicMessages, next: anthropicEvent, share: 0.15 },
];

describe.each(FORMATS)('$name text deltas read without parsing', ({ adapter, next, share }) => {
  it(`decodes ${RUNS} seeded events as JSON.parse does, and takes most of the text deltas`, () => {
    const gen = seededGen(20261207);
    // The reference: the same events with a space in front, which the fast readers never take and JSON.parse ignores
    // (a decoder of its own: Anthropic's keeps state across events).
    const decode = adapter.createStreamDecoder();
    const reference = adapter.createStreamDecoder();
    let fast = 0;
    for (let i = 0; i < RUNS; i++) {
      const { event, data } = next(gen);
      const raw = `data: ${data}\n\n`;
      const chunk = decode({ data, raw, ...(event === undefined ? {} : { event }) });
      if (isPlainTextDelta(chunk, adapter.format)) fast++;
      expect(seen(chunk), data).toEqual({ ...seen(reference({ data: ` ${data}`, raw, ...(event === undefined ? {} : { event }) })), raw });
    }
    // Of the generated events, this share at least are text deltas as the provider writes them: they must be taken.
    expect(fast).toBeGreaterThan(RUNS * share);
  });
});

/**
 * A stream as a provider writes it: its text deltas share one start (id, model, choice or block) and differ in their
 * text and, for Chat, in what follows it (usage, obfuscation); now and then another event, or a near miss that only
 * JSON.parse can judge (an escape, a control character, a broken end, one byte off in the start).
 */
function streamEvents(gen: SeededGen, format: 'chat' | 'anthropic', count: number): string[] {
  const id = jsonString(gen, gen.pick(['chatcmpl-abc', 'chatcmpl-é', '']));
  const start = format === 'chat'
    ? `{"id":${id},"object":"chat.completion.chunk","created":1733000000,"model":"gpt-4o-mini"${gen.chance(0.5) ? ',"service_tier":"default"' : ''},"choices":[{"index":${gen.pick(['0', '1'])},"delta":{"content":`
    : `{"type":"content_block_delta","index":${gen.pick(['0', '2'])},"delta":{"type":"text_delta","text":`;
  const events: string[] = [];
  for (let i = 0; i < count; i++) {
    const text = gen.chance(0.7) ? JSON.stringify(gen.pick(['hello', ' world', 'é', '', '日本語', 'a b c'])) : jsonString(gen, content(gen));
    let end = format === 'chat' ? `},"logprobs":null,"finish_reason":null}]${gen.pick(['', ',"usage":null'])}${gen.chance(0.3) ? `,"obfuscation":${jsonString(gen, gen.str('abcXYZ019', gen.int(0, 8)))}` : ''}}` : '}}';
    let head = start;
    const miss = gen.int(0, 19);
    if (miss === 0) end = end.slice(0, -1);
    else if (miss === 1) end += '}';
    else if (miss === 2) end = end.replace('null', 'nul');
    else if (miss === 3) head = head.replace(':', ': ');
    else if (miss === 4) head = head.replace(/"(\d)"?/, '$1');
    else if (miss === 5) events.push(format === 'chat' ? '{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}' : '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}');
    else if (miss === 6) end += ' ';
    events.push(`${head}${text}${end}`);
  }
  return events;
}

describe.each([
  { name: 'OpenAI Chat', format: 'chat' as const, adapter: openaiChat, reader: () => new ChatTextDeltas(), read: (r: ChatTextDeltas | AnthropicTextDeltas, data: string) => (r as ChatTextDeltas).read(data, '') },
  { name: 'Anthropic', format: 'anthropic' as const, adapter: anthropicMessages, reader: () => new AnthropicTextDeltas(), read: (r: ChatTextDeltas | AnthropicTextDeltas, data: string) => (r as AnthropicTextDeltas).read(data, '', undefined) },
])('$name text deltas read by the start they share', ({ format, adapter, reader, read }) => {
  it(`decodes ${RUNS} seeded events of streams as JSON.parse does, and reads none that JSON would refuse`, () => {
    const gen = seededGen(20261208);
    let taken = 0;
    let events = 0;
    while (events < RUNS) {
      const decode = adapter.createStreamDecoder();
      const reference = adapter.createStreamDecoder();
      const deltas = reader();
      for (const data of streamEvents(gen, format, gen.int(1, 40))) {
        events++;
        let valid = true;
        try {
          JSON.parse(data);
        } catch {
          valid = false;
        }
        const chunk = decode({ data, raw: data });
        // (Not JSON: the decoder keeps the text, which the stream reader then refuses as a broken stream.)
        if (valid) expect(seen(chunk), data).toEqual({ ...seen(reference({ data: ` ${data}`, raw: data })), raw: data });
        else expect(chunk.data, data).toBe(data);
        const direct = read(deltas, data);
        if (!valid) expect(direct, data).toBeUndefined();
        if (direct) taken++;
      }
    }
    // Most events are plain text deltas: nearly all of them are taken without parsing.
    expect(taken).toBeGreaterThan(events * 0.5);
  });
});

describe('text deltas read without parsing', () => {
  it('reads no event JSON would refuse', () => {
    const good = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","service_tier":"default","choices":[{"index":0,"delta":{"content":"TEXT"},"logprobs":null,"finish_reason":null}]}';
    expect(readChatTextDelta(good, '')).toBeDefined();
    const broken = ['a\u0001b', 'a\nb', 'bad \\q escape', 'short \\u12 escape', 'a"b', 'end \\', 'tab\tin'].map((text) => good.replace('TEXT', text));
    broken.push(good.slice(0, -1), `${good}}`, good.replace('"created":1', '"created":01'), `${good} x`);
    for (const data of broken) {
      expect(() => JSON.parse(data), data).toThrow();
      expect(readChatTextDelta(data, ''), data).toBeUndefined();
    }
    const block = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"TEXT"}}';
    expect(readAnthropicTextDelta(block, '', undefined)).toBeDefined();
    for (const data of ['a\u0001b', 'bad \\q', 'a"b', '\\u00e'].map((text) => block.replace('TEXT', text)).concat(block.slice(0, -1), block.replace('"index":0', '"index":00'))) {
      expect(() => JSON.parse(data), data).toThrow();
      expect(readAnthropicTextDelta(data, '', undefined), data).toBeUndefined();
    }
  });

  it('parses its data on first read, once; a copy carries it and is no longer a plain delta', () => {
    const data = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"caf\\u00e9 \\"ok\\""},"logprobs":null,"finish_reason":null}],"usage":null}';
    const chunk = readChatTextDelta(data, 'raw')!;
    expect(chunk.textDelta).toBe('café "ok"');
    expect(chunk.data).toBe(chunk.data);
    expect(chunk.data).toEqual(JSON.parse(data));
    const { raw: _raw, ...copy } = chunk;
    expect(copy.data).toBe(chunk.data);
    expect(isPlainTextDelta(copy as LlmStreamChunk)).toBe(false);
    expect(isPlainTextDelta(chunk, 'anthropic-messages')).toBe(false);
    chunk.data = { replaced: true };
    expect(chunk.data).toEqual({ replaced: true });
    expect(JSON.stringify(chunk)).toContain('"replaced":true');
  });
});
