// Failed logins slow down the one who fails, not the account: per (account, client address), after 5 failures in a
// row each further attempt from that address must wait, 1 s, then 2, 4, … up to 15 minutes, and a success clears it.
// A hard lock of the account let anyone keep its rightful owner (a sole admin, say) out for ever with 5 guesses every
// 15 minutes; with this an attacker's address is slowed while the owner, from theirs, signs in as usual. Unknown
// emails are throttled the same way, so the answer does not tell which accounts exist. Kept in memory, bounded.

export const FREE_FAILURES = 5;
export const MAX_WAIT_MS = 15 * 60 * 1000;
/** A streak this long without a new failure is forgotten. */
const FORGET_AFTER_MS = 60 * 60 * 1000;
const MAX_ENTRIES = 100_000;

interface Streak {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

export class LoginThrottle {
  readonly #streaks = new Map<string, Streak>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  static key(email: string, address: string): string {
    return `${email.trim().toLowerCase()}\u0000${address}`;
  }

  /** Milliseconds this (account, address) must still wait before it may try again; 0 when it may now. */
  waitMs(key: string): number {
    const streak = this.#streaks.get(key);
    if (!streak) return 0;
    const now = this.#now();
    if (now - streak.lastFailure > FORGET_AFTER_MS) {
      this.#streaks.delete(key);
      return 0;
    }
    return Math.max(0, streak.blockedUntil - now);
  }

  failed(key: string): void {
    const now = this.#now();
    const streak = this.#streaks.get(key) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
    streak.failures += 1;
    streak.lastFailure = now;
    if (streak.failures >= FREE_FAILURES) streak.blockedUntil = now + Math.min(MAX_WAIT_MS, 1000 * 2 ** (streak.failures - FREE_FAILURES));
    // Re-inserted last: the map's order is then oldest-failure first, which is what is evicted when it is full.
    this.#streaks.delete(key);
    this.#streaks.set(key, streak);
    if (this.#streaks.size > MAX_ENTRIES) this.#streaks.delete(this.#streaks.keys().next().value!);
  }

  succeeded(key: string): void {
    this.#streaks.delete(key);
  }
}
