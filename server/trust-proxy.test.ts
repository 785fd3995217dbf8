// Behind a reverse proxy (IRON_TRUST_PROXY): the per-address login limit counts each client, not the proxy; without
// the setting a forwarded address is not believed (a client could otherwise pick its own address).
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DATABASES, testApp } from './testing.ts';

const login = { email: 'nobody@example.com', password: 'wrong password' };

describe('IRON_TRUST_PROXY', () => {
  afterEach(() => {
    delete process.env.IRON_TRUST_PROXY;
  });

  it('believes X-Forwarded-For from the proxy only when told to', async () => {
    const statuses = async (): Promise<number[]> => {
      const app = await testApp(await TEST_DATABASES[0]!.url(), { loginRateLimit: 2 });
      try {
        const out: number[] = [];
        for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
          out.push((await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': client }, payload: login })).statusCode);
        }
        return out;
      } finally {
        await app.close();
      }
    };
    // Not trusted: all three come from the proxy's address, and the third is over the limit.
    expect(await statuses()).toEqual([401, 401, 429]);
    process.env.IRON_TRUST_PROXY = '10.0.0.5';
    expect(await statuses()).toEqual([401, 401, 401]);
  });
});
