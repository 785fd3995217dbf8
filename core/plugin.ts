// What a plugin is (`{ name, apply(runtime) }`, webpack style) and `definePlugin` for plugins with typed options.
import type { Static, TSchema } from 'typebox';
import type { Runtime } from './runtime.ts';
import { validateOptions } from './config/validate.ts';

export interface IronPlugin {
  readonly name: string;
  /** Taps the runtime's hooks. Runs once, when the plugin is added to a runtime. */
  apply(runtime: Runtime): void | Promise<void>;
}

/** Where a plugin's options came from, so a validation error can name the file and key. */
export interface OptionsSource {
  file?: string;
  path?: string;
}

export interface PluginDefinition<S extends TSchema> {
  name: string;
  /** TypeBox schema of the options: validated (with defaults applied) before `apply` sees them. */
  options: S;
  apply(runtime: Runtime, options: Static<S>): void | Promise<void>;
}

/** A function that validates options and returns the plugin; what `definePlugin` makes. */
export interface PluginFactory<S extends TSchema = TSchema> {
  (options?: unknown, source?: OptionsSource): IronPlugin;
  readonly pluginName: string;
  readonly optionsSchema: S;
}

/**
 * Defines a plugin with schema-validated options.
 * @example
 * export default definePlugin({
 *   name: 'token-cap',
 *   options: Type.Object({ maxTokens: Type.Integer({ minimum: 1 }) }),
 *   apply(runtime, { maxTokens }) {
 *     runtime.hooks.beforeLlmCall.tapPromise('token-cap', async (request) => ({ ...request, maxOutputTokens: Math.min(request.maxOutputTokens ?? maxTokens, maxTokens) }));
 *   },
 * });
 */
export function definePlugin<S extends TSchema>(definition: PluginDefinition<S>): PluginFactory<S> {
  const factory = (options?: unknown, source: OptionsSource = {}): IronPlugin => {
    const validated = validateOptions<Static<S>>(definition.options, options ?? {}, {
      ...(source.file ? { file: source.file } : {}),
      path: source.path ?? definition.name,
    });
    return { name: definition.name, apply: (runtime) => definition.apply(runtime, validated) };
  };
  return Object.assign(factory, { pluginName: definition.name, optionsSchema: definition.options });
}

export function isPluginFactory(value: unknown): value is PluginFactory {
  return typeof value === 'function' && typeof (value as { pluginName?: unknown }).pluginName === 'string';
}

export function isPlugin(value: unknown): value is IronPlugin {
  return typeof value === 'object' && value !== null && typeof (value as IronPlugin).name === 'string' && typeof (value as IronPlugin).apply === 'function';
}
