// Streamed tool-call arguments are JSON text: values hidden behind `\uXXXX` escapes are found, a value after a quote
// is held back whole, and what reaches the agent is always valid JSON — in Chat, Responses and Anthropic streams,
// however the provider cuts them. A scripted provider (a real HTTP server) replays each format's events.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../core/runtime.ts';
import { startScriptedUpstream } from '../../test/helpers.ts';

type Format = 'chat' | 'responses' | 'anthropic';

const sse = (events: unknown[]) => events.map((data) => `${typeof data === 'object' && data !== null && 'type' in data ? `event: ${(data as { type: string }).type}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('');

/** The provider's stream of one tool call whose arguments arrive in `pieces`. */
function toolCallStream(format: Format, pieces: string[]): string {
  if (format === 'chat') {
    const chunk = (delta: object, finish: string | null = null) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });
    return sse([
      chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'save', arguments: '' } }] }),
      ...pieces.map((p) => chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] })),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
  }
  if (format === 'responses') {
    const item = { id: 'fc_1', type: 'function_call', status: 'in_progress', call_id: 'call_1', name: 'save', arguments: '' };
    const response = { id: 'r1', object: 'response', model: 'm', status: 'in_progress', output: [] };
    const done = { ...item, status: 'completed', arguments: pieces.join('') };
    return sse(
      [
        { type: 'response.created', response },
        { type: 'response.output_item.added', output_index: 0, item },
        ...pieces.map((delta) => ({ type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta })),
        { type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 0, arguments: pieces.join('') },
        { type: 'response.output_item.done', output_index: 0, item: done },
        { type: 'response.completed', response: { ...response, status: 'completed', output: [done], usage: { input_tokens: 5, output_tokens: 9, total_tokens: 14 } } },
      ].map((event, sequence_number) => ({ ...event, sequence_number })),
    );
  }
  return sse([
    { type: 'message_start', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'save', input: {} } },
    ...pieces.map((partial_json) => ({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json } })),
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } },
    { type: 'message_stop' },
  ]);
}

let upstream: Awaited<ReturnType<typeof startScriptedUpstream>>;
let url = '';
let runtime: Runtime | undefined;

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  url = upstream.url;
});
afterAll(() => upstream.close());
afterEach(() => runtime?.close());

const REDACT_ALL = { entities: { CREDIT_CARD: { output: 'redact' }, EMAIL_ADDRESS: { output: 'redact' }, US_SSN: { output: 'redact' }, IBAN_CODE: { output: 'redact' }, SECRET: { output: 'redact' } } };

/** Streams `pieces` as one tool call in `format` and returns the argument deltas the agent got, in order. */
async function agentArgs(format: Format, pieces: string[]): Promise<string[]> {
  const events = await agentEvents(format, toolCallStream(format, pieces));
  if (format === 'chat') return events.map((e) => e.choices?.[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '');
  if (format === 'responses') return events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta as string);
  return events.filter((e) => e.delta?.type === 'input_json_delta').map((e) => e.delta.partial_json as string);
}

/** Replays `stream` (SSE, or a JSON body) to an agent calling in `format`; the events (or the body) it got. */
async function agentEvents(format: Format, stream: string): Promise<Array<Record<string, any>>> {
  runtime = new Runtime({
    env: { OPENAI_API_KEY: 'k', IRON_OPENAI_BASE_URL: `${url}/v1`, ANTHROPIC_API_KEY: 'k', IRON_ANTHROPIC_BASE_URL: url },
    logLevel: 'silent',
    config: { safety: REDACT_ALL },
  });
  upstream.answer(stream);
  const streamed = !stream.startsWith('{');
  let text = '';
  const id = await runtime.startAgent(async (agent) => {
    const anthropic = format === 'anthropic';
    const path = anthropic ? 'messages' : format === 'chat' ? 'chat/completions' : 'responses';
    const auth: Record<string, string> = anthropic ? { 'x-api-key': 'x', 'anthropic-version': '2023-06-01' } : { authorization: 'Bearer x' };
    const body = anthropic ? { model: 'claude', max_tokens: 100, stream: streamed, messages: [{ role: 'user', content: 'go' }] } : format === 'chat' ? { model: 'm', stream: streamed, messages: [{ role: 'user', content: 'go' }] } : { model: 'm', stream: streamed, input: 'go' };
    const response = await agent.fetch(`https://api.${anthropic ? 'anthropic' : 'openai'}.com/v1/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
    text = await response.text();
  });
  expect((await runtime.waitForAgent(id)).status).toBe('completed');
  await runtime.close();
  runtime = undefined;
  if (!streamed) return [JSON.parse(text) as Record<string, any>];
  return text
    .split('\n\n')
    .map((event) => event.split('\n').find((line) => line.startsWith('data: '))?.slice(6))
    .filter((data): data is string => data !== undefined && data !== '[DONE]')
    .map((data) => JSON.parse(data) as Record<string, any>);
}

/** `text` cut into pieces of `size` characters. */
function cut(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const FORMATS: Format[] = ['chat', 'responses', 'anthropic'];

describe('escaped values in streamed tool-call arguments', () => {
  // What the provider streams (as Python's json.dumps and others write it), and the arguments the agent must parse.
  const cases: Array<[string, Record<string, string>]> = [
    ['{"card":"4111\\u00a01111\\u00a01111\\u00a01111"}', { card: '[CREDIT_CARD]' }],
    ['{"card":"\\u0034111111111111111"}', { card: '[CREDIT_CARD]' }],
    ['{"ssn":"536\\u002d22\\u002d8143"}', { ssn: '[US_SSN]' }],
    ['{"mail":"jos\\u00e9@correo.es","p":"pass"}', { mail: '[EMAIL_ADDRESS]', p: 'pass' }],
    ['{"mail":"Ren\\u00e9e.M\\u00fcller@firma.de"}', { mail: '[EMAIL_ADDRESS]' }],
    ['{"mail":"ana\\u0040correo.es"}', { mail: '[EMAIL_ADDRESS]' }],
    ['{"note":"Card:\\n4111 1111 1111 1111"}', { note: 'Card:\n[CREDIT_CARD]' }],
    ['{"note":"hi\\nbob@example.com\\tok"}', { note: 'hi\n[EMAIL_ADDRESS]\tok' }],
    // A passphrase to the string's end, and one between escaped quotes (outside review 12).
    ['{"note":"My password: correct horse battery staple 42"}', { note: 'My password: [SECRET]' }],
    ['{"saved":"password is \\"correct horse battery staple\\""}', { saved: 'password is "[SECRET]"' }],
    // A shell command's quoted value, its quotes escaped (the second review of streamed redaction, 2026-12-07).
    ['{"cmd":"export DB_PASSWORD=\\"purple monkey dishwasher 42\\""}', { cmd: 'export DB_PASSWORD="[SECRET]"' }],
    ['{"cmd":"DB_PASSWORD=\\"Xk9mQ2vLpz7w\\" ./migrate.sh"}', { cmd: 'DB_PASSWORD="[SECRET]" ./migrate.sh' }],
    // On a later line of the string, after a `\n` escape (an outside review).
    ['{"cmd":"set -e\\nexport DB_PASSWORD=\\"blue ocean deep 2024\\"\\n./run"}', { cmd: 'set -e\nexport DB_PASSWORD="[SECRET]"\n./run' }],
  ];
  for (const format of FORMATS) {
    it(`${format}: found decoded and replaced whole, valid JSON, in one delta or cut anywhere`, async () => {
      for (const [args, expected] of cases) {
        for (const size of [args.length, 7, 3, 1]) {
          const got = (await agentArgs(format, cut(args, size))).join('');
          expect(() => JSON.parse(got), `${args} in pieces of ${size}: ${got}`).not.toThrow();
          expect(JSON.parse(got), `${args} in pieces of ${size}`).toEqual(expected);
        }
      }
    });
  }

  it('arguments with escapes and nothing to hide reach the agent exactly as written', async () => {
    const args = '{"city":"M\\u00fcnchen","emoji":"\\ud83d\\ude00","quote":"\\u0022hi\\u0022\\n","ctl":"\\u0001"}';
    for (const format of FORMATS) for (const size of [args.length, 5, 1]) expect((await agentArgs(format, cut(args, size))).join(''), `${format}, pieces of ${size}`).toBe(args);
  });
});

describe('a value right after a quote, = or [ in streamed tool-call arguments', () => {
  const cases: Array<[string, unknown]> = [
    ['{"card":"4111 1111 1111 1111"}', { card: '[CREDIT_CARD]' }],
    ['{"amex":"3782 822463 10005","n":1}', { amex: '[CREDIT_CARD]', n: 1 }],
    ['{"iban":"GB82 WEST 1234 5698 7654 32"}', { iban: '[IBAN_CODE]' }],
    ['{"iban":"DE89 3704 0044 0532 0130 00"}', { iban: '[IBAN_CODE]' }],
    ['{"q":"card=4111 1111 1111 1111"}', { q: 'card=[CREDIT_CARD]' }],
    ['{"cards":["4111 1111 1111 1111"]}', { cards: ['[CREDIT_CARD]'] }],
  ];
  for (const format of FORMATS) {
    it(`${format}: no delta carries the first group`, async () => {
      for (const [args, expected] of cases) {
        for (const size of [1, 3, 6, 11]) {
          const deltas = await agentArgs(format, cut(args, size));
          expect(JSON.parse(deltas.join('')), `${args} in pieces of ${size}`).toEqual(expected);
          for (const delta of deltas) expect(delta, `${args} in pieces of ${size}`).not.toMatch(/4111|3782|GB82|DE89/);
        }
      }
    });
  }
});

describe('escapes after another property, cut inside an escape (outside review 2, F1 and F2)', () => {
  it('an escaped secret split inside an escape is replaced whole', async () => {
    const pieces = [
      '{"": "", "val": "\\u0073k-pro\\u006a\\u002dQm\\u0037vX2kLp9R\\u0074\\u005a\\u0034wN8\\u0062Yc\\u0033HdF\\u0036gJ\\u0073\\u0031Ae\\u00555\\u006',
      'fV\\u0069\\u004b0\\u006eM\\u0078TqWlB "}',
    ];
    for (const format of FORMATS) {
      const got = (await agentArgs(format, pieces)).join('');
      expect(JSON.parse(got), `${format}: ${got}`).toEqual({ '': '', val: '[SECRET] ' });
    }
  });

  it('arguments with nothing to hide come back exactly as written, and the Responses deltas agree with .done', async () => {
    const cases = [
      ['{"a": 1, "b":"x\\u0041', 'y"}'],
      ['{"a": 1, "z": "\\u00e9', '\\u00e9", "e":"pl\\u0061in"}'],
      ['{"a":"', ...cut(`${'\\u0031'.repeat(5000)}"}`, 6)],
    ];
    for (const pieces of cases) {
      for (const format of FORMATS) expect((await agentArgs(format, pieces)).join(''), `${format}: ${pieces.slice(0, 3).join(' | ')}`).toBe(pieces.join(''));
    }
  });
});

describe('a value written as a JSON number (outside review 2, F3)', () => {
  it('becomes a JSON string placeholder, streamed in any cut and in .done', async () => {
    const args = '{"card":4111111111111111,"n":2}';
    for (const format of FORMATS) {
      for (const size of [args.length, 8, 3]) {
        const got = (await agentArgs(format, cut(args, size))).join('');
        expect(JSON.parse(got), `${format}, pieces of ${size}: ${got}`).toEqual({ card: '[CREDIT_CARD]', n: 2 });
      }
    }
    const done = (await agentEvents('responses', toolCallStream('responses', [args]))).find((e) => e.type === 'response.function_call_arguments.done');
    expect(JSON.parse(done!.arguments)).toEqual({ card: '[CREDIT_CARD]', n: 2 });
  });

  it('becomes a JSON string placeholder in a Chat answer that is not streamed', async () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'save', arguments: '{"cards":[4111111111111111, 2]}' } };
    const body = { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [call] } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    const [answer] = await agentEvents('chat', JSON.stringify(body));
    expect(JSON.parse(answer!.choices[0].message.tool_calls[0].function.arguments)).toEqual({ cards: ['[CREDIT_CARD]', 2] });
  });
});

describe('Responses sequence numbers (outside review 2, F5)', () => {
  it('stay distinct and rising when held-back text is released as an extra delta', async () => {
    const events = await agentEvents('responses', toolCallStream('responses', ['{"note":"card ', '4111 1111 ', '1111 1111 then', ' done"}']));
    const numbers = events.map((e) => e.sequence_number as number);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i], JSON.stringify(numbers)).toBeGreaterThan(numbers[i - 1]!);
  });
});

describe('JSON inside a JSON string of the arguments, its escapes written one level down (outside review 4, F3)', () => {
  const cases: Array<[string, unknown]> = [
    ['{"p":"{\\"iban\\":\\"\\\\u0044E89 3704 0044 0532 0130 00\\"}"}', { p: '{"iban":"[IBAN_CODE]"}' }],
    ['{"p":"{\\"card\\":\\"\\\\u0034111 1111 1111 1111\\"}"}', { p: '{"card":"[CREDIT_CARD]"}' }],
    ['{"p":"{\\"ssn\\":\\"536\\\\u002d22\\\\u002d1234\\"}"}', { p: '{"ssn":"[US_SSN]"}' }],
    ['{"p":"{\\"to\\":\\"bob\\\\u0040corp.io\\"}"}', { p: '{"to":"[EMAIL_ADDRESS]"}' }],
  ];
  for (const format of FORMATS) {
    it(`${format}: found and replaced, in one delta or cut anywhere; the inner JSON still parses`, async () => {
      for (const [args, expected] of cases) {
        for (const size of [args.length, 5, 2]) {
          const got = (await agentArgs(format, cut(args, size))).join('');
          expect(JSON.parse(got), `${args} in pieces of ${size}: ${got}`).toEqual(expected);
          expect(() => JSON.parse(JSON.parse(got).p)).not.toThrow();
        }
      }
    });
  }

  // JSON in a string in a string…: the innermost object written with one character of the value escaped (or none), a
  // sibling before it that holds backslashes (`C:\tmp\x`), then stringified `depth` times (outside review 5).
  const nestedArgs = (depth: number, value: string, escaped: string | undefined): string => {
    let json = JSON.stringify({ path: 'C:\\tmp\\x', v: value });
    if (escaped !== undefined) json = json.replace(escaped, `\\u${escaped.charCodeAt(0).toString(16).padStart(4, '0')}`);
    for (let level = 1; level < depth; level++) json = JSON.stringify({ p: json });
    return json;
  };
  const innermost = (args: string): { path: string; v: string } => {
    let value: any = JSON.parse(args);
    while (typeof value.p === 'string') value = JSON.parse(value.p);
    return value;
  };
  for (const format of FORMATS) {
    it(`${format}: one to three levels down, with a backslash sibling before the value and a character of it escaped or not, cut at every point`, async () => {
      for (const depth of [2, 3, 4]) {
        for (const [value, escaped, placeholder] of [['DE89 3704 0044 0532 0130 00', undefined, '[IBAN_CODE]'], ['DE89 3704 0044 0532 0130 00', 'D', '[IBAN_CODE]'], ['bob@corp.io', '@', '[EMAIL_ADDRESS]'], ['4111 1111 1111 1111', '4', '[CREDIT_CARD]']] as const) {
          const args = nestedArgs(depth, value, escaped);
          expect(innermost(args).v).toBe(value);
          for (let at = 1; at < args.length; at += depth === 4 ? 3 : 1) {
            const got = (await agentArgs(format, [args.slice(0, at), args.slice(at)])).join('');
            expect(innermost(got), `${args} cut at ${at}: ${got}`).toEqual({ path: 'C:\\tmp\\x', v: placeholder });
          }
        }
      }
    });
  }

  it('the same, in a Chat answer that is not streamed', async () => {
    for (const depth of [2, 3, 4]) {
      for (const [value, escaped, placeholder] of [['DE89 3704 0044 0532 0130 00', 'D', '[IBAN_CODE]'], ['bob@corp.io', '@', '[EMAIL_ADDRESS]']] as const) {
        const call = { id: 'call_1', type: 'function', function: { name: 'save', arguments: nestedArgs(depth, value, escaped) } };
        const body = { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [call] } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
        const [answer] = await agentEvents('chat', JSON.stringify(body));
        expect(innermost(answer!.choices[0].message.tool_calls[0].function.arguments), `depth ${depth}, ${value}`).toEqual({ path: 'C:\\tmp\\x', v: placeholder });
      }
    }
  });

  it('nested escapes with nothing to hide, and backslashes escaped at both levels, come back exactly as written', async () => {
    const args = '{"p":"{\\"city\\":\\"M\\\\u00fcnchen\\",\\"path\\":\\"C:\\\\\\\\u0044ir\\",\\"q\\":\\"\\\\u0022\\"}"}';
    expect(JSON.parse(JSON.parse(args).p)).toEqual({ city: 'München', path: 'C:\\u0044ir', q: '"' });
    for (const format of FORMATS) for (const size of [args.length, 3, 1]) expect((await agentArgs(format, cut(args, size))).join(''), `${format}, pieces of ${size}`).toBe(args);
  });
});

describe('Responses: the .done and completed copies carry what the deltas carried (outside review 3, F5)', () => {
  it('byte for byte, for arguments with escapes before a value, values found only in part of the text, and clean ones', async () => {
    const cases = [
      ['{"v":"\\u0076\\u0061lue ', '4111 1111 ', '1111 1111 end"}'],
      ['{"note":"line\\nbreak\\n401-73-8856\\tcall me"}'],
      ['{"iban":"de89 3704 0044 0532 0130 00","to":"bob@example.org"}'],
      ['{"city":"M\\u00fcnchen"}'],
    ];
    for (const pieces of cases) {
      for (const split of [pieces, cut(pieces.join(''), 5)]) {
        const events = await agentEvents('responses', toolCallStream('responses', split));
        const streamed = events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta as string).join('');
        const done = events.find((e) => e.type === 'response.function_call_arguments.done')!;
        const item = events.find((e) => e.type === 'response.output_item.done')!;
        const completed = events.find((e) => e.type === 'response.completed')!;
        const label = `${split.join(' | ')}`;
        expect(() => JSON.parse(streamed), label).not.toThrow();
        expect(done.arguments, label).toBe(streamed);
        expect(item.item.arguments, label).toBe(streamed);
        expect(completed.response.output[0].arguments, label).toBe(streamed);
      }
    }
  });
});
