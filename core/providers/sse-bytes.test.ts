import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../plugins/safety/eval/seeded-random.ts';
import { asByteString, byteString, eventRuns, readHitsForTests } from './sse-bytes.ts';

const CHAT = ['data: {'];
const delta = (text: string, tail = ',"logprobs":null,"finish_reason":null}]') => `data: {"id":"c","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}${tail}}\n\n`;

/** The runs as [text, read] pairs. */
function runsOf(text: string, secrets: string[] = [], plain = CHAT): { runs: Array<[string, boolean]>; rest: string } | undefined {
  const bytes = byteString(Buffer.from(text));
  const cut = eventRuns(bytes, plain, secrets.map(asByteString));
  if (!cut) return undefined;
  const runs: Array<[string, boolean]> = [];
  for (let i = 0; i < cut.runs.length; i += 3) runs.push([Buffer.from(bytes.slice(cut.runs[i], cut.runs[i + 1]), 'latin1').toString('utf8'), cut.runs[i + 2] === 1]);
  return { runs, rest: Buffer.from(bytes.slice(cut.rest), 'latin1').toString('utf8') };
}

describe('eventRuns', () => {
  it('merges plain events into one run and keeps an unfinished event for later', () => {
    const text = delta('a') + delta('b 🙂') + ': keep-alive\n\n' + 'data: {"id":"c","choi';
    expect(runsOf(text)).toEqual({ runs: [[delta('a') + delta('b 🙂') + ': keep-alive\n\n', false]], rest: 'data: {"id":"c","choi' });
  });

  it('reads an event with usage, a finish or an error, and the terminator, whatever the blanks around the colon', () => {
    const finish = delta('', ',"logprobs":null,"finish_reason" : "stop"}]');
    const usage = 'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1}}\n\n';
    const error = 'data: {"error":{"message":"x"}}\n\n';
    const named = 'event: error\ndata: {"type":"error","error":{}}\n\n';
    expect(runsOf(delta('a') + finish + usage + error + named + 'data: [DONE]\n\n')!.runs).toEqual([
      [delta('a'), false],
      [finish, true],
      [usage, true],
      [error, true],
      [named, true],
      ['data: [DONE]\n\n', true],
    ]);
  });

  it('passes on keys whose value is null, and key names written inside content (escaped there)', () => {
    const text = delta('say "usage": {} and "error"', ',"logprobs":null,"finish_reason": null}],"usage" :null,"error":null');
    expect(runsOf(text)!.runs).toEqual([[text, false]]);
  });

  it('reads an event holding a secret, and one that does not look like a content event', () => {
    const secret = delta('key sk-live-123');
    const html = 'data: <html>bad gateway</html>\n\n';
    expect(runsOf(delta('a') + secret + html + delta('b'), ['sk-live-123'])!.runs).toEqual([
      [delta('a'), false],
      [secret, true],
      [html, true],
      [delta('b'), false],
    ]);
  });

  it("passes on only the format's own content events (Anthropic: deltas and pings)", () => {
    const plain = ['event: content_block_delta\ndata: {', 'event: ping\ndata: {'];
    const start = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\n';
    const text = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n';
    const ping = 'event: ping\ndata: {"type":"ping"}\n\n';
    expect(runsOf(start + text + ping, [], plain)!.runs).toEqual([
      [start, true],
      [text + ping, false],
    ]);
  });

  it('reads a delta naming an event the record reads, one with a second data line, and one with a \\u escape (an outside review)', () => {
    const plain = ['event: content_block_delta\ndata: {'];
    const stop = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"},"type":"message_stop"}\n\n';
    const twoLines = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}\ndata: {"type":"message_stop"}\n\n';
    const escaped = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sk\\u002dant"}}\n\n';
    expect(runsOf(stop + twoLines + escaped, [], plain)!.runs).toEqual([
      [stop, true],
      [twoLines, true],
      [escaped, true],
    ]);
  });

  it('leaves CR-framed bytes to the text parser', () => {
    expect(runsOf(delta('a').replaceAll('\n', '\r\n'))).toBeUndefined();
  });

  it('finds a read hit in exactly the events where the reference pattern does, over seeded random events', () => {
    // The one pattern the scan replaced (slower: it tried its alternatives at every quote): the oracle.
    const READ_KEY_REFERENCE = /"(?:usage|finish_reason|stop_reason|error)"[ \t]*(?::(?![ \t]*null)|[^: \t])|"(?:message_(?:start|delta|stop)|response\.(?:completed|failed|incomplete))"|\\u/g;
    // Pieces that make and unmake hits: names whole and cut, blanks, null and near-nulls, quotes, escapes.
    const pieces = ['"usage"', '"error"', '"finish_reason"', '"stop_reason"', '"x_reason"', '_reason"', '"nonstop_reason"', '"finish', '"stop', '"message_stop"', '"message_start"', '"message_delta"', '"message_', 'stop"', '"response.completed"', '"response.failed"', '"response.incomplete"', '"response.', 'completed"', 'usage"', 'error"', '"usage_x"', ':', ' ', '\t', 'null', 'nul', 'nullx', '"', ',', '{', '}', 'a', '\\', 'u', '\\u', '1', '\n'];
    const seeds = Number(process.env.IRON_READ_HITS_CASES ?? 3000);
    for (let seed = 1; seed <= seeds; seed++) {
      const rand = seededRandom(seed);
      const events: string[] = [];
      for (let e = 0, n = 1 + Math.floor(rand() * 4); e < n; e++) {
        let body = '';
        for (let i = 0, m = Math.floor(rand() * 12); i < m; i++) body += pieces[Math.floor(rand() * pieces.length)];
        events.push(`data: {${body.replaceAll('\n\n', '\n')}}\n\n`);
      }
      const bytes = events.join('');
      const reference: number[] = [];
      READ_KEY_REFERENCE.lastIndex = 0;
      for (let match = READ_KEY_REFERENCE.exec(bytes); match !== null; match = READ_KEY_REFERENCE.exec(bytes)) reference.push(match.index);
      const found = readHitsForTests(bytes);
      let start = 0;
      for (const event of events) {
        const end = start + event.length;
        const within = (hits: number[]) => hits.some((hit) => hit >= start && hit < end);
        expect({ seed, event, hit: within(found) }).toEqual({ seed, event, hit: within(reference) });
        start = end;
      }
    }
  });
});
