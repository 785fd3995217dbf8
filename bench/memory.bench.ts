// Memory benchmarks: resident memory (RSS) of a runtime with no agents, with many idle in-process agents, and
// with many idle process agents (the runtime's own RSS and its children's total). Each scenario runs in a fresh
// Node process (this file, started with `--memory-scenario <name> <count>` and `--expose-gc`) so one scenario's
// heap does not pollute the next; the scenario prints one JSON line that the parent turns into a row.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, type Row } from './lib/stats.ts';

type Scenario = 'bare' | 'baseline' | 'in-process' | 'process';

interface ScenarioResult {
  /** RSS (bytes) of the scenario process before any agent started (after `ready()`). */
  rssBefore: number;
  /** RSS (bytes) of the scenario process with the agents running. */
  rss: number;
  heapUsedBefore: number;
  heapUsed: number;
  agents: number;
  /** Sum of the children's VmRSS (bytes), process agents only. */
  childrenRss?: number;
  /** Sum of the children's PSS (bytes): their RSS with shared pages (the node binary, libraries) split fairly. */
  childrenPss?: number;
  children?: number;
  startMs?: number;
  stopMs?: number;
}

const SELF = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** RSS and heap after a full collection (twice, so finalizers and weak references settle). */
async function settledMemory(): Promise<{ rss: number; heapUsed: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 2; i++) {
    gc?.();
    await sleep(50);
  }
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** VmRSS of a process in bytes (0 when it is gone). */
function vmRss(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size of a process in bytes (shared pages split among their users; 0 when unavailable). */
function pss(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Child pids of this process, from /proc (fallback when an agent record exposes none). */
function procChildren(): number[] {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      pids.push(...readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return pids;
}

/** Runs inside the fresh scenario process. */
async function runScenario(scenario: Scenario, count: number): Promise<ScenarioResult> {
  if (scenario === 'bare') {
    const m = await settledMemory();
    return { rssBefore: m.rss, rss: m.rss, heapUsedBefore: m.heapUsed, heapUsed: m.heapUsed, agents: 0 };
  }
  const { Runtime } = await import('../core/index.ts');
  const runtime = new Runtime({ env: {}, logLevel: 'silent' });
  await runtime.ready();
  const before = await settledMemory();

  if (scenario === 'baseline') {
    await runtime.close();
    return { rssBefore: before.rss, rss: before.rss, heapUsedBefore: before.heapUsed, heapUsed: before.heapUsed, agents: 0 };
  }

  if (scenario === 'in-process') {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) ids.push(await runtime.startAgent(() => hold, { name: `idle-${i}` }));
    const startMs = performance.now() - t0;
    await sleep(200);
    const after = await settledMemory();
    const t1 = performance.now();
    release();
    await Promise.all(ids.map((id) => runtime.waitForAgent(id)));
    const stopMs = performance.now() - t1;
    await runtime.close();
    return { rssBefore: before.rss, rss: after.rss, heapUsedBefore: before.heapUsed, heapUsed: after.heapUsed, agents: count, startMs, stopMs };
  }

  // Process agents: a tiny idle Node script that says it is up, then waits.
  const dir = mkdtempSync(join(tmpdir(), 'iron-memory-bench-'));
  try {
    const script = join(dir, 'idle-agent.js');
    writeFileSync(script, "process.stdout.write('ready\\n');\nsetTimeout(() => {}, 60_000);\n");
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) ids.push(await runtime.startAgent(script, { name: `idle-${i}`, output: 'capture', cwd: dir }));
    // Wait until every child has booted (printed 'ready'), so its RSS is that of an idle Node process.
    const deadline = Date.now() + 60_000;
    while (!ids.every((id) => runtime.agentOutput(id).includes('ready'))) {
      if (Date.now() > deadline) throw new Error('process agents did not all start within 60 s');
      await sleep(20);
    }
    const startMs = performance.now() - t0;
    await sleep(500);
    const after = await settledMemory();
    let pids = ids
      .map((id) => (runtime.getAgent(id) as unknown as { process?: { child: { pid?: number } } } | undefined)?.process?.child.pid)
      .filter((pid): pid is number => typeof pid === 'number');
    if (pids.length !== count) pids = procChildren();
    const childrenRss = pids.reduce((sum, pid) => sum + vmRss(pid), 0);
    const childrenPss = pids.reduce((sum, pid) => sum + pss(pid), 0);
    const t1 = performance.now();
    await Promise.all(ids.map((id) => runtime.stopAgent(id)));
    const stopMs = performance.now() - t1;
    await runtime.close();
    return { rssBefore: before.rss, rss: after.rss, heapUsedBefore: before.heapUsed, heapUsed: after.heapUsed, agents: count, childrenRss, childrenPss, children: pids.length, startMs, stopMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one scenario in a fresh Node process and returns what it measured. */
function measure(scenario: Scenario, count: number): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', SELF, '--memory-scenario', scenario, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`memory scenario ${scenario} exited with ${code}: ${stderr.slice(-2000)}`));
      resolve(JSON.parse(line) as ScenarioResult);
    });
  });
}

const mb = (bytes: number) => bytes / MB;

/** RSS of a Node process that runs a line of plain JavaScript (no TypeScript loader): the floor for any agent. */
function measurePlainNode(): Promise<number> {
  return new Promise((resolve, reject) => {
    const code = 'gc(); setTimeout(() => { gc(); process.stdout.write(String(process.memoryUsage().rss)); }, 50);';
    const child = spawn(process.execPath, ['--expose-gc', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.once('error', reject);
    child.once('close', (exit) => (exit === 0 ? resolve(Number(stdout)) : reject(new Error(`plain node exited with ${exit}`))));
  });
}

export async function benchMemory(quick: boolean): Promise<Row[]> {
  const inProcess = quick ? 200 : 1_000;
  const processes = quick ? 20 : 100;
  const plain = await measurePlainNode();
  const bare = await measure('bare', 0);
  const baseline = await measure('baseline', 0);
  const idle = await measure('in-process', inProcess);
  const procs = await measure('process', processes);
  const perAgentKb = (r: ScenarioResult) => (r.rss - r.rssBefore) / 1024 / r.agents;
  const heapPerAgentKb = (r: ScenarioResult) => (r.heapUsed - r.heapUsedBefore) / 1024 / r.agents;
  return [
    { scenario: 'plain Node process, .js (reference)', agents: '0', 'runtime RSS MB': mb(plain), 'per agent KB (RSS)': '–', 'per agent KB (heap)': '–', 'children RSS MB': '–', 'per child MB': '–', 'children PSS MB': '–', 'total MB (runtime RSS + children PSS)': '–' },
    { scenario: 'Node running this .ts file, runtime not imported (reference)', agents: '0', 'runtime RSS MB': mb(bare.rss), 'per agent KB (RSS)': '–', 'per agent KB (heap)': '–', 'children RSS MB': '–', 'per child MB': '–', 'children PSS MB': '–', 'total MB (runtime RSS + children PSS)': '–' },
    { scenario: 'runtime after ready(), no agents', agents: '0', 'runtime RSS MB': mb(baseline.rss), 'per agent KB (RSS)': '–', 'per agent KB (heap)': '–', 'children RSS MB': '–', 'per child MB': '–', 'children PSS MB': '–', 'total MB (runtime RSS + children PSS)': '–' },
    {
      scenario: 'idle in-process agents',
      agents: String(idle.agents),
      'runtime RSS MB': mb(idle.rss),
      'per agent KB (RSS)': perAgentKb(idle),
      'per agent KB (heap)': heapPerAgentKb(idle),
      'children RSS MB': '–',
      'per child MB': '–',
      'children PSS MB': '–',
      'total MB (runtime RSS + children PSS)': mb(idle.rss),
    },
    {
      scenario: 'idle process agents (tiny Node script each)',
      agents: String(procs.agents),
      'runtime RSS MB': mb(procs.rss),
      'per agent KB (RSS)': perAgentKb(procs),
      'per agent KB (heap)': heapPerAgentKb(procs),
      'children RSS MB': mb(procs.childrenRss ?? 0),
      'per child MB': mb(procs.childrenRss ?? 0) / (procs.children || 1),
      'children PSS MB': procs.childrenPss ? mb(procs.childrenPss) : 'n/a',
      // The whole fleet: the runtime and its agents, shared pages (the node binary, libraries) counted once.
      'total MB (runtime RSS + children PSS)': procs.childrenPss ? mb(procs.rss + procs.childrenPss) : 'n/a',
    },
  ];
}

if (process.argv[2] === '--memory-scenario') {
  const result = await runScenario(process.argv[3] as Scenario, Number(process.argv[4] ?? 0));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(markdownTable(await benchMemory(process.argv.includes('--quick'))));
}
