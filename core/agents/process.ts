// Process agents: an agent in any language, spawned with the gateway in place of its provider and keys.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { IronError, IRON_AGENT_START_FAILED } from '../errors.ts';
import { containsSecret, isSecretName, MIN_SECRET_CHARS } from '../secret-names.ts';
import type { AgentUser } from './agent-user.ts';

/** Where a process agent's output goes: this process's stdout/stderr, captured, dropped, or handed to a sink. */
export type ProcessOutput = 'forward' | 'capture' | 'ignore' | OutputSink;

/** Receives a process agent's output as it comes (`iron run` uses it to keep its status line off the agent's lines). */
export interface OutputSink {
  /** A promise back means "full for now": the agent's output is not read on until it settles (the agent then waits on its writes). */
  stdout(text: string): void | Promise<void>;
  stderr(text: string): void | Promise<void>;
}

const FORWARD: OutputSink = { stdout: (text) => void process.stdout.write(text), stderr: (text) => void process.stderr.write(text) };

export interface AgentCommand {
  command: string;
  args: string[];
  file: string;
}

/** Env variables that carry secrets the agent must never see, whoever set them: provider keys. */
const SECRET_ENV = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'];
/** The runtime's OTLP exporter settings (headers carry a collector's key; an endpoint may carry one in its URL). */
const OTLP_ENV = /^OTEL_EXPORTER_OTLP_/;
/** The runtime's own settings (IRON_TOKEN, IRON_PII_HASH_KEY, IRON_JWT_SECRET, IRON_DATABASE_URL…) stay with it. */
const RUNTIME_ENV = /^IRON_/;

/**
 * How to run a target: `.py` with python3 (or $IRON_PYTHON), `.js`/`.mjs`/`.cjs`/`.ts`/`.mts` with this
 * Node, anything else as an executable. Throws before anything starts when the file is missing or not runnable.
 */
export function resolveAgentCommand(target: string, args: string[], cwd: string): AgentCommand {
  const file = resolve(cwd, target);
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw new IronError(IRON_AGENT_START_FAILED, `agent script not found: ${file}`, { details: { target } });
  }
  if (!isFile) throw new IronError(IRON_AGENT_START_FAILED, `agent target is not a file: ${file}`, { details: { target } });
  const ext = extname(file).toLowerCase();
  if (ext === '.py') return { command: process.env.IRON_PYTHON ?? 'python3', args: [file, ...args], file };
  if (['.js', '.mjs', '.cjs', '.ts', '.mts'].includes(ext)) return { command: process.execPath, args: [file, ...args], file };
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new IronError(IRON_AGENT_START_FAILED, `agent script is not executable: ${file} (run \`chmod +x ${target}\`, or use a .py, .js or .ts file)`, { details: { target } });
  }
  return { command: file, args, file };
}

/**
 * The child's environment: the runtime's minus every secret (provider keys, any value equal to or holding a configured key, and
 * all IRON_* settings), plus what the caller gave this agent (`extra`, minus provider keys), with the provider SDKs
 * pointed at the gateway and the per-agent credential in place of every key.
 */
export function agentEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>, gatewayUrl: string, credential: string, agentId: string, secretValues: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const secrets = new Set(secretValues.filter(Boolean));
  // A secret may be built from a variable (`Authorization: Basic ${COLLECTOR_KEY}`): a variable whose value is part of
  // one (at least 8 characters, so no short common value is dropped) stays back too.
  const partOfSecret = (value: string) => value.length >= MIN_SECRET_CHARS && [...secrets].some((secret) => secret.includes(value));
  // And one that holds a key inside a longer value (`LLM_CONN="provider=openai;key=sk-…"`), given or inherited.
  const keep = (key: string, value: string | undefined, inherited: boolean) =>
    value !== undefined && !SECRET_ENV.includes(key) && !secrets.has(value) && !containsSecret(value, secrets) && !(inherited && (RUNTIME_ENV.test(key) || OTLP_ENV.test(key) || partOfSecret(value)));
  for (const [key, value] of Object.entries(base)) if (keep(key, value, true)) env[key] = value;
  // The caller's `env` obeys the same rules for what it copied from the runtime's (`{ ...process.env, X: 1 }`: its
  // IRON_TOKEN is the runtime's), and never sets one of the runtime's own settings or secrets, whatever the value.
  const runtimeSetting = (key: string) => RUNTIME_ENV.test(key) && (base[key] !== undefined || isSecretName(key));
  for (const [key, value] of Object.entries(extra)) if (!runtimeSetting(key) && keep(key, value, base[key] === value)) env[key] = value;
  return {
    ...env,
    OPENAI_BASE_URL: `${gatewayUrl}/v1`,
    OPENAI_API_BASE: `${gatewayUrl}/v1`,
    OPENAI_API_KEY: credential,
    ANTHROPIC_BASE_URL: gatewayUrl,
    ANTHROPIC_API_KEY: credential,
    IRON_GATEWAY_URL: gatewayUrl,
    IRON_AGENT_ID: agentId,
  };
}

const STDERR_TAIL_CHARS = 4096;
/** How long an exited agent's output is still read while something it left behind holds the pipe open. */
const DRAIN_AFTER_EXIT_MS = 200;
/** How long what an exited agent left running gets after SIGTERM before SIGKILL. */
const LEFTOVER_GRACE_MS = 2000;

/**
 * SIGKILLs what is left of an agent: its process group, and any process whose environment still names it
 * (IRON_AGENT_ID) — a tool that left the group (setsid, a daemon's double fork) included. Linux (/proc) for the latter.
 */
export function killAgentLeftovers(child: ChildProcess, agentId: string): void {
  signalAgentTree(child, 'SIGKILL');
  // Again while it finds some: a process may fork between the listing and its kill.
  for (let pass = 0; pass < 5 && killNamed(agentId) > 0; pass++);
}

/** SIGKILLs the processes whose environment holds IRON_AGENT_ID=<agentId>; how many it found. */
function killNamed(agentId: string): number {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return 0;
  }
  let found = 0;
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`);
      // Entries are NUL-separated (the last one may end the block without one).
      const entries = environ.toString('utf8').split('\0');
      if (entries.includes(`IRON_AGENT_ID=${agentId}`) && !/^\S+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) {
        process.kill(Number(pid), 'SIGKILL');
        found++;
      }
    } catch {
      // gone, or another user's
    }
  }
  return found;
}

/** Sends `signal` to the agent's process group (the agent and whatever it started); to the agent alone if that fails. */
export function signalAgentTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // No such group (already gone): the agent itself, if it is still there.
    try {
      child.kill(signal);
    } catch {
      // gone
    }
  }
}

export interface SpawnedAgent {
  child: ChildProcess;
  /** The last 4 KiB of stderr. */
  stderrTail(): string;
  /** Captured stdout (with output 'capture'). */
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
}

export function spawnAgent(command: AgentCommand, env: NodeJS.ProcessEnv, cwd: string, output: ProcessOutput, user?: AgentUser): SpawnedAgent {
  const stdio: ['ignore', 'ignore' | 'pipe', 'ignore' | 'pipe'] = ['ignore', output === 'ignore' ? 'ignore' : 'pipe', output === 'ignore' ? 'ignore' : 'pipe'];
  // Its own process group (detached): the tools it starts (a shell, a subprocess) are stopped with it, as one tree.
  const child = user
    ? spawn(command.command, command.args, { cwd, env: { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name }, stdio, uid: user.uid, gid: user.gid, detached: true })
    : spawn(command.command, command.args, { cwd, env, stdio, detached: true });
  let tail = '';
  let captured = '';
  const sink = output === 'forward' ? FORWARD : typeof output === 'object' ? output : undefined;
  // A sink that cannot keep up (its own reader is slow) holds the agent back instead of buffering without limit.
  const heldBack = (stream: NodeJS.ReadableStream | null, wait: unknown) => {
    // (Only a promise holds it back: a sink written as `(text) => process.stdout.write(text)` returns a boolean.)
    if (!(wait instanceof Promise) || !stream) return;
    stream.pause();
    void wait.then(
      () => stream.resume(),
      () => stream.resume(),
    );
  };
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    tail = (tail + text).slice(-STDERR_TAIL_CHARS);
    if (sink) heldBack(child.stderr, sink.stderr(text));
  });
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    if (sink) heldBack(child.stdout, sink.stdout(text));
    else captured += text;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolveExit) => {
    child.once('error', (error) => resolveExit({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => {
      // The agent is gone; what it started and left behind is not let run on outside the cage: its group is told
      // to stop, then killed. Its output is read to the end ('close'), or for a moment when a leftover holds it open.
      signalAgentTree(child, 'SIGTERM');
      const agentId = env.IRON_AGENT_ID;
      setTimeout(() => (agentId ? killAgentLeftovers(child, agentId) : signalAgentTree(child, 'SIGKILL')), LEFTOVER_GRACE_MS).unref();
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(late);
        resolveExit({ code, signal });
      };
      const late = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, DRAIN_AFTER_EXIT_MS);
      child.once('close', finish);
    });
  });
  return { child, stderrTail: () => tail, stdout: () => captured, exited };
}
