// Shared set-up for end-to-end tests: a runtime whose openai/anthropic providers point at the fake provider.
import { Runtime, type RuntimeOptions } from '../core/index.ts';
import type { FakeProvider } from './fake-provider/index.ts';

export const REAL_OPENAI_KEY = 'sk-real-openai-key-never-shown';
export const REAL_ANTHROPIC_KEY = 'sk-ant-real-key-never-shown';

/** Env as a deployment would set it: real keys and the provider base URLs (here: the fake provider). */
export function providerEnv(fake: FakeProvider): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    OPENAI_API_KEY: REAL_OPENAI_KEY,
    IRON_OPENAI_BASE_URL: `${fake.url}/v1`,
    ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY,
    IRON_ANTHROPIC_BASE_URL: fake.url,
  };
}

export function runtimeFor(fake: FakeProvider, options: RuntimeOptions = {}): Runtime {
  return new Runtime({ env: providerEnv(fake), logLevel: 'silent', ...options });
}

export const fixture = (name: string): string => new URL(`./fixtures/agents/${name}`, import.meta.url).pathname;
