// `${VAR}` and `${VAR:-default}` in config values, resolved from the environment before validation.
import { parse } from 'yaml';
import { ConfigError } from '../errors.ts';
import { joinPath } from './validate.ts';

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

export interface InterpolationSource {
  file?: string;
  lineOf?: (path: (string | number)[]) => number | undefined;
}

function substitute(text: string, env: NodeJS.ProcessEnv, path: (string | number)[], source: InterpolationSource): string {
  return text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${'; // `$${` writes a literal `${`
    const value = env[name!];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    const line = source.lineOf?.(path);
    throw new ConfigError(
      `${source.file ? `${source.file}: ` : ''}${joinPath('', path)}: environment variable ${name} is not set (set it, or give a default: \${${name}:-value})${line ? ` (line ${line})` : ''}`,
      { ...(source.file ? { file: source.file } : {}), path: joinPath('', path), details: { variable: name } },
    );
  });
}

/**
 * Returns a copy of `value` with every `${VAR}` replaced. A value that is exactly one reference takes the
 * variable's YAML type (`limit: ${BUDGET}` with BUDGET=10 is the number 10).
 */
export function interpolate(value: unknown, env: NodeJS.ProcessEnv, source: InterpolationSource = {}, path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const replaced = substitute(value, env, path, source);
    if (WHOLE.test(value)) {
      try {
        const typed: unknown = parse(replaced);
        if (typeof typed === 'number' || typeof typed === 'boolean') return typed;
      } catch {
        // not a plain scalar: keep the text
      }
    }
    return replaced;
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, source, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, env, source, [...path, key]);
    return out;
  }
  return value;
}
