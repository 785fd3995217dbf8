// Behind a reverse proxy (IRON_TRUST_PROXY): the per-address login limit counts each client, not the proxy; without
// the setting a forwarded address is not believed (a client could otherwise pick its own address).
import { afterEach, describe, expect, it } from 'vitest';
import { trustProxyFrom, trustProxyWarning } from './app.ts';
import { checkTrustProxy } from './env.ts';
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

  it('says at start that a hop count or true lets a direct client pick its address, and is quiet for an address or CIDR', async () => {
    // Fastify's hop count trusts the last n entries whoever sent them: shown here, then the warning that names it.
    process.env.IRON_TRUST_PROXY = '1';
    const app = await testApp(await TEST_DATABASES[0]!.url(), { loginRateLimit: 2 });
    try {
      const out: number[] = [];
      for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
        out.push((await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: '198.51.100.9', headers: { 'x-forwarded-for': client }, payload: login })).statusCode);
      }
      expect(out).toEqual([401, 401, 401]);
    } finally {
      await app.close();
    }
    expect(trustProxyWarning('1')).toMatch(/^IRON_TRUST_PROXY=1 believes X-Forwarded-For from any address: .* Give the proxy's address or CIDR instead/);
    expect(trustProxyWarning('true')).toMatch(/^IRON_TRUST_PROXY=true believes/);
    for (const quiet of [undefined, '', '10.0.0.5', '10.0.0.0/8,127.0.0.1']) expect(trustProxyWarning(quiet)).toBeUndefined();
  });
});

describe('checkTrustProxy', () => {
  it('takes addresses, CIDRs, netmasks, named ranges, hop counts and true/false, and names each entry it cannot take', () => {
    for (const good of ['10.0.0.2', '10.0.0.0/8', '10.0.0.0/255.0.0.0', '::1', 'fd00::/8', 'loopback', 'loopback, 10.0.0.2', '2', 'true', 'false', '']) {
      expect(() => checkTrustProxy({ IRON_TRUST_PROXY: good }), good).not.toThrow();
    }
    for (const [bad, named] of [['nginx', '"nginx"'], ['10.0.0.2,proxy.local', '"proxy.local"'], ['10.0.0.0/33', '"10.0.0.0/33"'], ['::1/129', '"::1/129"'], ['10.0.0.1/8/8', '"10.0.0.1/8/8"'], ['10.0.0.2,', '""'], ['-1', '"-1"']] as const) {
      expect(() => checkTrustProxy({ IRON_TRUST_PROXY: bad }), bad).toThrow(named);
    }
  });

  it('IRON_TRUST_PROXY=0 trusts nothing and warns of nothing (it is no hop count that believes any address)', () => {
    expect(trustProxyWarning('0')).toBeUndefined();
    expect(trustProxyFrom('0')).toBe(false);
    expect(trustProxyWarning('1')).toContain('believes X-Forwarded-For from any address');
  });

  it('an app with IRON_TRUST_PROXY=false trusts no forwarded address (it is not taken as an address named "false")', async () => {
    process.env.IRON_TRUST_PROXY = 'false';
    const app = await testApp(await TEST_DATABASES[0]!.url(), { loginRateLimit: 1 });
    try {
      const first = await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.1' }, payload: login });
      const second = await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.2' }, payload: login });
      expect([first.statusCode, second.statusCode]).toEqual([401, 429]);
    } finally {
      await app.close();
    }
  });
});
