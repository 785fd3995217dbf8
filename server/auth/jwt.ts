// Access tokens: short-lived HS256 JWTs signed with jose. Only HS256 is accepted (no `alg: none`, no key confusion),
// with this server's issuer and audience, an expiry, and the login session (`sid`, the refresh family) they belong
// to: ending the session (logout, a password change, a reused refresh token) ends its access tokens at once.
import { errors, jwtVerify, SignJWT } from 'jose';

export interface AccessClaims {
  sub: string;
  role: 'admin' | 'member' | 'viewer';
  /** The login session (refresh-token family) the token was issued for. */
  sid: string;
}

export const ACCESS_TOKEN_TTL_S = 15 * 60;

export class AccessTokens {
  readonly #key: Uint8Array;
  readonly #issuer = 'iron-cage';
  readonly #audience = 'iron-cage-api';

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  async sign(claims: AccessClaims, ttlSeconds = ACCESS_TOKEN_TTL_S): Promise<string> {
    return new SignJWT({ role: claims.role, sid: claims.sid })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(this.#issuer)
      .setAudience(this.#audience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#key);
  }

  /** The claims, or null for any token that is malformed, tampered, expired, without exp/aud/sid, or not HS256. */
  async verify(token: string): Promise<AccessClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], issuer: this.#issuer, audience: this.#audience, requiredClaims: ['exp', 'iat', 'sub'] });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || (role !== 'admin' && role !== 'member' && role !== 'viewer')) return null;
      return { sub: payload.sub, role, sid: payload.sid };
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  }
}
