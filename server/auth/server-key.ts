// The server's own key: it signs access tokens and encrypts webhook signing secrets at rest. It comes from
// IRON_JWT_SECRET, or a key file (IRON_KEY_FILE; for a SQLite database `<file>.key` beside it), created 0600 with 32
// random bytes — never from the database it protects. A PostgreSQL server without either keeps a generated key in
// its database (so that several instances share it) and says so at start-up; a key an older version kept in a SQLite
// database moves to the key file and leaves the database.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../core/errors.ts';
import type { Orm } from '../db.ts';
import { Setting } from '../entities/index.ts';

export interface ServerKey {
  /** The HS256 key of access tokens. */
  signingKey: Uint8Array;
  /** Where the key came from, for the start-up log. */
  source: 'IRON_JWT_SECRET' | 'key file' | 'database';
  file?: string;
  /** Encrypts a secret for storage (AES-256-GCM): `enc1:<base64url iv|tag|ciphertext>`. */
  seal(plain: string): string;
  /** The secret back; a value stored before encryption existed is returned as it is. */
  open(stored: string): string;
}

const PREFIX = 'enc1:';
/** The shortest IRON_JWT_SECRET accepted: 256 bits, the size of the HS256 hash. */
export const MIN_SECRET_BYTES = 32;

function serverKey(signingKey: Uint8Array, source: ServerKey['source'], file?: string): ServerKey {
  // A separate key for encryption, derived from the signing key: one secret to keep, two uses that never share a key.
  const encryptionKey = Buffer.from(hkdfSync('sha256', signingKey, Buffer.alloc(0), 'iron-cage secrets at rest', 32));
  return {
    signingKey,
    source,
    ...(file ? { file } : {}),
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url')}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

export interface KeyOptions {
  jwtSecret?: string;
  /** The key file; default IRON_KEY_FILE, else `<db>.key` for a SQLite file. */
  keyFile?: string;
  /** The database option (`./iron.db`, `:memory:`, `postgres://…`). */
  db: string;
}

export async function loadServerKey(orm: Orm, options: KeyOptions): Promise<ServerKey> {
  if (options.jwtSecret !== undefined) {
    const secret = new TextEncoder().encode(options.jwtSecret);
    // HS256 with a short secret is brute-forced offline from any one access token (RFC 7518 §3.2: at least 256 bits).
    if (secret.length < MIN_SECRET_BYTES) {
      throw new ConfigError(`IRON_JWT_SECRET is ${secret.length} bytes; it must be at least ${MIN_SECRET_BYTES} (e.g. the output of \`openssl rand -base64 32\`), or unset it to use a generated key file`, { path: 'IRON_JWT_SECRET' });
    }
    return serverKey(secret, 'IRON_JWT_SECRET');
  }
  const postgres = /^postgres(ql)?:\/\//.test(options.db);
  const file = options.keyFile ?? process.env.IRON_KEY_FILE ?? (postgres || options.db === ':memory:' ? undefined : `${options.db}.key`);
  const em = orm.em.fork();
  const stored = await em.findOne(Setting, { key: 'jwt_key' });
  if (!file) {
    if (options.db === ':memory:') return serverKey(randomBytes(32), 'database');
    if (stored) return serverKey(Buffer.from(stored.value, 'base64url'), 'database');
    // Instances starting at once on a new database each make a key: the first stored wins, and all read it back.
    try {
      em.create(Setting, { key: 'jwt_key', value: randomBytes(32).toString('base64url') });
      await em.flush();
    } catch {
      // another instance stored its key first
    }
    const chosen = await orm.em.fork().findOneOrFail(Setting, { key: 'jwt_key' });
    return serverKey(Buffer.from(chosen.value, 'base64url'), 'database');
  }
  // A key file that cannot be read or written is a start-up error that names the file, not a database error.
  const fileError = (action: string, error: unknown) => {
    const from = !options.keyFile && process.env.IRON_KEY_FILE ? 'IRON_KEY_FILE: ' : '';
    const err = error as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'its folder does not exist' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a folder' : err.message;
    return new ConfigError(`${from}cannot ${action} the server key file ${file}: ${why} (set IRON_KEY_FILE to a file the server may write, or set IRON_JWT_SECRET)`, { path: 'IRON_KEY_FILE', cause: error });
  };
  if (existsSync(file)) {
    let text: string;
    try {
      // Tightened if someone loosened it: the key file is for the server's user alone.
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      text = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw fileError('read', error);
    }
    const signingKey = Buffer.from(text, 'base64url');
    // An empty key would fail every login later (HS256 refuses a zero-length key): refuse it at start-up instead.
    if (signingKey.length === 0) throw new ConfigError(`the server key file ${file} is empty: delete it and the server makes a new key (everyone signs in again)`, { path: 'IRON_KEY_FILE' });
    if (stored) await em.nativeDelete(Setting, { key: 'jwt_key' });
    return serverKey(signingKey, 'key file', file);
  }
  // First start (or an older database that kept its key inside): the key goes to the file, and out of the database.
  const value = stored?.value ?? randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    throw fileError('create', error);
  }
  if (stored) await em.nativeDelete(Setting, { key: 'jwt_key' });
  return serverKey(Buffer.from(value, 'base64url'), 'key file', file);
}
