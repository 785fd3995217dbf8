// /api/auth: login, lockout, rate limit, refresh rotation and reuse detection, logout, /me, and hostile access tokens.
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from './auth/secrets.ts';
import { Session, User } from './entities/index.ts';
import { ADMIN, createApiToken, createProject, createUser, TEST_DATABASES, testApp, recordBodies } from './testing.ts';

const SECRET = 'a test signing key that is long enough for HS256';
const KEY = new TextEncoder().encode(SECRET);

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(TEST_DATABASES)('auth routes on $name', ({ url }) => {
  let app: FastifyInstance;
  const bodies: string[] = [];
  const refreshTokens: string[] = [];

  const post = (path: string, payload: unknown, authorization?: string) =>
    app.inject({ method: 'POST', url: `/api/auth${path}`, payload: payload as object, headers: authorization ? { authorization } : {} });
  const loginAs = async (email: string, password: string) => {
    const response = await post('/login', { email, password });
    if (response.statusCode === 200) refreshTokens.push(response.json().refreshToken);
    return response;
  };
  const refresh = async (refreshToken: string) => {
    const response = await post('/refresh', { refreshToken });
    if (response.statusCode === 200) refreshTokens.push(response.json().refreshToken);
    return response;
  };
  const me = (authorization: string) => app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization } });
  const sessionOf = (refreshToken: string) => app.orm.em.fork().findOneOrFail(Session, { tokenHash: hashToken(refreshToken) });

  beforeAll(async () => {
    app = await testApp(await url(), { jwtSecret: SECRET, loginRateLimit: 1000 });
    recordBodies(app, bodies);
  });
  afterAll(async () => app?.close());

  describe('login', () => {
    it('returns an access token, a refresh token stored only as a hash, and the user', async () => {
      const response = await loginAs(ADMIN.email, ADMIN.password);
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body).toEqual({ accessToken: expect.any(String), refreshToken: expect.stringMatching(/^iron_rt_/), expiresIn: 900, user: { id: expect.any(String), email: ADMIN.email, role: 'admin' } });
      const session = await sessionOf(body.refreshToken);
      expect(session.tokenHash).toBe(hashToken(body.refreshToken));
      expect(session.userId).toBe(body.user.id);
      const days = (session.expiresAt.getTime() - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(29.9);
      expect(days).toBeLessThanOrEqual(30);
      expect((await me(`Bearer ${body.accessToken}`)).statusCode).toBe(200);
    });

    it('gives each login its own session family', async () => {
      const a = (await loginAs(ADMIN.email, ADMIN.password)).json();
      const b = (await loginAs(ADMIN.email, ADMIN.password)).json();
      expect((await sessionOf(a.refreshToken)).family).not.toBe((await sessionOf(b.refreshToken)).family);
    });

    it('treats the email case-insensitively', async () => {
      expect((await loginAs(ADMIN.email.toUpperCase(), ADMIN.password)).statusCode).toBe(200);
    });

    it('answers a wrong password and an unknown email identically', async () => {
      const wrongPassword = await loginAs(ADMIN.email, 'not the password at all');
      const unknownEmail = await loginAs('nobody@example.com', 'not the password at all');
      expect(wrongPassword.statusCode).toBe(401);
      expect(unknownEmail.statusCode).toBe(401);
      expect(wrongPassword.json()).toEqual(unknownEmail.json());
      expect(wrongPassword.json().error.code).toBe('IRON_UNAUTHORIZED');
    });
  });

  describe('failed logins', () => {
    const from = (address: string, email: string, password: string) =>
      app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress: address });

    it('slow down the address that fails, not the account: its owner signs in from another address meanwhile', async () => {
      const user = await createUser(app, 'admin');
      for (let i = 0; i < 5; i++) expect((await from('203.0.113.7', user.email, `wrong ${i}`)).statusCode).toBe(401);
      // The attacker's address must now wait, even with the right password (it cannot tell a lucky guess).
      const slowed = await from('203.0.113.7', user.email, 'a long enough password');
      expect(slowed.statusCode).toBe(429);
      expect(slowed.headers['retry-after']).toBe('1');
      expect(slowed.json().error).toEqual({ code: 'IRON_RATE_LIMITED', message: 'too many failed logins for this account from this address: try again in 1 s' });
      // The rightful owner, elsewhere, is not locked out: a sole admin cannot be kept out by anyone.
      expect((await from('198.51.100.20', user.email, 'a long enough password')).statusCode).toBe(200);
      // Each further failure doubles the wait.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await from('203.0.113.7', user.email, 'wrong again')).statusCode).toBe(401);
      expect((await from('203.0.113.7', user.email, 'wrong again')).headers['retry-after']).toBe('2');
    });

    it('treat unknown emails the same (no account enumeration), and a success ends the streak', async () => {
      for (let i = 0; i < 5; i++) await from('203.0.113.8', 'nobody-here@example.com', 'x');
      expect((await from('203.0.113.8', 'nobody-here@example.com', 'x')).statusCode).toBe(429);
      const user = await createUser(app, 'viewer');
      for (let i = 0; i < 4; i++) await from('203.0.113.9', user.email, 'wrong');
      expect((await from('203.0.113.9', user.email, 'a long enough password')).statusCode).toBe(200);
      for (let i = 0; i < 4; i++) await from('203.0.113.9', user.email, 'wrong');
      expect((await from('203.0.113.9', user.email, 'a long enough password')).statusCode).toBe(200);
    });

    it('admit no more guesses when they are sent all at once: 40 concurrent wrong passwords get 5 answers, the rest wait', async () => {
      const user = await createUser(app, 'admin');
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => from('203.0.113.10', user.email, `guess ${i}`)));
      const statuses = answers.map((answer) => answer.statusCode);
      // Five free failures; a sixth only once the 1 s wait the fifth set is over (a loaded machine can take that long).
      const late = Date.now() - started >= 1000 ? 1 : 0;
      expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(5);
      expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5 + late);
      expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
      // And the right password among a burst is refused too once the streak is full: no lucky guess slips through.
      const burst = await Promise.all([...Array.from({ length: 10 }, (_, i) => from('203.0.113.10', user.email, `more ${i}`)), from('203.0.113.10', user.email, 'a long enough password')]);
      const admitted = burst.filter((answer) => answer.statusCode !== 429).length;
      // The fifth failure set a 1 s wait: all of the burst waits when it came within that second. On a loaded machine
      // (CI, a database over the network) the 45 logins can outlast it: then one attempt is admitted, whose failure sets
      // a 2 s wait, and still no more than that one.
      if (Date.now() - started < 1000) expect(admitted).toBe(0);
      else expect(admitted).toBeLessThanOrEqual(1);
    });
  });

  it('answers odd requests in the one error shape, never 500: Infinity and huge paging, malformed URLs, 414, a refresh with no body', async () => {
    const admin = (await createUser(app, 'admin')).authorization;
    for (const url of ['/api/agents?offset=Infinity', '/api/agents?offset=1e20', '/api/traces?limit=Infinity', '/api/traces?offset=1e300', '/api/agents?limit=-Infinity', '/api/%E0%A4%A']) {
      const response = await app.inject({ url, headers: { authorization: admin } });
      expect([url, response.statusCode]).toEqual([url, 400]);
      expect(response.json().error.code).toBe('IRON_BAD_REQUEST');
    }
    const long = await app.inject({ url: `/api/agents/${'a'.repeat(200_000)}`, headers: { authorization: admin } });
    expect(long.statusCode).toBe(414);
    expect(long.json().error.code).toBe('IRON_URI_TOO_LONG');
    // NUL characters and lone surrogates, in URLs and bodies: 400 naming the field (they were 500s).
    const project = (await app.inject({ method: 'POST', url: '/api/projects', headers: { authorization: admin }, payload: { name: `odd-${Date.now()}` } })).json().id;
    const odd: Array<[string, string, unknown?]> = [
      ['GET', '/api/traces?q=%00abc'],
      ['GET', '/api/agents?status=%00'],
      ['GET', '/api/usage/by-provider/a%00b'],
      ['POST', '/api/projects', { name: 'a\u0000b' }],
      ['POST', '/api/projects', { name: 'lone \ud800' }],
      ['POST', '/api/tokens', { name: 'x\u0000', projectId: project }],
      ['POST', '/api/limits', { projectId: project, scope: 'model', target: 'gpt\u0000', kind: 'budget', amountUsd: 1, period: 'day' }],
    ];
    for (const [method, url, payload] of odd) {
      const response = await app.inject({ method: method as 'GET', url, headers: { authorization: admin, 'content-type': 'application/json' }, ...(payload ? { payload: JSON.stringify(payload) } : {}) });
      expect([url, response.statusCode]).toEqual([url, 400]);
      expect(response.json().error.message).toMatch(/contains a (NUL character|lone UTF-16 surrogate)/);
    }
    // The cookie alone carries the token: no body is needed (it was a 400 about the body).
    const noBody = await app.inject({ method: 'POST', url: '/api/auth/refresh', headers: { cookie: 'iron_refresh=iron_rt_unknown' } });
    expect(noBody.statusCode).toBe(401);
    expect(noBody.json().error.code).toBe('IRON_UNAUTHORIZED');
  });

  it('never lets a cache keep a token: login and refresh answer Cache-Control: no-store; the bearer scheme is any case; ?token= is not a REST credential', async () => {
    const response = await loginAs(ADMIN.email, ADMIN.password);
    expect(response.headers['cache-control']).toBe('no-store');
    expect((await post('/refresh', { refreshToken: response.json().refreshToken })).headers['cache-control']).toBe('no-store');
    const token = response.json().accessToken;
    expect((await me(`bearer ${token}`)).statusCode).toBe(200);
    expect((await me(`BEARER  ${token}`)).statusCode).toBe(200);
    expect((await app.inject({ url: `/api/auth/me?token=${token}` })).statusCode).toBe(401);
  });

  it('rate-limits login per IP with 429 in the one error shape', async () => {
    // A second app on the same database, with a tiny limit.
    const limited = await testApp('unused', { orm: app.orm, jwtSecret: SECRET, loginRateLimit: 2 });
    try {
      // Its own address: on PostgreSQL the count is shared with the other app (as between instances).
      const remoteAddress = '10.9.8.7';
      for (let i = 0; i < 2; i++) expect((await limited.inject({ method: 'POST', url: '/api/auth/login', remoteAddress, payload: { email: 'x@example.com', password: 'nope' } })).statusCode).toBe(401);
      const response = await limited.inject({ method: 'POST', url: '/api/auth/login', remoteAddress, payload: { email: ADMIN.email, password: ADMIN.password } });
      expect(response.statusCode).toBe(429);
      expect(response.json()).toEqual({ error: { code: 'IRON_RATE_LIMITED', message: expect.any(String) } });
      // Only login is limited.
      expect((await limited.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: 'iron_rt_unknown' } })).statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });

  describe('refresh', () => {
    it('rotates: the old session is marked rotated and a new one joins the same family', async () => {
      const first = (await loginAs(ADMIN.email, ADMIN.password)).json();
      const response = await refresh(first.refreshToken);
      expect(response.statusCode).toBe(200);
      const second = response.json();
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.user).toEqual(first.user);
      expect((await me(`Bearer ${second.accessToken}`)).statusCode).toBe(200);
      const old = await sessionOf(first.refreshToken);
      const fresh = await sessionOf(second.refreshToken);
      expect(old.rotatedAt).toBeInstanceOf(Date);
      expect(fresh.family).toBe(old.family);
      expect(fresh.rotatedAt).toBeNull();
      expect((await refresh(second.refreshToken)).statusCode).toBe(200);
    });

    it('detects reuse: a rotated token revokes the whole family, the newer token too', async () => {
      const first = (await loginAs(ADMIN.email, ADMIN.password)).json();
      const second = (await refresh(first.refreshToken)).json();
      const reuse = await refresh(first.refreshToken);
      expect(reuse.statusCode).toBe(401);
      expect(reuse.json().error.code).toBe('IRON_UNAUTHORIZED');
      expect((await refresh(second.refreshToken)).statusCode).toBe(401);
      const family = (await sessionOf(first.refreshToken)).family;
      const sessions = await app.orm.em.fork().find(Session, { family });
      expect(sessions).toHaveLength(2);
      for (const session of sessions) expect(session.revokedAt).toBeInstanceOf(Date);
    });

    it('lets only one of two concurrent refreshes with the same token win, and treats the loser as reuse', async () => {
      const { refreshToken } = (await loginAs(ADMIN.email, ADMIN.password)).json();
      const results = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
      const family = (await sessionOf(refreshToken)).family;
      for (const session of await app.orm.em.fork().find(Session, { family })) expect(session.revokedAt).toBeInstanceOf(Date);
    });

    it('refuses an expired refresh token', async () => {
      const { refreshToken } = (await loginAs(ADMIN.email, ADMIN.password)).json();
      await app.orm.em.fork().nativeUpdate(Session, { tokenHash: hashToken(refreshToken) }, { expiresAt: new Date(Date.now() - 1000) });
      expect((await refresh(refreshToken)).statusCode).toBe(401);
    });

    it('refuses an unknown refresh token and an access token in its place', async () => {
      expect((await refresh('iron_rt_made-up')).statusCode).toBe(401);
      const { accessToken } = (await loginAs(ADMIN.email, ADMIN.password)).json();
      expect((await refresh(accessToken)).statusCode).toBe(401);
    });

    it('refuses the tokens of a deleted user', async () => {
      const user = await createUser(app, 'member');
      const { refreshToken } = (await loginAs(user.email, 'a long enough password')).json();
      await app.orm.em.fork().nativeDelete(User, { id: user.id });
      expect((await refresh(refreshToken)).statusCode).toBe(401);
      expect((await me(user.authorization)).statusCode).toBe(401);
    });
  });

  describe('logout', () => {
    it('revokes the family of the presented refresh token', async () => {
      const first = (await loginAs(ADMIN.email, ADMIN.password)).json();
      const second = (await refresh(first.refreshToken)).json();
      const response = await post('/logout', { refreshToken: second.refreshToken }, `Bearer ${second.accessToken}`);
      expect(response.statusCode).toBe(204);
      expect((await refresh(second.refreshToken)).statusCode).toBe(401);
    });

    it("does not revoke another user's session", async () => {
      const victim = (await loginAs(ADMIN.email, ADMIN.password)).json();
      const other = await createUser(app, 'member');
      expect((await post('/logout', { refreshToken: victim.refreshToken }, other.authorization)).statusCode).toBe(204);
      expect((await refresh(victim.refreshToken)).statusCode).toBe(200);
    });

    it('needs authentication', async () => {
      const { refreshToken } = (await loginAs(ADMIN.email, ADMIN.password)).json();
      expect((await post('/logout', { refreshToken })).statusCode).toBe(401);
      expect((await refresh(refreshToken)).statusCode).toBe(200);
    });
  });

  describe('me', () => {
    it('returns the caller without secrets', async () => {
      const projectId = await createProject(app);
      const user = await createUser(app, 'member', [projectId]);
      const response = await me(user.authorization);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ id: user.id, email: user.email, role: 'member', projectIds: [projectId], lockedUntil: null, createdAt: expect.any(String) });
    });

    it('is for people: an API token gets 403', async () => {
      const { token } = await createApiToken(app, await createProject(app));
      expect((await me(`Bearer ${token}`)).statusCode).toBe(403);
    });
  });

  describe('hostile access tokens', () => {
    let good: string;
    let sub: string;
    beforeAll(async () => {
      const body = (await loginAs(ADMIN.email, ADMIN.password)).json();
      good = body.accessToken;
      sub = body.user.id;
    });

    it('every non-public route answers 401 without a token', async () => {
      for (const [method, path] of [['POST', '/api/auth/logout'], ['GET', '/api/auth/me']] as const) {
        const response = await app.inject({ method, url: path, payload: method === 'POST' ? { refreshToken: 'x' } : undefined });
        expect(response.statusCode, `${method} ${path}`).toBe(401);
        expect(response.json().error.code).toBe('IRON_UNAUTHORIZED');
      }
    });

    it('refuses a tampered signature', async () => {
      const last = good.at(-2) === 'A' ? 'B' : 'A';
      const tampered = good.slice(0, -2) + last + good.at(-1);
      expect(tampered).not.toBe(good);
      expect((await me(`Bearer ${tampered}`)).statusCode).toBe(401);
    });

    it('refuses a tampered payload (role raised to admin) with the original signature', async () => {
      const viewer = await createUser(app, 'viewer');
      const [header, payload, signature] = viewer.authorization.slice(7).split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`;
      expect((await app.inject({ method: 'GET', url: '/api/users', headers: { authorization: `Bearer ${forged}` } })).statusCode).toBe(401);
    });

    it('refuses an expired token, one without an expiry, one for another audience, and one without a session', async () => {
      const sid = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()).sid as string;
      const token = (claims: Record<string, unknown>) => new SignJWT({ role: 'admin', ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('iron-cage').setIssuedAt();
      const now = Math.floor(Date.now() / 1000);
      const expired = await token({ sid }).setAudience('iron-cage-api').setIssuedAt(now - 120).setExpirationTime(now - 60).sign(KEY);
      expect((await me(`Bearer ${expired}`)).statusCode).toBe(401);
      expect((await me(`Bearer ${await token({ sid }).setAudience('iron-cage-api').sign(KEY)}`)).statusCode).toBe(401); // no exp
      expect((await me(`Bearer ${await token({ sid }).setAudience('someone-else').setExpirationTime('1m').sign(KEY)}`)).statusCode).toBe(401);
      expect((await me(`Bearer ${await token({ sid }).setExpirationTime('1m').sign(KEY)}`)).statusCode).toBe(401); // no aud
      expect((await me(`Bearer ${await token({}).setAudience('iron-cage-api').setExpirationTime('1m').sign(KEY)}`)).statusCode).toBe(401); // no sid
      // The same claims, unexpired, for this audience and a live session, pass: each refusal above is its own claim.
      const valid = await token({ sid }).setAudience('iron-cage-api').setExpirationTime('1m').sign(KEY);
      expect((await me(`Bearer ${valid}`)).statusCode).toBe(200);
    });

    it('an access token ends with its session: logout, a password change, a reused refresh token', async () => {
      const member = await createUser(app, 'member');
      const userRow = await app.orm.em.fork().findOneOrFail(User, { id: member.id });
      const signIn = async () => (await post('/login', { email: userRow.email, password: 'a long enough password' })).json() as { accessToken: string; refreshToken: string };
      // Logout: the access token of that login stops working at once (it had 15 minutes left).
      let session = await signIn();
      expect((await me(`Bearer ${session.accessToken}`)).statusCode).toBe(200);
      expect((await post('/logout', {}, `Bearer ${session.accessToken}`)).statusCode).toBe(204);
      expect((await me(`Bearer ${session.accessToken}`)).statusCode).toBe(401);
      // A password change ends every session of the user.
      session = await signIn();
      const other = await signIn();
      const admin = await createUser(app, 'admin');
      expect((await app.inject({ method: 'PATCH', url: `/api/users/${member.id}`, headers: { authorization: admin.authorization }, payload: { password: 'a brand new long password' } })).statusCode).toBe(200);
      for (const s of [session, other]) expect((await me(`Bearer ${s.accessToken}`)).statusCode).toBe(401);
      // Reuse detection: a rotated refresh token presented again ends the family and its access tokens.
      const fresh = (await post('/login', { email: userRow.email, password: 'a brand new long password' })).json() as { accessToken: string; refreshToken: string };
      const rotated = (await post('/refresh', { refreshToken: fresh.refreshToken })).json() as { accessToken: string };
      expect((await me(`Bearer ${rotated.accessToken}`)).statusCode).toBe(200);
      expect((await post('/refresh', { refreshToken: fresh.refreshToken })).statusCode).toBe(401);
      expect((await me(`Bearer ${rotated.accessToken}`)).statusCode).toBe(401);
      expect((await me(`Bearer ${fresh.accessToken}`)).statusCode).toBe(401);
    });

    it('refuses alg: none', async () => {
      const now = Math.floor(Date.now() / 1000);
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, role: 'admin', iss: 'iron-cage', iat: now, exp: now + 600 })}.`;
      expect((await me(`Bearer ${none}`)).statusCode).toBe(401);
    });

    it('refuses a token signed with another key, another issuer, or garbage', async () => {
      const otherKey = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('iron-cage').setExpirationTime('1m').sign(new TextEncoder().encode('another key entirely, also long enough'));
      const otherIssuer = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('someone-else').setExpirationTime('1m').sign(KEY);
      for (const token of [otherKey, otherIssuer, 'garbage', 'a.b.c', 'iron_pat_made-up']) expect((await me(`Bearer ${token}`)).statusCode, token).toBe(401);
      expect((await me('Basic YWRtaW46YWRtaW4=')).statusCode).toBe(401);
    });
  });

  describe('bad requests', () => {
    it('reports schema errors as 400 with the path of the bad field', async () => {
      const wrongType = await post('/login', { email: { $ne: null }, password: 'x' });
      expect(wrongType.statusCode).toBe(400);
      expect(wrongType.json().error.code).toBe('IRON_BAD_REQUEST');
      expect(wrongType.json().error.details.path).toBe('body/email');
      expect(wrongType.json().error.message).toContain('body/email');

      const missing = await post('/login', { email: ADMIN.email });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error.message).toContain('password');

      const extra = await post('/refresh', { refreshToken: 'x', admin: true });
      expect(extra.statusCode).toBe(400);

      const notJson = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email":' });
      expect(notJson.statusCode).toBe(400);
      expect(notJson.json().error.code).toBe('IRON_BAD_REQUEST');
    });

    it('refuses an anonymous request with 401 before it reads the body, on every authenticated route that takes one', async () => {
      // A bad body must not earn an anonymous caller a 400 that describes the schema.
      const routes: Array<[string, string]> = [
        ['POST', '/api/events'],
        ['POST', '/api/leases'],
        ['POST', '/api/leases/00000000-0000-4000-8000-000000000000/renew'],
        ['POST', '/api/webhooks'],
        ['POST', '/api/limits'],
        ['POST', '/api/tokens'],
        ['POST', '/api/projects'],
        ['POST', '/api/users'],
        ['GET', '/api/agents?limit=bogus'],
        ['GET', '/api/traces?status=bogus'],
      ];
      for (const [method, url] of routes) {
        const response = await app.inject({ method: method as 'POST', url, headers: { 'content-type': 'application/json' }, payload: method === 'GET' ? undefined : '{"not":"the schema"}' });
        expect([url, response.statusCode]).toEqual([url, 401]);
        expect(response.json().error.code).toBe('IRON_UNAUTHORIZED');
        expect(response.body).not.toContain('must have required property');
      }
    });

    it('answers 413 IRON_PAYLOAD_TOO_LARGE for a body over the limit', async () => {
      const response = await post('/login', { email: ADMIN.email, password: 'x'.repeat(1024 * 1024 + 10) });
      expect(response.statusCode).toBe(413);
      expect(response.json().error.code).toBe('IRON_PAYLOAD_TOO_LARGE');
    });
  });

  it('never sent a password hash, a token hash or a refresh token hash', async () => {
    const sessions = await app.orm.em.fork().find(Session, {});
    const hashes = [...sessions.map((s) => s.tokenHash), ...refreshTokens.map(hashToken)];
    expect(hashes.length).toBeGreaterThan(10);
    expect(bodies.length).toBeGreaterThan(50);
    for (const body of bodies) {
      expect(body).not.toContain('passwordHash');
      expect(body).not.toContain('tokenHash');
      expect(body).not.toContain('scrypt$');
      for (const hash of hashes) expect(body).not.toContain(hash);
    }
  });
});
