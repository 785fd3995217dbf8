// Turns the `plugins:` entries of a config (built-in name, relative path or package name) into plugins.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isPlugin, isPluginFactory, type IronPlugin, type PluginFactory } from './plugin.ts';
import { IronError, IRON_PLUGIN_INVALID, IRON_PLUGIN_UNKNOWN } from './errors.ts';

/** The built-in plugins, loaded on first use so a runtime pays only for what it uses. */
export const BUILTIN_PLUGINS: Record<string, () => Promise<PluginFactory>> = {
  cost: async () => (await import('../plugins/cost/index.ts')).default,
  safety: async () => (await import('../plugins/safety/index.ts')).default,
  reliability: async () => (await import('../plugins/reliability/index.ts')).default,
  sync: async () => (await import('../plugins/sync/index.ts')).default,
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
      throw new IronError(IRON_PLUGIN_UNKNOWN, `${source.file ? `${source.file}: ` : ''}${source.path}: plugin file not found: ${file}`, { details: { plugin: name } });
    }
    exported = await import(pathToFileURL(file).href);
  } else if (/^(@[\w.-]+\/)?[\w.-]+$/.test(name)) {
    exported = await importPackage(name, dir, source);
  } else {
    throw new IronError(IRON_PLUGIN_UNKNOWN, `${source.file ? `${source.file}: ` : ''}${source.path}: unknown plugin "${name}" (${knownList()})`, { details: { plugin: name } });
  }
  return instantiate(exported, entry, source);
}

async function importPackage(name: string, dir: string, source: { file?: string; path: string }): Promise<unknown> {
  let specifier = name;
  try {
    specifier = pathToFileURL(createRequire(resolve(dir, 'noop.js')).resolve(name)).href;
  } catch {
    // ESM-only packages may not resolve through require: let import() try from here.
  }
  try {
    return await import(specifier);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && specifier === name) {
      throw new IronError(IRON_PLUGIN_UNKNOWN, `${source.file ? `${source.file}: ` : ''}${source.path}: unknown plugin "${name}" (${knownList()})`, { details: { plugin: name } });
    }
    throw error;
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
