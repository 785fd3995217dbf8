// The built `iron` (dist/, what users install) run the way a user runs it: from a folder of their own outside the repo,
// with and without the iron.config.yaml that `iron init` writes, against a real `iron server` and the fake provider.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { fixture, freePort, providerEnv, startIronServer } from './helpers.ts';

const BIN = new URL('../dist/core/cli/bin.js', import.meta.url).pathname;
const ADMIN = { email: 'team@example.com', password: 'a long team password' };
/** A Python agent that knows nothing about Iron Cage: one chat call through the OPENAI_BASE_URL it is given. */
const AGENT = `import json, os, urllib.request
req = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/chat/completions", data=json.dumps({"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}).encode(), headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"], "Content-Type": "application/json"})
print("answer:", json.load(urllib.request.urlopen(req))["choices"][0]["message"]["content"][:20])
`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function iron(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; node?: string }): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(options.node ?? process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}

/** A fresh folder of the user's, outside the repo, with the agent script in it. */
function userFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'iron-user-'));
  writeFileSync(join(dir, 'agent.py'), AGENT);
  return dir;
}

let fake: FakeProvider;
let server: ChildProcess;
let url: string;
let admin: string;
let projectId: string;
let token: string;

async function api<T = any>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${url}${path}`, { ...init, headers: { 'content-type': 'application/json', authorization: admin, ...(init.headers ?? {}) } });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The agent runs the server recorded, by the script name the CLI reports them under. */
async function serverRuns(): Promise<Array<{ id: string; name: string; status: string }>> {
  return (await api<{ items: Array<{ id: string; name: string; status: string }> }>(`/api/traces?projectId=${projectId}&limit=100`)).items;
}

beforeAll(async () => {
  fake = await startFakeProvider();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = await startIronServer(join(mkdtempSync(join(tmpdir(), 'iron-user-server-')), 'iron.db'), port, { IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password });
  const login = await (await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })).json();
  admin = `Bearer ${login.accessToken}`;
  projectId = (await api('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'first-hour' }) })).id;
  token = (await api('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'laptop', projectId }) })).token;
}, 30_000);
afterAll(async () => {
  server?.kill('SIGTERM');
  await fake?.close();
});

describe('iron run reports to the server whenever IRON_SERVER_URL is set', () => {
  it("in a folder with `iron init`'s config: sync is on, the start line says so, and the run is on the server", async () => {
    const dir = userFolder();
    const init = await iron(['init'], { cwd: dir, env: providerEnv(fake) });
    expect(init.code).toBe(0);
    const env = { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: token };
    const run = await iron(['run', 'agent.py'], { cwd: dir, env });
    expect(run.stdout).toContain('answer:');
    expect(run.stderr).toContain(`iron: config ./iron.config.yaml · plugins: cost, safety, reliability, sync → ${url}`);
    expect(run.code).toBe(0);
    expect(existsSync(join(dir, '.iron', 'outbox.db'))).toBe(true);
    // Sync means pricing: the run is priced, not shown as $0 (a server budget could not hold otherwise).
    expect(run.stderr).toMatch(/agent\.py\s+completed\s+1\s+0\s+\d+\s+\d+\s+\$0\.0000\d+\s+-\s+0/);
    await expect.poll(async () => (await serverRuns()).filter((r) => r.name === 'agent.py' && r.status === 'completed').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  });

  it('without a config file too', async () => {
    const dir = userFolder();
    const before = (await serverRuns()).length;
    const run = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: token } });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`iron: no config file (safe defaults; \`iron init\` writes one) · plugins: cost, safety, reliability, sync → ${url}`);
    await expect.poll(async () => (await serverRuns()).length, { timeout: 10_000 }).toBe(before + 1);
  });

  it('`sync: false` in the config turns it off, and the start line says it is off', async () => {
    const dir = userFolder();
    writeFileSync(join(dir, 'iron.config.yaml'), 'sync: false\nsafety: {}\n');
    const run = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: token } });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('iron: config ./iron.config.yaml · plugins: safety · off: cost, reliability, sync');
    expect(run.stderr).toMatch(/agent\.py\s+completed\s+1\s+0\s+\d+\s+\d+\s+unpriced\s+-/);
    expect(existsSync(join(dir, '.iron'))).toBe(false);
  });

  it('IRON_SERVER_URL without IRON_TOKEN is a start-up error that names the variable', async () => {
    const dir = userFolder();
    const run = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url } });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('iron: IRON_CONFIG_INVALID: sync.token: an API token is missing');
    expect(run.stderr).toContain('IRON_TOKEN');
    expect(run.stdout).toBe('');
  });

  it('IRON_TOKEN is used without the whitespace a file adds; one with a line break inside is refused without echoing it', async () => {
    const dir = userFolder();
    const padded = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: ` ${token}\n` } });
    expect(padded.code).toBe(0);
    const broken = `${token.slice(0, 12)}\n${token.slice(12)}`;
    const run = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: broken } });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('IRON_TOKEN: the API token has a space, line break or non-ASCII character at position 13');
    expect(run.stderr + run.stdout).not.toContain(token.slice(12));
  });

  it('a token the server refuses, or a server URL with /api on it, stops the run at start (78), saying which', async () => {
    const dir = userFolder();
    const refused = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: 'iron_pat_not-a-real-token' } });
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(`IRON_TOKEN: the server at ${url} refused this runtime's API token (401`);
    const wrongUrl = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: `${url}/api`, IRON_TOKEN: token } });
    expect(wrongUrl.code).toBe(78);
    expect(wrongUrl.stderr).toContain('has no Iron Cage API (GET /api/limits answered 404): give the server\'s root address');
    expect(wrongUrl.stderr).toContain('(without /api)');
  });

  it('a misspelt entity type under safety.entities is refused, naming the key (it would leave the real type on its default)', async () => {
    const dir = userFolder();
    writeFileSync(join(dir, 'iron.config.yaml'), 'safety:\n  entities:\n    EMAIL: block\n');
    const run = await iron(['run', 'agent.py'], { cwd: dir, env: providerEnv(fake) });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('safety.entities.EMAIL: no such entity type (did you mean "EMAIL_ADDRESS"?)');
    expect(run.stdout).toBe('');
  });

  it('`cost: false` next to sync is refused: server budgets would fail open', async () => {
    const dir = userFolder();
    writeFileSync(join(dir, 'iron.config.yaml'), 'cost: false\n');
    const run = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: token } });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain(`iron: IRON_CONFIG_INVALID: ${join(dir, 'iron.config.yaml')}: cost: false turns off pricing, but sync is on`);
  });
});

describe("the README's team walkthrough, last step", () => {
  it('a project budget on the server stops `iron run` in a fresh folder, and the refusal is in Alerts', async () => {
    const project = (await api<{ id: string }>('/api/projects', { method: 'POST', body: JSON.stringify({ name: 'walkthrough' }) })).id;
    const projectToken = (await api<{ token: string }>('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'laptop', projectId: project }) })).token;
    // A tenth of a cent: the agent's one call needs more than that (its worst case is reserved first).
    await api('/api/limits', { method: 'POST', body: JSON.stringify({ projectId: project, scope: 'project', kind: 'budget', amountUsd: 0.001, period: 'day' }) });
    const dir = userFolder();
    writeFileSync(join(dir, 'agent.py'), AGENT.replace('"max_tokens": 20', '"max_tokens": 4000'));
    const run = await iron(['run', 'agent.py'], { cwd: dir, env: { ...providerEnv(fake), IRON_SERVER_URL: url, IRON_TOKEN: projectToken } });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/IRON_BUDGET_EXCEEDED: the project's server budget \(limit [0-9a-f-]+\) has no room for this call/);
    await expect.poll(async () => (await api<{ counts: Record<string, number> }>(`/api/alerts?projectId=${project}`)).counts.BudgetExceeded ?? 0, { timeout: 10_000 }).toBe(1);
  });
});

describe('every documented exit code', () => {
  it('--version and --help exit 0; help lists the exit codes; a closed pipe is not a crash', async () => {
    const dir = userFolder();
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await iron([flag], { cwd: dir, env: {} })).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await iron(['--help'], { cwd: dir, env: {} });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('78 configuration, usage or start-up error');
    // `iron --help | head -1`: the reader goes away after one line.
    const piped = execFileSync('sh', ['-c', `"${process.execPath}" "${BIN}" --help | head -1; echo "status $?"`], { encoding: 'utf8' });
    expect(piped).toBe('Usage: iron [options] [command]\nstatus 0\n');
  });

  it('a TypeScript plugin in a CommonJS project: the one line says how to fix it', async () => {
    const dir = userFolder();
    writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
    writeFileSync(join(dir, 'my-plugin.ts'), "import { strict } from 'node:assert';\nexport default { name: 'mine', apply() { strict.ok(true); } };\n");
    writeFileSync(join(dir, 'iron.config.yaml'), 'plugins: [./my-plugin.ts]\n');
    const result = await iron(['run', 'agent.py'], { cwd: dir, env: providerEnv(fake) });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/iron: IRON_PLUGIN_INVALID: iron\.config\.yaml: plugins\[0\]: plugin "\.\/my-plugin\.ts" could not be loaded: .*: name the file \.mts \(or \.mjs\), or set "type": "module" in its package\.json\n/);
  });

  it('78 with one clear line (no stack) for each start-up mistake', async () => {
    const dir = userFolder();
    const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; config?: string; says: string }> = [
      { args: ['run', 'agent.py'], env: { IRON_LOG_LEVEL: 'bogus' }, says: 'iron: IRON_CONFIG_INVALID: IRON_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "bogus"' },
      { args: ['run', 'agent.py'], env: { IRON_LOG_FORMAT: 'xml' }, says: 'IRON_LOG_FORMAT: expected json or pretty, got "xml"' },
      { args: ['server', '--port', '99999'], says: "argument '99999' is invalid. expected a port from 0 to 65535" },
      { args: ['run', 'agent.py', '--budget', 'ten'], says: 'expected a number of USD from 0.000001 to 1e9, got "ten"' },
      { args: ['run', 'missing.py'], says: 'iron: IRON_AGENT_START_FAILED: agent script not found' },
      { args: ['scan', 'missing.txt'], says: 'iron: IRON_BAD_REQUEST: cannot read missing.txt: no such file' },
      { args: ['scan', '-e', 'EMAIL', '--exit-code'], says: 'iron: IRON_CONFIG_INVALID: --entities: unknown entity type EMAIL (did you mean EMAIL_ADDRESS?)' },
      { args: ['run', 'agent.py'], config: 'plugins: [iron-plugin-not-installed]\n', says: 'iron.config.yaml: plugins[0]: unknown plugin "iron-plugin-not-installed": not a built-in plugin, and no package of that name is installed in the current folder (npm install iron-plugin-not-installed;' },
      { args: ['run', 'agent.py'], config: 'plugins: [./plugins/missing-plugin.ts]\n', says: 'iron: IRON_PLUGIN_UNKNOWN: iron.config.yaml: plugins[0]: plugin file not found: plugins/missing-plugin.ts\n' },
      { args: ['init'], config: 'safety: {}\n', says: 'exists; use --force to overwrite it' },
      { args: ['bogus-command'], says: "error: unknown command 'bogus-command'" },
      { args: ['run', 'agent.py', '--bogus-option'], says: "error: unknown option '--bogus-option'" },
      // A near miss names the right one on the same line (commander puts it on a second).
      { args: ['run', 'agent.py', '--budgett', '5'], says: "error: unknown option '--budgett' (did you mean --budget?) (see 'iron run --help')\n" },
      { args: ['servr'], says: "error: unknown command 'servr' (did you mean server?) (see 'iron --help')\n" },
      { args: ['scan', '-e', '', '-'], says: 'iron: IRON_CONFIG_INVALID: --entities: no entity type given' },
      { args: ['run', 'agent.py'], env: { IRON_SERVER_URL: 'notaurl', IRON_TOKEN: 'iron_pat_x' }, says: 'iron: IRON_CONFIG_INVALID: IRON_SERVER_URL: "notaurl" is not a URL' },
      { args: ['run', 'agent.py'], env: { IRON_SERVER_URL: 'ftp://files.example.com', IRON_TOKEN: 'iron_pat_x' }, says: 'IRON_SERVER_URL: "ftp://files.example.com" uses ftp, not http or https' },
    ];
    for (const { args, env, config, says } of cases) {
      const folder = config ? userFolder() : dir;
      if (config) writeFileSync(join(folder, 'iron.config.yaml'), config);
      const result = await iron(args, { cwd: folder, env: { ...providerEnv(fake), ...env }, input: 'jane@example.org\n' });
      expect({ args, code: result.code }).toEqual({ args, code: 78 });
      expect(result.stderr).toContain(says);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      // A usage mistake is the error and where to find usage, not the whole help.
      expect(result.stderr).not.toContain('Options:');
    }
  });

  it('86 when the cage stops the agent for its budget, the reason said once', async () => {
    const dir = userFolder();
    writeFileSync(join(dir, 'iron.config.yaml'), 'budget:\n  limit: 0.000001\ncost:\n  onExceeded: stop\n');
    const result = await iron(['run', 'agent.py'], { cwd: dir, env: providerEnv(fake) });
    expect(result.code).toBe(86);
    const summary = result.stderr.slice(result.stderr.lastIndexOf('status '));
    expect(summary.match(/IRON_BUDGET_EXCEEDED: budget exceeded: this/g)).toHaveLength(1);
  });

  it('128 + n when the agent is killed by signal n (137 for SIGKILL), saying so', async () => {
    const dir = userFolder();
    writeFileSync(join(dir, 'self-kill.js'), "process.kill(process.pid, 'SIGKILL');\n");
    const result = await iron(['run', 'self-kill.js'], { cwd: dir, env: providerEnv(fake) });
    expect(result.code).toBe(137);
    expect(result.stderr).toContain('agent was killed by SIGKILL');
    writeFileSync(join(dir, 'self-term.js'), "process.kill(process.pid, 'SIGTERM');\n");
    expect((await iron(['run', 'self-term.js'], { cwd: dir, env: providerEnv(fake) })).code).toBe(143);
  });

  it('78 when the gateway port in the config is taken, naming the key', async () => {
    const taken: Server = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    const dir = userFolder();
    writeFileSync(join(dir, 'iron.config.yaml'), `gateway:\n  port: ${port}\n`);
    const result = await iron(['run', 'agent.py'], { cwd: dir, env: providerEnv(fake) });
    taken.close();
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`iron: IRON_CONFIG_INVALID: gateway.port: 127.0.0.1:${port} is already in use; choose another port, or 0 for a free one`);
  });

  it('iron scan --exit-code: 1 means found and nothing else, 0 means clean', async () => {
    const dir = userFolder();
    expect(await iron(['scan', '-', '--exit-code'], { cwd: dir, env: {}, input: 'write to jane.doe@example.org' })).toMatchObject({ code: 1 });
    expect(await iron(['scan', '-', '--exit-code'], { cwd: dir, env: {}, input: 'nothing personal here' })).toMatchObject({ code: 0, stdout: '' });
    expect(await iron(['scan', '-', '--exit-code', '-e', 'email_address'], { cwd: dir, env: {}, input: 'jane.doe@example.org' })).toMatchObject({ code: 1 });
  });
});

describe('Ctrl-C', () => {
  function startRun(dir: string, agent: string, env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [BIN, 'run', agent], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
    child.stdout!.resume();
    return { child, stderr: () => stderr, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  }

  it('exits 130 after stopping the agent, and a second Ctrl-C kills an agent that ignores SIGTERM at once', async () => {
    const dir = userFolder();
    writeFileSync(join(dir, 'iron.config.yaml'), 'agents:\n  stopGraceMs: 60000\n');
    const run = startRun(dir, fixture('ignore-sigterm.js'), providerEnv(fake));
    await expect.poll(() => run.stderr(), { timeout: 10_000 }).toContain('plugins:');
    // The agent has set up its SIGTERM handler once it printed; give it a moment to start.
    await new Promise((resolve) => setTimeout(resolve, 500));
    run.child.kill('SIGINT');
    await expect.poll(() => run.stderr(), { timeout: 5_000 }).toContain('iron: SIGINT: stopping the agent (up to 60 s; press Ctrl-C again to kill it now)');
    run.child.kill('SIGINT');
    // Without the second Ctrl-C this would take the whole 60 s grace (the test times out at 20).
    expect(await run.exited).toBe(130);
    expect(run.stderr()).toContain('iron: SIGINT again: killing the agent');
    expect(run.stderr()).toMatch(/ignore-sigterm\.js\s+stopped/);
  });

  it('SIGTERM exits 143', async () => {
    const dir = userFolder();
    const run = startRun(dir, fixture('graceful.js'), providerEnv(fake));
    await expect.poll(() => run.stderr(), { timeout: 10_000 }).toContain('plugins:');
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
  });

  it('SIGHUP (the terminal closed) stops the agent too and exits 129: no agent left running', async () => {
    const dir = userFolder();
    const run = startRun(dir, fixture('graceful.js'), providerEnv(fake));
    await expect.poll(() => run.stderr(), { timeout: 10_000 }).toContain('plugins:');
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.child.kill('SIGHUP');
    expect(await run.exited).toBe(129);
    expect(run.stderr()).toContain('SIGHUP: stopping the agent');
  });
});

describe('credentials a hostile agent cannot reach', () => {
  it('no /proc/*/environ or cmdline the agent can read holds a provider key or an Iron Cage secret', async () => {
    const dir = userFolder();
    const secrets = { OPENAI_API_KEY: 'sk-proc-scan-openai-secret', ANTHROPIC_API_KEY: 'sk-ant-proc-scan-secret', IRON_TOKEN: token, IRON_PII_HASH_KEY: 'pii-hash-key-proc-scan' };
    // The same key again under names people use that do not end in _API_KEY, or inside a longer value.
    const sameKey = { OPENAI_KEY: secrets.OPENAI_API_KEY, openai_api_key: secrets.OPENAI_API_KEY, OPENAI_AUTH_HEADER: `Bearer ${secrets.OPENAI_API_KEY}`, LLM_CONN: `provider=openai;key=${secrets.OPENAI_API_KEY};region=eu` };
    const env = { ...providerEnv(fake), ...secrets, ...sameKey, IRON_SERVER_URL: url };
    writeFileSync(join(dir, 'look-for.txt'), Object.values(secrets).join('\n'));
    const run = await iron(['run', fixture('proc-scan-agent.py'), '--', join(dir, 'look-for.txt')], { cwd: dir, env });
    expect(run.code).toBe(0);
    const scan = JSON.parse(run.stdout) as { found: string[]; readable: number };
    // It could read its runtime's environ (same user), and many others: none of them names a secret.
    expect(scan.readable).toBeGreaterThan(4);
    expect(scan.found).toEqual([]);
    // The runtime still had them: the call went upstream with the real key, and sync reported with the token.
    expect(run.stderr).toContain(`sync → ${url}`);
  });

  it('a key the config takes from a variable of any name (apiKey: ${MY_KEY}) is not in the runtime\'s environment either', async () => {
    const dir = userFolder();
    const key = 'sk-plain-named-variable-secret';
    writeFileSync(join(dir, 'iron.config.yaml'), `providers:\n  openai: { type: openai, baseUrl: ${fake.url}/v1, apiKey: "\${PLAIN_NAME_FOR_KEY}" }\n`);
    writeFileSync(join(dir, 'look-for.txt'), key);
    fake.reset();
    const run = await iron(['run', fixture('proc-scan-agent.py'), '--', join(dir, 'look-for.txt'), '--call'], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PLAIN_NAME_FOR_KEY: key } });
    expect(run.code, run.stderr).toBe(0);
    const scan = JSON.parse(run.stdout) as { found: string[]; readable: number; called: number };
    expect(scan.readable).toBeGreaterThan(4);
    expect(scan.found).toEqual([]);
    expect(scan.called).toBe(200);
    // Still the key the provider got.
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${key}`);
  });
});

const isRoot = process.getuid?.() === 0;

describe.runIf(isRoot)('agents.user: agents as another OS user', () => {
  it("the agent runs as that user and can read nothing of the runtime's: not its environment, not the secrets anywhere", async () => {
    const dir = userFolder();
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'iron.config.yaml'), 'agents:\n  user: nobody\nsafety: {}\n');
    const secrets = { OPENAI_API_KEY: 'sk-other-user-openai-secret', IRON_TOKEN: token };
    writeFileSync(join(dir, 'look-for.txt'), Object.values(secrets).join('\n'));
    chmodSync(join(dir, 'look-for.txt'), 0o644);
    // The agent from this folder: the checkout may sit where `nobody` cannot read (a clone in a 0700 mktemp folder).
    copyFileSync(fixture('proc-scan-agent.py'), join(dir, 'proc-scan-agent.py'));
    chmodSync(join(dir, 'proc-scan-agent.py'), 0o644);
    const run = await iron(['run', join(dir, 'proc-scan-agent.py'), '--', join(dir, 'look-for.txt')], { cwd: dir, env: { ...providerEnv(fake), ...secrets, IRON_SERVER_URL: url } });
    expect(run.code).toBe(0);
    const scan = JSON.parse(run.stdout) as { found: string[]; uid: number; runtime_environ_readable: boolean };
    expect(scan).toMatchObject({ found: [], uid: 65534, runtime_environ_readable: false });
  });

  it('an unknown user, or root, is a start-up error naming agents.user', async () => {
    for (const [user, says] of [['no-such-user-here', 'agents.user: no user named "no-such-user-here" on this machine'], ['root', 'agents.user: "root" is root']]) {
      const dir = userFolder();
      writeFileSync(join(dir, 'iron.config.yaml'), `agents:\n  user: ${user}\n`);
      const run = await iron(['run', 'agent.py'], { cwd: dir, env: providerEnv(fake) });
      expect(run.code).toBe(78);
      expect(run.stderr).toContain(says);
    }
  });
});

/** The machine's own Node when it is older than the minimum (this machine's system Node is 20). */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const [major, minor] = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 17)) return candidate;
  }
  return undefined;
}

describe.runIf(oldNode())('on an old Node', () => {
  it('refuses with a clear message and exit 78 before loading anything', async () => {
    const node = oldNode()!;
    for (const args of [['--version'], ['server'], ['run', 'agent.py']]) {
      const result = await iron(args, { cwd: userFolder(), env: {}, node });
      expect(result.code).toBe(78);
      expect(result.stderr).toMatch(/^iron: Node\.js 22\.17 or newer is needed; this is Node\.js 2\d\.\d+\.\d+ \(/);
      expect(result.stderr).toContain('Install Node.js 24 LTS');
      expect(result.stderr).not.toContain('Segmentation');
      expect(result.stdout).toBe('');
    }
  });
});
