// The first admin: created from IRON_ADMIN_EMAIL / IRON_ADMIN_PASSWORD (or `iron server --init-admin`) when no user exists.
import type { Orm } from '../db.ts';
import { User } from '../entities/index.ts';
import { hashPassword } from './passwords.ts';
import { randomUUID } from 'node:crypto';

export const MIN_PASSWORD_LENGTH = 12;

/** How many users the server has (none: nobody can sign in yet). */
export async function userCount(orm: Orm): Promise<number> {
  return orm.em.fork().count(User, {});
}

/** Creates the admin if the users table is empty; returns whether it did. */
export async function ensureAdmin(orm: Orm, email: string, password: string): Promise<boolean> {
  const em = orm.em.fork();
  if ((await em.count(User, {})) > 0) return false;
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`the admin password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  em.create(User, { id: randomUUID(), email: email.toLowerCase(), passwordHash: await hashPassword(password), role: 'admin' });
  try {
    await em.flush();
  } catch (error) {
    // Two instances starting at once on a new database: the other one created this admin first.
    if (await orm.em.fork().count(User, { email: email.toLowerCase() })) return false;
    throw error;
  }
  return true;
}
