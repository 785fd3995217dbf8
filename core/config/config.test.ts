// Config loading as a user meets it: files, env interpolation, and errors that say what to fix.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { configJsonSchemaText } from './json-schema.ts';
import { loadConfig, parseConfig } from './load.ts';
import { configTemplate } from './template.ts';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation', () => {
  it('accepts a full config and keeps its values', () => {
    const config = parseConfig(
      [
        'logLevel: debug',
        'budget: { limit: 2.5, total: 40 }',
        'providers:',
        '  local: { type: openai-compatible, baseUrl: "http://127.0.0.1:11434/v1", models: ["llama3*"] }',
        'plugins:',
        '  - ./my-plugin.ts',
        '  - { name: my-package, options: { level: 3 } }',
        'safety: { anything: goes }',
      ].join('\n'),
    );
    expect(config).toMatchObject({ logLevel: 'debug', budget: { limit: 2.5, total: 40 }, providers: { local: { type: 'openai-compatible' } }, plugins: ['./my-plugin.ts', { name: 'my-package', options: { level: 3 } }] });
  });

  it('names the file, the key path, what was expected and what was found', () => {
    expect(errorOf(() => parseConfig('budget:\n  limit: ten\n')).message).toBe('iron.config.yaml: budget.limit: expected a number from 0.000001 to 1000000000, got "ten" (line 2)');
    expect(errorOf(() => parseConfig('budget:\n  limit: -3\n')).message).toContain('budget.limit: expected a number from 0.000001 to 1000000000, got -3');
    const provider = errorOf(() => parseConfig('providers:\n  openai:\n    type: openia\n', 'conf.yaml'));
    expect(provider.message).toBe('conf.yaml: providers.openai.type: expected one of "openai", "anthropic", "openai-compatible", "simulated", got "openia" (line 3)');
    expect(provider).toMatchObject({ code: 'IRON_CONFIG_INVALID', file: 'conf.yaml', path: 'providers.openai.type' });
    expect(errorOf(() => parseConfig('gateway:\n  port: 70000\n')).message).toContain('gateway.port: expected an integer from 0 to 65535, got 70000');
    expect(errorOf(() => parseConfig('plugins:\n  - name: 5\n')).message).toContain('plugins[0].name: expected a non-empty string, got 5');
    expect(errorOf(() => parseConfig('plugins: nope\n')).message).toContain('plugins: expected a list, got "nope"');
  });

  it('points at unknown keys and suggests the likely one', () => {
    const error = errorOf(() => parseConfig('budgte:\n  limit: 5\n'));
    expect(error.message).toBe('iron.config.yaml: budgte: unknown key (did you mean "budget"?); expected one of logLevel, gateway, agents, budget, providers, plugins, cost, safety, reliability, sync, telemetry (line 1)');
    expect(errorOf(() => parseConfig('providers:\n  x:\n    type: openai\n    apikey: k\n')).message).toContain('providers.x.apikey: unknown key (did you mean "apiKey"?)');
  });

  it('lists every problem, not only the first', () => {
    const error = errorOf(() => parseConfig('logLevel: loud\nbudget:\n  limit: 0\n'));
    expect(error.message.split('\n')).toHaveLength(2);
    expect(error.message).toContain('also: budget.limit');
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(errorOf(() => parseConfig('budget:\n  limit: [1, 2\n')).message).toMatch(/^iron\.config\.yaml:\d+:\d+: YAML syntax error: /);
    expect(errorOf(() => parseConfig('- a\n- b\n')).message).toContain('expected a mapping of keys');
  });
});

describe('config interpolation', () => {
  it('substitutes ${VAR} and ${VAR:-default}, typed when the whole value is one reference', () => {
    const config = parseConfig('budget:\n  limit: ${LIMIT}\nproviders:\n  o:\n    type: openai\n    apiKey: ${KEY}\n    baseUrl: ${BASE:-https://api.openai.com/v1}\n    headers: { x-note: "cost $${not-a-var}" }\n', 'f', {
      LIMIT: '2.5',
      KEY: 'sk-123',
    });
    expect(config.budget?.limit).toBe(2.5);
    expect(config.providers?.o).toEqual({ type: 'openai', apiKey: 'sk-123', baseUrl: 'https://api.openai.com/v1', headers: { 'x-note': 'cost ${not-a-var}' } });
  });

  it('names the variable and the key when a variable is not set', () => {
    const error = errorOf(() => parseConfig('providers:\n  o:\n    type: openai\n    apiKey: ${MISSING_KEY}\n', 'iron.config.yaml', {}));
    expect(error.message).toBe('iron.config.yaml: providers.o.apiKey: environment variable MISSING_KEY is not set (set it, or give a default: ${MISSING_KEY:-value}) (line 4)');
  });
});

describe('config files', () => {
  it('finds iron.config.yaml in the folder, and works without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-config-'));
    expect(await loadConfig(undefined, { cwd: dir })).toEqual({ config: {}, dir });
    writeFileSync(join(dir, 'iron.config.yaml'), 'logLevel: warn\n');
    expect(await loadConfig(undefined, { cwd: dir })).toEqual({ config: { logLevel: 'warn' }, file: join(dir, 'iron.config.yaml'), dir });
  });

  it('says so when a named file is missing', async () => {
    await expect(loadConfig('nope.yaml', { cwd: tmpdir() })).rejects.toThrow('config file nope.yaml: no such file (run `iron init` to write one)');
  });

  it('ships a template and a root iron.config.yaml that validate', () => {
    expect(() => parseConfig(configTemplate())).not.toThrow();
    const root = readFileSync(new URL('../../iron.config.yaml', import.meta.url), 'utf8');
    expect(() => parseConfig(root)).not.toThrow();
  });

  it('publishes an up-to-date JSON Schema (npm run schema writes it)', () => {
    const published = readFileSync(new URL('../../iron.config.schema.json', import.meta.url), 'utf8');
    expect(published).toBe(configJsonSchemaText());
    expect(JSON.parse(published).properties.budget.properties.limit).toMatchObject({ type: 'number', minimum: 0.000001, maximum: 1e9 });
  });
});
