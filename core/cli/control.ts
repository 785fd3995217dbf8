// `iron control`: the runtime driven by another program over stdin/stdout, one JSON object a line (the Python package
// `iron_runtime` is its client). Each request carries an id and gets one response; agent output comes as events; logs
// go to stderr. When stdin closes (the client closed it, exited or was killed) every agent is stopped — SIGTERM, then
// SIGKILL after `agents.stopGraceMs` — and the process exits: a client that dies leaves no orphans.
//
//   ← {"event":"hello","protocol":1,"version":"0.1.0","node":"24.21.0","pid":4242}
//   → {"id":1,"cmd":"start","budget":5}
//   ← {"id":1,"ok":true,"result":{"protocol":1,"plugins":["safety","reliability","cost"],…}}
//   → {"id":2,"cmd":"startAgent","path":"/abs/agent.py","args":["--task","x"],"cwd":"/abs"}
//   ← {"id":2,"ok":true,"result":{"agentId":"…"}}
//   ← {"event":"output","agentId":"…","stream":"stdout","text":"…"}
//   → {"id":3,"cmd":"getMetrics","agentId":"nope"}
//   ← {"id":3,"ok":false,"error":{"code":"IRON_AGENT_NOT_FOUND","message":"no agent with id nope in this runtime",…}}
//
// Only types are imported up front: main.ts registers this command on every run, and `iron --help` must not load the
// runtime. The modules a session needs are loaded once, when `iron control` runs (`loadModules`).
import type { Command } from 'commander';
import type { IronConfig } from '../config/schema.ts';
import type { LogFormat } from '../logger.ts';
import type { Runtime } from '../runtime.ts';
import { isUsdAmount, USD_RANGE } from '../usd.ts';

/** Bumped when a request or a response changes shape; the client checks it in the `hello` event. */
export const CONTROL_PROTOCOL = 1;

const DEFAULT_STOP_GRACE_MS = 5000;
/** Beyond the agents' grace: time for the plugins to close (sync flushes for at most 2 s) before exiting regardless. */
const SHUTDOWN_MARGIN_MS = 10_000;

export interface ControlOptions {
  /** Config file, as `iron run --config`: on the command line, so bin.ts moves the variables it names out of the environment block. */
  config?: string;
  logFormat?: LogFormat;
  version: string;
}

type Json = Record<string, unknown>;
type Modules = Awaited<ReturnType<typeof loadModules>>;

/** Registers `iron control` (hidden from the help: programs use it, not people; the README documents it). */
export function registerControlCommand(program: Command): void {
  program
    .command('control', { hidden: true })
    .description('drive the runtime over stdin/stdout, one JSON request a line (the protocol of the Python package iron_runtime)')
    .option('-c, --config <file>', 'config file (default: ./iron.config.yaml if present, else the safe defaults of iron run)')
    .action(async (options: { config?: string }, command: Command) => {
      const { logFormat } = command.optsWithGlobals<{ logFormat?: LogFormat }>();
      const code = await runControl({ ...options, ...(logFormat ? { logFormat } : {}), version: program.version() ?? 'unknown' });
      // The agents are stopped and the runtime is closed: an idle keep-alive socket is no reason to linger.
      process.exit(code);
    });
}

async function loadModules() {
  const [errors, load, interpolate, validate, schema, defaults, logger, runtime, hooks, run] = await Promise.all([
    import('../errors.ts'),
    import('../config/load.ts'),
    import('../config/interpolate.ts'),
    import('../config/validate.ts'),
    import('../config/schema.ts'),
    import('./defaults.ts'),
    import('../logger.ts'),
    import('../runtime.ts'),
    import('../hooks.ts'),
    import('./run.ts'),
  ]);
  return { ...errors, ...load, ...interpolate, ...validate, ...schema, ...defaults, ...logger, ...runtime, ...hooks, startLine: run.startLine };
}

/** Serves requests from stdin until `close` or the end of stdin, then resolves with the exit code. */
export async function runControl(options: ControlOptions): Promise<number> {
  const [{ createInterface }, modules] = await Promise.all([import('node:readline'), loadModules()]);
  const session = new ControlSession(options, modules);
  // main.ts exits at once on EPIPE; here a client that cannot read any more is gone: stop the agents first.
  process.stdout.removeAllListeners('error');
  process.stdout.on('error', () => session.clientGone());
  process.stderr.removeAllListeners('error');
  process.stderr.on('error', () => undefined); // a log line lost is no reason to leave agents behind
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void session.shutdown(signal));
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => session.handle(line));
  lines.on('close', () => void session.shutdown('stdin closed'));
  session.send({ event: 'hello', protocol: CONTROL_PROTOCOL, version: options.version, node: process.versions.node, pid: process.pid });
  const code = await session.done;
  lines.close();
  process.stdin.destroy();
  return code;
}

class ControlSession {
  readonly #options: ControlOptions;
  readonly #m: Modules;
  #runtime: Runtime | undefined;
  #starting: Promise<Runtime> | undefined;
  /** Agents start one at a time, in the order the client asked. */
  #agentStarts: Promise<unknown> = Promise.resolve();
  #clientGone = false;
  /** Settles when a full pipe to the client drained (one promise for every writer waiting on it). */
  #drained: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #exitCode = 0;
  #resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => (this.#resolveDone = resolve));

  readonly #commands: Record<string, (request: Json) => Promise<unknown>> = {
    start: (request) => this.#start(request),
    startAgent: (request) => this.#startAgent(request),
    getMetrics: async (request) => (await this.#ready()).getMetrics(this.#agentId(request)),
    stopAgent: async (request) => {
      const graceMs = this.#number(request, 'graceMs');
      return (await this.#ready()).stopAgent(this.#agentId(request), graceMs === undefined ? {} : { graceMs });
    },
    wait: (request) => this.#wait(request),
    setBudget: async (request) => {
      // The runtime checks the amount (a positive number, or null for none) and says what is wrong.
      (await this.#ready()).setBudget(this.#agentId(request), request.usd as number | null);
      return null;
    },
    close: async () => {
      await this.shutdown('close');
      return null;
    },
  };

  constructor(options: ControlOptions, modules: Modules) {
    this.#options = options;
    this.#m = modules;
  }

  /** Writes one message, unless the client went away (its pipe is broken). */
  /** Writes one message; a promise back when the pipe to the client is full (it settles once it drained). */
  send(message: Json): void | Promise<void> {
    if (this.#clientGone) return;
    if (process.stdout.write(`${JSON.stringify(message)}\n`)) return;
    this.#drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.#drained = undefined;
        process.stdout.off('drain', done);
        process.stdout.off('close', done);
        resolve();
      };
      process.stdout.once('drain', done);
      process.stdout.once('close', done);
    });
    return this.#drained;
  }

  handle(line: string): void {
    if (line.trim() === '') return;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      request = undefined;
    }
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      this.send({ id: null, ok: false, error: { code: this.#m.IRON_BAD_REQUEST, message: `a request is one JSON object a line, got ${JSON.stringify(line.slice(0, 80))}` } });
      return;
    }
    void this.#answer(request as Json);
  }

  async #answer(request: Json): Promise<void> {
    const id = typeof request.id === 'number' || typeof request.id === 'string' ? request.id : null;
    try {
      const cmd = request.cmd;
      const command = typeof cmd === 'string' && Object.hasOwn(this.#commands, cmd) ? this.#commands[cmd] : undefined;
      if (!command) throw this.#badRequest(`unknown cmd ${JSON.stringify(cmd)}: expected one of ${Object.keys(this.#commands).join(', ')}`);
      this.send({ id, ok: true, result: (await command(request)) ?? null });
    } catch (error) {
      if (error instanceof this.#m.IronError) {
        this.send({ id, ok: false, error: error.toJSON() });
        return;
      }
      // A bug, not a refusal: the stack on stderr, the message to the client.
      process.stderr.write(`iron: internal error in control cmd ${String(request.cmd)}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      this.send({ id, ok: false, error: { code: 'IRON_INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) } });
    }
  }

  async #ready(): Promise<Runtime> {
    if (this.#closing) throw new this.#m.IronError(this.#m.IRON_RUNTIME_CLOSED, 'the runtime is closed; create a new Runtime to start agents');
    if (!this.#starting) throw this.#badRequest('send start first: {"id":1,"cmd":"start"}');
    return this.#starting;
  }

  async #start(request: Json): Promise<unknown> {
    if (this.#starting) throw this.#badRequest('start was already sent: one runtime per control process');
    const starting = this.#build(request);
    this.#starting = starting;
    // A start that failed leaves the session unstarted: the client may correct its arguments and send start again.
    starting.catch(() => {
      if (this.#starting === starting) this.#starting = undefined;
    });
    const runtime = await starting;
    return {
      protocol: CONTROL_PROTOCOL,
      version: this.#options.version,
      node: process.versions.node,
      plugins: runtime.plugins,
      configFile: runtime.configFile ?? null,
      startLine: this.#m.startLine(runtime, runtime.configFile),
      stopGraceMs: runtime.config.agents?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    };
  }

  /** The runtime, built as `iron run` builds it: the same config lookup, safe defaults and log settings. */
  async #build(request: Json): Promise<Runtime> {
    const m = this.#m;
    if (typeof request.config === 'string') throw this.#badRequest(`a config file is given on the command line (iron control --config ${request.config}), as for iron run`);
    const serverUrl = this.#string(request, 'serverUrl');
    const token = this.#string(request, 'token');
    if (token !== undefined && serverUrl === undefined && !process.env.IRON_SERVER_URL) {
      throw new m.ConfigError('an API token was given without a server URL: give the server URL too (or set IRON_SERVER_URL)', { path: 'sync.server' });
    }
    // The server's URL and token go to the runtime's env, never into this process's environment block.
    // Variables an inline config names (${MY_KEY}) come over the channel (`env`), kept out of this process's
    // environment block by the client: an agent of the same user can read that block, not this process's memory.
    const given = request.env;
    if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given) || !Object.values(given).every((value) => typeof value === 'string'))) {
      throw this.#badRequest('start: env must be a mapping of variable names to strings');
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ...((given as Record<string, string> | undefined) ?? {}), ...(serverUrl !== undefined ? { IRON_SERVER_URL: serverUrl } : {}), ...(token !== undefined ? { IRON_TOKEN: token } : {}) };
    let config: IronConfig;
    let file: string | undefined;
    let dir = process.cwd();
    if (request.config !== undefined && request.config !== null) {
      // An inline config is read like a file: ${VAR} references, then the schema (errors name the key path).
      const label = 'the inline config';
      if (typeof request.config !== 'object' || Array.isArray(request.config)) throw new m.ConfigError(`${label}: expected a mapping of keys (budget, providers, plugins …)`);
      config = m.validateOptions<IronConfig>(m.IronConfigSchema, m.interpolate(request.config, env, { file: label }), { file: label });
    } else {
      const loaded = await m.loadConfig(this.#options.config, { env });
      // No config file: the documented safe defaults of `iron run`.
      config = loaded.file ? loaded.config : m.defaultConfig();
      file = loaded.file;
      dir = loaded.dir;
    }
    // IRON_LOG_LEVEL wins over the file; warn by default, as in `iron run`.
    const level = m.logLevelFromEnv() ?? config.logLevel ?? 'warn';
    const logger = m.createLogger(level, { format: this.#options.logFormat ?? m.logFormatFromEnv() ?? (process.stderr.isTTY ? 'pretty' : 'json') });
    const budget = request.budget ?? undefined; // the runtime checks it (a positive number) and says what is wrong
    const runtime = new m.Runtime({ config, configDir: dir, ...(file ? { configFile: file } : {}), ...(budget !== undefined ? { budget: budget as number } : {}), logger, env });
    try {
      await runtime.ready();
    } catch (error) {
      await runtime.close();
      throw error;
    }
    this.#runtime = runtime;
    return runtime;
  }

  #startAgent(request: Json): Promise<unknown> {
    const started = this.#agentStarts.then(async () => {
      const runtime = await this.#ready();
      const { path, args = [] } = request;
      if (typeof path !== 'string' || path === '') throw this.#badRequest('startAgent: path must name the agent script or executable');
      if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) throw this.#badRequest('startAgent: args must be a list of strings');
      if ([path, ...args].some((arg) => (arg as string).includes('\u0000'))) throw this.#badRequest('startAgent: a path or argument holds a NUL character, which no program can receive');
      const name = this.#string(request, 'name');
      const cwd = this.#string(request, 'cwd');
      const budget = request.budget ?? undefined;
      if (budget !== undefined) this.#checkAgentBudget(runtime, budget);
      // Output can arrive only after the spawn inside startAgent; kept until the id is known, in order.
      let agentId: string | undefined;
      const early: Array<[string, string]> = [];
      // An agent's output waits for the client to read it (its pipe full: the agent is held back), never piles up here.
      const forward = (stream: 'stdout' | 'stderr') => (text: string): void | Promise<void> => {
        if (agentId) return this.send({ event: 'output', agentId, stream, text });
        early.push([stream, text]);
      };
      agentId = await runtime.startAgent(path, { args, ...(name ? { name } : {}), ...(cwd ? { cwd } : {}), ...(budget !== undefined ? { budget: budget as number } : {}), output: { stdout: forward('stdout'), stderr: forward('stderr') } });
      for (const [stream, text] of early) this.send({ event: 'output', agentId, stream, text });
      // Its pid (and process group): a client can still stop it if this process is killed.
      return { agentId, pid: runtime.getMetrics(agentId).pid ?? null };
    });
    this.#agentStarts = started.catch(() => undefined);
    return started;
  }

  async #wait(request: Json): Promise<unknown> {
    const runtime = await this.#ready();
    const agentId = this.#agentId(request);
    const timeoutMs = this.#number(request, 'timeoutMs');
    const ended = runtime.waitForAgent(agentId);
    // Beyond what a timer holds (24.8 days) is as good as no timeout: not a timer that fires at once.
    if (timeoutMs === undefined || timeoutMs > 2 ** 31 - 1) return ended;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new this.#m.IronError(this.#m.IRON_TIMEOUT, `agent ${agentId} is still running after ${timeoutMs / 1000} s`, { details: { agentId } })), timeoutMs);
    });
    try {
      return await Promise.race([ended, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The client cannot read any more (EPIPE on stdout): it is gone, so nothing more is written, and everything stops. */
  clientGone(): void {
    this.#clientGone = true;
    void this.shutdown('the client went away');
  }

  /** Stops every agent (each within its grace) and closes the runtime, once; then `done` resolves. */
  shutdown(reason: string): Promise<void> {
    const signals: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
    if (signals[reason] !== undefined && !this.#closing) this.#exitCode = signals[reason];
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  async #close(reason: string): Promise<void> {
    const graceMs = this.#runtime?.config.agents?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    // Stopping waits for each agent's grace; a plugin that hangs while closing must not keep this process forever.
    setTimeout(() => {
      process.stderr.write(`iron: control: closing (${reason}) took longer than ${(graceMs + SHUTDOWN_MARGIN_MS) / 1000} s; exiting\n`);
      process.exit(70);
    }, graceMs + SHUTDOWN_MARGIN_MS).unref();
    // A start in flight finishes first, so the runtime it builds is closed too.
    const runtime = this.#runtime ?? (await this.#starting?.catch(() => undefined));
    try {
      await runtime?.close();
    } catch (error) {
      process.stderr.write(`iron: control: closing the runtime (${reason}) failed: ${error instanceof Error ? error.message : String(error)}\n`);
      this.#exitCode ||= 70;
    }
    // After this turn, so the `close` response is written before the process exits.
    setImmediate(() => this.#resolveDone(this.#exitCode));
  }

  /** A budget per agent: a positive number, and a cost plugin to enforce it. */
  #checkAgentBudget(runtime: Runtime, budget: unknown): void {
    if (!isUsdAmount(budget)) {
      throw new this.#m.ConfigError(`budget: expected ${USD_RANGE}, got ${typeof budget === 'string' ? JSON.stringify(budget) : String(budget)}`, { path: 'budget' });
    }
    if (!runtime.plugins.includes('cost')) {
      throw new this.#m.ConfigError('a budget per agent needs the cost plugin, which is off in this runtime: give the runtime a budget, or a config with a budget or a cost section', { path: 'cost' });
    }
  }

  #badRequest(message: string): Error {
    return new this.#m.IronError(this.#m.IRON_BAD_REQUEST, message);
  }

  /** An id of the wrong type is an id no agent has: the runtime answers IRON_AGENT_NOT_FOUND. */
  #agentId(request: Json): string {
    return typeof request.agentId === 'string' ? request.agentId : String(request.agentId);
  }

  #string(request: Json, key: string): string | undefined {
    const value = request[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw this.#badRequest(`${String(request.cmd)}: ${key} must be a string, got ${JSON.stringify(value)}`);
    return value;
  }

  #number(request: Json, key: string): number | undefined {
    const value = request[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw this.#badRequest(`${String(request.cmd)}: ${key} must be a number ≥ 0, got ${JSON.stringify(value)}`);
    return value;
  }
}
