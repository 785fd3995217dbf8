import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Runtime, parseConfig, IRON_PLUGIN_UNKNOWN, IRON_PLUGIN_INVALID, IRON_CONFIG_INVALID } from './index.ts';

const env = { PATH: process.env.PATH ?? '' };
const examplePlugin = new URL('../examples/plugins/model-allowlist.ts', import.meta.url).pathname;

function runtimeWith(yaml: string, dir = process.cwd()): Runtime {
  const config = parseConfig(yaml, 'iron.config.yaml', {});
  return new Runtime({ env, logLevel: 'silent', config, configDir: dir, configFile: 'iron.config.yaml' });
}

describe('plugins from config', () => {
  it('lists the known plugins when a name is unknown', async () => {
    const runtime = runtimeWith('plugins:\n  - costt\n');
    await expect(runtime.ready()).rejects.toMatchObject({ code: IRON_PLUGIN_UNKNOWN, message: expect.stringMatching(/^iron\.config\.yaml: plugins\[0\]: unknown plugin "costt": not a built-in plugin, and no package of that name is installed in .* \(npm install costt; .*or a relative path \(\.\/my-plugin\.ts\) or an installed package name\)$/) });
  });

  it('loads a plugin by relative path with validated options', async () => {
    const runtime = runtimeWith(`plugins:\n  - name: ${examplePlugin}\n    options: { models: [gpt-4o-mini] }\n`);
    await runtime.ready();
    expect(runtime.plugins).toEqual(['model-allowlist']);
    const id = await runtime.startAgent(async (agent) => {
      await agent.llm.chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    });
    const metrics = await runtime.waitForAgent(id);
    expect(metrics.errors[0]).toMatchObject({ code: 'IRON_BAD_REQUEST', message: 'model "gpt-4o" is not allowed here (allowed: gpt-4o-mini)' });
  });

  it('names the plugin option that is wrong', async () => {
    const runtime = runtimeWith(`plugins:\n  - name: ${examplePlugin}\n    options: { models: [], maxTokensPerCall: 0 }\n`);
    await expect(runtime.ready()).rejects.toMatchObject({ code: IRON_CONFIG_INVALID, message: expect.stringContaining('plugins[0].options.') });
  });

  it('refuses a module that exports no plugin, and a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-plugins-'));
    writeFileSync(join(dir, 'nothing.mjs'), 'export const x = 1;\n');
    await expect(runtimeWith('plugins: [./nothing.mjs]', dir).ready()).rejects.toMatchObject({ code: IRON_PLUGIN_INVALID });
    await expect(runtimeWith('plugins: [./missing.mjs]', dir).ready()).rejects.toMatchObject({ code: IRON_PLUGIN_UNKNOWN, message: `iron.config.yaml: plugins[0]: plugin file not found: ${join(dir, 'missing.mjs')}` });
  });

  it('says which plugin package is not installed, and which one failed to load and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-plugins-'));
    await expect(runtimeWith('plugins: [iron-plugin-not-installed]', dir).ready()).rejects.toMatchObject({
      code: IRON_PLUGIN_UNKNOWN,
      message: expect.stringContaining(`plugins[0]: unknown plugin "iron-plugin-not-installed": not a built-in plugin, and no package of that name is installed in ${dir} (npm install iron-plugin-not-installed;`),
    });
    // An installed package (ESM-only, found from the config's folder) whose own dependency is missing.
    const pkg = join(dir, 'node_modules', 'iron-plugin-broken');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'iron-plugin-broken', type: 'module', exports: { import: './index.js' } }));
    writeFileSync(join(pkg, 'index.js'), "import 'left-pad-that-is-not-there';\nexport default { name: 'broken', apply() {} };\n");
    await expect(runtimeWith('plugins: [iron-plugin-broken]', dir).ready()).rejects.toMatchObject({
      code: IRON_PLUGIN_INVALID,
      message: expect.stringMatching(/^iron\.config\.yaml: plugins\[0\]: plugin "iron-plugin-broken" could not be loaded: Cannot find package 'left-pad-that-is-not-there'/),
    });
    // A relative plugin file with a syntax error names the entry too.
    writeFileSync(join(dir, 'typo.mjs'), 'export default { name: "typo", apply() { }\n');
    await expect(runtimeWith('plugins: [./typo.mjs]', dir).ready()).rejects.toMatchObject({ code: IRON_PLUGIN_INVALID, message: expect.stringContaining('plugins[0]: plugin "./typo.mjs" could not be loaded:') });
  });

  it('loads a plain { name, apply } object and a factory function', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iron-plugins-'));
    writeFileSync(join(dir, 'plain.mjs'), "export default { name: 'plain', apply() {} };\n");
    writeFileSync(join(dir, 'factory.mjs'), "export default (options) => ({ name: 'factory-' + options.tag, apply() {} });\n");
    const runtime = runtimeWith('plugins:\n  - ./plain.mjs\n  - name: ./factory.mjs\n    options: { tag: a }\n', dir);
    await runtime.ready();
    expect(runtime.plugins).toEqual(['plain', 'factory-a']);
  });
});
