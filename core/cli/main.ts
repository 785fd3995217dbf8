// The `iron` command: run an agent caged, write a starter config, scan text for PII, run the server.
// Each command's modules are imported when it runs, so `iron --help` and `iron --version` load only commander.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT_CONFIG, EXIT_FOUND, reportError } from './exit-codes.ts';
import { logFormatFromEnv, logLevelFromEnv, LOG_FORMATS } from '../logger.ts';
import type { ScanOptions } from './scan.ts';
import type { ServerCommandOptions } from './server.ts';
import { isUsdAmount, USD_RANGE } from '../usd.ts';

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!isUsdAmount(parsed)) throw new InvalidArgumentError(`expected ${USD_RANGE}, got "${value}"`);
  return parsed;
}

function scoreOption(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError(`expected a score between 0 and 1, got "${value}"`);
  return parsed;
}

function portOption(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535 (0: a free one), got "${value}"`);
  return parsed;
}

/** The package's version, from the package.json above this file (source: ../../, built: ../../../). */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    const file = new URL(up, import.meta.url);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'iron-cage' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

// `iron … | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const program = new Command('iron')
  .description('Iron Cage: budgets, PII redaction, reliability and live reporting around every LLM call an agent makes')
  .version(packageVersion(), '-V, --version', 'print the version')
  .addOption(new Option('--log-format <format>', 'log lines of iron run and iron server: pretty (default on a terminal) or json (default otherwise; env IRON_LOG_FORMAT)').choices(LOG_FORMATS))
  .exitOverride()
  .addHelpText(
    'after',
    '\nExit codes: 0 ok · the agent\'s own code (iron run) · 1 found (iron scan --exit-code) · 70 internal error\n' +
      '  · 78 configuration, usage or start-up error · 86 the cage stopped the agent · 130/143 stopped by Ctrl-C/SIGTERM\n' +
      '  · 128+n the agent was killed by signal n (137: SIGKILL)',
  )
  // Env settings are checked before any command runs: a typo is a clear error, not a stack from deep inside.
  .hook('preAction', () => {
    logLevelFromEnv();
    logFormatFromEnv();
  });

const logFormat = () => program.opts<{ logFormat?: 'json' | 'pretty' }>().logFormat;

program
  .command('run')
  .description('run an agent (script or executable) caged: its OpenAI/Anthropic calls go through the local gateway')
  .argument('<agent>', 'agent script (.py, .js, .ts) or executable')
  .argument('[args...]', 'arguments for the agent (put them after --)')
  .option('-b, --budget <usd>', 'budget for this agent in USD', positiveNumber)
  .option('-c, --config <file>', 'config file (default: ./iron.config.yaml if present, else safe defaults)')
  .action(async (agent: string, args: string[], options: { budget?: number; config?: string }) => {
    const { runCommand } = await import('./run.ts');
    const format = logFormat();
    process.exitCode = await runCommand(agent, args, { ...options, ...(format ? { logFormat: format } : {}) });
  });

program
  .command('init')
  .description('write a commented iron.config.yaml in the current folder')
  .option('-f, --force', 'overwrite an existing file')
  .action(async (options: { force?: boolean }) => {
    const file = resolve('iron.config.yaml');
    if (existsSync(file) && !options.force) {
      process.stderr.write(`iron: ${file} exists; use --force to overwrite it\n`);
      process.exitCode = EXIT_CONFIG;
      return;
    }
    const { configTemplate } = await import('../config/template.ts');
    writeFileSync(file, configTemplate());
    process.stdout.write(`wrote ${file}\n`);
  });

program
  .command('scan')
  .description('print the personal data and secrets found in a file (or - for stdin) as JSON lines, using the safety section of the config')
  .argument('[file]', 'text file to scan, or - for standard input', '-')
  .option('-c, --config <file>', 'config file whose safety section applies (default: ./iron.config.yaml if present)')
  .option('-e, --entities <types>', 'comma-separated entity types to look for (default: those the config acts on)')
  .option('--min-score <score>', 'report findings scoring at least this (0-1)', scoreOption)
  .option('--person', 'also look for person names (slower)')
  .option('--show-values', 'include each found value in the output (off by default: scan output ends up in logs)')
  .option('--exit-code', `exit with ${EXIT_FOUND} when something is found (errors exit 78 or 70, never ${EXIT_FOUND})`)
  .action(async (file: string, options: ScanOptions) => {
    const { scan } = await import('./scan.ts');
    process.exitCode = await scan(file, options);
  });

program
  .command('server')
  .description('run the Iron Cage server: auth, API tokens, usage, limits, traces, live events (SQLite file by default)')
  .option('-p, --port <port>', 'port to listen on', portOption, 8787)
  .option('-H, --host <host>', 'interface to listen on', '127.0.0.1')
  .option('--db <path-or-url>', 'SQLite file or postgres:// URL (default: IRON_DATABASE_URL, else ./iron.db)')
  .option('--init-admin', 'ask for the first admin email and password (else IRON_ADMIN_EMAIL / IRON_ADMIN_PASSWORD)')
  .action(async (options: ServerCommandOptions) => {
    const { serverCommand } = await import('./server.ts');
    const format = logFormat();
    await serverCommand({ ...options, ...(format ? { logFormat: format } : {}) });
  });

(await import('./control.ts')).registerControlCommand(program);

// A usage mistake is one line: the error and where the usage of that very command is, never the whole help.
for (const command of [program, ...program.commands]) {
  const help = command === program ? 'iron --help' : `iron ${command.name()} --help`;
  command.configureOutput({ outputError: (text, write) => write(`${text.trimEnd().replace(/\n\(Did you mean ([^)]*)\)/, ' (did you mean $1)')} (see '${help}')\n`) });
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // commander printed the message (and where to find usage) already; --help and --version end with 0.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_CONFIG;
    return;
  }
  process.exitCode = reportError(error, (text) => process.stderr.write(text));
});
