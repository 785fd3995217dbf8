// Turns the `plugins:` entries of a config (built-in name, relative path or package name) into plugins.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isPlugin, isPluginFactory, type IronPlugin, type PluginFactory } from './plugin.ts';
import { IronError, IRON_PLUGIN_INVALID, IRON_PLUGIN_UNKNOWN } from './errors.ts';
import { shownFolder, shownPath } from './shown-path.ts';

/** The built-in plugins, loaded on first use so a runtime pays only for what it uses. */
export const BUILTIN_PLUGINS: Record<string, () => Promise<PluginFactory>> = {
  cost: async () => (await import('../plugins/cost/index.ts')).default,
  safety: async () => (await import('../plugins/safety/index.ts')).default,
  reliability: async () => (await import('../plugins/reliability/index.ts')).default,
  sync: async () => (await import('../plugins/sync/index.ts')).default,
  telemetry: async () => (await import('../plugins/telemetry/index.ts')).default,
};

export interface PluginEntry {
  name: string;
  options?: unknown;
}

function knownList(): string {
  const names = Object.keys(BUILTIN_PLUGINS);
  return `${names.length ? `built-in plugins: ${names.join(', ')}; ` : ''}or a relative path (./my-plugin.ts) or an installed package name`;
}

/** Imports a plugin module by built-in name, path (relative to `dir`) or package name. */
export async function loadPlugin(entry: PluginEntry, dir: string, source: { file?: string; path: string; optionsPath?: string }): Promise<IronPlugin> {
  const { name } = entry;
  let exported: unknown;
  const builtin = BUILTIN_PLUGINS[name];
  if (builtin) {
    exported = await builtin();
  } else if (name.startsWith('.') || isAbsolute(name)) {
    const file = resolve(dir, name);
    if (!existsSync(file)) {
      throw new IronError(IRON_PLUGIN_UNKNOWN, `${source.file ? `${source.file}: ` : ''}${source.path}: plugin file not found: ${shownPath(file)}`, { details: { plugin: name } });
    }
    exported = await importModule(pathToFileURL(file).href, name, `${source.file ? `${source.file}: ` : ''}${source.path}`);
  } else if (/^(@[\w.-]+\/)?[\w.-]+$/.test(name)) {
    exported = await importPackage(name, dir, source);
  } else {
    throw new IronError(IRON_PLUGIN_UNKNOWN, `${source.file ? `${source.file}: ` : ''}${source.path}: unknown plugin "${name}" (${knownList()})`, { details: { plugin: name } });
  }
  return instantiate(exported, entry, source);
}

async function importPackage(name: string, dir: string, source: { file?: string; path: string }): Promise<unknown> {
  const where = `${source.file ? `${source.file}: ` : ''}${source.path}`;
  // Resolved from the config's folder, where the user installed it (not from Iron Cage's own node_modules).
  const file = resolvePackage(name, dir);
  if (!file) {
    throw new IronError(IRON_PLUGIN_UNKNOWN, `${where}: unknown plugin "${name}": not a built-in plugin, and no package of that name is installed in ${shownFolder(dir)} (npm install ${name}; ${knownList()})`, { details: { plugin: name } });
  }
  return importModule(pathToFileURL(file).href, name, where);
}

/** The entry file of an installed package, as `import` would pick it from `dir`; undefined when it is not installed. */
function resolvePackage(name: string, dir: string): string | undefined {
  try {
    return createRequire(resolve(dir, 'noop.js')).resolve(name);
  } catch {
    // ESM-only packages (an `exports` map with only an import condition) do not resolve through require.
  }
  for (let at = resolve(dir); ; at = dirname(at)) {
    const root = join(at, 'node_modules', name);
    if (existsSync(join(root, 'package.json'))) {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports?: unknown; module?: string; main?: string };
      const exported = pkg.exports !== undefined ? importTarget(pkg.exports) : undefined;
      return resolve(root, exported ?? pkg.module ?? pkg.main ?? 'index.js');
    }
    if (dirname(at) === at) return undefined;
  }
}

/** The `.` entry of an `exports` map under the conditions an ESM import in Node uses. */
function importTarget(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (Array.isArray(exports)) return exports.map(importTarget).find(Boolean);
  if (!exports || typeof exports !== 'object') return undefined;
  const map = exports as Record<string, unknown>;
  if ('.' in map) return importTarget(map['.']);
  for (const condition of ['node', 'import', 'default']) {
    if (condition in map) {
      const target = importTarget(map[condition]);
      if (target) return target;
    }
  }
  return undefined;
}

/** Imports a plugin module; a module that fails to load (a missing dependency, a syntax error) says which plugin it was. */
async function importModule(specifier: string, name: string, where: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (error) {
    const first = (error as Error).message?.split('\n')[0] ?? String(error);
    // An ES module read as CommonJS (a .ts or .js plugin in a "type": "commonjs" project): say the fix.
    const esmAsCjs = /Cannot use import statement outside a module|Unexpected token 'export'/.test(first) ? ': name the file .mts (or .mjs), or set "type": "module" in its package.json' : '';
    throw new IronError(IRON_PLUGIN_INVALID, `${where}: plugin "${name}" could not be loaded: ${first}${esmAsCjs}`, { details: { plugin: name }, cause: error });
  }
}

/** A module may export (default or `plugin`) a plugin object, a `definePlugin` factory or a plain factory function. */
function instantiate(exported: unknown, entry: PluginEntry, source: { file?: string; path: string; optionsPath?: string }): IronPlugin {
  const module = exported as { default?: unknown; plugin?: unknown };
  const candidate = isPluginFactory(exported) || isPlugin(exported) ? exported : (module.default ?? module.plugin ?? exported);
  const optionsSource = { ...(source.file ? { file: source.file } : {}), path: source.optionsPath ?? `${source.path}.options` };
  if (isPluginFactory(candidate)) return candidate(entry.options, optionsSource);
  if (isPlugin(candidate)) return candidate;
  if (typeof candidate === 'function') {
    const made = (candidate as (options: unknown) => unknown)(entry.options ?? {});
    if (isPlugin(made)) return made;
  }
  throw new IronError(
    IRON_PLUGIN_INVALID,
    `${source.file ? `${source.file}: ` : ''}${source.path}: "${entry.name}" does not export a plugin: export default an object { name, apply(runtime) }, a definePlugin(...) result or a function returning a plugin`,
    { details: { plugin: entry.name } },
  );
}
