// The Python API's start-up overhead (issue 21): the agent's first LLM call arriving at the (fake) provider, timed
// from the launch of `iron run agent.py`, from the launch of a Python program that makes a `Runtime()` and calls
// `start_agent`, and from `start_agent` on a running `Runtime` — the same agent (examples/python-agent.py), the same
// built CLI, the same defaults (no config file, no budget). Arrival is seen in this process, where the fake provider
// runs, through Node's `http.server.request.start` diagnostics channel. Times are wall-clock: this process's for the
// launches, the Python program's for `start_agent` on a running runtime, so both sides read the same clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import buildCliIfStale from '../test/global-setup.ts';
import { startFakeProvider } from '../test/fake-provider/index.ts';
import { providerEnv } from '../test/helpers.ts';
import { summarize, type Row } from './lib/stats.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'dist/core/cli/bin.js');
const AGENT = join(root, 'examples/python-agent.py');
const PYTHON = process.env.IRON_PYTHON ?? 'python3';
/** The goal: the Python path within this many ms of `iron run`. */
const GOAL_MS = 50;

/** Prints its status once each agent it starts has ended (warm: with the time start_agent was called, wall clock ms). */
const DRIVER = `
import json, sys, time
from iron_runtime import Runtime
runtime = Runtime()
if sys.argv[2] == "cold":
    metrics = runtime.wait(runtime.start_agent(sys.argv[1]))
    print(json.dumps({"status": metrics["status"]}), flush=True)
else:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        started = time.time() * 1000
        metrics = runtime.wait(runtime.start_agent(sys.argv[1]))
        print(json.dumps({"t0": started, "status": metrics["status"]}), flush=True)
runtime.close()
`;

const wallNow = () => performance.timeOrigin + performance.now();

/** The wall time of the next chat call the fake provider receives. */
class FirstCall {
  #resolve: ((at: number) => void) | undefined;
  readonly #onRequest = (message: unknown) => {
    const { request } = message as { request: IncomingMessage };
    if (this.#resolve && request.url === '/v1/chat/completions') {
      this.#resolve(wallNow());
      this.#resolve = undefined;
    }
  };
  constructor() {
    subscribe('http.server.request.start', this.#onRequest);
  }
  next(): Promise<number> {
    return new Promise((resolve) => (this.#resolve = resolve));
  }
  close(): void {
    unsubscribe('http.server.request.start', this.#onRequest);
  }
}

/** JSON lines a process prints (the agent's own lines, which come through the Python driver, are skipped). */
function jsonLines(child: ChildProcess): () => Promise<Record<string, unknown>> {
  const queue: Array<Record<string, unknown>> = [];
  const waiting: Array<(line: Record<string, unknown>) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const next = waiting.shift();
    if (next) next(parsed);
    else queue.push(parsed);
  });
  return () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve)));
}

export async function benchPythonRuntime(quick: boolean): Promise<Row[]> {
  buildCliIfStale();
  const runs = quick ? 3 : 10;
  const fake = await startFakeProvider({ record: false });
  const firstCall = new FirstCall();
  // A folder of the user's without iron.config.yaml: iron run's safe defaults on both sides.
  const cwd = mkdtempSync(join(tmpdir(), 'iron-python-bench-'));
  const env = { ...providerEnv(fake), IRON_LOG_LEVEL: 'error', IRON_BIN: BIN, IRON_NODE: process.execPath, PYTHONPATH: join(root, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' };
  const samples = { ironRun: [] as number[], cold: [] as number[], warm: [] as number[], python: [] as number[] };
  const warm = spawn(PYTHON, ['-c', DRIVER, AGENT, 'warm'], { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const warmLine = jsonLines(warm);
  try {
    await warmLine();
    // A round each path in turn, so a slow moment of the machine costs every path alike; the first round warms up.
    for (let round = 0; round <= runs; round++) {
      const keep = round > 0;

      let arrival = firstCall.next();
      const t0 = wallNow();
      const run = spawn(process.execPath, [BIN, 'run', AGENT], { cwd, env, stdio: 'ignore' });
      const exited = once(run, 'exit') as Promise<[number | null]>;
      const ranAt = await Promise.race([arrival, exited.then(([code]) => Promise.reject(new Error(`iron run exited with ${code} before its first call`)))]);
      const [code] = await exited;
      if (code !== 0) throw new Error(`iron run exited with ${code}`);
      if (keep) samples.ironRun.push(ranAt - t0);

      arrival = firstCall.next();
      const coldT0 = wallNow();
      const cold = spawn(PYTHON, ['-c', DRIVER, AGENT, 'cold'], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
      const coldLine = jsonLines(cold)();
      const coldExited = once(cold, 'exit') as Promise<[number | null]>;
      const coldAt = await Promise.race([arrival, coldExited.then(([exit]) => Promise.reject(new Error(`the Python driver exited with ${exit} before its first call`)))]);
      const coldRun = await coldLine;
      await coldExited;
      if (coldRun.status !== 'completed') throw new Error(`the cold Python run ended ${String(coldRun.status)}`);
      // From the launch of the Python program, as `iron run` is timed from its launch: Python's start-up counts.
      if (keep) samples.cold.push(coldAt - coldT0);

      // Python's own start-up, which the Python program pays before it makes its Runtime (and iron run does not).
      const p0 = wallNow();
      const bare = spawn(PYTHON, ['-c', 'import iron_runtime'], { cwd, env, stdio: 'ignore' });
      await once(bare, 'exit');
      if (keep) samples.python.push(wallNow() - p0);

      arrival = firstCall.next();
      warm.stdin!.write('go\n');
      const warmAt = await arrival;
      const warmRun = await warmLine();
      if (warmRun.status !== 'completed') throw new Error(`the warm Python run ended ${String(warmRun.status)}`);
      if (keep) samples.warm.push(warmAt - (warmRun.t0 as number));
    }
  } finally {
    warm.stdin!.end();
    firstCall.close();
    await fake.close();
  }
  const row = (path: string, values: number[]): Row => {
    const sorted = [...values].sort((a, b) => a - b);
    return { path, 'p50 ms': summarize(values).p50, 'min ms': sorted[0]!, 'max ms': sorted.at(-1)!, runs: values.length };
  };
  const ironRun = summarize(samples.ironRun).p50;
  const cold = summarize(samples.cold).p50;
  const difference = cold - ironRun;
  return [
    row('`iron run agent.py` → first call (from its launch)', samples.ironRun),
    row('a Python program: `Runtime()` + `start_agent` → first call (from its launch)', samples.cold),
    row('Python `start_agent` on a running `Runtime` → first call', samples.warm),
    row('for reference: `python3 -c "import iron_runtime"`, launch → exit', samples.python),
    {
      path: `from launch, the Python program − iron run (goal: ≤ ${GOAL_MS} ms)`,
      'p50 ms': difference,
      'min ms': Number.NaN,
      'max ms': Number.NaN,
      runs: difference <= GOAL_MS ? 'met' : 'missed',
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdownTable } = await import('./lib/stats.ts');
  console.log(markdownTable(await benchPythonRuntime(process.argv.includes('--quick'))));
}
