// One value, one placeholder, however a URL writes it; and a placeholder the model writes back percent-encoded (as it
// saw it in an image URL) gets its value, encoded for the URL it stands in (outside review 7, finding 8). Sent with the
// official OpenAI SDK through the runtime to the fake provider.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { AgentHandle, Runtime } from '../../core/runtime.ts';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';
import { createDetector } from './detect/index.ts';
import { ActionPolicy } from './policy.ts';
import { PseudonymVault } from './pseudonyms.ts';
import { FindingTally, Redactor } from './redact.ts';
import { StreamChannel } from './stream.ts';

const suite = fakeProviderSuite();
/** The test's runtime (`suite.cage`, closed after the test). */
let runtime: Runtime;

async function inAgent(body: (openai: OpenAI) => Promise<unknown>): Promise<void> {
  const id = await runtime.startAgent(async (agent: AgentHandle) => void (await body(new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 }))));
  const metrics = await runtime.waitForAgent(id);
  if (metrics.status !== 'completed') throw new Error(`agent ${metrics.status}: ${JSON.stringify(metrics.errors)}`);
}

const ALICE = 'alice.jones@corp-example.com';

/** The answer to `prompt` asked twice, whole and streamed (the deltas joined). */
async function wholeAndStreamed(openai: OpenAI, prompt: string): Promise<[string, string]> {
  const whole = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return [whole.choices[0]!.message.content!, text];
}

type UserContent = OpenAI.Chat.Completions.ChatCompletionUserMessageParam['content'];

/**
 * A first call that mints the vault's placeholders (`first`), then `then`, answered with `reply`, under `safety`: what
 * the provider got for each (the first message's content), and what the agent got back for `then`.
 */
async function roundTrip(first: UserContent, then: string, reply: string, safety: Record<string, unknown> = {}): Promise<{ sent: unknown[]; got: string }> {
  runtime = suite.cage({ config: { safety } });
  let got = '';
  await inAgent(async (openai) => {
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: first }] });
    suite.fake.enqueue({ kind: 'reply', text: reply });
    got = (await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: then }] })).choices[0]!.message.content!;
  });
  return { sent: suite.fake.requests.map((request) => request.body.messages[0].content), got };
}
const image = (url: string) => ({ type: 'image_url' as const, image_url: { url } });

describe('one value, one placeholder', () => {
  it('an address in text and percent-encoded in an image URL (and %2e for its dot) gets one placeholder', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent(async (openai) => {
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Customer ${ALICE}, also bob@example.com` }] });
      await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: [image('https://x.io/i.png?e=alice.jones%40corp-example.com&b=bob%40example%2ecom'), { type: 'text', text: 'and bob%40example.com' }] }],
      });
    });
    expect(suite.fake.requests).toHaveLength(2);
    expect(suite.fake.requests[0]!.body.messages[0].content).toBe('Customer <EMAIL_ADDRESS_1>, also <EMAIL_ADDRESS_2>');
    const [url, text] = suite.fake.requests[1]!.body.messages[0].content;
    expect(url.image_url.url).toBe('https://x.io/i.png?e=%3CEMAIL_ADDRESS_1%3E&b=%3CEMAIL_ADDRESS_2%3E');
    expect(text.text).toBe('and <EMAIL_ADDRESS_2>');
  });
});

describe('a value written with `+` for its spaces (a query) and with spaces (prose)', () => {
  it('gets one placeholder, and a leading `+` (a phone) still tells two values apart', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent(async (openai) => {
      await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: [image('https://x.io/i.png?card=4111+1111+1111+1111&tel=%2B44+20+7946+0958&to=bob%2Btag%40example.com'), { type: 'text', text: 'card 4111 1111 1111 1111, call +44 20 7946 0958 or 44 20 7946 0958, mail bob+tag@example.com' }] }],
      });
    });
    const [url, text] = suite.fake.requests[0]!.body.messages[0].content;
    const card = /card=([^&]+)/.exec(url.image_url.url)![1]!;
    const phone = /tel=([^&]+)/.exec(url.image_url.url)![1]!;
    expect(decodeURIComponent(card)).toMatch(/^<CREDIT_CARD_1>$/);
    expect(decodeURIComponent(phone)).toMatch(/^<PHONE_NUMBER_1>$/);
    expect(decodeURIComponent(/to=([^&]+)/.exec(url.image_url.url)![1]!)).toBe('<EMAIL_ADDRESS_1>');
    expect(text.text).toBe('card <CREDIT_CARD_1>, call <PHONE_NUMBER_1> or <PHONE_NUMBER_2>, mail <EMAIL_ADDRESS_1>');
  });
});

describe('placeholders the model writes percent-encoded', () => {
  const answer = 'The image was https://x.io/i.png?e=%3CEMAIL_ADDRESS_1%3E&p=%3cPHONE_NUMBER_1%3e for <EMAIL_ADDRESS_1>; %3CEMAIL_ADDRESS_9%3E is none of ours.';
  const expected = 'The image was https://x.io/i.png?e=alice.jones%40corp-example.com&p=%2B44%2020%207946%200958 for alice.jones@corp-example.com; %3CEMAIL_ADDRESS_9%3E is none of ours.';
  const prompt = `Mail ${ALICE} or call +44 20 7946 0958`;

  it('are restored in an answer, encoded for the URL they stand in: whole, streamed, and in tool-call arguments', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const got: string[] = [];
    await inAgent(async (openai) => {
      suite.fake.enqueue({ kind: 'reply', text: answer }, { kind: 'reply', text: answer }, { kind: 'reply', toolCall: { name: 'open', arguments: '{"url":"https://x.io/?e=%3CEMAIL_ADDRESS_1%3E","to":"\\u003cEMAIL_ADDRESS_1\\u003e"}' } });
      got.push(...(await wholeAndStreamed(openai, prompt)));
      const call = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: prompt }],
        tools: [{ type: 'function', function: { name: 'open', parameters: { type: 'object' } } }],
      });
      const toolCall = call.choices[0]!.message.tool_calls![0]!;
      got.push(toolCall.type === 'function' ? toolCall.function.arguments : '');
    });
    expect(got[0]).toBe(expected);
    expect(got[1]).toBe(expected);
    expect(JSON.parse(got[2]!)).toEqual({ url: 'https://x.io/?e=alice.jones%40corp-example.com', to: ALICE });
  });

  it('one the agent wrote percent-encoded goes out as a literal one, encoded, and comes back as written', async () => {
    const { sent, got } = await roundTrip(prompt, 'Our template is https://t.io/?to=%3CEMAIL_ADDRESS_1%3E', 'Template: https://t.io/?to=%3CLITERAL_1%3E and <LITERAL_1>');
    expect(sent[1]).toBe('Our template is https://t.io/?to=%3CLITERAL_1%3E');
    expect(got).toBe('Template: https://t.io/?to=%3CEMAIL_ADDRESS_1%3E and %3CEMAIL_ADDRESS_1%3E');
  });
});

/** `text` streamed in two pieces cut at every point, through a channel restoring `vault`'s placeholders: each cut's pieces. */
function splitEverywhere(vault: PseudonymVault, text: string): string[][] {
  const redactor = new Redactor({ detector: createDetector(), policy: new ActionPolicy({}), mask: { keep: 4, char: '*' }, hashKey: 'k'.repeat(32) });
  const runs: string[][] = [];
  for (let cut = 1; cut < text.length; cut++) {
    const channel = new StreamChannel(redactor, vault, new FindingTally());
    runs.push([channel.push(text.slice(0, cut)), channel.push(text.slice(cut)), channel.flush()]);
  }
  return runs;
}

describe('a stream split inside a percent-encoded placeholder', () => {
  it('holds it back at every split point and restores it whole', () => {
    const vault = new PseudonymVault();
    vault.placeholderFor('EMAIL_ADDRESS', 'jane@example.org');
    splitEverywhere(vault, 'See https://x.io/?e=%3CEMAIL_ADDRESS_1%3E now, 100% sure').forEach((seen, i) => {
      expect(seen.join(''), `cut at ${i + 1}`).toBe('See https://x.io/?e=jane%40example.org now, 100% sure');
      expect(seen.some((piece) => /%3C|EMAIL/.test(piece)), `cut at ${i + 1}`).toBe(false);
    });
  });
});

describe('placeholders the model writes as XML writes them (&lt;EMAIL_ADDRESS_1&gt;)', () => {
  const prompt = `Mail ${ALICE}`;
  const answer = '<svg><text>&lt;EMAIL_ADDRESS_1&gt;</text><desc>&lt;EMAIL_ADDRESS_7&gt; is none of ours</desc></svg>';
  const expected = `<svg><text>${ALICE}</text><desc>&lt;EMAIL_ADDRESS_7&gt; is none of ours</desc></svg>`;

  it('are restored in an answer, whole and streamed', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    const got: string[] = [];
    await inAgent(async (openai) => {
      suite.fake.enqueue({ kind: 'reply', text: answer }, { kind: 'reply', text: answer });
      got.push(...(await wholeAndStreamed(openai, prompt)));
    });
    expect(got).toEqual([expected, expected]);
  });

  it('one the agent wrote so goes out as a literal one and comes back as written', async () => {
    const { sent, got } = await roundTrip(prompt, 'Our markup holds &lt;EMAIL_ADDRESS_1&gt;', 'Kept: &lt;LITERAL_1&gt;');
    expect(sent[1]).toBe('Our markup holds &lt;LITERAL_1&gt;');
    expect(got).toBe('Kept: &lt;EMAIL_ADDRESS_1&gt;');
  });

  it('a value with markup characters goes back escaped, and a stream split anywhere in the entity form restores it whole', () => {
    const vault = new PseudonymVault();
    vault.placeholderFor('SECRET', 'p<w>&d');
    expect(vault.restore('<p>&lt;SECRET_1&gt; or <SECRET_1></p>')).toBe('<p>p&lt;w&gt;&amp;d or p<w>&d</p>');
    splitEverywhere(vault, 'In the page: &lt;SECRET_1&gt; &amp; more, a &lt;b&gt; tag').forEach((seen, i) => {
      expect(seen.join(''), `cut at ${i + 1}`).toBe('In the page: p&lt;w&gt;&amp;d &amp; more, a &lt;b&gt; tag');
    });
  });
});

describe('one placeholder per value, never one for two (outside review 8)', () => {
  it('two passwords that differ only by + and a space, or by an escape, get two placeholders and each comes back as itself', async () => {
    const prompt = [{ type: 'text' as const, text: 'password is ab+cd12XYz, and token=Zx81k2%41LmQp then token=Zx81k2ALmQp' }, image('https://x.io/i.png?password=ab%20cd12XYz')];
    const { sent, got: answer } = await roundTrip(prompt, 'which?', 'Use <SECRET_1>, <SECRET_2>, <SECRET_3>, <SECRET_4>.', { entities: { SECRET: 'pseudonymize' } });
    const [text, url] = sent[0] as Array<{ text: string; image_url: { url: string } }>;
    expect(text!.text).toBe('password is <SECRET_1>, and token=<SECRET_2> then token=<SECRET_3>');
    expect(decodeURIComponent(/password=([^&]+)/.exec(url!.image_url.url)![1]!)).toBe('<SECRET_4>');
    expect(answer).toBe('Use ab+cd12XYz, Zx81k2%41LmQp, Zx81k2ALmQp, ab%20cd12XYz.');
  });

  it('an address whose @ is written as is keeps its escapes as characters: bob%2Btag@x.io is not bob+tag@x.io (outside review 9, F5)', async () => {
    const { sent, got } = await roundTrip('mail bob%2Btag@x.io and bob+tag@x.io', 'who?', 'Both: <EMAIL_ADDRESS_1>, <EMAIL_ADDRESS_2>');
    expect(sent[0]).toBe('mail <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>');
    expect(got).toBe('Both: bob%2Btag@x.io, bob+tag@x.io');
  });

  it('an address double- and triple-encoded in a URL keeps the one placeholder it has in prose', async () => {
    runtime = suite.cage({ config: { safety: {} } });
    await inAgent(async (openai) => {
      await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'mail bob@x.io' }, image('https://x.io/i.png?e=bob%2540x.io&f=bob%252540x.io')] }],
      });
    });
    const [text, url] = suite.fake.requests[0]!.body.messages[0].content;
    expect(text.text).toBe('mail <EMAIL_ADDRESS_1>');
    expect(url.image_url.url).not.toContain('bob');
    expect(url.image_url.url.match(/EMAIL_ADDRESS_\d/g)).toEqual(['EMAIL_ADDRESS_1', 'EMAIL_ADDRESS_1']);
  });
});

describe('a placeholder written after a secret name (outside review 8, F6)', () => {
  it('is restored, not read as a new secret: ?password=%3CSECRET_1%3E and password=&lt;SECRET_1&gt;', async () => {
    const reply = 'Open https://a.io/?password=%3CSECRET_1%3E or <p>password=&lt;SECRET_1&gt;</p>';
    const { sent, got } = await roundTrip('my password is hunter2XY!', 'link?', reply, { entities: { SECRET: 'pseudonymize' } });
    expect(sent[0]).toBe('my password is <SECRET_1>');
    expect(got).toBe('Open https://a.io/?password=hunter2XY%21 or <p>password=hunter2XY!</p>');
  });
});
