// The Chat text-delta reader against JSON.parse: the same chunk for every event it reads, and no event read that JSON
// would refuse. Seeded and bounded (IRON_FUZZ_RUNS for a longer run).
import { describe, expect, it } from 'vitest';
import { seededGen, type SeededGen } from '../../plugins/safety/eval/seeded-random.ts';
import { openaiChat } from './openai-chat.ts';
import { isPlainTextDelta, readChatTextDelta } from './chat-text-delta.ts';
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

describe('Chat text deltas read without parsing', () => {
  const decode = openaiChat.createStreamDecoder();
  // The reference: the same event with a space in front, which the fast reader never takes and JSON.parse ignores.
  const reference = (data: string) => decode({ data: ` ${data}`, raw: `data: ${data}\n\n` });

  it(`decodes ${RUNS} seeded events as JSON.parse does, and takes most of the text deltas`, () => {
    const gen = seededGen(20261207);
    let fast = 0;
    for (let i = 0; i < RUNS; i++) {
      const data = chatEvent(gen);
      const raw = `data: ${data}\n\n`;
      const chunk = decode({ data, raw });
      if (isPlainTextDelta(chunk)) fast++;
      expect(seen(chunk), data).toEqual({ ...seen(reference(data)), raw });
    }
    // About 18 % of the generated events are plain text deltas in OpenAI's order: the fast reader must take them.
    expect(fast).toBeGreaterThan(RUNS * 0.12);
  });

  it('reads no event JSON would refuse', () => {
    const good = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","service_tier":"default","choices":[{"index":0,"delta":{"content":"TEXT"},"logprobs":null,"finish_reason":null}]}';
    expect(readChatTextDelta(good, '')).toBeDefined();
    const broken = ['a\u0001b', 'a\nb', 'bad \\q escape', 'short \\u12 escape', 'a"b', 'end \\', 'tab\tin'].map((text) => good.replace('TEXT', text));
    broken.push(good.slice(0, -1), `${good}}`, good.replace('"created":1', '"created":01'), `${good} x`);
    for (const data of broken) {
      expect(() => JSON.parse(data), data).toThrow();
      expect(readChatTextDelta(data, ''), data).toBeUndefined();
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
    chunk.data = { replaced: true };
    expect(chunk.data).toEqual({ replaced: true });
    expect(JSON.stringify(chunk)).toContain('"replaced":true');
  });
});
