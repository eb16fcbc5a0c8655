import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { z } from 'zod';

/** The one algorithm sessions are signed and verified with; verification pins it. */
export const SESSION_ALG = 'ES256';

/**
 * Where session signing keys come from: the cloud reads a JWK set from config (later Secrets
 * Manager); the local runner generates one at first start and keeps it under DATA_DIR.
 */
export interface SigningKeyProvider {
  /** The key new tokens are signed with, and its `kid`. */
  signingKey(): Promise<{ kid: string; key: CryptoKey }>;
  /** The public key for a `kid`; undefined for a kid this deployment never had. */
  verificationKey(kid: string): Promise<CryptoKey | undefined>;
  /** The public halves, for `/.well-known/jwks.json`. */
  publicJwks(): Promise<{ keys: JWK[] }>;
}

export class SigningKeysUnavailableError extends Error {
  override name = 'SigningKeysUnavailableError';
}

const PrivateJwk = z
  .object({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    kid: z.string().min(1).max(128),
    x: z.string().min(1),
    y: z.string().min(1),
    d: z.string().min(1),
  })
  .loose();

const Jwks = z.object({ keys: z.array(PrivateJwk).min(1) });

/** Parses a JWK set of ES256 private keys; throws naming what is wrong (config fails fast). */
export function parsePrivateJwks(json: string): JWK[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new SigningKeysUnavailableError('JWT_PRIVATE_JWKS is not valid JSON');
  }
  const parsed = Jwks.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SigningKeysUnavailableError(
      `JWT_PRIVATE_JWKS must be {"keys":[ES256 private JWKs with kid]}: ${issue?.path.join('.')} ${issue?.message}`,
    );
  }
  const kids = parsed.data.keys.map((k) => k.kid);
  if (new Set(kids).size !== kids.length)
    throw new SigningKeysUnavailableError('JWT_PRIVATE_JWKS: duplicate kid');
  return parsed.data.keys as JWK[];
}

/** Keys from a JWK set held in memory: the first signs, every key verifies (for rotation). */
export class JwksSigningKeys implements SigningKeyProvider {
  private readonly loaded: Promise<{ kid: string; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK }[]>;

  constructor(privateJwks: JWK[]) {
    if (privateJwks.length === 0) throw new SigningKeysUnavailableError('no signing keys');
    this.loaded = Promise.all(
      privateJwks.map(async (jwk) => {
        const { d: _d, ...pub } = jwk;
        const publicJwk: JWK = { ...pub, alg: SESSION_ALG, use: 'sig' };
        return {
          kid: jwk.kid!,
          privateKey: (await importJWK({ ...jwk, alg: SESSION_ALG }, SESSION_ALG)) as CryptoKey,
          publicKey: (await importJWK(publicJwk, SESSION_ALG)) as CryptoKey,
          jwk: publicJwk,
        };
      }),
    );
  }

  static fromJson(json: string): JwksSigningKeys {
    return new JwksSigningKeys(parsePrivateJwks(json));
  }

  async signingKey() {
    const first = (await this.loaded)[0]!;
    return { kid: first.kid, key: first.privateKey };
  }

  async verificationKey(kid: string) {
    return (await this.loaded).find((k) => k.kid === kid)?.publicKey;
  }

  async publicJwks() {
    return { keys: (await this.loaded).map((k) => k.jwk) };
  }
}

/**
 * Stands in when a deployment has no keys configured: API keys keep working, while every session
 * operation fails loudly (500, logged) naming the missing setting.
 */
export class MissingSigningKeys implements SigningKeyProvider {
  private fail(): never {
    throw new SigningKeysUnavailableError('session signing keys are not configured: set JWT_PRIVATE_JWKS');
  }
  async signingKey(): Promise<never> {
    this.fail();
  }
  async verificationKey(): Promise<never> {
    this.fail();
  }
  async publicJwks(): Promise<never> {
    this.fail();
  }
}

/** A fresh ES256 private JWK whose `kid` is its RFC 7638 thumbprint. */
export async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SESSION_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SESSION_ALG, use: 'sig' };
}
