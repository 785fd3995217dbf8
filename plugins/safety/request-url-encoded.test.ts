// Values written percent-encoded, as URLSearchParams writes a query: an outside reviewer's URL, in prompt text and as
// an image_url, sent with the official OpenAI SDK through the runtime. The provider gets no value, and the image URL
// differs from the agent's only where a value was.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { AgentHandle, Runtime } from '../../core/runtime.ts';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';
import { rewriteOpaque } from './json-text.ts';

const suite = fakeProviderSuite();
/** The test's runtime (`suite.cage`, closed after the test). */
let runtime: Runtime;

/** `email=bob%40example.com&card=4111+1111+1111+1111&phone=%2B44+20+7946+0958` */
const QUERY = new URLSearchParams({ email: 'bob@example.com', card: '4111 1111 1111 1111', phone: '+44 20 7946 0958' }).toString();
const URL_WRITTEN = `https://crm.example.com/lookup?${QUERY}&note=a%2Bb%26c+d#top`;
/** Each value as written and as read: none may reach the provider. */
const VALUES = ['bob%40example.com', 'bob@example.com', '4111+1111+1111+1111', '4111 1111 1111 1111', '%2B44+20+7946+0958', '+44 20 7946 0958', '7946'];

async function inAgent(body: (openai: OpenAI) => Promise<unknown>): Promise<void> {
  const id = await runtime.startAgent(async (agent: AgentHandle) => void (await body(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }))));
  const metrics = await runtime.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
}

function received(): Record<string, any> {
  expect(suite.fake.requests).toHaveLength(1);
  const { rawBody, body } = suite.fake.requests[0]!;
  for (const value of VALUES) expect(rawBody).not.toContain(value);
  return body;
}

describe('percent-encoded values in a URL', () => {
  it("in prompt text: the reviewer's query goes out with placeholders, and the answer gets the values back as written", async () => {
    runtime = suite.cage({ config: { safety: {} } });
    suite.fake.enqueue({ kind: 'reply', text: 'Looked up <EMAIL_ADDRESS_1> (card <CREDIT_CARD_1>).' });
    let answer = '';
    await inAgent(async (openai) => {
      const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Fetch https://crm.example.com/lookup?${QUERY} and summarise.` }] });
      answer = completion.choices[0]!.message.content!;
    });
    expect(received().messages[0].content).toBe('Fetch https://crm.example.com/lookup?email=<EMAIL_ADDRESS_1>&card=<CREDIT_CARD_1>&phone=<PHONE_NUMBER_1> and summarise.');
    expect(answer).toBe('Looked up bob%40example.com (card 4111+1111+1111+1111).');
  });

  it('in an image_url: only the values change, their placeholders percent-encoded; %2B, %26, + and # stay as written', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent((openai) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in it?' }, { type: 'image_url', image_url: { url: URL_WRITTEN } }] }],
      }),
    );
    const url = received().messages[0].content[1].image_url.url as string;
    expect(url).toBe('https://crm.example.com/lookup?email=%3CEMAIL_ADDRESS_1%3E&card=%3CCREDIT_CARD_1%3E&phone=%3CPHONE_NUMBER_1%3E&note=a%2Bb%26c+d#top');
    const parsed = new URL(url);
    expect(Object.fromEntries(parsed.searchParams)).toEqual({ email: '<EMAIL_ADDRESS_1>', card: '<CREDIT_CARD_1>', phone: '<PHONE_NUMBER_1>', note: 'a+b&c d' });
  });

  it('in an image_url of any scheme with an authority (ftp://, s3://): the values change as in an https one (outside review 8)', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent((openai) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://bob%40x.io:pw@host/a.png' } }, { type: 'image_url', image_url: { url: 's3://bucket/jane.doe@example.org/card-4111-1111-1111-1111.png' } }] }],
      }),
    );
    const [ftp, s3] = received().messages[0].content.map((part: { image_url: { url: string } }) => part.image_url.url);
    expect(ftp).toBe('ftp://%3CEMAIL_ADDRESS_1%3E:pw@host/a.png');
    expect(s3).not.toContain('jane.doe');
    expect(s3).not.toContain('4111-1111');
  });

  it('in an image_url under redact and mask: the replacements are percent-encoded, a mask over an escape included', async () => {
    runtime = suite.cage({ config: { safety: { entities: { EMAIL_ADDRESS: 'redact', CREDIT_CARD: 'mask', PHONE_NUMBER: 'mask' } } } });
    await inAgent((openai) =>
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: URL_WRITTEN } }] }] }),
    );
    const url = received().messages[0].content[0].image_url.url as string;
    expect(url).toBe('https://crm.example.com/lookup?email=%5BEMAIL_ADDRESS%5D&card=****+****+****+1111&phone=%25****+**+****+0958&note=a%2Bb%26c+d#top');
    expect(Object.fromEntries(new URL(url).searchParams)).toEqual({ email: '[EMAIL_ADDRESS]', card: '**** **** **** 1111', phone: '%**** ** **** 0958', note: 'a+b&c d' });
  });

  it('in a percent-encoded data URL that is not UTF-8 (Latin-1): the value is found in place and its placeholder encoded', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent((openai) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'note.txt', file_data: 'data:text/plain,caf%E9%20bob%40example.com%0A' } }] }],
      }),
    );
    expect(received().messages[0].content[0].file.file_data).toBe('data:text/plain,caf%E9%20%3CEMAIL_ADDRESS_1%3E%0A');
  });

  it('sends a URL without values byte for byte; a placeholder the agent wrote encoded gets a literal one, encoded', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const clean = 'https://img.example.com/render?q=hello%20world&tag=a+b&x=%E2%9C%93&ip=[::1]';
    const placeholder = 'https://img.example.com/render?to=%3CEMAIL_ADDRESS_7%3E&v=%2B1';
    await inAgent((openai) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: clean } }, { type: 'image_url', image_url: { url: placeholder } }] }],
      }),
    );
    const content = received().messages[0].content;
    expect(content[0].image_url.url).toBe(clean);
    // As in prose (redact.ts: LITERAL_PLACEHOLDER), so the model's echo comes back as the agent wrote it.
    expect(content[1].image_url.url).toBe('https://img.example.com/render?to=%3CLITERAL_1%3E&v=%2B1');
  });
});

describe("an answer's URL", () => {
  it('gets the values back in place of placeholders it carries percent-encoded, encoded for a query; the rest as written', () => {
    const vault: Record<string, string> = { '<EMAIL_ADDRESS_1>': 'bob%40example.com', '<PHONE_NUMBER_1>': '+44 20 7946 0958', '<EMAIL_ADDRESS_2>': 'ana@corp.io' };
    const restore = (text: string) => text.replace(/<[A-Z_]+_\d+>/g, (placeholder) => vault[placeholder] ?? placeholder);
    const url = 'https://x.example/%3CEMAIL_ADDRESS_2%3E/a?e=%3CEMAIL_ADDRESS_1%3E&p=%3cPHONE_NUMBER_1%3e&z=%3CFOO_9%3E&k=a%2Bb+c';
    expect(rewriteOpaque({ url }, restore)).toEqual({ url: 'https://x.example/ana%40corp.io/a?e=bob%40example.com&p=%2B44%2020%207946%200958&z=%3CFOO_9%3E&k=a%2Bb+c' });
  });
});
