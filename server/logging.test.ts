// Logs never carry a credential or a password hash: request URLs are redacted, auth headers are not logged.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ADMIN, createApiToken, createProject, createUser, TEST_DATABASES, testApp } from './testing.ts';

describe('server logs', () => {
  it('redact tokens in URLs and never show an Authorization header, a password or a hash', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = await testApp(await TEST_DATABASES[0]!.url(), { logger: { level: 'info', stream } });
    const projectId = await createProject(app);
    const { token } = await createApiToken(app, projectId);
    await app.inject({ method: 'GET', url: `/api/agents?token=${token}` });
    await app.inject({ method: 'GET', url: '/api/agents', headers: { authorization: `Bearer ${token}` } });
    await app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN });
    await app.close();
    const log = lines.join('');
    expect(log).toContain('[redacted]');
    expect(log).toContain('/api/agents');
    for (const secret of [token, ADMIN.password, 'scrypt$', 'Bearer ']) expect(log).not.toContain(secret);
  });

  it('a deleted user\'s access token stops working at once', async () => {
    const app = await testApp(await TEST_DATABASES[0]!.url());
    const member = await createUser(app, 'member');
    expect((await app.inject({ url: '/api/projects', headers: { authorization: member.authorization } })).statusCode).toBe(200);
    const admin = await createUser(app, 'admin');
    expect((await app.inject({ method: 'DELETE', url: `/api/users/${member.id}`, headers: { authorization: admin.authorization } })).statusCode).toBeLessThan(300);
    expect((await app.inject({ url: '/api/projects', headers: { authorization: member.authorization } })).statusCode).toBe(401);
    await app.close();
  });
});
