// The server key at rest: in a 0600 file beside a SQLite database (never inside it), the same across restarts, and
// webhook signing secrets stored sealed with it.
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './db.ts';
import { Setting, Webhook } from './entities/index.ts';
import { createProject, createUser, login, testApp } from './testing.ts';

describe('the server key', () => {
  it('lives in <db>.key (0600), not in the database, and signs the same tokens after a restart', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'iron-key-')), 'iron.db');
    let app = await testApp(db);
    const token = await login(app);
    await app.close();
    expect(statSync(`${db}.key`).mode & 0o777).toBe(0o600);
    const orm = await openDatabase({ url: db });
    expect(await orm.em.fork().count(Setting, { key: 'jwt_key' })).toBe(0);
    await orm.close();
    app = await testApp(db);
    expect((await app.inject({ url: '/api/auth/me', headers: { authorization: token } })).statusCode).toBe(200);
    await app.close();
  });

  it('moves a key an older version kept in the database out to the file', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'iron-key-')), 'iron.db');
    const orm = await openDatabase({ url: db });
    const em = orm.em.fork();
    em.create(Setting, { key: 'jwt_key', value: Buffer.alloc(32, 7).toString('base64url') });
    await em.flush();
    await orm.close();
    const app = await testApp(db);
    expect(readFileSync(`${db}.key`, 'utf8').trim()).toBe(Buffer.alloc(32, 7).toString('base64url'));
    expect(await app.orm.em.fork().count(Setting, { key: 'jwt_key' })).toBe(0);
    await app.close();
  });

  it('seals webhook signing secrets (and seals ones an older version stored in clear at start)', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'iron-key-')), 'iron.db');
    const app = await testApp(db);
    const projectId = await createProject(app);
    const admin = await createUser(app, 'admin');
    const created = (await app.inject({ method: 'POST', url: '/api/webhooks', headers: { authorization: admin.authorization }, payload: { projectId, url: 'https://hooks.example.com/x', events: ['PiiAlert'] } })).json();
    const row = await app.orm.em.fork().findOneOrFail(Webhook, { id: created.id });
    expect(row.secret).toMatch(/^enc1:/);
    expect(row.secret).not.toContain(created.secret.slice(6));
    expect(app.serverKey.open(row.secret)).toBe(created.secret);
    // A clear secret from before: sealed when the server next starts.
    await app.orm.em.fork().nativeUpdate(Webhook, { id: created.id }, { secret: 'whsec_legacy-clear-secret' });
    await app.close();
    const restarted = await testApp(db);
    await restarted.ready();
    const sealed = await restarted.orm.em.fork().findOneOrFail(Webhook, { id: created.id });
    expect(sealed.secret).toMatch(/^enc1:/);
    expect(restarted.serverKey.open(sealed.secret)).toBe('whsec_legacy-clear-secret');
    await restarted.close();
    expect(existsSync(`${db}.key`)).toBe(true);
  });
});

describe('IRON_JWT_SECRET', () => {
  it('refuses a secret shorter than 32 bytes with a config error naming it (an empty one too)', async () => {
    for (const secret of ['', 'short', 'x'.repeat(31)]) {
      await expect(testApp(':memory:', { jwtSecret: secret })).rejects.toMatchObject({ code: 'IRON_CONFIG_INVALID', message: expect.stringMatching(/^IRON_JWT_SECRET is \d+ bytes; it must be at least 32/) });
    }
    const app = await testApp(':memory:', { jwtSecret: 'x'.repeat(32) });
    expect(app.serverKey.source).toBe('IRON_JWT_SECRET');
    await app.close();
  });
});
