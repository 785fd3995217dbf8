// `iron run <agent>`: one agent caged, a start line saying what is on, live progress, a summary, the agent's exit code.
import { constants } from 'node:os';
import { relative } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { createLogger, logFormatFromEnv, logLevelFromEnv, type LogFormat } from '../logger.ts';
import { Runtime } from '../runtime.ts';
import { defaultConfig } from './defaults.ts';
import { EXIT_CAGE_STOPPED, EXIT_SIGINT, EXIT_SIGTERM } from './exit-codes.ts';
import { formatUsd, metricsTable } from './summary.ts';
import { followAgent, type StatusLine } from './progress.ts';

export { EXIT_CAGE_STOPPED, EXIT_CONFIG } from './exit-codes.ts';

export interface RunOptions {
  budget?: number;
  config?: string;
  logFormat?: LogFormat;
}

/** Loads the config (or the safe defaults), builds the runtime, runs the agent; returns the exit code. */
export async function runCommand(target: string, args: string[], options: RunOptions): Promise<number> {
  const loaded = await loadConfig(options.config);
  // No config file: the documented safe defaults (every available built-in plugin on).
  const config = loaded.file ? loaded.config : defaultConfig();
  const tty = Boolean(process.stderr.isTTY);
  // IRON_LOG_LEVEL wins over the file (the CLI checked it before any command ran); warn by default, since the CLI's own
  // lines say what happens.
  const level = logLevelFromEnv() ?? config.logLevel ?? 'warn';
  const logger = createLogger(level, { format: options.logFormat ?? logFormatFromEnv() ?? (tty ? 'pretty' : 'json') });
  const runtime = new Runtime({
    config,
    configDir: loaded.dir,
    ...(loaded.file ? { configFile: loaded.file } : {}),
    ...(options.budget !== undefined ? { budget: options.budget } : {}),
    logger,
  });
  try {
    await runtime.ready();
    process.stderr.write(`${startLine(runtime, loaded.file)}\n`);
    return await runAgent(runtime, target, args, { tty });
  } finally {
    await runtime.close();
  }
}

/** `iron: config ./iron.config.yaml · plugins: cost, safety, reliability, sync → http://… · budget $5.00 per agent` */
export function startLine(runtime: Runtime, file: string | undefined): string {
  const where = file ? relative(process.cwd(), file) : '';
  const config = file ? `config ${where.startsWith('..') || where === '' ? file : `./${where}`}` : 'no config file (safe defaults; `iron init` writes one)';
  const sync = runtime.config.sync === false ? undefined : ((runtime.config.sync as { server?: string } | undefined)?.server ?? runtime.env.IRON_SERVER_URL);
  const plugins = runtime.plugins.map((name) => (name === 'sync' && sync ? `sync → ${sync}` : name));
  const off = (['cost', 'safety', 'reliability', 'sync'] as const).filter((name) => !runtime.plugins.includes(name));
  const budget = runtime.config.budget;
  const limits = [budget?.limit !== undefined ? `${formatUsd(budget.limit)} per agent` : '', budget?.total !== undefined ? `${formatUsd(budget.total)} in all` : ''].filter(Boolean);
  return [
    `iron: ${config}`,
    `plugins: ${plugins.length ? plugins.join(', ') : 'none'}`,
    ...(off.length ? [`off: ${off.join(', ')}`] : []),
    ...(limits.length ? [`budget ${limits.join(', ')}`] : []),
  ].join(' · ');
}

export interface RunAgentOptions {
  /** A live status line on stderr (a terminal) instead of a line per event. */
  tty: boolean;
}

/** Runs one process agent to its end and returns the exit code `iron run` exits with. */
export async function runAgent(runtime: Runtime, target: string, args: string[], options: RunAgentOptions = { tty: false }): Promise<number> {
  let status: StatusLine | undefined;
  // The agent's output goes through the status line, which steps aside for it: the two never share a line.
  const output = {
    stdout: (text: string) => (status ? status.around(() => process.stdout.write(text), text) : void process.stdout.write(text)),
    stderr: (text: string) => (status ? status.around(() => process.stderr.write(text), text) : void process.stderr.write(text)),
  };
  const agentId = await runtime.startAgent(target, { args, output });
  status = followAgent(runtime, agentId, { tty: options.tty, write: (text) => process.stderr.write(text) });
  // First Ctrl-C (or SIGTERM): stop the agent gracefully. A second one: kill it now.
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // A hung-up terminal fails writes: they must not end the process before the agent is stopped and reported.
    if (signal === 'SIGHUP') process.stderr.on('error', () => undefined);
    if (signalled) {
      status?.around(() => process.stderr.write(`iron: ${signal} again: killing the agent\n`), '\n');
      void runtime.stopAgent(agentId, { graceMs: 0 });
      return;
    }
    signalled = signal;
    const grace = runtime.config.agents?.stopGraceMs ?? 5000;
    status?.around(() => process.stderr.write(`iron: ${signal}: stopping the agent (up to ${grace / 1000} s; press Ctrl-C again to kill it now)\n`), '\n');
    void runtime.stopAgent(agentId);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal closed or the ssh session dropped: stop the agent and report, as for Ctrl-C.
  process.on('SIGHUP', onSignal);
  const metrics = await runtime.waitForAgent(agentId);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  status.stop();
  process.stderr.write(`\n${metricsTable([metrics])}\n`);
  // The last few distinct errors (a budget stop records the refused call's error and the stop's: the same words).
  const distinct = [...new Map(metrics.errors.map((error) => [`${error.code} ${error.message}`, error])).values()];
  for (const error of distinct.slice(-3)) process.stderr.write(`  ${error.code}: ${error.message}\n`);
  if (signalled) return signalled === 'SIGINT' ? EXIT_SIGINT : signalled === 'SIGHUP' ? 129 : EXIT_SIGTERM;
  if (metrics.status === 'budget_exceeded' || metrics.status === 'stopped') return EXIT_CAGE_STOPPED;
  if (typeof metrics.exitCode === 'number') return metrics.exitCode;
  // Killed by a signal of its own (an OOM kill, kill -9 from elsewhere): 128 + the signal's number, as shells do.
  const number = metrics.exitSignal ? constants.signals[metrics.exitSignal as NodeJS.Signals] : undefined;
  if (number !== undefined) return 128 + number;
  return metrics.status === 'completed' ? 0 : 1;
}
