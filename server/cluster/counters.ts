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

  /**
   * Admits one login attempt, or says how long this (account, address) must still wait. An admitted attempt is
   * counted as a failure before the password is checked (a success then clears the streak): the check and the count
   * are one statement, so twenty wrong passwords sent at once — to one instance or to several — are admitted no
   * faster than twenty sent one after another.
   */
  async admit(key: string): Promise<{ admitted: true } | { admitted: false; waitMs: number }> {
    const now = this.#now();
    const em = this.#orm.em.fork();
    const failures = sql`case when "login_streaks"."last_failure" < ${now - FORGET_AFTER_MS} then 1 else "login_streaks"."failures" + 1 end`;
    // The wait after the nth failure, as a CASE (SQLite has no pow() everywhere): 1 s after FREE_FAILURES, doubling.
    const waits: RawBuilder<unknown>[] = [];
    for (let n = FREE_FAILURES, wait = 1000; wait < MAX_WAIT_MS; n++, wait *= 2) waits.push(sql`when ${sql.lit(n)} then ${sql.lit(wait)}`);
    const [row] = await execute(
      em,
      sql`insert into "login_streaks" ("key", "failures", "blocked_until", "last_failure") values (${key}, 1, 0, ${now})
       on conflict ("key") do update set
         "failures" = ${failures},
         "blocked_until" = cast(${now} as bigint) + case when ${failures} < ${sql.lit(FREE_FAILURES)} then 0 else case ${failures} ${sql.join(waits, sql` `)} else ${sql.lit(MAX_WAIT_MS)} end end,
         "last_failure" = ${now}
       where "login_streaks"."blocked_until" <= ${now} or "login_streaks"."last_failure" < ${now - FORGET_AFTER_MS}
       returning "failures"`,
    );
    if (row) return { admitted: true };
    const [held] = await execute(em, sql`select "blocked_until" from "login_streaks" where "key" = ${key}`);
    return { admitted: false, waitMs: Math.max(1, Number(held?.blocked_until ?? now + 1) - now) };
  }

  async succeeded(key: string): Promise<void> {
    await execute(this.#orm.em.fork(), sql`delete from "login_streaks" where "key" = ${key}`);
  }
}
