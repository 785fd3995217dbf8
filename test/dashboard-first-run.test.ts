// A new team's first hour in the dashboard, in Chromium against a fresh `iron server` with no project: the overview
// says what to do, pages that need a project say so, the Projects page creates, renames and deletes one and manages
// its members, a token's dialog shows the two variables a runtime needs, a deep link survives signing in, and a
// runtime's run shows with its failed call counted apart, its agent named in Alerts. Skipped without Chromium.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../core/index.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { freePort, providerEnv, startIronServer } from './helpers.ts';

const CHROMIUM = process.env.IRON_TEST_CHROMIUM || '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
const ARTIFACTS = new URL('../test-artifacts/dashboard/', import.meta.url).pathname;
const ADMIN = { email: 'first@example.com', password: 'a long first-hour password' };

describe.skipIf(!haveBrowser)('dashboard: the first hour of a team', () => {
  let fake: FakeProvider;
  let server: ChildProcess;
  let url: string;
  let dir: string;
  let browser: Browser;
  let page: Page;
  let admin: string;
  const problems: string[] = [];

  async function api<T = any>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${url}${path}`, { ...init, headers: { 'content-type': 'application/json', authorization: admin } });
    return { status: response.status, body: (response.status === 204 ? undefined : await response.json()) as T };
  }
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  // Alerts carries a count of unseen alerts in its name: links are matched by their first word.
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: new RegExp(`^${name}\\b`) }).click();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'iron-first-run-'));
    const dashboardDir = join(dir, 'dashboard');
    await build({ configFile: new URL('../server/dashboard/vite.config.ts', import.meta.url).pathname, logLevel: 'error', build: { outDir: dashboardDir, emptyOutDir: true } });
    fake = await startFakeProvider();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startIronServer(join(dir, 'iron.db'), port, { IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password, IRON_DASHBOARD_DIR: dashboardDir });
    const login = await (await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })).json();
    admin = `Bearer ${login.accessToken}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    // A step that cannot happen fails with its own message, well before the test's timeout.
    page.setDefaultTimeout(8000);
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      await new Promise<void>((resolve) => {
        server.once('exit', () => resolve());
        server.kill('SIGTERM');
      });
    }
    await fake?.close();
  });

  it('keeps a deep link through signing in, and the overview of an empty server says what to do', async () => {
    await page.goto(`${url}/tokens`);
    await page.waitForURL(/\/login\?next=%2Ftokens/);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/tokens');
    // No project yet: the page says why there is no token to make, and where to go.
    const notice = page.getByTestId('needs-project');
    expect(await notice.textContent()).toBe('API tokens belong to a project, and you have none yet. Create a project first.');
    expect(await page.getByRole('button', { name: 'New token' }).getAttribute('title')).toBe('Create a project first');
    await shot('first-run-tokens-without-project');
    await nav('Overview');
    const steps = page.getByTestId('getting-started');
    await steps.waitFor();
    expect(await steps.textContent()).toContain(`IRON_SERVER_URL=${url} IRON_TOKEN=<the token> npx iron run agent.py`);
    await shot('first-run-overview');
  });

  it('creates, renames and fills a project on the Projects page, and the token dialog names IRON_TOKEN', async () => {
    await nav('Projects');
    await page.getByTestId('projects-empty').waitFor();
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByRole('form', { name: 'New project' }).getByLabel('Name', { exact: true }).fill('first-team');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('projects-table').getByText('first-team').waitFor();
    // The project filter knows it at once.
    await expect.poll(() => page.getByTestId('project-filter').locator('option', { hasText: 'first-team' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Edit first-team' }).click();
    await page.getByRole('form', { name: 'Rename first-team' }).getByLabel('Name', { exact: true }).fill('support-bots');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('projects-table').getByText('support-bots').waitFor();
    const { body } = await api<{ projects: Array<{ id: string; name: string }> }>('/api/projects');
    expect(body.projects.map((p) => p.name)).toEqual(['support-bots']);
    const projectId = body.projects[0]!.id;

    // Members: a member user is added, shown, and removed again.
    const member = (await api<{ id: string }>('/api/users', { method: 'POST', body: JSON.stringify({ email: 'member@example.com', password: 'a long member password', role: 'member', projectIds: [] }) })).body;
    await page.reload();
    await page.getByRole('button', { name: 'Members of support-bots' }).click();
    const panel = page.getByTestId('members-panel');
    await panel.getByText('No members yet.').waitFor();
    await panel.getByLabel('User to add').selectOption(member.id);
    await panel.getByRole('button', { name: 'Add member' }).click();
    await panel.getByRole('button', { name: 'Remove member@example.com' }).waitFor();
    await expect.poll(async () => (await api<{ users: Array<{ id: string; projectIds: string[] }> }>('/api/users')).body.users.find((u) => u.id === member.id)?.projectIds).toEqual([projectId]);
    await shot('first-run-projects');
    await panel.getByRole('button', { name: 'Remove member@example.com' }).click();
    await panel.getByText('No members yet.').waitFor();

    // A token for it: the dialog shows the two variables a runtime reads.
    await nav('API tokens');
    expect(await page.getByTestId('needs-project').count()).toBe(0);
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByRole('form', { name: 'New API token' }).getByLabel('Name', { exact: true }).fill('laptop');
    await page.getByRole('button', { name: 'Create' }).click();
    const env = await page.getByTestId('token-env').textContent();
    const token = await page.getByTestId('new-token').inputValue();
    expect(env).toBe(`IRON_SERVER_URL=${url}\nIRON_TOKEN=${token}`);
    expect(await page.getByTestId('token-created').textContent()).not.toContain('IRON_SERVER_TOKEN');
    await shot('first-run-token');
  });

  it("shows a completed run with a refused call as 'errors', not failed, and names its agent in Alerts", async () => {
    const { body } = await api<{ projects: Array<{ id: string }> }>('/api/projects');
    const projectId = body.projects[0]!.id;
    const token = (await api<{ token: string }>('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'runtime', projectId }) })).body.token;
    const runtime = new Runtime({ env: providerEnv(fake), logLevel: 'silent', config: { safety: {}, sync: { server: url, token, outbox: join(dir, 'outbox.db'), flushIntervalMs: 20 } } });
    const agentId = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'caged', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'mail jane.doe@example.org' }] });
      // Sync turns pricing on: a model without a price is refused, and the agent carries on.
      await client.chat.completions.create({ model: 'no-such-model-x', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    }, { name: 'first-hour-agent' });
    await runtime.waitForAgent(agentId);
    await runtime.close();

    await nav('Traces');
    const row = page.getByTestId('traces-table').locator('tr', { hasText: 'first-hour-agent' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/errors\s*completed\s*1 failed call/);
    await nav('Alerts');
    const alertAgent = page.getByTestId('alerts-feed').getByTestId('alert-agent').first();
    await alertAgent.waitFor();
    expect(await alertAgent.textContent()).toBe('first-hour-agent');
    expect(await alertAgent.getAttribute('title')).toBe(`agent ${agentId}`);
    await shot('first-run-alerts');
  });

  it('the usage page fits a phone: its table scrolls inside its box', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/usage`);
    await page.getByTestId('usage-table').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('first-run-phone-usage');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('deletes the project after a confirmation, and the pages that need one say so again', async () => {
    await page.goto(`${url}/projects`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete support-bots' }).click();
    await page.getByTestId('projects-empty').waitFor();
    expect((await api<{ projects: unknown[] }>('/api/projects')).body.projects).toEqual([]);
    await nav('Limits');
    await page.getByTestId('needs-project').waitFor();
    expect(problems).toEqual([]);
  });
});
