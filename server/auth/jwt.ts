// Access tokens: short-lived HS256 JWTs signed with jose. Only HS256 is accepted (no `alg: none`, no key confusion).
import { errors, jwtVerify, SignJWT } from 'jose';

export interface AccessClaims {
  sub: string;
  role: 'admin' | 'member' | 'viewer';
}

export const ACCESS_TOKEN_TTL_S = 15 * 60;

export class AccessTokens {
  readonly #key: Uint8Array;
  readonly #issuer = 'iron-cage';

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  async sign(claims: AccessClaims, ttlSeconds = ACCESS_TOKEN_TTL_S): Promise<string> {
    return new SignJWT({ role: claims.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(this.#issuer)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#key);
  }

  /** The claims, or null for any token that is malformed, tampered, expired or not HS256. */
  async verify(token: string): Promise<AccessClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], issuer: this.#issuer });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || (role !== 'admin' && role !== 'member' && role !== 'viewer')) return null;
      return { sub: payload.sub, role };
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  }
}
