// Images and files that are text though their type is image/…: SVG (an outside review's card, SSN and address went to
// the provider as the text of an image/svg+xml image, in four encodings). Sent with the official OpenAI SDK through
// the runtime: the provider gets none of the values, each data URL encoded as the agent wrote it. Binary images are
// not read.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { AgentHandle, Runtime } from '../../core/runtime.ts';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';
import { rewriteOpaque } from './json-text.ts';

const suite = fakeProviderSuite();
/** The test's runtime (`suite.cage`, closed after the test). */
let runtime: Runtime;

const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><text>bob@example.com 4111 1111 1111 1111 536-22-1947</text></svg>';
const BASE64 = Buffer.from(SVG).toString('base64');
const VALUES = ['bob@example.com', 'bob%40example.com', '4111 1111 1111 1111', '4111%201111', '536-22-1947', '1947'];
/** The SVG as the provider should read it: the values' placeholders escaped, so it is still well-formed XML. */
const REWRITTEN = '<svg xmlns="http://www.w3.org/2000/svg"><text>&lt;EMAIL_ADDRESS_1&gt; &lt;CREDIT_CARD_1&gt; &lt;US_SSN_1&gt;</text></svg>';

async function inAgent(body: (openai: OpenAI, anthropic: Anthropic) => Promise<unknown>): Promise<void> {
  const id = await runtime.startAgent(async (agent: AgentHandle) => void (await body(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }), new Anthropic({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }))));
  const metrics = await runtime.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
}

function received(): Record<string, any> {
  expect(suite.fake.requests).toHaveLength(1);
  const { rawBody, body } = suite.fake.requests[0]!;
  for (const value of VALUES) expect(rawBody).not.toContain(value);
  expect(rawBody).not.toContain(BASE64);
  return body;
}

describe('SVG images and files', () => {
  it('in image_url, as a utf8, percent-encoded or base64 data URL, and as a file part: rewritten inside, encoded as written', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const percent = `data:image/svg+xml,${encodeURIComponent(SVG)}`;
    await inAgent((openai) =>
      openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/svg+xml;utf8,${SVG}` } },
              { type: 'image_url', image_url: { url: percent } },
              { type: 'image_url', image_url: { url: `data:image/svg+xml;base64,${BASE64}` } },
              { type: 'file', file: { filename: 'a.svg', file_data: `data:image/svg+xml;base64,${BASE64}` } },
            ],
          },
        ],
      }),
    );
    const [utf8, encoded, base64, file] = received().messages[0].content;
    expect(utf8.image_url.url).toBe(`data:image/svg+xml;utf8,${REWRITTEN}`);
    expect(encoded.image_url.url).toBe(`data:image/svg+xml,${encodeURIComponent(REWRITTEN)}`);
    expect(base64.image_url.url).toBe(`data:image/svg+xml;base64,${Buffer.from(REWRITTEN).toString('base64')}`);
    expect(file.file.file_data).toBe(`data:image/svg+xml;base64,${Buffer.from(REWRITTEN).toString('base64')}`);
  });

  it('under redact: the replacements need no escaping', async () => {
    runtime = suite.cage({ config: { safety: { entities: { EMAIL_ADDRESS: 'redact', CREDIT_CARD: 'redact', US_SSN: 'redact' } } } });
    await inAgent((openai) =>
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/svg+xml;base64,${BASE64}` } }] }] }),
    );
    const url = received().messages[0].content[0].image_url.url as string;
    expect(Buffer.from(url.slice('data:image/svg+xml;base64,'.length), 'base64').toString()).toBe(SVG.replace('bob@example.com', '[EMAIL_ADDRESS]').replace('4111 1111 1111 1111', '[CREDIT_CARD]').replace('536-22-1947', '[US_SSN]'));
  });
});

describe('Anthropic base64 sources and other XML types', () => {
  it('an Anthropic image and document with an image/svg+xml base64 source: rewritten, base64 again; a PNG as written', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const png = Buffer.from('\x89PNG\r\n bob@example.com', 'latin1').toString('base64');
    await inAgent((_openai, anthropic) =>
      anthropic.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 100,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/svg+xml' as 'image/png', data: BASE64 } },
              { type: 'document', source: { type: 'base64', media_type: 'image/svg+xml' as 'application/pdf', data: BASE64 } },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            ],
          },
        ],
      }),
    );
    const [image, document, binary] = received().messages[0].content;
    expect(Buffer.from(image.source.data, 'base64').toString()).toBe(REWRITTEN);
    expect(Buffer.from(document.source.data, 'base64').toString()).toBe(REWRITTEN);
    expect(binary.source.data).toBe(png);
  });

  const rewrite = (text: string) => text.replace('bob@example.com', '<EMAIL_ADDRESS_1>');
  const source = (media_type: string, text: string) => ({ type: 'image', source: { type: 'base64', media_type, data: Buffer.from(text).toString('base64') } });
  const decoded = (part: unknown) => Buffer.from((part as { source: { data: string } }).source.data, 'base64').toString();

  it('reads image/svg+xml and any +xml or +json type as text, escaping placeholders in XML', () => {
    expect(decoded(rewriteOpaque(source('image/svg+xml', SVG), rewrite))).toContain('<text>&lt;EMAIL_ADDRESS_1&gt; 4111');
    expect(decoded(rewriteOpaque(source('application/xhtml+xml', '<p>bob@example.com</p>'), rewrite))).toBe('<p>&lt;EMAIL_ADDRESS_1&gt;</p>');
    expect(decoded(rewriteOpaque({ type: 'document', source: { type: 'base64', media_type: 'application/ld+json', data: Buffer.from('{"email":"bob@example.com"}').toString('base64') } }, rewrite))).toBe('{"email":"<EMAIL_ADDRESS_1>"}');
  });

  it('leaves binary images alone (their signature first), whatever bytes they hold after it', () => {
    const signatures: Record<string, string> = { 'image/png': '\x89PNG\r\n\x1a\n', 'image/jpeg': '\xff\xd8\xff\xe0', 'image/webp': 'RIFF\x10\0\0\0WEBP', 'image/gif': 'GIF89a' };
    for (const [type, signature] of Object.entries(signatures)) {
      const data = Buffer.from(`${signature} bob@example.com`, 'latin1').toString('base64');
      const part = { type: 'image', source: { type: 'base64', media_type: type, data } };
      expect(rewriteOpaque(part, rewrite)).toBe(part);
      const url = { url: `data:${type};base64,${data}` };
      expect(rewriteOpaque(url, rewrite)).toBe(url);
    }
  });

  it('reads a file labelled as an image or a PDF whose bytes are text, with no such signature, as the text it is (outside review 11)', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'application/pdf']) {
      expect(decoded(rewriteOpaque(source(type, 'mail bob@example.com'), rewrite)), type).toBe('mail <EMAIL_ADDRESS_1>');
      const url = rewriteOpaque({ url: `data:${type};base64,${Buffer.from('mail bob@example.com').toString('base64')}` }, rewrite) as { url: string };
      expect(Buffer.from(url.url.split(',')[1]!, 'base64').toString(), type).toBe('mail <EMAIL_ADDRESS_1>');
    }
    // Audio, video and other binary types are still taken at their word: no signature is checked for them.
    const audio = source('audio/wav', 'mail bob@example.com');
    expect(rewriteOpaque(audio, rewrite)).toBe(audio);
  });
});

describe('percent-encoded data URLs of no type or a text type not named text/', () => {
  const rewrite = (text: string) => text.replace('bob@example.com', '<EMAIL_ADDRESS_1>');

  it('reads data:, (text/plain by RFC 2397), data:;charset=utf-8, and application/javascript as text; image/png not', () => {
    expect(rewriteOpaque({ url: 'data:,mail%20bob%40example.com' }, rewrite)).toEqual({ url: `data:,${encodeURIComponent('mail <EMAIL_ADDRESS_1>')}` });
    expect(rewriteOpaque({ url: 'data:;charset=utf-8,bob@example.com' }, rewrite)).toEqual({ url: 'data:;charset=utf-8,<EMAIL_ADDRESS_1>' });
    expect(rewriteOpaque({ file_data: 'data:application/javascript,send(%22bob%40example.com%22)' }, rewrite)).toEqual({ file_data: `data:application/javascript,${encodeURIComponent('send("<EMAIL_ADDRESS_1>")')}` });
    const png = { url: 'data:image/png,bob%40example.com' };
    expect(rewriteOpaque(png, rewrite)).toBe(png);
  });
});

describe('a percent-encoded SVG as the reviewer wrote it (raw `:`, `/`, `=` and spaces among escapes)', () => {
  it('changes only from the first value to the last; the rest goes out as written', () => {
    const rewrite = (text: string) => text.replace('bob@example.com', '<EMAIL_ADDRESS_1>').replace('4111 1111 1111 1111', '<CREDIT_CARD_1>');
    const url = 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22%3E%3Ctext%3Ebob%40example.com 4111 1111 1111 1111%3C/text%3E%3C/svg%3E';
    const out = (rewriteOpaque({ url }, rewrite) as { url: string }).url;
    expect(out).toBe('data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22%3E%3Ctext%3E%26lt%3BEMAIL_ADDRESS_1%26gt%3B%20%26lt%3BCREDIT_CARD_1%26gt%3B%3C/text%3E%3C/svg%3E');
    expect(decodeURIComponent(out)).toBe('data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg"><text>&lt;EMAIL_ADDRESS_1&gt; &lt;CREDIT_CARD_1&gt;</text></svg>');
  });
});
