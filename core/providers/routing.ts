// Which provider answers a call: configured providers, env-only defaults, and the offline `simulated` fallback.
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { ApiFormat } from '../llm/types.ts';
import { IronError, IRON_PROVIDER_UNSUPPORTED } from '../errors.ts';
import { globToRegExp } from '../glob.ts';

export type ProviderType = 'openai' | 'anthropic' | 'openai-compatible' | 'simulated';

/** A provider as written in `iron.config.yaml` (`providers.<name>`). */
export interface ProviderSettings {
  type: ProviderType;
  /** The base URL the provider's own SDK would use: OpenAI's ends in `/v1`, Anthropic's does not. */
  baseUrl?: string;
  apiKey?: string;
  /** Glob patterns of the models routed to this provider (`gpt-*`). */
  models?: string[];
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface ResolvedProvider {
  name: string;
  type: ProviderType;
  baseUrl: string;
  apiKey?: string;
  headers: Record<string, string>;
  /** What must never reach an agent from this provider's answers: its key and the credentials in its headers. */
  secrets: string[];
  timeoutMs: number;
  models: RegExp[];
}

const DEFAULT_TIMEOUT_MS = 600_000;
const OPENAI_BASE_URL = 'https://api.openai.com/v1';
const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/** The formats each kind of provider speaks natively. */
export function providerSpeaks(type: ProviderType, format: ApiFormat): boolean {
  if (type === 'simulated') return true;
  if (type === 'anthropic') return format === 'anthropic-messages';
  return format === 'openai-chat' || format === 'openai-responses';
}

/** The full URL of an endpoint: OpenAI-style base URLs carry `/v1`, Anthropic's gets it added. */
export function endpointUrl(provider: ResolvedProvider, path: string): string {
  const base = provider.baseUrl.replace(/\/+$/, '');
  return provider.type === 'anthropic' ? `${base}/v1${path}` : `${base}${path}`;
}

/** Header names that carry a credential (`authorization`, Azure's `api-key`, `x-goog-api-key`, `cookie`…). */
const CREDENTIAL_HEADER = /auth|key|token|secret|cookie|signature|password|credential/i;

/** The values of configured headers that are credentials. */
export function headerSecrets(headers: Record<string, string>): string[] {
  return Object.entries(headers).filter(([name, value]) => CREDENTIAL_HEADER.test(name) && value.length > 0).map(([, value]) => value);
}

/**
 * A provider's secrets as an answer could echo them: the key, and each credential header's value, whole and without
 * its scheme (`Bearer x` echoes as `x`). Shorter than 8 characters is no secret worth a redaction.
 */
function secretsOf(apiKey: string | undefined, headers: Record<string, string>): string[] {
  const values = [apiKey ?? '', ...headerSecrets(headers).flatMap((value) => [value, value.replace(/^(?:bearer|basic|token|apikey)\s+/i, '')])];
  return [...new Set(values.filter((value) => value.length >= 8))].sort((a, b) => b.length - a.length);
}

function resolve(name: string, settings: ProviderSettings): ResolvedProvider {
  const baseUrl = settings.baseUrl ?? (settings.type === 'anthropic' ? ANTHROPIC_BASE_URL : settings.type === 'openai' ? OPENAI_BASE_URL : 'simulated://');
  const provider: ResolvedProvider = {
    name,
    type: settings.type,
    baseUrl,
    headers: settings.headers ?? {},
    secrets: secretsOf(settings.apiKey, settings.headers ?? {}),
    timeoutMs: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    models: (settings.models ?? []).map(globToRegExp),
  };
  if (settings.apiKey) provider.apiKey = settings.apiKey;
  return provider;
}

/**
 * The providers a runtime knows: those configured, plus `openai` and `anthropic` from the environment
 * (`OPENAI_API_KEY`, `IRON_OPENAI_BASE_URL`, `ANTHROPIC_API_KEY`, `IRON_ANTHROPIC_BASE_URL`), plus `simulated`.
 */
export class ProviderRegistry {
  readonly #providers = new Map<string, ResolvedProvider>();
  /** One keep-alive connection pool per runtime for every upstream call (closed with the runtime). */
  readonly dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

  constructor(configured: Record<string, ProviderSettings> = {}, env: NodeJS.ProcessEnv = process.env, logger?: Logger) {
    for (const [name, settings] of Object.entries(configured)) this.#providers.set(name, resolve(name, settings));
    if (!this.#providers.has('simulated')) this.#providers.set('simulated', resolve('simulated', { type: 'simulated' }));
    this.#addFromEnv('openai', 'openai', env.OPENAI_API_KEY, env.IRON_OPENAI_BASE_URL, logger);
    this.#addFromEnv('anthropic', 'anthropic', env.ANTHROPIC_API_KEY, env.IRON_ANTHROPIC_BASE_URL, logger);
  }

  #addFromEnv(name: string, type: 'openai' | 'anthropic', apiKey: string | undefined, baseUrl: string | undefined, logger?: Logger): void {
    if (this.#providers.has(name) || [...this.#providers.values()].some((p) => p.type === type)) return;
    if (!apiKey && !baseUrl) {
      logger?.warn(`no ${type === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY'} and no provider "${name}" configured: ${name} calls are answered by the offline simulated provider`);
      return;
    }
    const settings: ProviderSettings = { type };
    if (apiKey) settings.apiKey = apiKey;
    if (baseUrl) settings.baseUrl = baseUrl;
    this.#providers.set(name, resolve(name, settings));
  }

  /** Closes the upstream connections. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  get(name: string): ResolvedProvider | undefined {
    return this.#providers.get(name);
  }

  list(): ResolvedProvider[] {
    return [...this.#providers.values()];
  }

  /** The wire format to speak to reach `model` without translation (what agent.llm uses). */
  nativeFormat(model: string): ApiFormat {
    const slash = model.indexOf('/');
    const named = slash > 0 ? this.#providers.get(model.slice(0, slash)) : undefined;
    const provider = named ?? [...this.#providers.values()].find((p) => p.models.some((pattern) => pattern.test(model)));
    if (provider) return provider.type === 'anthropic' ? 'anthropic-messages' : 'openai-chat';
    const anthropic = [...this.#providers.values()].some((p) => p.type === 'anthropic');
    return anthropic && model.startsWith('claude') ? 'anthropic-messages' : 'openai-chat';
  }

  /**
   * Picks the provider for a model in the agent's format: an explicit `provider/model` prefix, then the
   * first provider whose `models` patterns match, then the first provider of the format's own kind,
   * then `simulated`. Returns the model name to send (without the prefix).
   */
  route(model: string, format: ApiFormat): { provider: ResolvedProvider; model: string } {
    const slash = model.indexOf('/');
    if (slash > 0) {
      const named = this.#providers.get(model.slice(0, slash));
      if (named) return { provider: this.#checked(named, format, model), model: model.slice(slash + 1) };
    }
    for (const provider of this.#providers.values()) {
      if (provider.models.some((pattern) => pattern.test(model))) return { provider: this.#checked(provider, format, model), model };
    }
    const nativeType = format === 'anthropic-messages' ? 'anthropic' : 'openai';
    for (const provider of this.#providers.values()) {
      if (provider.type === nativeType || (nativeType === 'openai' && provider.type === 'openai-compatible' && provider.models.length === 0)) {
        return { provider, model };
      }
    }
    return { provider: this.#providers.get('simulated')!, model };
  }

  #checked(provider: ResolvedProvider, format: ApiFormat, model: string): ResolvedProvider {
    if (providerSpeaks(provider.type, format)) return provider;
    throw new IronError(
      IRON_PROVIDER_UNSUPPORTED,
      `model "${model}" is routed to provider "${provider.name}" (${provider.type}), which does not speak the ${format} API the agent used; call it with its own SDK or route the model to another provider`,
      { details: { provider: provider.name, format, model } },
    );
  }
}
