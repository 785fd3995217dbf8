// A new team's first hour in the dashboard, in Chromium against a fresh `iron server` with no project: the overview
// says what to do, pages that need a project say why there is nothing to make and link to the Projects page (no
// disabled control without a reason), the Projects page creates, renames and deletes one (the name typed to confirm)
// and manages its members (added by email, role changed, removed), a token's dialog shows the two variables a runtime
// needs, a deep link survives signing in (and a foreign one is refused), a completed run with a refused call is ok
// with its failed call counted apart, costs and latencies read as people read them, a server limit's refusal shows
// in Alerts with the agent named, and the pages fit a phone. Skipped without Chromium.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../core/index.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { freePort, providerEnv, startIronServer } from './helpers.ts';

const CHROMIUM = process.env.IRON_TEST_CHROMIUM || '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
const ARTIFACTS = new URL('../test-artifacts/dashboard/', import.meta.url).pathname;
const ADMIN = { email: 'first@example.com', password: 'a long first-hour password' };
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!haveBrowser)('dashboard: the first hour of a team', () => {
  let fake: FakeProvider;
  let server: ChildProcess;
  let url: string;
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let admin: string;
  let projectId: string;
  let agentId: string;
  const problems: string[] = [];

  async function api<T = any>(path: string, init: RequestInit & { auth?: string } = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${url}${path}`, { ...init, headers: { 'content-type': 'application/json', authorization: init.auth ?? admin } });
    return { status: response.status, body: (response.status === 204 ? undefined : await response.json()) as T };
  }
  const shot = (name: string, on: Page = page) => on.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  // Alerts carries a count of unseen alerts in its name: links are matched by their first word.
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: new RegExp(`^${name}\\b`) }).click();
  const login = async (on: Page) => {
    await on.getByLabel('Email').fill(ADMIN.email);
    await on.getByLabel('Password').fill(ADMIN.password);
    await on.getByRole('button', { name: 'Log in' }).click();
  };

  /** Every disabled control on the page says why: a title, a description, or a busy label ("Saving…"). */
  async function disabledControlsSayWhy(on: Page = page): Promise<void> {
    const silent = await on.evaluate(() =>
      [...document.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>('button:disabled, input:disabled, select:disabled')]
        .filter((control) => !control.title && !control.getAttribute('aria-describedby') && !/…$/.test(control.textContent?.trim() ?? ''))
        .map((control) => control.outerHTML),
    );
    expect(silent).toEqual([]);
  }

  /** The page does not scroll sideways at this width; when it does, the elements that stick out say which. */
  const fitsWidth = (on: Page, width: number) =>
    on.evaluate((w) => {
      if (document.documentElement.scrollWidth <= w) return true;
      // Inside a scrolling box only what escapes it counts (absolutely placed text, say).
      const scrolls = (el: Element) => el.closest('.table-wrap') !== null && getComputedStyle(el).position !== 'absolute';
      const out = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > w + 0.5 && !scrolls(el));
      return out.slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`);
    }, width);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'iron-first-run-'));
    const dashboardDir = join(dir, 'dashboard');
    await build({ configFile: new URL('../server/dashboard/vite.config.ts', import.meta.url).pathname, logLevel: 'error', build: { outDir: dashboardDir, emptyOutDir: true } });
    fake = await startFakeProvider();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startIronServer(join(dir, 'iron.db'), port, { IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password, IRON_DASHBOARD_DIR: dashboardDir });
    const body = await (await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })).json();
    admin = `Bearer ${body.accessToken}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
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

  it('keeps a deep link through signing in; pages that need a project say why and lead to one; the overview says what to do', async () => {
    await page.goto(`${url}/tokens`);
    await page.waitForURL(/\/login\?next=%2Ftokens/);
    await login(page);
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/tokens');

    // No project yet: no greyed-out "New token", but why there is none and the way to make a project.
    const notice = page.getByTestId('needs-project');
    expect(await notice.locator('p').textContent()).toBe('API tokens belong to a project, and there is none yet. Create one first: runtimes report to a project, and its tokens and limits are made in it.');
    expect(await page.getByRole('button', { name: 'New token' }).count()).toBe(0);
    expect(await page.getByText('No API tokens').count()).toBe(0);
    await disabledControlsSayWhy();
    await shot('first-run-tokens-without-project');
    await nav('Limits');
    await page.getByTestId('needs-project').waitFor();
    expect(await page.getByRole('button', { name: 'New limit' }).count()).toBe(0);
    await disabledControlsSayWhy();

    await nav('Overview');
    const steps = page.getByTestId('getting-started');
    await steps.waitFor();
    expect(await page.getByTestId('run-command').textContent()).toBe(`IRON_SERVER_URL=${url} IRON_TOKEN=<the token> npx iron run agent.py`);
    expect(await steps.locator('li[data-done="true"]').count()).toBe(0);
    await disabledControlsSayWhy();
    await shot('first-run-overview');
  });

  it('creates a project from the notice, renames it, manages its members, and the token dialog names IRON_SERVER_URL and IRON_TOKEN', async () => {
    await nav('API tokens');
    await page.getByTestId('needs-project').getByRole('link', { name: 'Create a project' }).click();
    // The link lands on the Projects page with the form open.
    const create = page.getByRole('form', { name: 'New project' });
    await create.waitFor();
    expect(new URL(page.url()).pathname).toBe('/projects');
    await create.getByLabel('Name', { exact: true }).fill('first-team');
    await create.getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('projects-table').getByText('first-team').waitFor();
    // The project filter knows it at once.
    await expect.poll(() => page.getByTestId('project-filter').locator('option', { hasText: 'first-team' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Edit first-team' }).click();
    await page.getByRole('form', { name: 'Edit first-team' }).getByLabel('Name', { exact: true }).fill('support-bots');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('projects-table').getByText('support-bots').waitFor();
    const { body } = await api<{ projects: Array<{ id: string; name: string }> }>('/api/projects');
    expect(body.projects.map((p) => p.name)).toEqual(['support-bots']);
    projectId = body.projects[0]!.id;

    // Members: a user is added by the email typed (any case), made a viewer, and removed again.
    const member = (await api<{ id: string }>('/api/users', { method: 'POST', body: JSON.stringify({ email: 'member@example.com', password: 'a long member password', role: 'member', projectIds: [] }) })).body;
    await page.reload();
    await page.getByRole('button', { name: 'Members of support-bots' }).click();
    const panel = page.getByTestId('members-panel');
    await panel.getByText('No members yet.').waitFor();
    // The picker offers the users who are not in the project yet.
    expect(await panel.locator('datalist option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value))).toEqual(['member@example.com']);
    await panel.getByLabel('Add by email').fill('Member@Example.com');
    await panel.getByRole('button', { name: 'Add member' }).click();
    const role = panel.getByLabel('Role of member@example.com');
    await role.waitFor();
    expect(await role.inputValue()).toBe('member');
    await expect.poll(async () => (await api<{ users: Array<{ id: string; projectIds: string[] }> }>('/api/users')).body.users.find((u) => u.id === member.id)?.projectIds).toEqual([projectId]);
    await role.selectOption('viewer');
    await expect.poll(async () => (await api<{ role: string }>(`/api/users/${member.id}`)).body.role).toBe('viewer');
    // Someone with no account: the API's answer says where to create it.
    const before = problems.length;
    await panel.getByLabel('Add by email').fill('nobody@example.com');
    await panel.getByRole('button', { name: 'Add member' }).click();
    await panel.getByRole('alert').getByText('create them on the Users page').waitFor();
    expect(problems.splice(before)).toEqual([expect.stringContaining('status of 404 (Not Found)')]);
    await disabledControlsSayWhy();
    await shot('first-run-projects');
    await panel.getByRole('button', { name: 'Remove member@example.com' }).click();
    await panel.getByText('No members yet.').waitFor();

    // A token for it: the dialog shows the two variables a runtime reads, copyable together.
    await nav('API tokens');
    expect(await page.getByTestId('needs-project').count()).toBe(0);
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByRole('form', { name: 'New API token' }).getByLabel('Name', { exact: true }).fill('laptop');
    await page.getByRole('button', { name: 'Create' }).click();
    const env = await page.getByTestId('token-env').textContent();
    const token = await page.getByTestId('new-token').inputValue();
    expect(env).toBe(`IRON_SERVER_URL=${url}\nIRON_TOKEN=${token}`);
    expect(await page.getByTestId('token-created').textContent()).not.toContain('IRON_SERVER_TOKEN');
    await page.getByRole('button', { name: 'Copy variables' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`IRON_SERVER_URL=${url}\nIRON_TOKEN=${token}\n`);
    await shot('first-run-token');

    // The overview ticks both steps now.
    await nav('Overview');
    await expect.poll(() => page.getByTestId('getting-started').locator('li[data-done="true"]').count()).toBe(2);
  });

  it('shows a completed run with a refused call as ok with "1 failed call", its costs and latencies readable, and a server limit refusal in Alerts', async () => {
    const token = (await api<{ token: string }>('/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'runtime', projectId }) })).body.token;
    const sync = (name: string) => ({ server: url, token, outbox: join(dir, `${name}.db`), flushIntervalMs: 20 });
    const runtime = new Runtime({ env: providerEnv(fake), logLevel: 'silent', config: { safety: {}, sync: sync('outbox') } });
    agentId = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'caged', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'mail jane.doe@example.org' }] });
      // Sync turns pricing on: a model without a price is refused, and the agent carries on.
      await client.chat.completions.create({ model: 'no-such-model-x', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    }, { name: 'first-hour-agent' });
    await runtime.waitForAgent(agentId);
    await runtime.close();

    // A budget on the server far below one call: a new runtime's next call is refused by it, and the agent completes.
    const limit = await api<{ id: string }>('/api/limits', { method: 'POST', body: JSON.stringify({ projectId, scope: 'project', kind: 'budget', amountUsd: 0.000001, period: 'day' }) });
    expect(limit.status).toBe(201);
    const limited = new Runtime({ env: providerEnv(fake), logLevel: 'silent', config: { sync: sync('outbox-limited') } });
    const refusedId = await limited.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'caged', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'one more' }] }).catch(() => undefined);
    }, { name: 'limited-agent' });
    await limited.waitForAgent(refusedId);
    await limited.close();
    // A runtime that says its scope is `server` (what the CLI's server-limit refusal may send) reads as well.
    const posted = await api('/api/events', {
      method: 'POST',
      auth: `Bearer ${token}`,
      body: JSON.stringify({ events: [{ id: crypto.randomUUID(), type: 'BudgetExceeded', time: Date.now(), agentId, scope: 'server', name: 'server limit', limitId: limit.body.id, limitUsd: 0.000001, spentUsd: 0, neededUsd: 0.000012 }] }),
    });
    expect(posted.status).toBe(200);

    await nav('Traces');
    const row = page.getByTestId('traces-table').locator('tr', { hasText: 'first-hour-agent' });
    await row.waitFor();
    const outcome = row.getByTestId('run-outcome');
    expect(await outcome.locator('.badge').first().textContent()).toBe('ok');
    expect(await outcome.getByTestId('failed-calls').textContent()).toBe('1 failed call');
    // Costs: a sub-cent sum keeps its digits; a run whose only call was refused was charged nothing, and says so.
    expect(await row.locator('td').nth(4).textContent()).toMatch(/^\$0\.0+[1-9]\d?$/);
    expect(await page.getByTestId('traces-table').locator('tr', { hasText: 'limited-agent' }).locator('td').nth(4).textContent()).toBe('—');
    await disabledControlsSayWhy();
    await shot('first-run-traces');
    // "failed" is about how the agent ended: neither run failed; "with failed calls" finds both.
    await page.getByLabel('Outcome').selectOption('failed');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No runs match.').waitFor();
    await page.getByLabel('Outcome').selectOption('');
    await page.getByLabel('with failed calls').check();
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('traces-table').locator('tbody tr').count()).toBe(2);

    // The run's page: the refused call has no cost ("—", never $0.0000) and latencies are whole milliseconds.
    await row.getByRole('link', { name: 'first-hour-agent' }).click();
    const calls = page.getByTestId('calls-table');
    await calls.waitFor();
    const cells = await calls.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));
    expect(cells).toHaveLength(2);
    const [answered, refused] = cells as [string[], string[]];
    // Two significant digits of a sub-cent cost, never $0.0000.
    expect(answered[4]).toMatch(/^\$0\.0+[1-9]\d?$/);
    expect(answered[5]).toMatch(/^\d+(\.\d)? ms$/);
    expect(refused[4]).toBe('—');
    expect(await page.getByTestId('agent-outcome').locator('.badge').textContent()).toBe('ok');
    expect(await page.getByTestId('agent-calls').textContent()).toContain('1 failed call');
    await shot('first-run-agent');

    await nav('Alerts');
    const feed = page.getByTestId('alerts-feed');
    const alertAgent = feed.locator('[data-alert-type="PiiAlert"]').getByTestId('alert-agent');
    await alertAgent.waitFor();
    expect(await alertAgent.textContent()).toBe('first-hour-agent');
    expect(await alertAgent.getAttribute('title')).toBe(`agent ${agentId}`);
    const exceeded = feed.locator('[data-alert-type="BudgetExceeded"]');
    await expect.poll(() => exceeded.count()).toBe(2);
    const short = limit.body.id.slice(0, 8);
    const texts = await exceeded.getByTestId('alert-text').allTextContents();
    expect(texts).toEqual([
      `server limit ${short}: refused a call needing $0.000012; $0.00 of $0.000001 spent`,
      // The project spent more than the limit today before it was created: the limit reads used up, not "$0.00 spent".
      expect.stringMatching(new RegExp(`^project budget \\(server limit ${short}\\): refused a call needing \\$0\\.0+[1-9]\\d?; \\$0\\.000001 of \\$0\\.000001 spent$`)),
    ]);
    expect(await exceeded.getByTestId('alert-agent').allTextContents()).toEqual(['first-hour-agent', 'limited-agent']);
    expect(await exceeded.first().getByTestId('alert-limit').getAttribute('href')).toBe('/limits');
    await shot('first-run-alerts');
  });

  it('sends a signed-out deep link to its page after signing in, and never to another origin', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const other = await fresh.newPage();
      other.setDefaultTimeout(8000);
      await other.goto(`${url}/agents/${agentId}`);
      await other.waitForURL(new RegExp(`/login\\?next=%2Fagents%2F${agentId}`));
      await login(other);
      await other.getByRole('heading', { name: 'first-hour-agent' }).waitFor();
      expect(new URL(other.url()).pathname).toBe(`/agents/${agentId}`);

      await other.getByRole('button', { name: 'Log out' }).click();
      await other.getByRole('button', { name: 'Log in' }).waitFor();
      await other.goto(`${url}/login?next=${encodeURIComponent('//evil.example/steal')}`);
      await login(other);
      await other.getByRole('heading', { name: 'Overview' }).waitFor();
      expect(other.url()).toBe(`${url}/`);
    } finally {
      await fresh.close();
    }
  });

  it('fits a phone: usage, traces and projects scroll their tables inside their boxes', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${url}/usage`);
      const table = page.getByTestId('usage-table');
      await table.waitFor();
      expect(await fitsWidth(page, 390)).toBe(true);
      // The table is wider than the phone, and scrolls inside its box.
      const box = await page.getByRole('region', { name: /^Usage by/ }).evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, overflow: getComputedStyle(el).overflowX }));
      expect(box.scroll).toBeGreaterThan(box.client);
      expect(box.overflow).toBe('auto');
      // Model names stay on one line.
      expect(await table.locator('tbody td.key').first().evaluate((td) => td.getBoundingClientRect().height < 40)).toBe(true);
      await shot('first-run-phone-usage');
      for (const path of ['/traces', '/projects', '/alerts', '/tokens']) {
        await page.goto(`${url}${path}`);
        await page.locator('main h1').waitFor();
        await page.locator('.loading').first().waitFor({ state: 'detached' });
        expect(await fitsWidth(page, 390), path).toBe(true);
      }
      await shot('first-run-phone-tokens');
      await page.goto(`${url}/projects`);
      await page.getByTestId('projects-table').waitFor();
      await shot('first-run-phone-projects');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('deletes the project only once its name is typed, and the pages that need one say so again', async () => {
    await page.goto(`${url}/projects`);
    await page.getByRole('button', { name: 'Delete support-bots' }).click();
    const dialog = page.getByTestId('delete-project');
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Delete project' });
    expect(await confirm.isDisabled()).toBe(true);
    await disabledControlsSayWhy();
    await dialog.getByLabel('Type support-bots to confirm').fill('support-bot');
    expect(await confirm.isDisabled()).toBe(true);
    await shot('first-run-delete-project');
    await dialog.getByLabel('Type support-bots to confirm').fill('support-bots');
    await confirm.click();
    await page.getByTestId('projects-empty').waitFor();
    expect((await api<{ projects: unknown[] }>('/api/projects')).body.projects).toEqual([]);
    await nav('Limits');
    await page.getByTestId('needs-project').waitFor();
    expect(problems).toEqual([]);
  });

  it('a server with no users says on its login page how to create the first admin', async () => {
    const port = await freePort();
    const empty = await startIronServer(join(dir, 'no-users.db'), port, { IRON_DASHBOARD_DIR: join(dir, 'dashboard') });
    try {
      const fresh = await context.newPage();
      await fresh.goto(`http://127.0.0.1:${port}/login`);
      const notice = fresh.getByRole('status').filter({ hasText: 'no users yet' });
      await notice.waitFor().catch(async (error: Error) => {
        throw new Error(`${error.message}\n${(await fresh.locator('body').innerText()).slice(0, 500)}`);
      });
      expect(await notice.textContent()).toContain('iron server --init-admin');
      // A server with users says nothing of the kind (a signed-out visitor, in a context of its own).
      const signedOut = await browser.newContext();
      const other = await signedOut.newPage();
      await other.goto(`${url}/login`);
      await other.getByRole('button', { name: 'Log in' }).waitFor();
      await other.waitForLoadState('networkidle');
      expect(await other.getByText('no users yet').count()).toBe(0);
      await signedOut.close();
      await fresh.close();
    } finally {
      await new Promise<void>((resolve) => {
        empty.once('exit', () => resolve());
        empty.kill('SIGTERM');
      });
    }
  });
});
