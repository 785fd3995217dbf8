// Tests for the opt-in PERSON recognizer: exact UTF-16 spans, the size and time bounds, the lazy load of
// compromise, quality on the Presidio sets, and few findings in technical text.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PiiFinding, Recognizer } from '../types.ts';
import { loadPersonRecognizer } from './person.ts';

let person: Recognizer;
let loadMs = 0;

beforeAll(async () => {
  const t0 = performance.now();
  // A generous budget: the tests below check the results, not the clock (the time bound has its own test).
  person = await loadPersonRecognizer({ timeBudgetMs: 60_000 });
  loadMs = performance.now() - t0;
});

function find(text: string, recognizer: Recognizer = person): PiiFinding[] {
  const out: PiiFinding[] = [];
  recognizer(text, out);
  return out;
}

const names = (text: string, recognizer?: Recognizer): string[] => find(text, recognizer).map((f) => text.slice(f.start, f.end));

/** Filler with no names: 60 characters a sentence. */
const filler = (chars: number): string => 'The build finished without errors and the cache was warm. '.repeat(Math.ceil(chars / 59)).slice(0, chars);

describe('PERSON recognizer', () => {
  it('finds names in simple sentences with exact offsets', () => {
    const text = 'Please email Sarah Connor about the invoice.';
    expect(find(text)).toEqual([{ type: 'PERSON', start: 13, end: 25, score: 0.85 }]);
    expect(names('Yesterday Mr. John Smith\'s dog met Dr. Ana María Pérez.')).toEqual(['John Smith', 'Ana María Pérez']);
    expect(names('Will my account stay active? It is under my partner\'s name Donald van der Voet')).toEqual(['Donald van der Voet']);
    expect(names('Name: Zoë Kravitz\nPhone: 555 0100')).toEqual(['Zoë Kravitz']);
    expect(names('Hi, I\'m Katie E Miles, originally from Leeds.')).toEqual(['Katie E Miles']);
    expect(names('Meeting with Barack Obama, Angela Merkel and Emmanuel Macron.')).toEqual(['Barack Obama', 'Angela Merkel', 'Emmanuel Macron']);
  });

  it('prefers multi-word names and scores single names lower', () => {
    expect(find('I talked to Maria yesterday.')).toEqual([{ type: 'PERSON', start: 12, end: 17, score: 0.6 }]);
    // An honorific is evidence, but it is not part of the span.
    expect(find('Ask Mr. Holmes about it.')).toEqual([{ type: 'PERSON', start: 8, end: 14, score: 0.75 }]);
    expect(find('I talked to Maria and Sarah Connor.').map((f) => f.score)).toEqual([0.6, 0.85]);
  });

  it('drops honorific-only, lower-case and common-word findings', () => {
    expect(names('Excuse me, Sir bot, but I really don\'t like this.')).toEqual([]);
    expect(names('The first celebrity recording was made in 1965.')).toEqual([]);
    expect(names('She lives at 12 Victor Hugo Street, Paris.')).toEqual([]);
  });

  it('keeps offsets exact with emoji, ZWJ sequences and accents before the name', () => {
    const text = '😀😀 Hi 👩‍👩‍👧 family! Then Dr. Émilie Dubois wrote to José Núñez 🎉.';
    const found = find(text);
    expect(found.map((f) => text.slice(f.start, f.end))).toEqual(['Émilie Dubois', 'José Núñez']);
    expect(found[0]!.start).toBe(text.indexOf('Émilie'));
    expect(found[1]!.end).toBe(text.indexOf(' 🎉'));
    // A combining accent at the end of a word stays inside the span.
    const combining = 'Hi 👋🏽 Jose\u0301 Nu\u0301n\u0303ez here';
    expect(names(combining)).toEqual(['Jose\u0301 Nu\u0301n\u0303ez']);
  });

  it('scans only the first maxChars characters (size bound)', () => {
    const end = filler(100_000) + ' Sarah Connor called.';
    expect(names(end)).toEqual([]);
    const start = 'Sarah Connor called. ' + filler(100_000);
    expect(names(start)).toEqual(['Sarah Connor']);
  });

  it('stops starting new windows once the time budget is spent (time bound)', async () => {
    const hurried = await loadPersonRecognizer({ timeBudgetMs: 1, maxChars: Infinity });
    const text = 'Sarah Connor called. ' + filler(200_000) + ' John Smith replied.';
    // The first window is always scanned; the name at the end, hundreds of windows later, is beyond the budget.
    expect(names(text, hurried)).toEqual(['Sarah Connor']);
  });

  it('filters by minScore', async () => {
    const strict = await loadPersonRecognizer({ minScore: 0.8 });
    expect(names('I talked to Maria and Sarah Connor.', strict)).toEqual(['Sarah Connor']);
  });

  it('loads compromise only when loadPersonRecognizer is called (lazy load)', () => {
    const moduleUrl = new URL('./person.ts', import.meta.url).href;
    // A child process records every module resolution: importing person.ts must not resolve compromise.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({ resolve(spec, ctx, next) { seen.add(spec); return next(spec, ctx); } });
      const mod = await import(${JSON.stringify(moduleUrl)});
      const afterImport = seen.has('compromise');
      const t0 = performance.now();
      const rec = await mod.loadPersonRecognizer();
      const loadMs = performance.now() - t0;
      const out = [];
      rec('Please email Sarah Connor.', out);
      console.log(JSON.stringify({ afterImport, afterLoad: seen.has('compromise'), found: out.length, loadMs }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).not.toMatch(/Error/);
    const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as { afterImport: boolean; afterLoad: boolean; found: number; loadMs: number };
    console.log(`PERSON: cold load of compromise ${result.loadMs.toFixed(0)} ms (in-process load ${loadMs.toFixed(0)} ms)`);
    expect(result).toMatchObject({ afterImport: false, afterLoad: true, found: 1 });
  });

  it('finds few names in technical text', () => {
    const all = TECHNICAL.flatMap((text) => names(text));
    console.log(`PERSON: ${all.length} findings in ${TECHNICAL.length} technical texts: ${JSON.stringify(all)}`);
    expect(all.length).toBeLessThanOrEqual(3);
    for (const word of ['HttpClient', 'UserService', 'Node.js', 'PostgreSQL', 'Redis', 'Kubernetes']) expect(all).not.toContain(word);
  });

  it('reaches its measured recall and precision on the Presidio data sets', { timeout: 120_000 }, () => {
    let gold = 0;
    let hit = 0;
    let findings = 0;
    let good = 0;
    let chars = 0;
    let ms = 0;
    for (const file of ['generated_large.json', 'synth_dataset_v2.json']) {
      for (const record of loadPresidio(file)) {
        const spans = record.spans.filter((s) => s.entity_type === 'PERSON').map((s) => ({ start: s.start_position, end: s.end_position }));
        const t0 = performance.now();
        const found = find(record.full_text);
        ms += performance.now() - t0;
        chars += record.full_text.length;
        gold += spans.length;
        findings += found.length;
        hit += spans.filter((s) => found.some((f) => overlap(f, s) >= 0.5 * (s.end - s.start))).length;
        good += found.filter((f) => spans.some((s) => overlap(f, s) > 0)).length;
        for (const [k, f] of found.entries()) {
          // Spans are whole words as written, sorted and disjoint.
          expect(record.full_text.slice(f.start, f.end)).toMatch(/^[\p{L}].*[\p{L}\p{M}]$/su);
          if (k > 0) expect(f.start).toBeGreaterThanOrEqual(found[k - 1]!.end);
        }
      }
    }
    const recall = hit / gold;
    const precision = good / findings;
    const f1 = (2 * precision * recall) / (precision + recall);
    console.log(
      `PERSON on Presidio (${gold} gold names): precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}, F1 ${f1.toFixed(3)}; ` +
        `${(chars / 1e6 / (ms / 1000)).toFixed(3)} MB/s (${chars} chars in ${ms.toFixed(0)} ms)`,
    );
    // Measured: precision 0.924, recall 0.767, F1 0.838 (plain compromise people(): 0.82 / 0.68).
    expect(recall).toBeGreaterThanOrEqual(0.75);
    expect(precision).toBeGreaterThanOrEqual(0.9);
  });
});

const overlap = (a: { start: number; end: number }, b: { start: number; end: number }): number => Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));

interface PresidioRecord {
  full_text: string;
  spans: { entity_type: string; start_position: number; end_position: number }[];
}

/** The Presidio files (MIT, microsoft/presidio-research): vendored next to the evaluator, or in the shared data folder. */
function loadPresidio(file: string): PresidioRecord[] {
  const candidates = [
    fileURLToPath(new URL(`../eval/data/${file}`, import.meta.url)),
    fileURLToPath(new URL(`../../../../shared/data/pii/${file}`, import.meta.url)),
    `/work/shared/data/pii/${file}`,
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new Error(`Presidio data file ${file} not found in ${candidates.join(', ')}`);
  return JSON.parse(readFileSync(path, 'utf8')) as PresidioRecord[];
}

/** Technical text: code, logs, class and product names. Names should (almost) never be reported here. */
const TECHNICAL = [
  'The HttpClient in Node.js calls UserService, which writes to PostgreSQL via Prisma and caches in Redis.',
  'Deploy the Kubernetes Cluster with Terraform Cloud. Use Redis Sentinel and Kafka Streams with Spring Boot.',
  'Click Save Changes, then open Account Settings in Visual Studio Code and enable GitHub Copilot.',
  'Database Migration failed on Server Startup: the Connection Timeout happened in the Internal Server Error handler.',
  'import { useState } from "react";\nexport default function App() { const [count, setCount] = useState(0); return <Button onClick={() => setCount(count + 1)}>Clicked {count}</Button>; }',
  'class PaymentProcessor extends BaseProcessor {\n  constructor(private readonly logger: Logger, private stripe: StripeClient) { super(); }\n}',
  '2024-05-01T12:00:01Z INFO  [main] c.e.app.Application - Started Application in 3.2 seconds (JVM running for 3.9)\n2024-05-01T12:00:02Z WARN  [pool-1] HikariPool-1 - Thread starvation or clock leap detected',
  'Traceback (most recent call last):\n  File "/usr/lib/python3.11/site-packages/django/core/handlers/base.py", line 181, in _get_response\n    response = wrapped_callback(request, *callback_args, **callback_kwargs)\nValueError: invalid literal for int() with base 10',
  "Error: Cannot find module 'express'\n    at Function.Module._resolveFilename (node:internal/modules/cjs/loader:1039:15)\n    at Module.require (node:internal/modules/cjs/loader:1113:19)",
  '{"level":"error","service":"OrderService","msg":"Timeout talking to InventoryService","host":"ip-10-0-1-12","region":"eu-west-1"}',
  'We migrated from MySQL to PostgreSQL, replaced Jenkins with GitHub Actions, and moved from Heroku to AWS Lambda and Google Cloud Run.',
  'Install Docker Desktop, then run docker compose up. Grafana shows dashboards from Prometheus; Loki stores logs; Tempo stores traces.',
  'The React Native app uses Expo Router, Tailwind CSS and TanStack Query. Apollo Client talks to the GraphQL gateway.',
  'Use the Pandas DataFrame API with NumPy arrays, train with PyTorch Lightning or TensorFlow Keras, and track runs in Weights and Biases.',
  'In Microsoft Excel, open Data Validation, choose List, and reference the Named Range. Power BI Desktop refreshes from SharePoint Online.',
  'Run cargo build --release. The Rust compiler (rustc) links against OpenSSL; Tokio provides the async runtime and Serde handles JSON.',
  "ALTER TABLE users ADD COLUMN last_login TIMESTAMP; CREATE INDEX idx_users_email ON users(email); SELECT * FROM orders WHERE status = 'Pending';",
  'The Apache Kafka Consumer Group rebalanced after the Zookeeper Session expired; the Schema Registry returned Subject Not Found.',
  'Set JAVA_HOME, then mvn clean install -DskipTests. IntelliJ IDEA may need Invalidate Caches. Lombok and Jackson annotations are used.',
  "Terraform's state file, Kafka's consumer offsets, Redis's persistence and Docker's build cache all matter. Kubernetes's scheduler too.",
  'Our Slack bot posts to Jira Cloud and Confluence; Zapier triggers on new Stripe Checkout sessions and Twilio SMS replies.',
];

describe('PERSON in CSV and TSV rows', () => {
  it('finds a name in a field glued to its neighbours by commas, semicolons or tabs, with the original offsets', async () => {
    const recognize = await loadPersonRecognizer();
    const names = (text: string) => {
      const out: PiiFinding[] = [];
      recognize(text, out);
      return out.map((f) => text.slice(f.start, f.end));
    };
    expect(names('1042,Ana Silva,ana@x.com')).toEqual(['Ana Silva']);
    expect(names('1042\tHans Müller\tactive')).toEqual(['Hans Müller']);
    expect(names('7;Maria Garcia;Madrid;active')).toEqual(['Maria Garcia']);
    expect(names('1042,Acme Corp,sales@acme.com')).toEqual([]);
  });
});
