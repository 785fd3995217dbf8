// For tests (not built into dist): a text streamed through a channel cut at given points, as the agent reads it (joined).
import { PseudonymVault } from './pseudonyms.ts';
import { FindingTally, type Redactor } from './redact.ts';
import { StreamChannel } from './stream.ts';

export function streamThrough(redactor: Redactor, text: string, cuts: readonly number[]): string {
  const channel = new StreamChannel(redactor, new PseudonymVault(), new FindingTally());
  let out = '';
  let last = 0;
  for (const cut of [...cuts, text.length]) {
    out += channel.push(text.slice(last, cut));
    last = cut;
  }
  return out + channel.flush();
}
