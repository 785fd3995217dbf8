// Keeps secrets out of the `iron` process's environment block. /proc/<pid>/environ shows what a process was started
// with, whatever `process.env` says later, and every process of the same user can read it — a caged agent included.
// So `iron` re-executes itself (same pid, same arguments) with the secrets removed from its environment, handing them
// over in a 0600 file that the new image reads and deletes before anything else runs; from then on they live only
// in this process's memory.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { processAlive } from '../process-alive.ts';
import { containsSecret, isSecretName } from '../secret-names.ts';

export { isSecretName };

/** Where the secrets wait during the re-exec (set only for that moment). */
const HANDOFF = 'IRON_SECRETS_HANDOFF';

/** The config file this run will read: `-c/--config <file>`, else ./iron.config.yaml when it exists. */
function configFileOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if ((arg === '-c' || arg === '--config') && argv[i + 1]) return resolve(argv[i + 1]!);
    if (arg.startsWith('--config=')) return resolve(arg.slice('--config='.length));
  }
  return existsSync('iron.config.yaml') ? resolve('iron.config.yaml') : undefined;
}

/**
 * Variables the config refers to (`${OPENAI_KEY}`): whatever their names, they may hold a key (`apiKey: ${MY_KEY}`),
 * so they leave the environment block too; the runtime still reads them from memory.
 */
export function configReferences(argv: string[]): string[] {
  const file = configFileOf(argv);
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return []; // the config loader reports it properly later
  }
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)].map((match) => match[1]!);
}

/**
 * Re-executes this process without the secrets in its environment (it does not return then), or, in the re-executed
 * image, puts them back into `process.env` from the handoff file. Does nothing where there is nothing to hide or no
 * `process.execve` (Windows).
 */
export function scrubEnvironment(): void {
  const handoff = process.env[HANDOFF];
  if (handoff !== undefined) {
    delete process.env[HANDOFF];
    let secrets: Record<string, string>;
    try {
      secrets = JSON.parse(readFileSync(handoff, 'utf8')) as Record<string, string>;
    } finally {
      rmSync(dirname(handoff), { recursive: true, force: true });
    }
    Object.assign(process.env, secrets);
    sweepHandoffs();
    return;
  }
  const { secrets, kept } = splitSecrets(process.env, configReferences(process.argv.slice(2)));
  if (Object.keys(secrets).length === 0 || typeof process.execve !== 'function') return;
  // The pid is in the folder's name (execve keeps it): a handoff whose process died before reading it (killed in the
  // moment between) is found by the next `iron` and deleted. Until the exec, Ctrl-C and SIGTERM wait.
  const hold = () => undefined;
  for (const signal of HELD_SIGNALS) process.on(signal, hold);
  const dir = mkdtempSync(join(tmpdir(), `iron-env-${process.pid}-`));
  const file = join(dir, 'secrets.json');
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600, flag: 'wx' });
  kept[HANDOFF] = file;
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], kept);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    for (const signal of HELD_SIGNALS) process.off(signal, hold);
    throw error;
  }
}

/**
 * The variables that leave the environment block: secret-looking names, the config's references, and any other
 * variable holding one of their values (the same key as `OPENAI_KEY`, `LLM_CONN="provider=openai;key=sk-…"`).
 */
export function splitSecrets(env: NodeJS.ProcessEnv, referenced: string[]): { secrets: Record<string, string>; kept: Record<string, string> } {
  const names = new Set(referenced);
  const secrets: Record<string, string> = {};
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (isSecretName(name) || names.has(name)) secrets[name] = value;
  }
  const values = Object.values(secrets);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name in secrets) continue;
    if (containsSecret(value, values)) secrets[name] = value;
    else kept[name] = value;
  }
  return { secrets, kept };
}

const HELD_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Deletes handoff folders of `iron` processes that died before reading them (they hold keys in a 0600 file). */
export function sweepHandoffs(dir = tmpdir()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = /^iron-env-(\d+)-/.exec(name)?.[1];
    if (!pid || Number(pid) === process.pid || processAlive(Number(pid))) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed++;
    } catch {
      // another user's, or gone already
    }
  }
  return removed;
}

