// A model can glue placeholders to each other or to a digit (`<EMAIL_ADDRESS_1><PHONE_NUMBER_1>`, `<CREDIT_CARD_1>5`):
// the agent gets the values back glued into a text no recognizer reads, and sends it back as history. The vault's
// values are looked for as written in what goes out, so the provider still never sees them (an outside review).
import { expect, it } from 'vitest';
import { fakeProviderSuite } from '../../test/fake-provider-suite.ts';
import { PseudonymVault } from './pseudonyms.ts';

const suite = fakeProviderSuite();

const VALUES = ['bob@corp-mail.io', '+44 7911 123456', '4111 1111 1111 1111', '536-22-1234', '10.20.30.40'];
const GLUED = '<EMAIL_ADDRESS_1><PHONE_NUMBER_1> <CREDIT_CARD_1>5 7<US_SSN_1> v<IP_ADDRESS_1>.5 <CREDIT_CARD_1>-<CREDIT_CARD_1> <EMAIL_ADDRESS_1>+x';

for (const stream of [false, true]) {
  it(`keeps values the model glued together from the provider when the agent sends them back (${stream ? 'streamed' : 'whole'} answer)`, async () => {
    const runtime = suite.cage({ config: { safety: {} } });
    suite.fake.enqueue({ kind: 'reply', text: GLUED });
    const messages: Array<{ role: string; content: string }> = [{ role: 'user', content: `mail ${VALUES[0]}, call ${VALUES[1]}, card ${VALUES[2]}, ssn ${VALUES[3]}, ip ${VALUES[4]}` }];
    let answer = '';
    const id = await runtime.startAgent(async (agent) => {
      const ask = async () => {
        const response = await agent.fetch('https://api.openai.com/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream }) });
        const text = await response.text();
        if (!stream) return (JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
        let out = '';
        for (const line of text.split('\n')) if (line.startsWith('data: {')) out += (JSON.parse(line.slice(6)) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta?.content ?? '';
        return out;
      };
      answer = await ask();
      messages.push({ role: 'assistant', content: answer }, { role: 'user', content: 'thanks' });
      await ask();
    });
    await runtime.waitForAgent(id);
    // The agent got its values back, glued as the model wrote them.
    expect(answer).toContain('bob@corp-mail.io+44 7911 123456');
    expect(answer).toContain('4111 1111 1111 11115');
    expect(suite.fake.requests).toHaveLength(2);
    for (const request of suite.fake.requests) for (const value of VALUES) expect(request.rawBody, value).not.toContain(value);
    const history = (suite.fake.requests[1]!.body as { messages: Array<{ content: string }> }).messages[1]!.content;
    expect(history).toBe(GLUED);
  });
}

it('looks for the last 1,000 values put back, of six characters or more, and no others', () => {
  const vault = new PseudonymVault();
  const value = (i: number) => `user${i}@corp-mail.io`;
  for (let i = 0; i < 1500; i++) vault.placeholderFor('EMAIL_ADDRESS', value(i));
  vault.placeholderFor('US_SSN', '12345');
  // Minted but never put back: not looked for.
  expect(vault.knownValuesIn(value(7))).toEqual([]);
  vault.restore(Array.from({ length: 1500 }, (_, i) => `<EMAIL_ADDRESS_${i + 1}>`).join(' ') + ' <US_SSN_1>');
  expect(vault.knownValuesIn(`x${value(1499)}y`)).toEqual([{ type: 'EMAIL_ADDRESS', start: 1, end: 1 + value(1499).length, score: 1 }]);
  expect(vault.knownValuesIn(value(500))).toHaveLength(1);
  expect(vault.knownValuesIn(value(499))).toEqual([]); // the oldest went
  expect(vault.knownValuesIn('a12345b')).toEqual([]); // too short to look for
});
