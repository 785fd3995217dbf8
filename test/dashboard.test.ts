// The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real `iron server` process
// serving a fresh build, with a real runtime reporting through the sync plugin. A person logs in, watches an agent
// appear and its spend rise without reloading, sees a PII alert arrive, creates and revokes a token, creates a
// limit (after a validation message), exports usage as CSV, and uses it at phone width. Screenshots of every page
// go to test-artifacts/dashboard/.
//
// Runs when Chromium is present: IRON_TEST_CHROMIUM (its path; .ci/run installs it with apt and sets it) or
// /usr/bin/chromium. Without it the suite is skipped, so `npm test` passes on a machine with no browser.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
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
if (process.env.IRON_TEST_CHROMIUM && !existsSync(CHROMIUM)) throw new Error(`IRON_TEST_CHROMIUM=${CHROMIUM} does not exist: install Debian's chromium (apt-get install -y chromium)`);
const haveBrowser = existsSync(CHROMIUM);

const ARTIFACTS = new URL('../test-artifacts/dashboard/', import.meta.url).pathname;
const ADMIN = { email: 'dash@example.com', password: 'a long dashboard password' };
const VIEWER = { email: 'viewer@example.com', password: 'a long viewer password' };

const startServer = (db: string, port: number, dashboardDir: string) =>
  startIronServer(db, port, { IRON_ADMIN_EMAIL: ADMIN.email, IRON_ADMIN_PASSWORD: ADMIN.password, IRON_DASHBOARD_DIR: dashboardDir });

/** A promise the test resolves by hand: the agent waits on one before each call, so the test paces it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe.skipIf(!haveBrowser)('dashboard in Chromium', () => {
  let fake: FakeProvider;
  let server: ChildProcess;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let projectId: string;
  let runtimeToken: string;
  let runtime: Runtime;
  const problems: string[] = [];

  async function api<T = any>(path: string, init: RequestInit & { auth?: string } = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init.auth ? { authorization: init.auth } : {}) } });
    return { status: response.status, body: (response.status === 204 ? undefined : await response.json()) as T };
  }

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), 'iron-dashboard-'));
    const dashboardDir = join(dir, 'dashboard');
    // A fresh build of the current source, served by the server like dist/dashboard is.
    await build({ configFile: new URL('../server/dashboard/vite.config.ts', import.meta.url).pathname, logLevel: 'error', build: { outDir: dashboardDir, emptyOutDir: true } });
    fake = await startFakeProvider();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startServer(join(dir, 'iron.db'), port, dashboardDir);

    const login = await api<{ accessToken: string }>('/api/auth/login', { method: 'POST', body: JSON.stringify(ADMIN) });
    const admin = `Bearer ${login.body.accessToken}`;
    projectId = (await api<{ id: string }>('/api/projects', { method: 'POST', auth: admin, body: JSON.stringify({ name: 'browser-project' }) })).body.id;
    runtimeToken = (await api<{ token: string }>('/api/tokens', { method: 'POST', auth: admin, body: JSON.stringify({ name: 'runtime', projectId }) })).body.token;
    runtime = new Runtime({ env: providerEnv(fake), logLevel: 'silent', budget: 5, config: { safety: {}, sync: { server: url, token: runtimeToken, outbox: join(dir, 'outbox.db'), flushIntervalMs: 20 } } });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root in a container there is no sandbox; the closed network refuses Chromium's background requests.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  }, 60_000);

  afterAll(async () => {
    await runtime?.close();
    await browser?.close();
    if (server && server.exitCode === null) {
      await new Promise<void>((resolve) => {
        server.once('exit', () => resolve());
        server.kill('SIGTERM');
      });
    }
    await fake?.close();
  });

  it('logs in with the keyboard only and keeps the session across a reload', async () => {
    await page.goto(url);
    await page.waitForURL(/\/login/);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('email');
    await shot('login');
    await page.keyboard.type(ADMIN.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    // The refresh token is an HttpOnly cookie: scripts cannot read it, and a reload signs in again from it.
    expect(await page.evaluate(() => document.cookie)).not.toContain('iron_refresh');
    // All cookies: context.cookies(url) would filter by the URL's path, and this one is scoped to /api/auth.
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'iron_refresh')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/auth' });
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
    await shot('overview-empty');
  });

  it('shows an agent started by a real runtime live, its spend rising, and its PII alert arriving', async () => {
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    await page.getByText('No agents yet').waitFor();
    // Set on this document: still there later means the page never reloaded.
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));

    const gates = [gate(), gate(), gate()];
    const agentId = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      for (let i = 0; i < gates.length; i++) {
        await gates[i]!.promise;
        await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 200, messages: [{ role: 'user', content: i === 1 ? 'please email jane.doe@example.org the report' : `step ${i}: summarize the plan` }] });
      }
    }, { name: 'browser-agent' });

    const row = page.locator(`tr[data-agent-id="${agentId}"]`);
    await row.waitFor();
    await expect.poll(() => row.getByText('running').count()).toBe(1);
    const spend = () => row.getByTestId('agent-spend').getAttribute('data-cost').then(Number);
    expect(await spend()).toBe(0);

    gates[0]!.open();
    await expect.poll(spend, { timeout: 10_000 }).toBeGreaterThan(0);
    const afterFirst = await spend();
    gates[1]!.open();
    await expect.poll(spend, { timeout: 10_000 }).toBeGreaterThan(afterFirst);
    await shot('agents-live');

    // The alert badge counts the PII alert while the person is elsewhere; the feed shows it.
    await page.getByTestId('unseen-alerts').waitFor();
    await page.getByRole('link', { name: /Alerts/ }).click();
    const pii = page.locator('[data-alert-type="PiiAlert"]');
    await pii.first().waitFor();
    await expect.poll(() => pii.first().textContent()).toContain('EMAIL');
    expect(await pii.first().textContent()).not.toContain('jane.doe');

    // A new alert arrives while the feed is open: it is added on top, marked new.
    const next = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'call +1 415 555 2671 today' }] });
    }, { name: 'phone-agent' });
    await runtime.waitForAgent(next);
    await page.locator('.feed .fresh[data-alert-type="PiiAlert"]').first().waitFor();

    // A budget warning arrives the same way: a second runtime whose agent budget warns at 0.5 % spent.
    const tight = new Runtime({ env: providerEnv(fake), logLevel: 'silent', budget: 0.001, config: { cost: { warnAt: [0.5] }, sync: { server: url, token: runtimeToken, outbox: join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db'), flushIntervalMs: 20 } } });
    try {
      const budgeted = await tight.startAgent(async (agent) => {
        const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'one small step' }] });
      }, { name: 'budget-agent' });
      await tight.waitForAgent(budgeted);
    } finally {
      await tight.close();
    }
    const warning = page.locator('.feed .fresh[data-alert-type="BudgetWarning"]');
    await warning.waitFor();
    expect(await warning.textContent()).toContain('(0.5%)');

    // And a circuit opening: a provider that answers 500 to everything, a breaker that opens after one failure.
    const down = await startFakeProvider({ failureRate: 1, failureStatus: 500 });
    const fragile = new Runtime({
      env: providerEnv(down),
      logLevel: 'silent',
      config: { reliability: { retries: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } }, sync: { server: url, token: runtimeToken, outbox: join(mkdtempSync(join(tmpdir(), 'iron-outbox-')), 'outbox.db'), flushIntervalMs: 20 } },
    });
    try {
      const failing = await fragile.startAgent(async (agent) => {
        const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
        await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'are you there?' }] }).catch(() => undefined);
      }, { name: 'outage-agent' });
      await fragile.waitForAgent(failing);
    } finally {
      await fragile.close();
      await down.close();
    }
    const circuit = page.locator('.feed .fresh[data-alert-type="CircuitOpened"]');
    await circuit.waitFor();
    expect(await circuit.textContent()).toContain('openai/gpt-4o-mini');
    await shot('alerts');
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same page');

    gates[2]!.open();
    await runtime.waitForAgent(agentId);
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    await expect.poll(() => row.getByText('completed').count(), { timeout: 10_000 }).toBe(1);
    await row.getByRole('link', { name: 'browser-agent' }).click();
    await page.getByTestId('calls-table').waitFor();
    expect(await page.getByTestId('calls-table').locator('tbody tr').count()).toBe(3);
    await shot('agent');
    await page.getByRole('tab', { name: /Events/ }).click();
    await page.getByTestId('events-list').getByText('PiiAlert').first().waitFor();
    await shot('agent-events');
  });

  it('creates an API token shown once with a copy button, and revokes it', async () => {
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByTestId('tokens-table').waitFor();
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByLabel('Name').fill('browser-token');
    await page.getByRole('button', { name: 'Create' }).click();
    const shown = await page.getByTestId('new-token').inputValue();
    expect(shown).toMatch(/^iron_pat_/);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown);
    await shot('tokens-created');
    // The token works against the API until revoked.
    expect((await api('/api/agents', { auth: `Bearer ${shown}` })).status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('new-token').count()).toBe(0);

    page.once('dialog', (dialog) => void dialog.accept());
    const row = page.locator('tr[data-token-name="browser-token"]');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByText('revoked').waitFor();
    expect((await api('/api/agents', { auth: `Bearer ${shown}` })).status).toBe(401);
    await shot('tokens');
  });

  it('creates, edits and deletes limits, showing the API validation message next to the field first', async () => {
    await page.getByRole('link', { name: 'Limits' }).click();
    await page.getByText('No limits').waitFor();
    await page.getByRole('button', { name: 'New limit' }).click();
    const form = page.getByTestId('limit-form');
    const before = problems.length;
    await form.getByRole('button', { name: 'Save' }).click();
    // No amount: the server's 400 names body/amountUsd, shown under that field.
    await form.locator('.field-invalid').filter({ hasText: 'Amount (USD)' }).getByText('a budget needs amountUsd > 0').waitFor();
    // Chromium logs every 4xx response in the console; this one is the point of the step, so it is taken out.
    expect(problems.splice(before)).toEqual([expect.stringContaining('status of 400 (Bad Request)')]);
    await form.getByLabel('Amount (USD)').fill('25');
    await form.getByLabel('Period').selectOption('day');
    await form.getByRole('button', { name: 'Save' }).click();
    const table = page.getByTestId('limits-table');
    await table.getByText('$25.00 per day').waitFor();
    // Edit it; then add a rate limit and delete that one.
    await table.getByRole('button', { name: 'Edit' }).click();
    await form.getByLabel('Amount (USD)').fill('30');
    await form.getByRole('button', { name: 'Save' }).click();
    await table.getByText('$30.00 per day').waitFor();
    // A total budget reads "in total" (it read "per total").
    await table.getByRole('button', { name: 'Edit' }).click();
    await form.getByLabel('Period').selectOption('total');
    await form.getByRole('button', { name: 'Save' }).click();
    await table.getByText('$30.00 in total').waitFor();
    await table.getByRole('button', { name: 'Edit' }).click();
    await form.getByLabel('Period').selectOption('day');
    await form.getByRole('button', { name: 'Save' }).click();
    await table.getByText('$30.00 per day').waitFor();
    await page.getByRole('button', { name: 'New limit' }).click();
    await form.getByLabel('Kind').selectOption('rate');
    await form.getByLabel('Requests per minute', { exact: true }).fill('60');
    await form.getByRole('button', { name: 'Save' }).click();
    const rateRow = table.locator('tr').filter({ hasText: '60 requests/min' });
    await rateRow.waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await rateRow.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => rateRow.count()).toBe(0);
    const limits = await api<{ limits: Array<{ amountUsd: number; period: string; scope: string }> }>(`/api/limits?projectId=${projectId}`, { auth: `Bearer ${runtimeToken}` });
    expect(limits.body.limits).toEqual([expect.objectContaining({ amountUsd: 30, period: 'day', scope: 'project' })]);
    await shot('limits');
  });

  it('shows usage with a chart and exports it as CSV; traces are searchable', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByTestId('usage-table').waitFor();
    await page.locator('.chart canvas').first().waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = readFileSync(await (await download).path(), 'utf8');
    const [header, first] = csv.trim().split('\r\n');
    expect(header).toBe('model,calls,failed_calls,input_tokens,output_tokens,cost_usd');
    expect(first).toMatch(/^gpt-4o-mini,6,1,\d+,\d+,0\.\d{6}$/);
    await shot('usage');

    await page.getByRole('link', { name: 'Traces' }).click();
    await page.getByTestId('traces-table').waitFor();
    expect(await page.getByTestId('traces-table').locator('tbody tr').count()).toBe(4);
    await page.getByRole('searchbox', { name: 'Search' }).fill('PHONE');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('traces-table').locator('tbody tr').count()).toBe(1);
    expect(await page.getByTestId('traces-table').textContent()).toContain('phone-agent');
    await shot('traces');

    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByTestId('users-table').getByText(ADMIN.email).waitFor();
    // An admin adds a viewer of the project (used by a later test).
    await page.getByRole('button', { name: 'New user' }).click();
    await page.getByLabel('Email').fill(VIEWER.email);
    await page.getByLabel('Password', { exact: true }).fill(VIEWER.password);
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('checkbox', { name: 'browser-project' }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    const viewerRow = page.getByTestId('users-table').locator('tr').filter({ hasText: VIEWER.email });
    await viewerRow.waitFor();
    expect(await viewerRow.textContent()).toContain('browser-project');
    await shot('users');
    await page.getByRole('link', { name: 'Overview' }).click();
    await expect.poll(() => page.getByTestId('pii-alerts').locator('.stat-value').textContent()).toBe('2');
    await shot('overview');
  });

  it('works at phone width: no sideways scrolling, the menu opens and navigates', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // Measured with its figures drawn, not while it says "Loading…".
    await page.getByTestId('spend-today').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('phone-overview');
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('link', { name: 'Agents', exact: true }).click();
    await page.getByTestId('agents-table').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('phone-agents');
    // The usage table is wider than a phone: it scrolls inside its box, the page does not scroll sideways.
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('link', { name: 'Usage', exact: true }).click();
    await page.getByTestId('usage-table').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const box = await page.getByRole('region', { name: /^Usage by/ }).evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, right: el.getBoundingClientRect().right }));
    expect(box.scroll).toBeGreaterThan(box.client);
    expect(box.right).toBeLessThanOrEqual(390);
    await shot('phone-usage');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('logs out, and the old session cannot be restored', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect((await context.cookies()).find((cookie) => cookie.name === 'iron_refresh')).toBeUndefined();
  });

  it('shows a viewer the refusal from the API instead of swallowing it, and no Users page', async () => {
    const viewer = VIEWER;
    await page.getByLabel('Email').fill(viewer.email);
    await page.getByLabel('Password').fill(viewer.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0);
    await page.getByRole('link', { name: 'Limits', exact: true }).click();
    await page.getByTestId('limits-table').waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    const before = problems.length;
    await page.getByTestId('limit-form').getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').getByText('viewers may read limits but not change them').waitFor();
    expect(problems.splice(before)).toEqual([expect.stringContaining('status of 403 (Forbidden)')]);
    await shot('viewer-refused');
  });

  it('logged no console errors or page errors on the way', () => {
    expect(problems).toEqual([]);
  });
}, 120_000);
