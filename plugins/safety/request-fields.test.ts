// Everything a request carries is scanned before it leaves, in each wire format: tool and schema definitions (their
// strings only, never their keys or structure), system prompts, tool calls and results, Responses input items and
// instructions, and the parts the neutral model keeps as raw JSON. The fake provider records what it received.
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../core/runtime.ts';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';

const suite = fakeProviderSuite();
/** The test's runtime (`suite.cage`, closed after the test). */
let runtime: Runtime;

const EMAIL = 'jane.doe@example.org';
const OTHER_EMAIL = 'ops@example.net';
const PHONE = '+44 20 7946 0958';
const CARD = '4111 1111 1111 1111';
const KEY = 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9oPq2rSt5uVw8xYz1aBc4dEf7gHi0jKl3mNo6pQr9sT3BlbkFJ';
const IMAGE = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** Posts `body` as the agent would, through agent.fetch, and returns the status. */
async function send(url: string, body: unknown): Promise<number> {
  let status = 0;
  const id = await runtime.startAgent(async (agent) => {
    const headers: Record<string, string> = url.includes('anthropic') ? { 'x-api-key': 'x', 'anthropic-version': '2023-06-01' } : { authorization: 'Bearer x' };
    const response = await agent.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    status = response.status;
    await response.text();
  });
  await runtime.waitForAgent(id);
  return status;
}

function sentBody(): Record<string, any> {
  expect(suite.fake.requests).toHaveLength(1);
  for (const value of [EMAIL, OTHER_EMAIL, PHONE, CARD, KEY, 'jane.doe', '7946 0958']) expect(suite.fake.requests[0]!.rawBody).not.toContain(value);
  return suite.fake.requests[0]!.body;
}

describe('OpenAI chat', () => {
  it('scans tool definitions (descriptions, enum values, defaults), legacy functions, a structured-output schema and a legacy function_call', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const parameters = (email: string, other: string, phone: string) => ({
      type: 'object',
      properties: {
        to: { type: 'string', format: 'email', description: `The recipient, e.g. ${email}`, enum: [email, other] },
        phone: { type: ['string', 'null'], default: phone, pattern: '^\\+\\d{2} \\d{2} \\d{4} \\d{4}$' },
        email: { $ref: '#/$defs/address' },
      },
      required: ['to', 'email'],
      $defs: { address: { type: 'string', examples: [email] } },
      additionalProperties: false,
    });
    const status = await send('https://api.openai.com/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'Mail the customer' },
        { role: 'assistant', content: null, function_call: { name: 'send_mail', arguments: `{"to":"${EMAIL}"}` } },
        { role: 'function', name: 'send_mail', content: 'sent' },
      ],
      tools: [{ type: 'function', function: { name: 'send_mail', description: `Sends mail as ${OTHER_EMAIL}; key ${KEY}`, parameters: parameters(EMAIL, OTHER_EMAIL, PHONE), strict: true } }],
      functions: [{ name: 'call', description: `Calls ${PHONE}`, parameters: { type: 'object', properties: {} } }],
      response_format: { type: 'json_schema', json_schema: { name: 'reply', description: `Reply to ${EMAIL}`, schema: { type: 'object', properties: { card: { type: 'string', description: `like ${CARD}` } } } } },
    });
    expect(status).toBe(200);
    const body = sentBody();
    expect(body.tools).toEqual([
      {
        type: 'function',
        function: { name: 'send_mail', description: 'Sends mail as <EMAIL_ADDRESS_2>; key [SECRET]', parameters: parameters('<EMAIL_ADDRESS_1>', '<EMAIL_ADDRESS_2>', '<PHONE_NUMBER_1>'), strict: true },
      },
    ]);
    expect(body.functions).toEqual([{ name: 'call', description: 'Calls <PHONE_NUMBER_1>', parameters: { type: 'object', properties: {} } }]);
    expect(body.response_format.json_schema).toEqual({ name: 'reply', description: 'Reply to <EMAIL_ADDRESS_1>', schema: { type: 'object', properties: { card: { type: 'string', description: 'like <CREDIT_CARD_1>' } } } });
    expect(body.messages[1].function_call).toEqual({ name: 'send_mail', arguments: '{"to":"<EMAIL_ADDRESS_1>"}' });
  });

  it('scans system prompts, tool-call arguments, tool results and text in content parts, and leaves images alone', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${IMAGE}`, detail: 'low' } };
    await send('https://api.openai.com/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'developer', content: [{ type: 'text', text: `Act for ${EMAIL}.` }] },
        { role: 'user', content: [{ type: 'text', text: `Call ${PHONE}` }, image] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pay', arguments: `{"card":"${CARD}"}` } }] },
        { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: `charged ${CARD}` }] },
        { role: 'assistant', content: null, refusal: `I will not mail ${EMAIL}` },
      ],
    });
    const messages = sentBody().messages;
    expect(messages[0]).toEqual({ role: 'developer', content: [{ type: 'text', text: 'Act for <EMAIL_ADDRESS_1>.' }] });
    expect(messages[1].content).toEqual([{ type: 'text', text: 'Call <PHONE_NUMBER_1>' }, image]);
    expect(messages[2].tool_calls[0].function.arguments).toBe('{"card":"<CREDIT_CARD_1>"}');
    expect(messages[3].content).toEqual([{ type: 'text', text: 'charged <CREDIT_CARD_1>' }]);
    expect(messages[4].refusal).toBe('I will not mail <EMAIL_ADDRESS_1>');
  });
});

describe('OpenAI chat: a message name', () => {
  it("scans a message's name (a participant's, which may be an address), and leaves a plain name alone", async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await send('https://api.openai.com/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', name: EMAIL, content: 'hello' },
        { role: 'user', name: 'bob_smith', content: 'hi' },
      ],
    });
    const messages = sentBody().messages;
    expect(messages[0]).toEqual({ role: 'user', name: '<EMAIL_ADDRESS_1>', content: 'hello' });
    expect(messages[1]).toEqual({ role: 'user', name: 'bob_smith', content: 'hi' });
  });
});

describe('Anthropic messages', () => {
  it('scans the system prompt (string or blocks), tool definitions, tool_use input, tool_result blocks, documents and search results', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: IMAGE } };
    await send('https://api.anthropic.com/v1/messages', {
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      system: [{ type: 'text', text: `The customer is ${EMAIL}.`, cache_control: { type: 'ephemeral' } }],
      tools: [
        {
          name: 'lookup',
          description: `Looks up ${PHONE}`,
          input_schema: { type: 'object', properties: { email: { type: 'string', description: `e.g. ${EMAIL}`, enum: [OTHER_EMAIL] } }, required: ['email'] },
          cache_control: { type: 'ephemeral' },
        },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 2 },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: `Card on file: ${CARD}` }, title: `Notes about ${EMAIL}`, citations: { enabled: true } },
            { type: 'search_result', source: 'https://crm.example.com/c/1', title: 'Customer', content: [{ type: 'text', text: `phone ${PHONE}` }] },
            image,
            { type: 'text', text: 'Who is this?' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: { email: EMAIL } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: `found ${OTHER_EMAIL}` }] }] },
      ],
    });
    const body = sentBody();
    expect(body.system).toEqual([{ type: 'text', text: 'The customer is <EMAIL_ADDRESS_1>.', cache_control: { type: 'ephemeral' } }]);
    expect(body.tools).toEqual([
      {
        name: 'lookup',
        description: 'Looks up <PHONE_NUMBER_1>',
        input_schema: { type: 'object', properties: { email: { type: 'string', description: 'e.g. <EMAIL_ADDRESS_1>', enum: ['<EMAIL_ADDRESS_2>'] } }, required: ['email'] },
        cache_control: { type: 'ephemeral' },
      },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 2 },
    ]);
    expect(body.messages[0].content).toEqual([
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Card on file: <CREDIT_CARD_1>' }, title: 'Notes about <EMAIL_ADDRESS_1>', citations: { enabled: true } },
      { type: 'search_result', source: 'https://crm.example.com/c/1', title: 'Customer', content: [{ type: 'text', text: 'phone <PHONE_NUMBER_1>' }] },
      image,
      { type: 'text', text: 'Who is this?' },
    ]);
    expect(body.messages[1].content[0].input).toEqual({ email: '<EMAIL_ADDRESS_1>' });
    expect(body.messages[2].content[0].content).toEqual([{ type: 'text', text: 'found <EMAIL_ADDRESS_2>' }]);
  });

  it('scans a system prompt given as a string, and blocks the call when a tool definition holds a blocked type', async () => {
    runtime = suite.cage({ config: { safety: { entities: { CREDIT_CARD: { input: 'block' } } } } });
    await send('https://api.anthropic.com/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 10, system: `Mail ${EMAIL}`, messages: [{ role: 'user', content: 'hi' }] });
    expect(sentBody().system).toBe('Mail <EMAIL_ADDRESS_1>');
    suite.fake.reset();
    const status = await send('https://api.anthropic.com/v1/messages', {
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      tools: [{ name: 'pay', description: `Charges ${CARD}`, input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(status).toBe(400);
    expect(suite.fake.requests).toHaveLength(0);
  });
});

/** Posts `body` through agent.fetch and returns the answer's JSON. */
async function answerTo(url: string, body: unknown): Promise<Record<string, any>> {
  let answer: Record<string, any> = {};
  const id = await runtime.startAgent(async (agent) => {
    const response = await agent.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify(body) });
    answer = (await response.json()) as Record<string, any>;
  });
  await runtime.waitForAgent(id);
  return answer;
}

describe('passphrases inside tool JSON (outside review 12)', () => {
  it('redacts a passphrase in a tool call and a tool result whole, escaped quotes and all', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const args = JSON.stringify({ note: 'My password: correct horse battery staple 42' });
    const result = JSON.stringify({ saved: 'password is "correct horse battery staple"' });
    expect(await send('https://api.openai.com/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'save it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'save', arguments: args } }] },
        { role: 'tool', tool_call_id: 'call_1', content: result },
      ],
    })).toBe(200);
    const raw = suite.fake.requests[0]!.rawBody;
    for (const word of ['correct', 'horse', 'battery', 'staple']) expect(raw).not.toContain(word);
  });
});

describe('OpenAI Responses', () => {
  it("gives the agent back its instructions as it wrote them where the answer echoes them, not their placeholders (outside review 11)", async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const answer = await answerTo('https://api.openai.com/v1/responses', { model: 'gpt-4o-mini', instructions: `Work for ${EMAIL}, call ${PHONE}`, input: 'hi' });
    expect(sentBody()).toMatchObject({ instructions: 'Work for <EMAIL_ADDRESS_1>, call <PHONE_NUMBER_1>' });
    expect(answer.instructions).toBe(`Work for ${EMAIL}, call ${PHONE}`);
  });

  it('scans instructions, a string input, message items, function calls and outputs, reasoning summaries, tools and text.format', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await send('https://api.openai.com/v1/responses', { model: 'gpt-4o-mini', instructions: `Work for ${EMAIL}`, input: `Call ${PHONE}` });
    expect(sentBody()).toMatchObject({ instructions: 'Work for <EMAIL_ADDRESS_1>', input: 'Call <PHONE_NUMBER_1>' });
    suite.fake.reset();
    const reasoning = { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: `The user is ${EMAIL}` }], encrypted_content: 'gAAAAABo0v3EncryptedPayload==' };
    await send('https://api.openai.com/v1/responses', {
      model: 'gpt-4o-mini',
      instructions: `Work for ${EMAIL}`,
      input: [
        { role: 'user', content: [{ type: 'input_text', text: `My card is ${CARD}` }, { type: 'input_image', image_url: `data:image/png;base64,${IMAGE}` }] },
        reasoning,
        { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: `{"phone":"${PHONE}"}` },
        { type: 'function_call_output', call_id: 'c1', output: `{"email":"${OTHER_EMAIL}"}` },
        { type: 'item_reference', id: 'msg_1' },
      ],
      tools: [{ type: 'function', name: 'lookup', description: `Finds ${EMAIL}`, parameters: { type: 'object', properties: { phone: { type: 'string', default: PHONE } }, required: ['phone'] }, strict: false }],
      text: { format: { type: 'json_schema', name: 'out', description: `for ${OTHER_EMAIL}`, schema: { type: 'object', properties: {} } }, verbosity: 'low' },
    });
    const body = sentBody();
    expect(body.instructions).toBe('Work for <EMAIL_ADDRESS_1>');
    expect(body.input).toEqual([
      { role: 'user', content: [{ type: 'input_text', text: 'My card is <CREDIT_CARD_1>' }, { type: 'input_image', image_url: `data:image/png;base64,${IMAGE}` }] },
      { ...reasoning, summary: [{ type: 'summary_text', text: 'The user is <EMAIL_ADDRESS_1>' }] },
      { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{"phone":"<PHONE_NUMBER_1>"}' },
      { type: 'function_call_output', call_id: 'c1', output: '{"email":"<EMAIL_ADDRESS_2>"}' },
      { type: 'item_reference', id: 'msg_1' },
    ]);
    expect(body.tools).toEqual([{ type: 'function', name: 'lookup', description: 'Finds <EMAIL_ADDRESS_1>', parameters: { type: 'object', properties: { phone: { type: 'string', default: '<PHONE_NUMBER_1>' } }, required: ['phone'] }, strict: false }]);
    expect(body.text).toEqual({ format: { type: 'json_schema', name: 'out', description: 'for <EMAIL_ADDRESS_2>', schema: { type: 'object', properties: {} } }, verbosity: 'low' });
  });
});

describe('requests with nothing to hide', () => {
  it('go out byte for byte, tools and images included', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in the picture?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${IMAGE}` } }] }],
      tools: [{ type: 'function', function: { name: 'zoom', description: 'Zooms in', parameters: { type: 'object', properties: { factor: { type: 'number', enum: [2, 4] } } } } }],
    };
    await send('https://api.openai.com/v1/chat/completions', body);
    expect(suite.fake.requests[0]!.body).toEqual(body);
  });
});

describe('image URLs and attached text files', () => {
  it('scans an image URL (its query) and base64 text files in every format, and leaves images and PDFs byte for byte', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    const pdf = `data:application/pdf;base64,${b64(`%PDF-1.4 ${EMAIL}`)}`;
    const status = await send('https://api.openai.com/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: `https://img.example.com/render?email=${EMAIL}&card=${CARD.replaceAll(' ', '')}` } },
          { type: 'image_url', image_url: { url: `https://img.example.com/render?to=${encodeURIComponent(OTHER_EMAIL)}&tel=${encodeURIComponent(PHONE)}` } },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${IMAGE}` } },
          { type: 'file', file: { filename: 'notes.txt', file_data: `data:text/plain;base64,${b64(`call ${PHONE} or mail ${OTHER_EMAIL}`)}` } },
          { type: 'file', file: { filename: 'scan.pdf', file_data: pdf } },
        ],
      }],
    });
    expect(status).toBe(200);
    const sent = suite.fake.requests[0]!;
    const parts = (sent.body.messages as Array<{ content: Array<Record<string, any>> }>)[0]!.content;
    const url = parts[1]!.image_url.url as string;
    expect(url).not.toContain(EMAIL);
    expect(url).not.toContain('4111111111111111');
    expect(() => new URL(url)).not.toThrow();
    // Percent-encoded values are found too.
    const encoded = parts[2]!.image_url.url as string;
    expect(decodeURIComponent(encoded)).not.toContain(OTHER_EMAIL);
    expect(decodeURIComponent(encoded)).not.toContain(PHONE);
    expect(() => new URL(encoded)).not.toThrow();
    parts.splice(2, 1);
    expect(parts[2]!.image_url.url).toBe(`data:image/png;base64,${IMAGE}`);
    const notes = Buffer.from((parts[3]!.file.file_data as string).split(',')[1]!, 'base64').toString('utf8');
    expect(notes).toMatch(/^call \S+ or mail \S+$/);
    for (const value of [PHONE, OTHER_EMAIL]) expect(notes).not.toContain(value);
    // PDFs are binary: not decoded (a limit the README states), and passed on unchanged.
    expect(parts[4]!.file.file_data).toBe(pdf);
  });

  it('scans a text file in bare base64 (no data: prefix) in Chat and Responses file parts, and a text file labelled as a PDF or an image (outside review 11)', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    const csv = b64(`name,email,phone\nA,${EMAIL},${PHONE}\n`);
    const notes = b64(`card ${CARD}, key ${KEY}`);
    // A real PNG and a real PDF (their signatures) stay byte for byte, whatever their bytes hold after it.
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(` ${OTHER_EMAIL}`)]).toString('base64');
    const pdf = b64(`%PDF-1.4 ${OTHER_EMAIL}`);
    let status = await send('https://api.openai.com/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [{
        role: 'user',
        content: [
          { type: 'file', file: { filename: 'crm.csv', file_data: csv } },
          { type: 'file', file: { file_data: notes } },
          { type: 'file', file: { filename: 'scan.pdf', file_data: `data:application/pdf;base64,${csv}` } },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${notes}` } },
          { type: 'file', file: { filename: 'real.png', file_data: png } },
          { type: 'file', file: { filename: 'real.pdf', file_data: `data:application/pdf;base64,${pdf}` } },
        ],
      }],
    });
    expect(status).toBe(200);
    const parts = sentBody().messages[0].content as Array<Record<string, any>>;
    const decoded = (value: string) => Buffer.from(value.slice(value.indexOf(',') + 1), 'base64').toString('utf8');
    expect(decoded(parts[0]!.file.file_data)).toMatch(/^name,email,phone\nA,<EMAIL_ADDRESS_\d+>,<PHONE_NUMBER_\d+>\n$/);
    expect(decoded(parts[1]!.file.file_data)).toMatch(/^card <CREDIT_CARD_\d+>, key \[SECRET\]$/);
    expect(parts[2]!.file.file_data).toMatch(/^data:application\/pdf;base64,/);
    expect(decoded(parts[2]!.file.file_data)).toMatch(/^name,email,phone\nA,<EMAIL_ADDRESS_\d+>,<PHONE_NUMBER_\d+>\n$/);
    expect(parts[3]!.image_url.url).toMatch(/^data:image\/png;base64,/);
    expect(decoded(parts[3]!.image_url.url)).toMatch(/^card <CREDIT_CARD_\d+>, key \[SECRET\]$/);
    expect(parts[4]!.file.file_data).toBe(png);
    expect(parts[5]!.file.file_data).toBe(`data:application/pdf;base64,${pdf}`);

    suite.fake.reset();
    status = await send('https://api.openai.com/v1/responses', {
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'read' }, { type: 'input_file', filename: 'crm.csv', file_data: csv }] }],
    });
    expect(status).toBe(200);
    const file = (sentBody().input as Array<{ content: Array<Record<string, any>> }>)[0]!.content[1]!;
    expect(decoded(file.file_data)).toMatch(/^name,email,phone\nA,<EMAIL_ADDRESS_\d+>,<PHONE_NUMBER_\d+>\n$/);
  });

  it('scans bare base64 with line breaks or in the URL-safe alphabet, Latin-1 and UTF-16 text whatever it is labelled, each written back in its own style; real images and PDFs stay byte for byte, whatever their name (outside review 12)', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const text = `Müller Straße café, mail ${EMAIL} or call ${PHONE} — ${'lorem ipsum dolor '.repeat(8)}`;
    const lines = Buffer.from(text, 'utf8').toString('base64').replace(/(.{76})/g, '$1\n');
    const urlSafe = Buffer.from(`${text}??>>`, 'utf8').toString('base64url');
    const latin1 = Buffer.from(text.replace('—', '-'), 'latin1').toString('base64');
    const utf16 = Buffer.from(text, 'utf16le').toString('base64');
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(` ${EMAIL}`)]).toString('base64');
    const pdf = Buffer.from(`%PDF-1.4 ${EMAIL}`).toString('base64');
    const parts = [
      { filename: 'notes.txt', file_data: lines },
      { file_data: urlSafe },
      { filename: 'scan.pdf', file_data: `data:application/pdf;base64,${latin1}` },
      { file_data: utf16 },
      { filename: 'notes.txt', file_data: png },
      { file_data: pdf },
    ];
    expect(await send('https://api.openai.com/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: parts.map((file) => ({ type: 'file', file })) }] })).toBe(200);
    const sent = (sentBody().messages[0].content as Array<{ file: { file_data: string } }>).map((part) => part.file.file_data);
    const decoded = [
      Buffer.from(sent[0]!, 'base64').toString('utf8'),
      Buffer.from(sent[1]!, 'base64url').toString('utf8'),
      Buffer.from(sent[2]!.split(',')[1]!, 'base64').toString('latin1'),
      Buffer.from(sent[3]!, 'base64').toString('utf16le'),
    ];
    for (const [i, file] of decoded.entries()) {
      expect(file, `file ${i}`).toContain('Müller Straße café, mail <EMAIL_ADDRESS_');
      expect(file, `file ${i}`).not.toContain(EMAIL);
    }
    // Written back as they came: lines of 76 with \n, the URL-safe alphabet.
    expect(sent[0]!.split('\n').slice(0, -1).every((line) => line.length === 76)).toBe(true);
    expect(sent[1]).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sent.slice(4)).toEqual([png, pdf]);
  });

  it('scans text files in UTF-16 (with or without a byte-order mark), Latin-1 and percent-encoded data URLs, each sent back in its own encoding', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const text = `call ${PHONE} or mail ${OTHER_EMAIL}`;
    const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]).toString('base64');
    const utf16leBare = Buffer.from(text, 'utf16le').toString('base64');
    const utf16be = Buffer.from(text, 'utf16le').swap16().toString('base64');
    const latin1 = Buffer.from(`Grüße, ${text}`, 'latin1').toString('base64');
    const files = [
      `data:text/plain;base64,${utf16le}`,
      `data:text/csv;base64,${utf16leBare}`,
      `data:text/plain;charset=utf-16be;base64,${utf16be}`,
      `data:text/plain;charset=iso-8859-1;base64,${latin1}`,
      `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`,
      `data:text/plain,mail ${OTHER_EMAIL} now`,
      // No charset, not UTF-8: Latin-1 or Windows-1252 as Excel writes it.
      `data:text/csv;base64,${Buffer.from(`Müller;${text}`, 'latin1').toString('base64')}`,
      // Text under a media type that does not say so, or none at all.
      `data:application/octet-stream;base64,${Buffer.from(`id,phone\n1,${text}`).toString('base64')}`,
      `data:application/sql;base64,${Buffer.from(`insert into t values ('${text}');`).toString('base64')}`,
      `data:;base64,${Buffer.from(text).toString('base64')}`,
    ];
    // Bytes that are no text (NULs) under octet-stream pass byte for byte, PII-looking runs inside them included.
    const binary = `data:application/octet-stream;base64,${Buffer.concat([Buffer.from([0, 1, 2, 0, 255]), Buffer.from(OTHER_EMAIL)]).toString('base64')}`;
    const status = await send('https://api.openai.com/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: [...files, binary].map((file_data, i) => ({ type: 'file', file: { filename: `f${i}.txt`, file_data } })) }],
    });
    expect(status).toBe(200);
    const parts = (suite.fake.requests[0]!.body.messages as Array<{ content: Array<Record<string, any>> }>)[0]!.content;
    const sent = parts.map((part) => part.file.file_data as string);
    expect(sent.pop()).toBe(binary);
    const body = (url: string) => url.slice(url.indexOf(',') + 1);
    const decoded = [
      Buffer.from(body(sent[0]!), 'base64').toString('utf16le'),
      Buffer.from(body(sent[1]!), 'base64').toString('utf16le'),
      Buffer.from(body(sent[2]!), 'base64').swap16().toString('utf16le'),
      Buffer.from(body(sent[3]!), 'base64').toString('latin1'),
      decodeURIComponent(body(sent[4]!)),
      body(sent[5]!),
      Buffer.from(body(sent[6]!), 'base64').toString('latin1'),
      ...sent.slice(7).map((url) => Buffer.from(body(url), 'base64').toString('utf8')),
    ];
    expect(decoded[6]!.startsWith('Müller;call ')).toBe(true);
    expect(decoded[0]!.startsWith('\uFEFF')).toBe(true);
    expect(decoded[3]!.startsWith('Grüße, call ')).toBe(true);
    for (const [i, file] of decoded.entries()) {
      expect(file, files[i]).not.toContain(OTHER_EMAIL);
      if (i !== 5) expect(file, files[i]).not.toContain(PHONE);
      expect(file, files[i]).toMatch(/mail \S+/);
    }
    // Every one is still a data URL of the same media type.
    for (const [i, url] of sent.entries()) expect(url.slice(0, url.indexOf(','))).toBe(files[i]!.slice(0, files[i]!.indexOf(',')));
  });

  it("scans Anthropic's URL image source and base64 text documents", async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const status = await send('https://api.anthropic.com/v1/messages', {
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      messages: [{
        role: 'user',
        content: [
          { type: 'image', source: { type: 'url', url: `https://img.example.com/a.png?u=${EMAIL}` } },
          { type: 'document', source: { type: 'base64', media_type: 'text/plain', data: Buffer.from(`key ${KEY}`).toString('base64') } },
          { type: 'text', text: 'read these' },
        ],
      }],
    });
    expect(status).toBe(200);
    expect(suite.fake.requests[0]!.rawBody).not.toContain(EMAIL);
    const content = (suite.fake.requests[0]!.body.messages as Array<{ content: Array<Record<string, any>> }>)[0]!.content;
    expect(Buffer.from(content[1]!.source.data as string, 'base64').toString('utf8')).not.toContain(KEY);
  });
});
