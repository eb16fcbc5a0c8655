import { base64url, decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokens, SESSION_AUDIENCE, type SessionSubject } from '../../shared/auth/sessions/jwt';
import {
  generateSigningJwk,
  JwksSigningKeys,
  MissingSigningKeys,
  parsePrivateJwks,
  SigningKeysUnavailableError,
} from '../../shared/auth/sessions/signing-keys';

const user: SessionSubject = { kind: 'user', userId: 'usr_1', tenantId: 'ten_1' };

async function setup(now = new Date('2026-05-01T12:00:00Z')) {
  const keys = new JwksSigningKeys([await generateSigningJwk()]);
  let at = now;
  const tokens = new AccessTokens(keys, { issuer: 'tollgate:test', ttlSeconds: 900, now: () => at });
  return { keys, tokens, advance: (s: number) => (at = new Date(at.getTime() + s * 1000)) };
}

describe('session access tokens', () => {
  it('are ES256 JWTs with kid, iss, aud, sub, sid and a 15-minute expiry', async () => {
    const { tokens, keys } = await setup();
    const { token, expiresAt } = await tokens.issue('ses_1', user);
    const header = decodeProtectedHeader(token);
    const claims = decodeJwt(token);
    expect(header).toEqual({ alg: 'ES256', kid: (await keys.signingKey()).kid, typ: 'JWT' });
    expect(claims).toMatchObject({
      iss: 'tollgate:test',
      aud: SESSION_AUDIENCE,
      sub: 'usr_1',
      sid: 'ses_1',
      tid: 'ten_1',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(expiresAt.toISOString()).toBe('2026-05-01T12:15:00.000Z');
    expect(await tokens.verify(token)).toMatchObject({
      ok: true,
      claims: { sessionId: 'ses_1', subject: user },
    });
  });

  it('expire: valid at 14 minutes, expired at 16', async () => {
    const { tokens, advance } = await setup();
    const { token } = await tokens.issue('ses_1', user);
    advance(14 * 60);
    expect((await tokens.verify(token)).ok).toBe(true);
    advance(2 * 60);
    expect(await tokens.verify(token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('are refused when signed by another key, even under the right kid', async () => {
    const { tokens } = await setup();
    const good = await tokens.issue('ses_1', user);
    const other = new AccessTokens(
      new JwksSigningKeys([{ ...(await generateSigningJwk()), kid: decodeProtectedHeader(good.token).kid }]),
      {
        issuer: 'tollgate:test',
        ttlSeconds: 900,
        now: () => new Date('2026-05-01T12:00:00Z'),
      },
    );
    expect(await tokens.verify((await other.issue('ses_1', user)).token)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('are refused with alg none, HS256, or a tampered payload', async () => {
    const { tokens, keys } = await setup();
    const { token } = await tokens.issue('ses_1', user);
    const [h, p, s] = token.split('.');
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`;
    const hs = await new SignJWT(decodeJwt(token))
      .setProtectedHeader({ alg: 'HS256', kid: decodeProtectedHeader(token).kid })
      .sign(new TextEncoder().encode(JSON.stringify((await keys.publicJwks()).keys[0])));
    const tampered = `${h}.${base64url.encode(JSON.stringify({ ...decodeJwt(token), tid: 'ten_2' }))}.${s}`;
    for (const bad of [none, hs, tampered, `${h}.${p}`, '', 'a.b.c']) {
      expect(await tokens.verify(bad)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('are refused for another issuer, audience or an unknown kid', async () => {
    const { tokens, keys } = await setup();
    const { kid, key } = await keys.signingKey();
    const sign = (over: { iss?: string; aud?: string; kid?: string }) =>
      new SignJWT({ kind: 'user', tid: 'ten_1', sid: 'ses_1' })
        .setProtectedHeader({ alg: 'ES256', kid: over.kid ?? kid, typ: 'JWT' })
        .setIssuer(over.iss ?? 'tollgate:test')
        .setAudience(over.aud ?? SESSION_AUDIENCE)
        .setSubject('usr_1')
        .setIssuedAt(Math.floor(Date.parse('2026-05-01T12:00:00Z') / 1000))
        .setExpirationTime(Math.floor(Date.parse('2026-05-01T12:10:00Z') / 1000))
        .sign(key);
    expect((await tokens.verify(await sign({}))).ok).toBe(true);
    for (const over of [{ iss: 'tollgate:prod' }, { aud: 'something-else' }, { kid: 'unknown' }]) {
      expect(await tokens.verify(await sign(over))).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('verify with any key of the set, so a new signing key can be rolled in first', async () => {
    const oldJwk = await generateSigningJwk();
    const newJwk = await generateSigningJwk();
    const now = () => new Date('2026-05-01T12:00:00Z');
    const before = new AccessTokens(new JwksSigningKeys([oldJwk]), { issuer: 'i', ttlSeconds: 900, now });
    const after = new AccessTokens(new JwksSigningKeys([newJwk, oldJwk]), {
      issuer: 'i',
      ttlSeconds: 900,
      now,
    });
    const { token } = await before.issue('ses_1', user);
    expect((await after.verify(token)).ok).toBe(true);
    expect(decodeProtectedHeader((await after.issue('ses_2', user)).token).kid).toBe(newJwk.kid);
  });
});

describe('signing key config', () => {
  it('parses a JWK set of ES256 private keys and publishes only public halves', async () => {
    const jwk = await generateSigningJwk();
    const keys = JwksSigningKeys.fromJson(JSON.stringify({ keys: [jwk] }));
    const published = await keys.publicJwks();
    expect(published.keys).toHaveLength(1);
    expect(published.keys[0]).toMatchObject({ kid: jwk.kid, kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(published.keys[0]).not.toHaveProperty('d');
  });

  it.each([
    ['not JSON', '{keys'],
    ['no keys', '{"keys":[]}'],
    ['a public key only', JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'k', x: 'a', y: 'b' }] })],
    ['an RSA key', JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k', n: 'a', e: 'AQAB', d: 'x' }] })],
  ])('fails fast on a bad JWT_PRIVATE_JWKS (%s)', (_name, json) => {
    expect(() => parsePrivateJwks(json)).toThrow(SigningKeysUnavailableError);
  });

  it('without keys, session operations fail loudly instead of signing with something made up', async () => {
    const tokens = new AccessTokens(new MissingSigningKeys(), {
      issuer: 'i',
      ttlSeconds: 900,
      now: () => new Date(),
    });
    await expect(tokens.issue('ses_1', user)).rejects.toThrow(/JWT_PRIVATE_JWKS/);
    await expect(tokens.verify((await (await setup()).tokens.issue('ses_1', user)).token)).rejects.toThrow(
      SigningKeysUnavailableError,
    );
  });
});
