// Finds, reads, interpolates and validates `iron.config.yaml`.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq } from 'yaml';
import { ConfigError } from '../errors.ts';
import { interpolate } from './interpolate.ts';
import { IronConfigSchema, type IronConfig } from './schema.ts';
import { validateOptions } from './validate.ts';

/** The names `iron` looks for in the working folder, in order. */
export const CONFIG_FILE_NAMES = ['iron.config.yaml', 'iron.config.yml'];

export interface LoadedConfig {
  config: IronConfig;
  /** The file read, if any (none: no file was given and none was found). */
  file?: string;
  /** The folder relative paths in the config resolve from. */
  dir: string;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Parses config text. `label` names the source in errors (usually the file name). Throws `ConfigError` on YAML
 * syntax errors, unset variables and schema violations, naming the key path and line.
 */
export function parseConfig(text: string, label = 'iron.config.yaml', env: NodeJS.ProcessEnv = process.env): IronConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = document.errors[0];
  if (syntax) {
    const at = lineCounter.linePos(syntax.pos[0]);
    throw new ConfigError(`${label}:${at.line}:${at.col}: YAML syntax error: ${syntax.message.split('\n')[0]}`, { file: label });
  }
  // The line of a key path: the key itself for mappings (so an unknown key points at its own line).
  const lineOf = (path: (string | number)[]): number | undefined => {
    let node: unknown = document.contents;
    let line: number | undefined;
    const lineAt = (n: unknown) => {
      const range = (n as { range?: [number, number, number] } | null)?.range;
      return range ? lineCounter.linePos(range[0]).line : undefined;
    };
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) break;
        line = lineAt(pair.key) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        line = lineAt(node) ?? line;
      } else break;
    }
    return line;
  };
  if (document.contents === null) return {};
  if (!isMap(document.contents)) throw new ConfigError(`${label}: expected a mapping of keys (budget:, providers:, plugins: …) at the top level`, { file: label });
  const raw: unknown = document.toJS();
  const interpolated = interpolate(raw, env, { file: label, lineOf });
  return validateOptions<IronConfig>(IronConfigSchema, interpolated, { file: label, lineOf });
}

/** Finds the config file: the one given, else `iron.config.yaml` in `cwd`, else none (defaults). */
export function findConfigFile(file: string | undefined, cwd: string): string | undefined {
  if (file !== undefined) return resolve(cwd, file);
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = resolve(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Loads the config file (see `findConfigFile`). A file that was named but is missing is an error. */
export async function loadConfig(file?: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const path = findConfigFile(file, cwd);
  if (!path) return { config: {}, dir: cwd };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`config file ${file ?? path}: ${reason}${(error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (run `iron init` to write one)' : ''}`, { file: path, cause: error });
  }
  const label = relative(cwd, path).startsWith('..') ? path : relative(cwd, path) || basename(path);
  return { config: parseConfig(text, label, options.env ?? process.env), file: path, dir: dirname(path) };
}
