// Dashboard load time on localhost (issue target: < 1 s): a real `iron server` serving dist/dashboard, seeded with
// 50 agent runs, opened in Debian's Chromium by playwright-core. Each sample is a fresh browser context (cold
// cache). Measured from navigation start (performance.now() in the page): the login page interactive, and, when
// signed in, the overview with its figures drawn and the agents table filled (after refresh-cookie sign-in and
// every API request the page makes).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startIronServer, stop } from './lib/processes.ts';
import { summarize, type Row } from './lib/stats.ts';

const CHROMIUM = process.env.IRON_TEST_CHROMIUM || '/usr/bin/chromium';
const DIST = new URL('../dist/dashboard/index.html', import.meta.url).pathname;
const ADMIN = { email: 'bench@example.com', password: 'bench password long enough' };

async function seed(url: string, token: string, runs: number): Promise<void> {
  const now = Date.now();
  const events: unknown[] = [];
  for (let i = 0; i < runs; i++) {
    const agentId = randomUUID();
    const at = now - (runs - i) * 60_000;
    const ev = (type: string, offset: number, fields: Record<string, unknown>) => ({ id: randomUUID(), type, time: at + offset, agentId, ...fields });
    events.push(
      ev('AgentStarted', 0, { name: `agent-${i}`, kind: 'in-process' }),
      ev('LlmCallCompleted', 100, { callId: `c-${i}`, provider: 'openai', model: 'gpt-4o-mini', stream: false, usage: { inputTokens: 500, outputTokens: 200 }, latencyMs: 300, complete: true }),
      ev('CostUpdate', 101, { callId: `c-${i}`, provider: 'openai', model: 'gpt-4o-mini', costUsd: 0.0002, usage: {}, estimated: false, priced: true }),
      ev('AgentStopped', 200, { status: 'completed', exitCode: 0 }),
    );
  }
  const response = await fetch(`${url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ events }) });
  if (!response.ok) throw new Error(`seeding failed: ${response.status} ${await response.text()}`);
}

export async function benchDashboardLoad(quick: boolean): Promise<Row[]> {
  if (!existsSync(CHROMIUM)) return [{ page: 'all', result: `n/a: no Chromium at ${CHROMIUM} (apt-get install -y chromium)` }];
  if (!existsSync(DIST)) return [{ page: 'all', result: 'n/a: dist/dashboard is not built (npm run build)' }];
  const samples = quick ? 3 : 10;
  const server = await startIronServer();
  let browser: Browser | undefined;
  try {
    await seed(server.url, server.token, 50);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const login: number[] = [];
    const overview: number[] = [];
    const agents: number[] = [];
    // One sign-in through the form (logins are rate-limited to 10 a minute); each later context starts from the
    // refresh cookie the previous one rotated to, as a returning person's browser would.
    const first = await browser.newContext();
    const signIn = await first.newPage();
    await signIn.goto(`${server.url}/login`);
    await signIn.getByLabel('Email').fill(ADMIN.email);
    await signIn.getByLabel('Password').fill(ADMIN.password);
    await signIn.getByRole('button', { name: 'Log in' }).click();
    await signIn.getByTestId('spend-today').waitFor();
    let session = (await first.cookies()).filter((cookie) => cookie.name === 'iron_refresh');
    await first.close();
    for (let i = 0; i < samples; i++) {
      const anonymous = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const loginPage = await anonymous.newPage();
      await loginPage.goto(`${server.url}/login`);
      await loginPage.getByRole('button', { name: 'Log in' }).waitFor();
      login.push(await loginPage.evaluate(() => performance.now()));
      await anonymous.close();

      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addCookies(session);
      await context.addInitScript(() => localStorage.setItem('iron.signedIn', '1'));
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await page.locator('[data-testid="running-agents"] .stat-value').waitFor();
      await page.locator('.chart canvas').waitFor();
      overview.push(await page.evaluate(() => performance.now()));
      await page.goto(`${server.url}/agents`);
      await page.locator('[data-testid="agents-table"] tbody tr').nth(49).waitFor();
      agents.push(await page.evaluate(() => performance.now()));
      session = (await context.cookies()).filter((cookie) => cookie.name === 'iron_refresh');
      await context.close();
    }
    const row = (page: string, values: number[]): Row => {
      const s = summarize(values);
      return { page, 'p50 ms': Math.round(s.p50), 'max ms': Math.round(Math.max(...values)), samples: String(s.n), target: '< 1000 ms', met: Math.max(...values) < 1000 ? 'yes' : 'no' };
    };
    return [row('login form interactive (cold cache)', login), row('overview: figures and chart drawn (signed in)', overview), row('agents: 50 rows drawn (signed in)', agents)];
  } finally {
    await browser?.close();
    await stop(server.child);
  }
}
