// /api/users, /api/tokens, /api/projects: who may do what, the shapes sent back, and that no secret ever leaves.
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from './auth/secrets.ts';
import { ApiToken, Membership, Session, User } from './entities/index.ts';
import { ADMIN, createApiToken, createProject, createUser, login, TEST_DATABASES, testApp, recordBodies } from './testing.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const PASSWORD = 'a long enough password';

describe.each(TEST_DATABASES)('users, tokens and projects on $name', ({ url }) => {
  let app: FastifyInstance;
  let admin: string;
  let adminId: string;
  const bodies: string[] = [];

  const call = (method: Method, path: string, authorization?: string, payload?: object) =>
    app.inject({ method, url: path, headers: authorization ? { authorization } : {}, ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    app = await testApp(await url(), { loginRateLimit: 1000 });
    recordBodies(app, bodies);
    admin = await login(app);
    adminId = (await app.orm.em.fork().findOneOrFail(User, { email: ADMIN.email })).id;
  });
  afterAll(async () => app?.close());

  it('every route answers 401 without a token, and with a garbage token', async () => {
    const id = randomUUID();
    const routes: Array<[Method, string]> = [
      ['GET', '/api/users'], ['POST', '/api/users'], ['GET', `/api/users/${id}`], ['PATCH', `/api/users/${id}`], ['DELETE', `/api/users/${id}`],
      ['GET', '/api/tokens'], ['POST', '/api/tokens'], ['DELETE', `/api/tokens/${id}`],
      ['GET', '/api/projects'], ['POST', '/api/projects'], ['GET', `/api/projects/${id}`], ['PATCH', `/api/projects/${id}`], ['DELETE', `/api/projects/${id}`],
      ['GET', `/api/projects/${id}/members`], ['POST', `/api/projects/${id}/members`], ['DELETE', `/api/projects/${id}/members/${id}`],
    ];
    for (const [method, path] of routes) {
      // Even with a body that would fail validation: authentication comes first.
      const payload = method === 'POST' || method === 'PATCH' ? { nonsense: true } : undefined;
      for (const authorization of [undefined, 'Bearer not-a-token']) {
        const response = await call(method, path, authorization, payload);
        expect(response.statusCode, `${method} ${path}`).toBe(401);
        expect(response.json().error.code).toBe('IRON_UNAUTHORIZED');
      }
    }
  });

  describe('users', () => {
    it('creates a user who can then log in; the response has no hash', async () => {
      const projectId = await createProject(app);
      const response = await call('POST', '/api/users', admin, { email: 'New.Person@Example.com', password: PASSWORD, role: 'member', projectIds: [projectId] });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({ id: expect.any(String), email: 'new.person@example.com', role: 'member', projectIds: [projectId], lockedUntil: null, createdAt: expect.any(String) });
      const member = await login(app, 'new.person@example.com', PASSWORD);
      expect((await call('GET', `/api/projects/${projectId}`, member)).statusCode).toBe(200);
    });

    it('refuses a duplicate email (whatever the case) with 409', async () => {
      await call('POST', '/api/users', admin, { email: 'dup@example.com', password: PASSWORD, role: 'viewer' });
      const response = await call('POST', '/api/users', admin, { email: 'DUP@example.com', password: PASSWORD, role: 'viewer' });
      expect(response.statusCode).toBe(409);
      expect(response.json().error.code).toBe('IRON_CONFLICT');
    });

    it('validates the body: 400 with the path of the bad field, never 500', async () => {
      const cases: Array<[object, string]> = [
        [{ email: 'short@example.com', password: 'too short', role: 'viewer' }, 'body/password'],
        [{ email: 'not an email', password: PASSWORD, role: 'viewer' }, 'body/email'],
        [{ email: 'role@example.com', password: PASSWORD, role: 'root' }, 'body/role'],
        [{ email: 'ids@example.com', password: PASSWORD, role: 'viewer', projectIds: ['not-a-uuid'] }, 'body/projectIds/0'],
        [{ email: 'unknown@example.com', password: PASSWORD, role: 'viewer', projectIds: [randomUUID()] }, 'body/projectIds'],
      ];
      for (const [payload, path] of cases) {
        const response = await call('POST', '/api/users', admin, payload);
        expect(response.statusCode, path).toBe(400);
        expect(response.json().error.code).toBe('IRON_BAD_REQUEST');
        expect(response.json().error.details.path).toBe(path);
      }
      const badId = await call('GET', '/api/users/not-a-uuid', admin);
      expect(badId.statusCode).toBe(400);
      expect(badId.json().error.details.path).toBe('params/id');
      expect((await call('PATCH', `/api/users/${adminId}`, admin, {})).statusCode).toBe(400);
    });

    it('lists and gets users', async () => {
      const user = await createUser(app, 'viewer');
      const list = await call('GET', '/api/users', admin);
      expect(list.statusCode).toBe(200);
      expect(list.json().users.map((u: { email: string }) => u.email)).toEqual(expect.arrayContaining([ADMIN.email, user.email]));
      const one = await call('GET', `/api/users/${user.id}`, admin);
      expect(one.json()).toMatchObject({ id: user.id, email: user.email, role: 'viewer', projectIds: [] });
      expect((await call('GET', `/api/users/${randomUUID()}`, admin)).statusCode).toBe(404);
    });

    it('updates role, memberships (replacing them) and password; a new password ends old sessions and a lockout', async () => {
      const [a, b] = [await createProject(app), await createProject(app)];
      const user = await createUser(app, 'viewer', [a]);
      const session = (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: PASSWORD } })).json();
      await app.orm.em.fork().nativeUpdate(User, { id: user.id }, { failedLogins: 3, lockedUntil: new Date(Date.now() + 60_000) });

      const response = await call('PATCH', `/api/users/${user.id}`, admin, { role: 'member', projectIds: [b], password: 'a brand new password' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ role: 'member', projectIds: [b], lockedUntil: null });
      const memberships = await app.orm.em.fork().find(Membership, { userId: user.id });
      expect(memberships.map((m) => m.projectId)).toEqual([b]);
      const old = await app.orm.em.fork().findOneOrFail(Session, { tokenHash: hashToken(session.refreshToken) });
      expect(old.revokedAt).toBeInstanceOf(Date);
      expect((await app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: session.refreshToken } })).statusCode).toBe(401);
      await login(app, user.email, 'a brand new password');
      expect((await call('PATCH', `/api/users/${randomUUID()}`, admin, { role: 'viewer' })).statusCode).toBe(404);
    });

    it('will not demote the last admin', async () => {
      const response = await call('PATCH', `/api/users/${adminId}`, admin, { role: 'member' });
      expect(response.statusCode).toBe(409);
    });

    it('deletes users, but not yourself', async () => {
      const self = await call('DELETE', `/api/users/${adminId}`, admin);
      expect(self.statusCode).toBe(400);
      const projectId = await createProject(app);
      const user = await createUser(app, 'member', [projectId]);
      // An API token the member made: it must not outlive them.
      const made = (await call('POST', '/api/tokens', user.authorization, { name: 'theirs', projectId })).json();
      expect((await call('GET', `/api/projects/${projectId}`, `Bearer ${made.token}`)).statusCode).toBe(200);
      expect((await call('DELETE', `/api/users/${user.id}`, admin)).statusCode).toBe(204);
      expect((await call('GET', `/api/projects/${projectId}`, `Bearer ${made.token}`)).statusCode).toBe(401);
      expect((await app.orm.em.fork().findOneOrFail(ApiToken, { id: made.id })).revokedAt).toBeInstanceOf(Date);
      expect((await call('GET', `/api/users/${user.id}`, admin)).statusCode).toBe(404);
      expect(await app.orm.em.fork().count(Membership, { userId: user.id })).toBe(0);
      expect((await call('DELETE', `/api/users/${user.id}`, admin)).statusCode).toBe(404);
    });

    it('is for admins only: members and viewers get 403, API tokens too', async () => {
      const projectId = await createProject(app);
      const member = await createUser(app, 'member', [projectId]);
      const viewer = await createUser(app, 'viewer', [projectId]);
      const { token } = await createApiToken(app, projectId);
      for (const authorization of [member.authorization, viewer.authorization, `Bearer ${token}`]) {
        expect((await call('GET', '/api/users', authorization)).statusCode).toBe(403);
        const create = await call('POST', '/api/users', authorization, { email: `x-${randomUUID()}@example.com`, password: PASSWORD, role: 'admin' });
        expect(create.statusCode).toBe(403);
        expect(create.json().error.code).toBe('IRON_FORBIDDEN');
        expect((await call('PATCH', `/api/users/${member.id}`, authorization, { role: 'admin' })).statusCode).toBe(403);
        expect((await call('DELETE', `/api/users/${adminId}`, authorization)).statusCode).toBe(403);
      }
    });
  });

  describe('API tokens', () => {
    it('creates a token shown once, stored only as its hash, that works at once', async () => {
      const projectId = await createProject(app);
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const response = await call('POST', '/api/tokens', admin, { name: 'ci', projectId, expiresAt });
      expect(response.statusCode).toBe(201);
      // A one-time secret: no cache may keep it.
      expect(response.headers['cache-control']).toBe('no-store');
      const body = response.json();
      expect(body).toEqual({ id: expect.any(String), name: 'ci', projectId, token: expect.stringMatching(/^iron_pat_/), prefix: body.token.slice(0, 13), expiresAt, createdAt: expect.any(String) });
      const row = await app.orm.em.fork().findOneOrFail(ApiToken, { id: body.id });
      expect(row.tokenHash).toBe(hashToken(body.token));
      expect(row.createdBy).toBe(adminId);
      expect((await call('GET', `/api/projects/${projectId}`, `Bearer ${body.token}`)).statusCode).toBe(200);

      const list = await call('GET', `/api/tokens?projectId=${projectId}`, admin);
      expect(list.statusCode).toBe(200);
      expect(list.json().tokens).toHaveLength(1);
      const listed = list.json().tokens[0];
      expect(listed).toMatchObject({ id: body.id, name: 'ci', prefix: body.prefix, revokedAt: null });
      expect(listed.lastUsedAt).toEqual(expect.any(String));
      expect(listed).not.toHaveProperty('token');
      expect(list.body).not.toContain(body.token);
    });

    it('revokes: the token stops working on the next request', async () => {
      const projectId = await createProject(app);
      const { token, id } = (await call('POST', '/api/tokens', admin, { name: 'to revoke', projectId })).json();
      expect((await call('GET', '/api/projects', `Bearer ${token}`)).statusCode).toBe(200);
      expect((await call('DELETE', `/api/tokens/${id}`, admin)).statusCode).toBe(204);
      expect((await call('GET', '/api/projects', `Bearer ${token}`)).statusCode).toBe(401);
      expect((await call('DELETE', `/api/tokens/${id}`, admin)).statusCode).toBe(204);
      const list = (await call('GET', `/api/tokens?projectId=${projectId}`, admin)).json();
      expect(list.tokens[0].revokedAt).toEqual(expect.any(String));
      expect((await call('DELETE', `/api/tokens/${randomUUID()}`, admin)).statusCode).toBe(404);
    });

    it('refuses an expired token', async () => {
      const projectId = await createProject(app);
      const { token } = await createApiToken(app, projectId, { expiresAt: new Date(Date.now() - 1000) });
      expect((await call('GET', `/api/projects/${projectId}`, `Bearer ${token}`)).statusCode).toBe(401);
    });

    it('validates expiry and project', async () => {
      const projectId = await createProject(app);
      const past = await call('POST', '/api/tokens', admin, { name: 'x', projectId, expiresAt: new Date(Date.now() - 1000).toISOString() });
      expect(past.statusCode).toBe(400);
      expect(past.json().error.details.path).toBe('body/expiresAt');
      const notDate = await call('POST', '/api/tokens', admin, { name: 'x', projectId, expiresAt: 'tomorrow' });
      expect(notDate.statusCode).toBe(400);
      expect(notDate.json().error.details.path).toBe('body/expiresAt');
      expect((await call('POST', '/api/tokens', admin, { name: 'x', projectId: randomUUID() })).statusCode).toBe(404);
      expect((await call('POST', '/api/tokens', admin, { name: '', projectId })).json().error.details.path).toBe('body/name');
    });

    it('lets members manage tokens of their own projects only; viewers and API tokens not at all', async () => {
      const [mine, theirs] = [await createProject(app), await createProject(app)];
      const member = await createUser(app, 'member', [mine]);
      const created = await call('POST', '/api/tokens', member.authorization, { name: 'mine', projectId: mine });
      expect(created.statusCode).toBe(201);
      expect((await call('POST', '/api/tokens', member.authorization, { name: 'theirs', projectId: theirs })).statusCode).toBe(404);
      const foreign = await createApiToken(app, theirs);
      expect((await call('DELETE', `/api/tokens/${foreign.id}`, member.authorization)).statusCode).toBe(404);
      expect((await call('GET', `/api/tokens?projectId=${theirs}`, member.authorization)).statusCode).toBe(404);
      const listed = (await call('GET', '/api/tokens', member.authorization)).json().tokens;
      expect(listed.map((t: { projectId: string }) => t.projectId)).toEqual([mine]);
      expect((await call('DELETE', `/api/tokens/${created.json().id}`, member.authorization)).statusCode).toBe(204);

      const viewer = await createUser(app, 'viewer', [mine]);
      expect((await call('POST', '/api/tokens', viewer.authorization, { name: 'v', projectId: mine })).statusCode).toBe(403);
      expect((await call('GET', '/api/tokens', viewer.authorization)).statusCode).toBe(403);
      const { token } = await createApiToken(app, mine);
      expect((await call('POST', '/api/tokens', `Bearer ${token}`, { name: 't', projectId: mine })).statusCode).toBe(403);
    });
  });

  describe('projects', () => {
    it('creates (admin only) and refuses a duplicate name with 409', async () => {
      const name = `p-${randomUUID().slice(0, 8)}`;
      const response = await call('POST', '/api/projects', admin, { name, storePrompts: true });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({ id: expect.any(String), name, storePrompts: true, createdAt: expect.any(String) });
      const duplicate = await call('POST', '/api/projects', admin, { name });
      expect(duplicate.statusCode).toBe(409);
      expect(duplicate.json().error.code).toBe('IRON_CONFLICT');
      expect((await call('POST', '/api/projects', admin, { name: '   ' })).json().error.details.path).toBe('body/name');
      expect((await call('POST', '/api/projects', admin, { name: 'x', storePrompts: 'sometimes' })).json().error.details.path).toBe('body/storePrompts');
    });

    it('refuses project creation to viewers and members (403)', async () => {
      for (const role of ['viewer', 'member'] as const) {
        const user = await createUser(app, role);
        const response = await call('POST', '/api/projects', user.authorization, { name: `no-${randomUUID()}` });
        expect(response.statusCode).toBe(403);
        expect(response.json().error.code).toBe('IRON_FORBIDDEN');
      }
    });

    it('shows each caller what they may see; other projects are 404, not 403', async () => {
      const [mine, theirs] = [await createProject(app), await createProject(app)];
      const member = await createUser(app, 'member', [mine]);
      const listed = (await call('GET', '/api/projects', member.authorization)).json().projects;
      expect(listed.map((p: { id: string }) => p.id)).toEqual([mine]);
      expect((await call('GET', `/api/projects/${mine}`, member.authorization)).statusCode).toBe(200);
      const other = await call('GET', `/api/projects/${theirs}`, member.authorization);
      expect(other.statusCode).toBe(404);
      // A missing project and a hidden one look the same.
      const missing = await call('GET', `/api/projects/${randomUUID()}`, member.authorization);
      expect(missing.statusCode).toBe(404);
      expect(other.json().error.code).toBe(missing.json().error.code);

      const all = (await call('GET', '/api/projects', admin)).json().projects.map((p: { id: string }) => p.id);
      expect(all).toEqual(expect.arrayContaining([mine, theirs]));
      const { token } = await createApiToken(app, theirs);
      expect((await call('GET', '/api/projects', `Bearer ${token}`)).json().projects.map((p: { id: string }) => p.id)).toEqual([theirs]);
      expect((await call('GET', `/api/projects/${mine}`, `Bearer ${token}`)).statusCode).toBe(404);
    });

    it('updates (admin only), refusing a name in use', async () => {
      const [a, b] = [await createProject(app), await createProject(app)];
      const bName = (await call('GET', `/api/projects/${b}`, admin)).json().name;
      const renamed = await call('PATCH', `/api/projects/${a}`, admin, { name: `renamed-${a.slice(0, 8)}`, storePrompts: true });
      expect(renamed.statusCode).toBe(200);
      expect(renamed.json()).toMatchObject({ id: a, name: `renamed-${a.slice(0, 8)}`, storePrompts: true });
      expect((await call('PATCH', `/api/projects/${a}`, admin, { name: bName })).statusCode).toBe(409);
      expect((await call('PATCH', `/api/projects/${randomUUID()}`, admin, { storePrompts: false })).statusCode).toBe(404);
      const member = await createUser(app, 'member', [a]);
      expect((await call('PATCH', `/api/projects/${a}`, member.authorization, { storePrompts: false })).statusCode).toBe(403);
    });

    it('adds and removes members (admin only)', async () => {
      const projectId = await createProject(app);
      const user = await createUser(app, 'viewer');
      expect((await call('GET', `/api/projects/${projectId}`, user.authorization)).statusCode).toBe(404);
      const added = await call('POST', `/api/projects/${projectId}/members`, admin, { userId: user.id });
      expect(added.statusCode).toBe(201);
      expect(added.json()).toEqual({ projectId, userId: user.id, email: user.email, role: 'viewer' });
      expect((await call('GET', `/api/projects/${projectId}`, user.authorization)).statusCode).toBe(200);
      expect((await call('POST', `/api/projects/${projectId}/members`, admin, { userId: user.id })).statusCode).toBe(409);
      expect((await call('POST', `/api/projects/${projectId}/members`, admin, { userId: randomUUID() })).statusCode).toBe(404);
      expect((await call('POST', `/api/projects/${randomUUID()}/members`, admin, { userId: user.id })).statusCode).toBe(404);
      const member = await createUser(app, 'member', [projectId]);
      expect((await call('POST', `/api/projects/${projectId}/members`, member.authorization, { userId: member.id })).statusCode).toBe(403);
      expect((await call('DELETE', `/api/projects/${projectId}/members/${user.id}`, member.authorization)).statusCode).toBe(403);

      expect((await call('DELETE', `/api/projects/${projectId}/members/${user.id}`, admin)).statusCode).toBe(204);
      expect((await call('GET', `/api/projects/${projectId}`, user.authorization)).statusCode).toBe(404);
      expect((await call('DELETE', `/api/projects/${projectId}/members/${user.id}`, admin)).statusCode).toBe(404);
    });

    it('lists members to whoever sees the project, and adds one by email (any case) as well as by id', async () => {
      const projectId = await createProject(app);
      const viewer = await createUser(app, 'viewer', [projectId]);
      const member = await createUser(app, 'member');
      const added = await call('POST', `/api/projects/${projectId}/members`, admin, { email: member.email.toUpperCase() });
      expect(added.statusCode, added.body).toBe(201);
      expect(added.json()).toEqual({ projectId, userId: member.id, email: member.email, role: 'member' });
      expect((await call('POST', `/api/projects/${projectId}/members`, admin, { email: member.email })).statusCode).toBe(409);
      const unknown = await call('POST', `/api/projects/${projectId}/members`, admin, { email: 'nobody-here@example.com' });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toMatchObject({ code: 'IRON_NOT_FOUND', message: 'no user has the email nobody-here@example.com: create them on the Users page (POST /api/users) first', details: { path: 'body/email' } });
      // Neither or both: the body is one of the two shapes.
      expect((await call('POST', `/api/projects/${projectId}/members`, admin, {})).statusCode).toBe(400);
      expect((await call('POST', `/api/projects/${projectId}/members`, admin, { userId: member.id, email: member.email })).statusCode).toBe(400);

      const expected = { members: [member, viewer].sort((a, b) => a.email.localeCompare(b.email)).map((u) => ({ userId: u.id, email: u.email, role: u === member ? 'member' : 'viewer' })) };
      for (const authorization of [admin, viewer.authorization, member.authorization]) {
        const listed = await call('GET', `/api/projects/${projectId}/members`, authorization);
        expect(listed.statusCode).toBe(200);
        expect(listed.json()).toEqual(expected);
      }
      // Someone outside the project, and a project that is not there: 404, as for the project itself.
      const outsider = await createUser(app, 'member');
      expect((await call('GET', `/api/projects/${projectId}/members`, outsider.authorization)).statusCode).toBe(404);
      expect((await call('GET', `/api/projects/${randomUUID()}/members`, admin)).statusCode).toBe(404);
    });

    it('deletes (admin only) with its tokens and memberships', async () => {
      const projectId = await createProject(app);
      const member = await createUser(app, 'member', [projectId]);
      const { token } = await createApiToken(app, projectId);
      expect((await call('DELETE', `/api/projects/${projectId}`, member.authorization)).statusCode).toBe(403);
      expect((await call('DELETE', `/api/projects/${projectId}`, admin)).statusCode).toBe(204);
      expect((await call('GET', `/api/projects/${projectId}`, admin)).statusCode).toBe(404);
      expect((await call('GET', '/api/projects', `Bearer ${token}`)).statusCode).toBe(401);
      expect(await app.orm.em.fork().count(Membership, { projectId })).toBe(0);
      expect((await call('DELETE', `/api/projects/${projectId}`, admin)).statusCode).toBe(404);
    });

    it('answers 413 IRON_PAYLOAD_TOO_LARGE for a body over the limit', async () => {
      const response = await call('POST', '/api/projects', admin, { name: 'x'.repeat(1024 * 1024 + 10) });
      expect(response.statusCode).toBe(413);
      expect(response.json().error).toEqual({ code: 'IRON_PAYLOAD_TOO_LARGE', message: expect.any(String) });
    });
  });

  it('never sent a password hash, a token hash or a refresh token hash', async () => {
    const em = app.orm.em.fork();
    const hashes = [...(await em.find(Session, {})).map((s) => s.tokenHash), ...(await em.find(ApiToken, {})).map((t) => t.tokenHash)];
    const passwordHashes = (await em.find(User, {})).map((u) => u.passwordHash);
    expect(hashes.length).toBeGreaterThan(5);
    expect(bodies.length).toBeGreaterThan(50);
    for (const body of bodies) {
      expect(body).not.toContain('passwordHash');
      expect(body).not.toContain('tokenHash');
      expect(body).not.toContain('scrypt$');
      for (const hash of [...hashes, ...passwordHashes]) expect(body).not.toContain(hash);
    }
  });
});
