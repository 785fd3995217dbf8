#!/usr/bin/env node
// The `iron` command: run an agent caged, write a starter config.
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { Runtime } from '../runtime.ts';
import { loadConfig } from '../config/load.ts';
import { configTemplate } from '../config/template.ts';
import { defaultConfig } from './defaults.ts';
import { EXIT_CONFIG, runAgent } from './run.ts';
import { scan, type ScanOptions } from './scan.ts';
import { serverCommand, type ServerCommandOptions } from './server.ts';
import { IronError } from '../errors.ts';

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError(`expected a positive number of USD, got "${value}"`);
  return parsed;
}

function scoreOption(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError(`expected a score between 0 and 1, got "${value}"`);
  return parsed;
}

const program = new Command('iron')
  .description('Iron Cage: budgets, PII redaction, reliability and live reporting around every LLM call an agent makes')
  .showHelpAfterError();

program
  .command('run')
  .description('run an agent (script or executable) caged: its OpenAI/Anthropic calls go through the local gateway')
  .argument('<agent>', 'agent script (.py, .js, .ts) or executable')
  .argument('[args...]', 'arguments for the agent (put them after --)')
  .option('-b, --budget <usd>', 'budget for this agent in USD', positiveNumber)
  .option('-c, --config <file>', 'config file (default: ./iron.config.yaml if present, else safe defaults)')
  .action(async (agent: string, args: string[], options: { budget?: number; config?: string }) => {
    const loaded = await loadConfig(options.config);
    // No config file: the documented safe defaults (every available built-in plugin on).
    const config = loaded.file ? loaded.config : defaultConfig(process.env);
    const runtime = new Runtime({
      config,
      configDir: loaded.dir,
      ...(loaded.file ? { configFile: loaded.file } : {}),
      ...(options.budget !== undefined ? { budget: options.budget } : {}),
      logLevel: config.logLevel ?? (process.env.IRON_LOG_LEVEL as never) ?? 'warn',
    });
    await runtime.ready();
    const code = await runAgent(runtime, agent, args);
    await runtime.close();
    process.exitCode = code;
  });

program
  .command('init')
  .description('write a commented iron.config.yaml in the current folder')
  .option('-f, --force', 'overwrite an existing file')
  .action((options: { force?: boolean }) => {
    const file = resolve('iron.config.yaml');
    if (existsSync(file) && !options.force) {
      process.stderr.write(`iron: ${file} exists; use --force to overwrite it\n`);
      process.exitCode = 1;
      return;
    }
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
  .option('--exit-code', 'exit with 1 when something is found')
  .action(async (file: string, options: ScanOptions) => {
    process.exitCode = await scan(file, options);
  });

program
  .command('server')
  .description('run the Iron Cage server: auth, API tokens, usage, limits, traces, live events (SQLite file by default)')
  .option('-p, --port <port>', 'port to listen on', (v) => Number(v), 8787)
  .option('-H, --host <host>', 'interface to listen on', '127.0.0.1')
  .option('--db <path-or-url>', 'SQLite file or postgres:// URL (default: IRON_DATABASE_URL, else ./iron.db)')
  .option('--init-admin', 'ask for the first admin email and password (else IRON_ADMIN_EMAIL / IRON_ADMIN_PASSWORD)')
  .action(async (options: ServerCommandOptions) => {
    await serverCommand(options);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof IronError) {
    process.stderr.write(`iron: ${error.code}: ${error.message}\n`);
    process.exitCode = EXIT_CONFIG;
  } else {
    process.stderr.write(`iron: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
});
