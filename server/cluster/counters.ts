// Counters every server instance shares, kept in the database (or Redis, for the rate limit, when IRON_REDIS_URL is
// set) instead of one process's memory: N instances behind a load balancer enforce one login rate limit and one
// failed-login streak per account and address. Each update is one atomic upsert, so two instances counting the same
// key at once never lose a hit.
import type { EntityManager } from '@mikro-orm/core';
import { createHash } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type { Orm } from '../db.ts';
import { kysely } from '../ingest/db.ts';

type Row = Record<string, unknown>;

/** Runs `query` with bound parameters (keys hold NUL and quotes: never interpolated into the text). */
async function execute(em: EntityManager, query: RawBuilder<unknown>): Promise<Row[]> {
  return (await query.execute(kysely(em))).rows as Row[];
}

/** Hits of `key` in its current fixed window (opened by the first hit), counted atomically. */
export async function countHit(orm: Orm, key: string, windowMs: number, now = Date.now()): Promise<{ count: number; resetAt: number }> {
  const [row] = await execute(
    orm.em.fork(),
    sql`insert into "rate_limit_hits" ("key", "count", "reset_at") values (${key}, 1, ${now + windowMs})
     on conflict ("key") do update set
       "count" = case when "rate_limit_hits"."reset_at" <= ${now} then 1 else "rate_limit_hits"."count" + 1 end,
       "reset_at" = case when "rate_limit_hits"."reset_at" <= ${now} then ${now + windowMs} else "rate_limit_hits"."reset_at" end
     returning "count", "reset_at"`,
  );
  return { count: Number(row!.count), resetAt: Number(row!.reset_at) };
}

/** Forgets windows and streaks that ended long ago (a timer calls this; the tables stay small). */
export async function sweepCounters(orm: Orm, forgetBefore: number): Promise<void> {
  const em = orm.em.fork();
  await execute(em, sql`delete from "rate_limit_hits" where "reset_at" < ${forgetBefore}`);
  await execute(em, sql`delete from "login_streaks" where "last_failure" < ${forgetBefore}`);
}

/** Failed logins before each further attempt has to wait; the wait doubles from 1 s up to MAX_WAIT_MS. */
export const FREE_FAILURES = 5;
export const MAX_WAIT_MS = 15 * 60 * 1000;
/** A streak this long without a new failure is forgotten. */
export const FORGET_AFTER_MS = 60 * 60 * 1000;

/**
 * Failed-login streaks per (account, client address), shared by every instance: after FREE_FAILURES failures in a
 * row each further attempt from that address waits 1 s, then 2, 4, … up to 15 minutes; a success clears it. This
 * slows the one who fails, not the account: a hard lock would let anyone keep the rightful owner (a sole admin, say)
 * out for ever with 5 guesses every 15 minutes; with this an attacker's address is slowed while the owner, from
 * theirs, signs in as usual. Unknown emails are throttled the same way, so the answer does not tell which exist.
 */
export class LoginStreaks {
  readonly #orm: Orm;
  readonly #now: () => number;

  constructor(orm: Orm, now: () => number = Date.now) {
    this.#orm = orm;
    this.#now = now;
  }

  /** A digest of (email, address): fixed length, and no email is stored for an account that may not exist. */
  static key(email: string, address: string): string {
    return createHash('sha256').update(`${email.trim().toLowerCase()}\u0000${address}`).digest('hex');
  }

  /** Milliseconds this (account, address) must still wait before it may try again; 0 when it may now. */
  async waitMs(key: string): Promise<number> {
    const now = this.#now();
    const [row] = await execute(this.#orm.em.fork(), sql`select "blocked_until", "last_failure" from "login_streaks" where "key" = ${key}`);
    if (!row || Number(row.last_failure) < now - FORGET_AFTER_MS) return 0;
    return Math.max(0, Number(row.blocked_until) - now);
  }

  async failed(key: string): Promise<void> {
    const now = this.#now();
    const em = this.#orm.em.fork();
    const [row] = await execute(
      em,
      sql`insert into "login_streaks" ("key", "failures", "blocked_until", "last_failure") values (${key}, 1, 0, ${now})
       on conflict ("key") do update set
         "failures" = case when "login_streaks"."last_failure" < ${now - FORGET_AFTER_MS} then 1 else "login_streaks"."failures" + 1 end,
         "last_failure" = ${now}
       returning "failures"`,
    );
    const failures = Number(row!.failures);
    if (failures < FREE_FAILURES) return;
    const blockedUntil = now + Math.min(MAX_WAIT_MS, 1000 * 2 ** (failures - FREE_FAILURES));
    await execute(em, sql`update "login_streaks" set "blocked_until" = ${blockedUntil} where "key" = ${key} and "blocked_until" < ${blockedUntil}`);
  }

  async succeeded(key: string): Promise<void> {
    await execute(this.#orm.em.fork(), sql`delete from "login_streaks" where "key" = ${key}`);
  }
}
