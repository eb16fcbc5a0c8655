import { AccessTokens, sessionIssuer } from '#shared/auth/sessions/jwt';
import {
  JwksSigningKeys,
  MissingSigningKeys,
  type SigningKeyProvider,
} from '#shared/auth/sessions/signing-keys';
import type { Config } from '#shared/config';

/**
 * Console session tokens (ES256), signed with `signingKeys` or else the JWK set in
 * JWT_PRIVATE_JWKS (none: sessions answer 500 until it is there). Brings jose.
 */
export function sessionTokens(
  config: Config,
  signingKeys?: SigningKeyProvider,
): (now: () => Date) => AccessTokens {
  const keys =
    signingKeys ??
    (config.JWT_PRIVATE_JWKS ? JwksSigningKeys.fromJson(config.JWT_PRIVATE_JWKS) : new MissingSigningKeys());
  return (now) =>
    new AccessTokens(keys, {
      issuer: sessionIssuer(config.STAGE),
      ttlSeconds: config.SESSION_TTL_SECONDS,
      now,
    });
}
