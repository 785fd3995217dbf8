// Safety plugin benchmarks: detector throughput per entity group on mixed prompt text, hostile and value-dense 1 MB inputs,
// and the plugin's added latency on a 4 KB prompt.
import { readFileSync } from 'node:fs';
import { Runtime } from '../core/index.ts';
import type { LlmCallContext } from '../core/context.ts';
import { adapters } from '../core/providers/adapters.ts';
import { createDetector, STRUCTURED_RECOGNIZERS } from '../plugins/safety/detect/index.ts';
import { narrowForRecognizers, readingView } from '../plugins/safety/detect/narrow-view.ts';
import { loadPresidio } from '../plugins/safety/eval/corpus.ts';
import { HARD_NEGATIVES } from '../plugins/safety/eval/hard-negatives.ts';
import type { PiiFinding } from '../plugins/safety/types.ts';
import { summarize, type Row } from './lib/stats.ts';
import { steadyThroughput } from './lib/throughput.ts';

const PROSE = 'The agent reads the quarterly report, compares the revenue figures with last year and drafts a short summary for the finance team. ';
const CODE = 'export function settle(reservation, cost) {\n  for (const scope of reservation.scopes) scope.spent += cost; // 0x1F, v2.3.1\n  return { ok: true, at: "2026-11-25T15:09:35Z" };\n}\n';

/**
 * About `bytes` of prompt-shaped text, by bytes: 40% prose (this project's README), 25% source code (core/),
 * 20% technical text (the hard negatives: logs, JSON, ids, versions) and 15% sentences full of personal data.
 */
export function mixedPromptText(bytes: number): string {
  const prose = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = ['runtime.ts', 'call.ts', 'gateway.ts', 'providers/openai-chat.ts'].map((f) => readFileSync(new URL(`../core/${f}`, import.meta.url), 'utf8')).join('\n');
  const technical = HARD_NEGATIVES.map((n) => n.text).join('\n');
  const personal = loadPresidio('synth_dataset_v2.json').map((r) => r.text).join('\n');
  const take = (source: string, share: number, offset: number) => {
    const want = Math.floor(bytes * share);
    let out = '';
    while (out.length < want) out += source.slice((offset + out.length) % source.length, ((offset + out.length) % source.length) + (want - out.length));
    return out;
  };
  // Interleave in 4 KB slices so every region of the text has the same mix.
  const parts = [take(prose, 0.4, 0), take(code, 0.25, 0), take(technical, 0.2, 0), take(personal, 0.15, 0)];
  let out = '';
  for (let at = 0; parts.some((p) => at < p.length); at += 4096) for (const part of parts) out += part.slice(at, at + 4096);
  return out;
}

/** The number-dense worst case: only the Presidio sentences and the hard negatives (a digit run every ~26 chars). */
export function numberDenseText(bytes: number): string {
  const sentences = loadPresidio('synth_dataset_v2.json').map((r) => r.text);
  const negatives = HARD_NEGATIVES.map((n) => n.text);
  let out = '';
  for (let i = 0; out.length < bytes; i++) out += `${sentences[i % sentences.length]}\n${negatives[i % negatives.length]}\n`;
  return out;
}

export async function benchDetectorThroughput(quick: boolean): Promise<Row[]> {
  const text = mixedPromptText(quick ? 500_000 : 2_000_000);
  const dense = numberDenseText(quick ? 500_000 : 2_000_000);
  const timing = quick ? { warmMs: 500, measureMs: 500 } : { warmMs: 1500, measureMs: 2000 };
  const steady = (input: string, fn: (text: string) => unknown) => steadyThroughput(input, fn, timing);
  // The whole detector first, in a process that has not run it yet: its first run is the cold figure. It climbs for
  // 3–4 s (V8 optimizing, measured in 500 ms windows: 40, 41, 44, 49, 53 MB/s…), so its warm-up runs until a whole
  // second is no faster than the one before; the recognizers' rows after it run code already warm.
  const all = createDetector();
  const allMixed = steadyThroughput(text, (t) => all.detect(t), quick ? timing : { ...timing, warmMs: 3000, settle: { windowMs: 1000, rise: 0.02, maxMs: 12_000 } });
  const allRow: Row = { entities: 'all structured (detectPii, overlaps resolved)', 'mixed MB/s': allMixed.mbs, 'number-dense MB/s': steady(dense, (t) => all.detect(t)).mbs, 'mixed, first run (cold)': allMixed.coldMbs };
  const rows: Row[] = [];
  // Each recognizer as the detector runs it: on the narrow view, made once here.
  const views = new Map([text, dense].map((source) => [source, narrowForRecognizers(source)]));
  for (const [type, recognize] of Object.entries(STRUCTURED_RECOGNIZERS)) {
    const run = (t: string) => {
      const view = views.get(t)!;
      readingView(view, t, () => recognize(view, [] as PiiFinding[]));
    };
    rows.push({ entities: type, 'mixed MB/s': steady(text, run).mbs, 'number-dense MB/s': steady(dense, run).mbs, 'mixed, first run (cold)': Number.NaN });
  }
  rows.push(allRow);
  const { loadPersonRecognizer } = await import('../plugins/safety/detect/person.ts');
  const person = await loadPersonRecognizer({ maxChars: 10_000_000, timeBudgetMs: 600_000 });
  const size = quick ? 20_000 : 100_000;
  const once = { warmMs: 0, measureMs: 0, minWarmRuns: 1, minRuns: 1 };
  const personMixed = steadyThroughput(text.slice(0, size), (t) => person(t, []), once);
  rows.push({ entities: 'PERSON (compromise, opt-in)', 'mixed MB/s': personMixed.mbs, 'number-dense MB/s': steadyThroughput(dense.slice(0, size), (t) => person(t, []), once).mbs, 'mixed, first run (cold)': personMixed.coldMbs });
  return rows;
}

export async function benchHostileInput(quick: boolean): Promise<Row[]> {
  const MB = 1_000_000;
  // Every hostile input the detector tests run (they check the results; the time is measured here).
  const units = [
    '7', '@', 'a.', '12 ', '1-', ':', 'a1:', '1.', 'GB82', '(1',
    'sk-', 'eyJ', 'eyJa.', '-----BEGIN PRIVATE KEY-----', '://a:', 'a', 'ghp_', 'x@', 'AKIA', 'password=', 'sk_live_', 'xoxb-1',
    'secret access key ', 'Bearer ', 'api_key: "', '-----BEGIN PRIVATE KEY-----\nMIIE', 'a=', 'eyJhbGciOiJub25lIn0.eyJ',
    // An outside review's: one international candidate repeated (libphonenumber built an Error for each).
    '+1 4242 4242 ', '+33 ', '+44 20 ', 'tel 12 34 ', 'mobile\n1042,',
    // A second outside review's: `(0)` repeated was re-read from every start (98 KB held the runtime 108 s), and its kin.
    '(0)', '(0) ', '(12)', '+(0)(0)', '(0)+1', '+1(0)', '((((0', '0)', '(0)1 ',
    // Percent-encoded text, decoded for the recognizers: one run of escapes, of query pairs with `+` for a space.
    '%41', '?a=1+2&',
    // Characters beyond Latin-1 (the narrow view's stand-ins), and a password word two passes find.
    'ь', '“', 'a“', 'пароль: ', 'hasło ',
    // Outside review 13's forms: a header's Token scheme, command-line passwords, a line's own assignment.
    'Authorization: Token ', 'curl -u a:', 'redis-cli -a ', 'export A_KEY=',
    // Outside reviews 16 and 17's forms: header words on one long line, column lists, tags, "for" phrases, JSON keys.
    'a,password,', 'INSERT INTO t (password, ', '</password>', 'value="x" key="password" ', 'password for "', 'Password for the ',
    '{"password":[', '"password": "x","email":"', '| password |\n', "define('DB_PASSWORD', '",
    // An outside hunt's (this session): Dockerfile ENV names on one long line, each read the rest of the line (quadratic).
    'ENV TOKEN ', 'ENV PASSWORD ',
  ];
  const inputs: Record<string, string> = Object.fromEntries(units.map((unit) => [`1 MB of ${JSON.stringify(unit)}`, unit.repeat(Math.ceil(MB / unit.length))]));
  inputs['1 MB of "a", then "@"'] = `${'a'.repeat(MB - 1)}@`;
  // One long line under a line break: a value that could be a table's cell had its line's start searched for backwards,
  // for every value (1 MB of "089/1234567," took 18 s).
  for (const unit of ['089/1234567,', '123-45-6789, ', '1234 5678,', '"089/1234567",']) inputs[`a line break, then 1 MB of ${JSON.stringify(unit)}`] = `x\n${unit.repeat(Math.ceil(MB / unit.length))}`;
  inputs['"phone", a line break, then 1 MB of "  089/1234567"'] = `phone\n${'  089/1234567'.repeat(Math.ceil(MB / 13))}`;
  // Lines each a cell over the next: every value walked 64 rows up a table (1.4 s), and rows of alternating widths.
  inputs['1 MB of "(415) 867" lines'] = '(415) 867\n'.repeat(Math.ceil(MB / 10));
  inputs['1 MB of "(415) 867" and "(415) 8670" lines'] = '(415) 867\n(415) 8670\n'.repeat(Math.ceil(MB / 21));
  // A second outside hunt's: a header as wide as the text over a row of numbers (each value's column counted one by one).
  inputs['1 MB of rows under a header of 333 "pw" columns'] = `${Array(333).fill('pw').join(',')}\n${`${Array(333).fill('x').join(',')}\n`.repeat(Math.ceil(MB / 666))}`;
  inputs['1 MB of tuples under INSERT INTO t (pw, pw, … 95 times)'] = `INSERT INTO t (${Array(95).fill('pw').join(',')}) VALUES ${`(${Array(95).fill("'x'").join(',')}),`.repeat(Math.ceil(MB / 381))}`;
  inputs['1 MB: a header of 100,000 columns over a row of numbers'] = `${Array(MB / 10).fill('c').join(',')}\n${Array(MB / 10).fill('1234567').join(',')}\n`;
  // Value-dense text: every few characters a real value, most of them distinct (an outside review measured 1–3 s here,
  // and a 10 MB such prompt held the gateway 14.6 s).
  Object.assign(inputs, valueDenseInputs(MB));
  const detector = createDetector();
  const rows: Row[] = [];
  for (const [name, text] of Object.entries(inputs)) {
    detector.detect(text.slice(0, 10_000));
    const samples: number[] = [];
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      const t0 = performance.now();
      detector.detect(text);
      samples.push(performance.now() - t0);
    }
    rows.push({ input: name, 'max ms': Math.max(...samples) });
  }
  return rows;
}

/** `bytes` of `make(0) + make(1) + …`. */
function repeatUntil(bytes: number, make: (i: number) => string): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const part = make(i);
    parts.push(part);
    length += part.length;
  }
  return parts.join('');
}

/** A Luhn-valid Visa number from a serial, printed 4-4-4-4. */
function visa(serial: number): string {
  const body = `4111${String(serial).padStart(11, '0')}`;
  let sum = 0;
  for (let k = 0; k < 15; k++) {
    let d = Number(body[14 - k]);
    if (k % 2 === 0 && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** 1 MB inputs made of values: cards, addresses, IPs and phones, repeated and distinct. */
export function valueDenseInputs(bytes: number): Record<string, string> {
  const four = (i: number) => String(i % 10_000).padStart(4, '0');
  return {
    '1 MB of "4111 1111 1111 1111 "': '4111 1111 1111 1111 '.repeat(Math.ceil(bytes / 20)),
    '1 MB of "a@b.co 4111 1111 1111 1111 "': 'a@b.co 4111 1111 1111 1111 '.repeat(Math.ceil(bytes / 27)),
    '1 MB of distinct cards': repeatUntil(bytes, (i) => `${visa(i)} `),
    '1 MB of distinct IPv4 addresses': repeatUntil(bytes, (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} `),
    '1 MB of distinct IPv6 addresses': repeatUntil(bytes, (i) => `2001:db8::${(i % 65_536).toString(16)} `),
    '1 MB of distinct +44 phones': repeatUntil(bytes, (i) => `+44 20 7946 ${four(i)} `),
    '1 MB of distinct +1 phones': repeatUntil(bytes, (i) => `+1 415 555 ${four(i)} `),
    '1 MB of national phones after "call"': repeatUntil(bytes, (i) => `call 020 7946 ${four(i)}, `),
    '1 MB of distinct emails': repeatUntil(bytes, (i) => `user${i}@host${i % 977}.example.com `),
    '1 MB CSV under a phone column': `id,name,phone\n${repeatUntil(bytes, (i) => `${1000 + i},Ana Silva,020 7946 ${four(i)}\n`)}`,
    // An outside review's (11): short numbers a phone column makes phones, 150,000 of them.
    '1 MB of "1,1234" rows under id,phone': `id,phone\n${'1,1234\n'.repeat(Math.ceil(bytes / 7))}`,
    '1 MB of IBANs': 'DE89 3704 0044 0532 0130 00 '.repeat(Math.ceil(bytes / 28)),
    '1 MB of full-width cards with no-break spaces': '４１１１\u00a0１１１１\u00a0１１１１\u00a0１１１１\u00a0'.repeat(Math.ceil(bytes / 20)),
  };
}

export async function benchSafetyOverhead(quick: boolean): Promise<Row[]> {
  const iterations = quick ? 2_000 : 10_000;
  const base = summarize(await timeScan(false, iterations, 'new'));
  const rows: Row[] = [{ path: 'beforeLlmCall + afterLlmCall, no plugin', 'p50 µs': base.p50, 'p99 µs': base.p99, 'overhead p50 µs': 0 }];
  const prompts: Array<[Prompt, string]> = [
    ['new', 'a new 4 KB prompt every call (3 values pseudonymized, answer restored)'],
    ['again', 'the same 4 KB prompt again (its findings remembered)'],
    ['conversation', 'a conversation: 16 KB of history (20 turns) and a new 200-character message'],
  ];
  for (const [prompt, path] of prompts) {
    const safety = summarize(await timeScan(true, iterations, prompt));
    rows.push({ path: `with the safety plugin: ${path}`, 'p50 µs': safety.p50, 'p99 µs': safety.p99, 'overhead p50 µs': safety.p50 - base.p50 });
  }
  return rows;
}

/**
 * What the agent sends: a new prompt every call (the scan memory never serves it), the same one again (it always
 * does), or a conversation whose history comes back with a new message each call.
 */
type Prompt = 'new' | 'again' | 'conversation';

/** beforeLlmCall + afterLlmCall on a 4 KB prompt with three values in it (or a conversation), with and without the safety plugin. */
async function timeScan(withSafety: boolean, iterations: number, prompt: Prompt): Promise<number[]> {
  const runtime = new Runtime({ env: {}, logLevel: 'silent', config: withSafety ? { safety: {} } : {} });
  await runtime.ready();
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  const agentId = await runtime.startAgent(() => hold);
  const agent = runtime.getAgent(agentId)!;
  let content = 'Customer jane.doe@example.org (phone +44 20 7946 0958) asks about card 4111 1111 1111 1111. ';
  while (content.length < 4096) content += PROSE;
  content = content.slice(0, 4096);
  const history = Array.from({ length: 20 }, (_, turn) => ({ role: turn % 2 === 0 ? 'user' : 'assistant', content: `${turn}: ${content.slice(0, 800)}` }));
  const requestOf = (i: number) =>
    adapters['openai-chat'].parseRequest({
      model: 'gpt-4o-mini',
      messages:
        prompt === 'conversation'
          ? [{ role: 'system', content: 'You are careful.' }, ...history, { role: 'user', content: `${i}: ${content.slice(0, 200)}` }]
          : [{ role: 'system', content: 'You are careful.' }, { role: 'user', content: prompt === 'new' ? `${i}: ${content}` : content }],
    });
  const response = adapters['openai-chat'].parseResponse({
    id: 'x',
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: `I will write to <EMAIL_ADDRESS_1> today. ${PROSE}` }, finish_reason: 'stop' }],
  });
  const provider = runtime.providers.get('simulated')!;
  const samples: number[] = [];
  for (let i = 0; i < iterations + 1_000; i++) {
    const ctx = { callId: `c${i}`, agent, format: 'openai-chat', provider, startedAt: 0, signal: agent.signal, responseHeaders: {}, forwardHeaders: {}, state: new Map(), logger: runtime.logger } as unknown as LlmCallContext;
    const request = requestOf(i);
    const t0 = performance.now();
    await runtime.hooks.beforeLlmCall.promise(request, ctx);
    await runtime.hooks.afterLlmCall.promise(response, ctx);
    if (i >= 1_000) samples.push((performance.now() - t0) * 1000);
  }
  release();
  await runtime.close();
  return samples;
}

