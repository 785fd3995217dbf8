// The Runtime: owns the hooks, the plugins, the agents and the gateway. The seed API lives here.
import { shownPath } from './shown-path.ts';
import { assertSupportedNode } from './node-version.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { LevelWithSilent } from 'pino';
import { AgentRecord } from './agents/record.ts';
import { createAgentFetch } from './agents/agent-fetch.ts';
import { createLlmClient, type LlmClient } from './agents/llm-client.ts';
import { resolveAgentUser, type AgentUser } from './agents/agent-user.ts';
import { agentEnv, killAgentLeftovers, resolveAgentCommand, signalAgentTree, spawnAgent, type ProcessOutput } from './agents/process.ts';
import type { CallEnvironment } from './call.ts';
import { IronConfigSchema, type IronConfig } from './config/schema.ts';
import { loadConfig } from './config/load.ts';
import type { AgentInfo } from './context.ts';
import { EventBus, type AgentStatus } from './events.ts';
import { startGateway, type Gateway } from './gateway.ts';
import { createHooks, type BudgetChange, type RuntimeHooks } from './hooks.ts';
import { createLogger } from './logger.ts';
import type { AgentMetrics } from './metrics.ts';
import type { IronPlugin } from './plugin.ts';
import { unknownOption, validateOptions } from './config/validate.ts';
import { BUILTIN_PLUGINS, loadPlugin } from './plugin-loader.ts';
import { headerSecrets, ProviderRegistry } from './providers/routing.ts';
import { ConfigError, IronError, toIronError, IRON_AGENT_FAILED, IRON_AGENT_NOT_FOUND, IRON_AGENT_START_FAILED, IRON_AGENT_STOPPED, IRON_RUNTIME_CLOSED } from './errors.ts';
import { isUsdAmount, USD_RANGE } from './usd.ts';

/** What an in-process agent gets. */
export interface AgentHandle {
  readonly agentId: string;
  /** Drop-in `fetch` for the official SDKs: `new OpenAI({ fetch: agent.fetch })`. */
  readonly fetch: typeof fetch;
  /** A small typed client: `await agent.llm.chat({ model, messages })`. */
  readonly llm: LlmClient;
  /** Aborted when the agent is stopped. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

export type AgentFunction = (agent: AgentHandle) => unknown;

export interface StartAgentOptions {
  /** A name for people (defaults to the script's file name, or the function's name). */
  name?: string;
  /** Process agents: arguments, extra env, working directory, and what to do with stdout/stderr. */
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  output?: ProcessOutput;
  /** This agent's own budget in USD, set before its first call (the cost plugin enforces it). */
  budget?: number;
}

export interface RuntimeOptions {
  /** Budget per agent in USD (the cost plugin enforces it): `new Runtime({ budget: 50 })`. */
  budget?: number;
  /** A loaded config (see `loadConfig`), or use `Runtime.fromConfig(file)`. */
  config?: IronConfig;
  /** The folder relative plugin paths in the config resolve from (the config file's folder). */
  configDir?: string;
  /** The config file's name, for error messages. */
  configFile?: string;
  /** Plugins to apply besides those the config names. */
  plugins?: IronPlugin[];
  logger?: Logger;
  logLevel?: LevelWithSilent;
  /** Environment for provider keys and process agents (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_STOP_GRACE_MS = 5000;
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
const BUILTIN_SECTIONS = ['cost', 'safety', 'reliability', 'sync', 'telemetry'] as const;

/** The parts of a URL that may be credentials: its user, its password and its query values. */
function urlCredentials(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const url = new URL(value);
    return [decodeURIComponent(url.username), decodeURIComponent(url.password), ...[...url.searchParams.values()]].filter((part) => part.length > 0);
  } catch {
    return [];
  }
}

/**
 * Runs a step that applies the config file's plugins: a ConfigError it throws names the file, the way the file's own
 * parse errors do (`iron.config.yaml: cost.warnAt[0]: …`), relative to the working folder when it is inside it.
 */
async function namingFile(file: string | undefined, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (!file || !(error instanceof ConfigError)) throw error;
    const name = shownPath(file);
    const message = error.message.startsWith(`${file}: `) ? error.message.slice(file.length + 2) : error.message.startsWith(`${name}: `) ? error.message.slice(name.length + 2) : error.message;
    throw new ConfigError(`${name}: ${message}`, { ...(error.path !== undefined ? { path: error.path } : {}), file: name, cause: error });
  }
}

const RUNTIME_OPTIONS = ['budget', 'config', 'configDir', 'configFile', 'plugins', 'logger', 'logLevel', 'env'];
const START_AGENT_OPTIONS = ['name', 'args', 'env', 'cwd', 'output', 'budget'];

/** startAgent's options: a misspelled one (`budgett`) or a budget the runtime cannot enforce is refused, not ignored. */
function checkStartAgentOptions(options: StartAgentOptions, plugins: readonly string[]): void {
  if (typeof options !== 'object' || options === null) throw new ConfigError(`startAgent(target, options): options must be an object with ${START_AGENT_OPTIONS.join(', ')}`);
  const unknown = unknownOption(options, START_AGENT_OPTIONS);
  if (unknown) {
    const { key, guess } = unknown;
    throw new ConfigError(`startAgent(target, { ${key} }): unknown option${guess ? ` (did you mean "${guess}"?)` : ''}; expected one of ${START_AGENT_OPTIONS.join(', ')}`, { path: key });
  }
  const { budget } = options;
  if (budget === undefined) return;
  if (!isUsdAmount(budget)) throw new ConfigError(`startAgent(target, { budget }): expected ${USD_RANGE}, got ${typeof budget === 'string' ? JSON.stringify(budget) : String(budget)}`, { path: 'budget' });
  if (!plugins.includes('cost')) throw new ConfigError('startAgent(target, { budget }): a budget per agent needs the cost plugin, which is off in this runtime: give the runtime a budget, or a config with a budget or a cost section', { path: 'cost' });
}

/**
 * A misspelled option (`budgett`) or a plugin section given at the top level (`safety: {}`) would leave a guard off
 * without a word: refused, naming the key and what it should be.
 */
function checkRuntimeOptions(options: RuntimeOptions): void {
  const unknown = unknownOption(options, RUNTIME_OPTIONS);
  if (unknown) {
    const { key, guess } = unknown;
    const section = (BUILTIN_SECTIONS as readonly string[]).includes(key) || key === 'budget';
    throw new ConfigError(
      section
        ? `new Runtime({ ${key} }): plugin sections go under config: new Runtime({ config: { ${key}: { … } } }) (options are ${RUNTIME_OPTIONS.join(', ')})`
        : `new Runtime({ ${key} }): unknown option${guess ? ` (did you mean "${guess}"?)` : ''}; expected one of ${RUNTIME_OPTIONS.join(', ')}`,
      { path: key },
    );
  }
  (options.plugins ?? []).forEach((plugin, index) => {
    const value = plugin as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as IronPlugin).apply === 'function') return;
    const builtin = typeof value === 'string' && (BUILTIN_SECTIONS as readonly string[]).includes(value);
    throw new ConfigError(
      `plugins[${index}]: expected a plugin object { name, apply(runtime) }, got ${typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : typeof value}${builtin ? `; the built-in ${value} plugin is turned on with new Runtime({ config: { ${value}: {} } })` : ''}`,
      { path: `plugins[${index}]` },
    );
  });
}

/** How long closing waits for the stopped agents' calls to settle before the plugins flush. */
const CLOSE_SETTLE_MS = 2000;

export class Runtime {
  readonly hooks: RuntimeHooks = createHooks();
  readonly logger: Logger;
  readonly events: EventBus;
  readonly providers: ProviderRegistry;
  readonly config: IronConfig;
  /** The config file the runtime was made from, if any (plugins name it in their config errors). */
  readonly configFile: string | undefined;
  readonly #env: NodeJS.ProcessEnv;
  /** The environment the runtime reads (provider keys, IRON_* settings); plugins read their env settings here. */
  get env(): Readonly<NodeJS.ProcessEnv> {
    return this.#env;
  }
  readonly #agents = new Map<string, AgentRecord>();
  readonly #byCredential = new Map<string, AgentRecord>();
  readonly #plugins: IronPlugin[] = [];
  readonly #callEnv: CallEnvironment;
  readonly #openCalls = new Map<string, string>();
  /** Waiting for open calls to settle: `done` resolves its promise once none of its calls is open, and says so. */
  readonly #settleWaiters = new Set<{ done: () => boolean }>();
  readonly #ready: Promise<void>;
  #gateway: Promise<Gateway> | undefined;
  #resolvedAgentUser: AgentUser | undefined;
  #closed = false;

  constructor(options: RuntimeOptions = {}) {
    assertSupportedNode();
    checkRuntimeOptions(options);
    this.#env = options.env ?? process.env;
    // A config given inline is checked like a file's (one loaded from a file already was): a misspelled key or a
    // budget given as a number would otherwise leave the calls without a budget, silently.
    if (options.config !== undefined && options.configFile === undefined) validateOptions<IronConfig>(IronConfigSchema, options.config, { file: 'new Runtime({ config })' });
    const config: IronConfig = { ...(options.config ?? {}) };
    if (options.budget !== undefined) {
      if (!isUsdAmount(options.budget)) {
        const value = options.budget as unknown;
        const shape = typeof value === 'object' && value !== null && !Array.isArray(value);
        throw new ConfigError(
          shape
            ? `new Runtime({ budget }): budget is the USD per agent, a number (new Runtime({ budget: 5 })); the YAML shape goes under config: new Runtime({ config: { budget: ${JSON.stringify(value)} } })`
            : `budget: expected ${USD_RANGE}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
          { path: 'budget' },
        );
      }
      config.budget = { ...config.budget, limit: options.budget };
    }
    this.config = config;
    this.configFile = options.configFile;
    this.logger = options.logger ?? createLogger(options.logLevel ?? config.logLevel);
    this.events = new EventBus(this.logger);
    this.providers = new ProviderRegistry(config.providers ?? {}, this.#env, this.logger);
    this.#callEnv = { hooks: this.hooks, events: this.events, providers: this.providers, logger: this.logger, openCalls: this.#openCalls };
    const settled = (event: { callId: string }) => {
      this.#openCalls.delete(event.callId);
      for (const waiter of [...this.#settleWaiters]) if (waiter.done()) this.#settleWaiters.delete(waiter);
    };
    this.events.on('LlmCallCompleted', settled);
    this.events.on('LlmCallFailed', settled);
    this.#ready = this.#applyPlugins(options);
    this.#ready.catch(() => undefined); // surfaced by ready() and startAgent()
  }

  /** Loads `iron.config.yaml` (or the given file) and builds a runtime from it. */
  static async fromConfig(file?: string, options: Omit<RuntimeOptions, 'config' | 'configDir' | 'configFile'> = {}): Promise<Runtime> {
    const loaded = await loadConfig(file, options.env ? { env: options.env } : {});
    const runtime = new Runtime({ ...options, config: loaded.config, configDir: loaded.dir, ...(loaded.file ? { configFile: loaded.file } : {}) });
    await runtime.ready();
    return runtime;
  }

  /**
   * The built-in plugins this runtime applies, with their options, in order. A section turns its plugin on and `false`
   * turns it off. Sync is also on whenever IRON_SERVER_URL is set (a team's server must not be silently left out), and
   * cost whenever a budget is set or sync is on: server budgets need every call priced, so they fail closed. Telemetry
   * is also on whenever the standard OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set, unless OTEL_SDK_DISABLED.
   */
  #builtinSections(): Partial<Record<(typeof BUILTIN_SECTIONS)[number], unknown>> {
    const config = this.config as Record<string, unknown>;
    const file = this.configFile ? `${this.configFile}: ` : '';
    const syncOn = config.sync !== false && (config.sync !== undefined || Boolean(this.#env.IRON_SERVER_URL));
    if (config.cost === false && syncOn) {
      throw new ConfigError(`${file}cost: false turns off pricing, but sync is on and server budgets need every call priced: remove \`cost: false\`, or set \`sync: false\``, { path: 'cost' });
    }
    if (config.cost === false && this.config.budget !== undefined) {
      throw new ConfigError(`${file}cost: false turns off the cost plugin, which enforces budget: remove one of them`, { path: 'cost' });
    }
    const wanted = {
      cost: config.cost !== false && (config.cost !== undefined || this.config.budget !== undefined || syncOn),
      safety: config.safety !== undefined && config.safety !== false,
      reliability: config.reliability !== undefined && config.reliability !== false,
      sync: syncOn,
      // OTEL_SDK_DISABLED=true turns it off, a telemetry section included (it is the standard switch for all of OTel).
      telemetry: config.telemetry !== false && (this.#env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() !== 'true' && (config.telemetry !== undefined || Boolean(this.#env.OTEL_EXPORTER_OTLP_ENDPOINT || this.#env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)),
    };
    this.#sayWhatSyncIgnores(syncOn);
    const sections: Partial<Record<(typeof BUILTIN_SECTIONS)[number], unknown>> = {};
    for (const section of BUILTIN_SECTIONS) {
      if (wanted[section]) sections[section] = config[section] ?? {};
    }
    return sections;
  }

  /** Server settings that take no effect are said at start: a token without a server, a server the config overrides. */
  #sayWhatSyncIgnores(syncOn: boolean): void {
    const env = this.#env;
    const config = this.config as Record<string, unknown>;
    if (!syncOn && config.sync !== false && env.IRON_TOKEN && !env.IRON_SERVER_URL) {
      this.logger.warn('IRON_TOKEN is set but IRON_SERVER_URL is not: nothing is reported to a server and no server budget applies (set IRON_SERVER_URL to the server\'s address, e.g. http://127.0.0.1:8787)');
    }
    if (!syncOn && config.sync === false && env.IRON_SERVER_URL) {
      this.logger.warn(`IRON_SERVER_URL is set but ${this.configFile ? shownPath(this.configFile) : 'the config'} says sync: false: nothing is reported to ${env.IRON_SERVER_URL}`);
    }
    const server = typeof config.sync === 'object' && config.sync !== null ? (config.sync as { server?: unknown }).server : undefined;
    if (syncOn && typeof server === 'string' && env.IRON_SERVER_URL && server.replace(/\/+$/, '') !== env.IRON_SERVER_URL.replace(/\/+$/, '')) {
      this.logger.warn(`sync.server in ${this.configFile ? shownPath(this.configFile) : 'the config'} (${server}) wins over IRON_SERVER_URL (${env.IRON_SERVER_URL}): this runtime reports to ${server}`);
    }
  }

  async #applyPlugins(options: RuntimeOptions): Promise<void> {
    // agents.user is checked up front: a user that does not exist or cannot be switched to is a start-up error.
    this.#agentUser();
    const dir = options.configDir ?? process.cwd();
    const file = options.configFile;
    const source = (path: string) => (file ? { file: shownPath(file), path } : { path });
    for (const [section, sectionOptions] of Object.entries(this.#builtinSections())) {
      if (!BUILTIN_PLUGINS[section]) {
        throw new ConfigError(`${file ? `${file}: ` : ''}${section}: the built-in ${section} plugin is not available in this version of Iron Cage`, { path: section });
      }
      // A built-in plugin's options are its section itself (`cost.prices`, not `cost.options.prices`).
      await namingFile(file, async () => this.use(await loadPlugin({ name: section, options: sectionOptions }, dir, { ...source(section), optionsPath: section })));
    }
    const entries = this.config.plugins ?? [];
    for (const [index, entry] of entries.entries()) {
      const normalized = typeof entry === 'string' ? { name: entry } : entry;
      await namingFile(file, async () => this.use(await loadPlugin(normalized, dir, source(`plugins[${index}]`))));
    }
    for (const plugin of options.plugins ?? []) await this.use(plugin);
  }

  /** Applies a plugin: it taps the hooks now. */
  async use(plugin: IronPlugin): Promise<this> {
    this.#plugins.push(plugin);
    await plugin.apply(this);
    this.logger.debug({ plugin: plugin.name }, 'plugin applied');
    return this;
  }

  /** The names of the applied plugins, in order. */
  get plugins(): string[] {
    return this.#plugins.map((p) => p.name);
  }

  /** Settles when the config's plugins are loaded and applied; rejects with the config error otherwise. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Starts an agent and returns its id (a UUID): an async function (in process) or a script or executable
   * (a process talking to the gateway). Resolves once `onAgentStart` ran and the agent is running.
   */
  async startAgent(target: AgentFunction | string, options: StartAgentOptions = {}): Promise<string> {
    await this.#ready;
    if (this.#closed) throw new IronError(IRON_RUNTIME_CLOSED, 'the runtime is closed; create a new Runtime to start agents');
    if (typeof target !== 'function' && typeof target !== 'string') {
      throw new IronError(IRON_AGENT_START_FAILED, 'startAgent expects an async function (agent) => … or the path of a script or executable');
    }
    checkStartAgentOptions(options, this.plugins);
    // Check a script before anything starts: a missing file must leave no trace.
    const command = typeof target === 'string' ? resolveAgentCommand(target, options.args ?? [], options.cwd ?? process.cwd()) : undefined;
    const agentId = randomUUID();
    const name = options.name ?? (typeof target === 'string' ? target : target.name || 'agent');
    const record = new AgentRecord(agentId, name, command ? 'process' : 'in-process', this.logger.child({ agentId }));
    this.#agents.set(agentId, record);
    try {
      await this.hooks.onAgentStart.promise(record);
      // After the plugins' own start (the cost plugin's default limit), before the agent can make a call.
      if (options.budget !== undefined) this.#changeBudget({ agentId, limitUsd: options.budget });
    } catch (error) {
      this.#agents.delete(agentId);
      throw toIronError(error, IRON_AGENT_START_FAILED);
    }
    record.status = 'running';
    this.events.emit({ type: 'AgentStarted', time: Date.now(), agentId, kind: record.kind, name });
    if (typeof target === 'function') this.#runFunction(record, target);
    else await this.#runProcess(record, command!, options);
    return agentId;
  }

  #runFunction(record: AgentRecord, fn: AgentFunction): void {
    const handle: AgentHandle = {
      agentId: record.agentId,
      fetch: createAgentFetch(this.#callEnv, record),
      llm: createLlmClient(this.#callEnv, record),
      signal: record.signal,
      logger: record.logger,
    };
    // Run on the next tick so startAgent returns the id before the agent's first call.
    queueMicrotask(() => {
      Promise.resolve()
        .then(() => fn(handle))
        .then(
          () => this.#end(record, 'completed'),
          (error: unknown) => {
            const err = toIronError(error, IRON_AGENT_FAILED);
            // Said at once: a caller that only awaits waitForAgent must not mistake a crashed agent for a quiet one.
            record.logger.error({ err: { code: err.code, message: err.message } }, `agent ${record.name} failed`);
            return this.#end(record, 'failed', { code: err.code, message: err.message });
          },
        )
        .catch((error: unknown) => record.logger.error({ err: error }, 'ending the agent failed'));
    });
  }

  async #runProcess(record: AgentRecord, command: ReturnType<typeof resolveAgentCommand>, options: StartAgentOptions): Promise<void> {
    const gateway = await this.gateway();
    const credential = `iron_${randomBytes(24).toString('base64url')}`;
    record.credential = credential;
    this.#byCredential.set(credential, record);
    // Every credential the runtime holds, whatever variable the agent's environment would carry it in: provider keys,
    // the server token and a collector's headers (an API key given as ${HONEYCOMB_KEY} in the config).
    const section = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' ? (value as Record<string, unknown>) : {});
    const token = section(this.config.sync).token;
    const telemetry = section(this.config.telemetry);
    const headers = section(telemetry.headers);
    const secrets = [
      ...this.providers.list().map((p) => p.apiKey ?? ''),
      // A key sent as a configured header (Azure's `api-key: ${AZURE_KEY}`, a gateway's bearer) is one too.
      ...this.providers.list().flatMap((p) => headerSecrets(p.headers)),
      ...(typeof token === 'string' ? [token] : []),
      ...Object.values(headers).filter((value): value is string => typeof value === 'string'),
      // An endpoint may carry a key (a password, ?api_key=).
      ...['endpoint', 'tracesEndpoint', 'metricsEndpoint'].map((key) => telemetry[key]).filter((value): value is string => typeof value === 'string'),
      // So may a provider's base URL (http://user:${PASSWORD}@host/v1): its user, password and query values.
      ...this.providers.list().flatMap((p) => urlCredentials(p.baseUrl)),
    ];
    const env = agentEnv(this.#env, options.env ?? {}, gateway.url, credential, record.agentId, secrets);
    let spawned: ReturnType<typeof spawnAgent>;
    try {
      spawned = spawnAgent(command, env, options.cwd ?? process.cwd(), options.output ?? 'forward', this.#agentUser());
    } catch (error) {
      // Refused by the system before any process existed (arguments over its limit: E2BIG): the agent failed to start.
      const err = new IronError(IRON_AGENT_START_FAILED, `could not start ${command.command}: ${(error as Error).message}`);
      await this.#end(record, 'failed', { code: err.code, message: err.message });
      throw err;
    }
    record.process = spawned;
    spawned.exited.then(async ({ code, signal, error }) => {
      record.exitCode = code;
      record.exitSignal = signal;
      record.stderrTail = spawned.stderrTail();
      if (error) return this.#end(record, 'failed', { code: IRON_AGENT_START_FAILED, message: `could not start ${command.command}: ${error.message}` });
      if (record.stopRequest) return this.#end(record, record.stopRequest.status, record.stopRequest.reason);
      if (code === 0) return this.#end(record, 'completed');
      return this.#end(record, 'failed', { code: IRON_AGENT_FAILED, message: signal ? `agent was killed by ${signal}` : `agent exited with code ${code}` });
    }).catch((error: unknown) => record.logger.error({ err: error }, 'ending the agent failed'));
  }

  /** `agents.user`, resolved once (a config error names the key when the user is unknown or cannot be switched to). */
  #agentUser(): AgentUser | undefined {
    const { user, group } = this.config.agents ?? {};
    if (user === undefined) return undefined;
    this.#resolvedAgentUser ??= resolveAgentUser(user, group, this.configFile);
    return this.#resolvedAgentUser;
  }

  /** Ends an agent exactly once: status, onAgentStop, AgentStopped. Later calls are ignored. */
  async #end(record: AgentRecord, status: AgentStatus, error?: { code: string; message: string }): Promise<void> {
    if (record.stoppedAt !== null) return;
    record.stoppedAt = Date.now();
    record.status = status;
    if (error) record.endError = error;
    record.controller.abort(new IronError(IRON_AGENT_STOPPED, `agent ${record.agentId} ${status === 'completed' ? 'completed' : `was ${status.replace('_', ' ')}`}`));
    if (record.credential) this.#byCredential.delete(record.credential);
    try {
      await this.hooks.onAgentStop.promise(record);
    } catch (hookError) {
      record.logger.error({ err: hookError }, 'an onAgentStop tap threw');
    }
    const spawned = record.process;
    if (spawned) {
      record.exitCode ??= spawned.child.exitCode;
      record.stderrTail ??= spawned.stderrTail();
    }
    this.events.emit({
      type: 'AgentStopped',
      time: Date.now(),
      agentId: record.agentId,
      status,
      ...(record.kind === 'process' ? { exitCode: record.exitCode ?? null } : {}),
      ...(error ? { error } : {}),
    });
    record.resolveDone();
  }

  #record(agentId: string): AgentRecord {
    const record = this.#agents.get(agentId);
    if (!record) throw new IronError(IRON_AGENT_NOT_FOUND, `no agent with id ${agentId} in this runtime`, { details: { agentId } });
    return record;
  }

  /** An agent as plugins see it (for plugins reacting to events). */
  getAgent(agentId: string): AgentInfo | undefined {
    return this.#agents.get(agentId);
  }

  /** Status, calls, tokens, cost, budget, PII detections, errors, start and stop times. */
  getMetrics(agentId: string): AgentMetrics {
    const record = this.#record(agentId);
    const { counters } = record;
    const base: AgentMetrics = {
      agentId: record.agentId,
      name: record.name,
      kind: record.kind,
      status: record.status,
      calls: counters.calls,
      failedCalls: counters.failedCalls,
      tokens: { ...counters.tokens },
      costUsd: 0,
      budget: { limitUsd: null, spentUsd: 0, remainingUsd: null },
      piiDetections: 0,
      // The agent's own end error (it threw, or its process failed) counts like the calls' errors.
      errorCount: counters.errorCount + (record.endError ? 1 : 0),
      errors: counters.errors.map((e) => ({ ...e })),
      startedAt: new Date(record.startedAt).toISOString(),
      stoppedAt: record.stoppedAt === null ? null : new Date(record.stoppedAt).toISOString(),
      lastActivityAt: counters.lastActivityAt === null ? null : new Date(counters.lastActivityAt).toISOString(),
      plugins: {},
    };
    if (record.kind === 'process') {
      const spawned = record.process;
      base.pid = spawned?.child.pid ?? null;
      base.exitCode = record.exitCode ?? null;
      base.exitSignal = record.exitSignal ?? null;
      base.stderrTail = record.stderrTail ?? spawned?.stderrTail() ?? '';
    }
    if (record.endError) base.errors.push({ ...record.endError, time: base.stoppedAt ?? base.startedAt });
    return this.hooks.metrics.call(base, record);
  }

  listAgents(): AgentMetrics[] {
    return [...this.#agents.keys()].map((id) => this.getMetrics(id));
  }

  /** Captured stdout of a process agent started with `output: 'capture'`. */
  agentOutput(agentId: string): string {
    return this.#record(agentId).process?.stdout() ?? '';
  }

  /** Settles with the agent's final metrics once it has ended. */
  async waitForAgent(agentId: string): Promise<AgentMetrics> {
    const record = this.#record(agentId);
    await record.done;
    return this.getMetrics(agentId);
  }

  /**
   * Stops an agent: in-process agents are cut off (their calls in flight are aborted, new ones refused);
   * processes get SIGTERM, then SIGKILL after the grace period. `status` records why (a plugin that
   * stops an agent for its budget passes 'budget_exceeded').
   */
  async stopAgent(agentId: string, options: { graceMs?: number; status?: AgentStatus; reason?: { code: string; message: string } } = {}): Promise<AgentMetrics> {
    const record = this.#record(agentId);
    if (record.stoppedAt !== null) return this.getMetrics(agentId);
    const status = options.status ?? 'stopped';
    const spawned = record.process;
    if (spawned && spawned.child.exitCode === null && spawned.child.signalCode === null) {
      // Refuse further calls at once; the process gets time to exit cleanly.
      record.status = status;
      record.stopRequest = options.reason ? { status, reason: options.reason } : { status };
      const graceMs = options.graceMs ?? this.config.agents?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
      // The whole tree: an agent's tools (subprocesses) stop with it.
      signalAgentTree(spawned.child, 'SIGTERM');
      const killTimer = setTimeout(() => signalAgentTree(spawned.child, 'SIGKILL'), graceMs);
      const { code, signal } = await spawned.exited;
      clearTimeout(killTimer);
      record.exitCode = code;
      record.exitSignal = signal;
      record.stderrTail = spawned.stderrTail();
    }
    await this.#end(record, status, options.reason);
    // Its calls were aborted with it; each settles (billed for what the provider sent) before the figures are read.
    await this.#callsSettled(agentId);
    return this.getMetrics(agentId);
  }

  /**
   * Raises or lowers an agent's budget while it runs (`null`: no per-agent limit). Calls already refused stay
   * refused; the next call is checked against the new limit. Needs the cost plugin (a budget or a cost section).
   */
  setBudget(agentId: string, limitUsd: number | null): void {
    this.#record(agentId);
    this.#changeBudget({ agentId, limitUsd });
  }

  /** Raises or lowers the runtime's total budget across all agents (`null`: no total limit). */
  setTotalBudget(limitUsd: number | null): void {
    this.#changeBudget({ agentId: null, limitUsd });
  }

  #changeBudget(change: BudgetChange): void {
    const { limitUsd } = change;
    if (limitUsd !== null && !isUsdAmount(limitUsd)) {
      throw new ConfigError(`budget: expected ${USD_RANGE} (one micro-dollar is the smallest amount counted), or null, got ${typeof limitUsd === 'string' ? JSON.stringify(limitUsd) : String(limitUsd)}`, { path: 'budget' });
    }
    if (this.hooks.setBudget.call(change) !== true) {
      throw new ConfigError('budgets need the cost plugin: set a budget (new Runtime({ budget }) or budget.limit in iron.config.yaml) or add a cost section', { path: 'cost' });
    }
  }

  /** The gateway process agents talk to, started on first use (127.0.0.1, random port unless configured). */
  gateway(): Promise<Gateway> {
    this.#gateway ??= startGateway(
      this.#callEnv,
      (credential) => this.#byCredential.get(credential),
      {
        host: this.config.gateway?.host ?? '127.0.0.1',
        port: this.config.gateway?.port ?? 0,
        maxBodyBytes: this.config.gateway?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      },
      this.logger,
    );
    return this.#gateway;
  }

  /** Stops every running agent and the gateway. */
  /** Resolves true once no call (of `agentId`, or at all) is open, false after CLOSE_SETTLE_MS. */
  #callsSettled(agentId?: string): Promise<boolean> {
    const open = () => (agentId === undefined ? this.#openCalls.size > 0 : [...this.#openCalls.values()].includes(agentId));
    if (!open()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        done: () => {
          if (open()) return false;
          clearTimeout(timer);
          resolve(true);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.#settleWaiters.delete(waiter);
        resolve(false);
      }, CLOSE_SETTLE_MS);
      this.#settleWaiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#agents.values()].filter((r) => r.stoppedAt === null).map((r) => this.stopAgent(r.agentId)));
    // What the agents started and left (a tool that ignores SIGTERM, one that left their process group) does not
    // outlive the runtime: killed now, not after a grace timer the exiting process would never see fire.
    for (const record of this.#agents.values()) if (record.process) killAgentLeftovers(record.process.child, record.agentId);
    // The stopped agents' calls were aborted; each still settles (billed for what the provider sent, reported as
    // failed) before the plugins flush, so a close mid-call loses none of it. Bounded: a hook that never returns
    // cannot hold the close.
    if (!(await this.#callsSettled())) this.logger.warn(`${this.#openCalls.size} calls had not settled ${CLOSE_SETTLE_MS} ms after their agents stopped: the runtime closes without their final figures`);
    try {
      await this.hooks.onRuntimeClose.promise();
    } catch (error) {
      this.logger.error({ err: error }, 'a plugin failed while the runtime closed');
    }
    if (this.#gateway) await (await this.#gateway).close();
    await this.providers.close();
  }
}
