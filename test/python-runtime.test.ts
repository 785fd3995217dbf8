// The Python package `iron_runtime` (clients/python) against the built `iron control` and the fake provider: its
// unittest suite, one run per test module, and the runnable example. Skipped, saying so, where python3 is missing.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { providerEnv, REAL_OPENAI_KEY } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const client = join(root, 'clients/python');
const BIN = join(root, 'dist/core/cli/bin.js');
const PYTHON = process.env.IRON_PYTHON ?? 'python3';

function pythonVersion(): string | undefined {
  try {
    return execFileSync(PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const version = pythonVersion();
const usable = version !== undefined && Number(version.split('.')[0]) === 3 && Number(version.split('.')[1]) >= 9;
if (!usable) console.warn(`test/python-runtime.test.ts skipped: ${version ? `${PYTHON} is Python ${version}` : `${PYTHON} is not installed`} (the Python package iron_runtime needs Python ≥ 3.9)`);
const modules = readdirSync(join(client, 'tests')).filter((file) => /^test_.*\.py$/.test(file)).map((file) => `tests.${file.slice(0, -3)}`);

interface Run {
  code: number | null;
  output: string;
}

function python(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!usable)(`iron_runtime (Python ${version ?? 'missing'})`, () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it.each(modules)('%s passes against the fake provider and the built iron', async (module) => {
    const run = await python(['-m', 'unittest', '-v', module], {
      // A folder of the user's: no iron.config.yaml, so the runtime takes iron run's safe defaults.
      cwd: mkdtempSync(join(tmpdir(), 'iron-python-')),
      env: {
        ...providerEnv(fake),
        PYTHONPATH: client,
        PYTHONDONTWRITEBYTECODE: '1', // no __pycache__ left in the checkout
        IRON_TEST_FAKE_URL: fake.url,
        IRON_BIN: BIN,
        IRON_NODE: process.execPath,
        IRON_LOG_LEVEL: 'error',
      },
    });
    expect(run.output, run.output).toMatch(/\nOK\n?$/);
    expect(run.output).not.toContain('skipped');
    expect(run.output).not.toContain('ResourceWarning');
    expect(run.code).toBe(0);
    // Whatever the agents sent, the provider saw the real key (or the one a test's inline config names) and never
    // the email a test put in a prompt.
    for (const request of fake.requests) {
      expect([`Bearer ${REAL_OPENAI_KEY}`, 'Bearer sk-named-by-an-inline-config-0123456789']).toContain(request.headers.authorization);
      expect(request.rawBody).not.toContain('jane@example.com');
    }
  }, 120_000);

  it('examples/python-runtime.py runs from the checkout as documented, offline, finding iron and Node.js itself', async () => {
    // No keys, no IRON_BIN: the checkout's dist/ and its pinned Node are found from the package's location.
    const run = await python(['examples/python-runtime.py'], { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PYTHONPATH: client, PYTHONDONTWRITEBYTECODE: '1', IRON_LOG_LEVEL: 'error' } });
    expect(run.code, run.output).toBe(0);
    // The status read right after the start: the offline agent's three calls can all be done by then on a loaded
    // machine (a fresh-clone `npm test` saw `completed` once), so either is the example working.
    expect(run.output).toMatch(/^started [0-9a-f-]{36}: (running|completed)$/m);
    expect(run.output).toContain('[binary search] Simulated answer to "Explain binary search in one sentence."');
    expect(run.output).toMatch(/python-agent\.py: completed, 3 calls, \d+ tokens in \/ \d+ out, \$0\.0000\d\d of \$50\.00, 0 PII findings, 0 errors$/m);
  }, 60_000);
});
