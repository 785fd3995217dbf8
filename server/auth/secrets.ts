// Random tokens and their hashes: API tokens, refresh tokens, webhook secrets. Only hashes are stored.
import { createHash, randomBytes } from 'node:crypto';

/** `iron_pat_…` (API token), `iron_rt_…` (refresh token): the prefix tells what a leaked string is. */
export function newToken(prefix: 'iron_pat_' | 'iron_rt_' | 'whsec_'): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** SHA-256: enough for 256-bit random tokens (no brute force possible), and lookups stay a unique-index hit. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
