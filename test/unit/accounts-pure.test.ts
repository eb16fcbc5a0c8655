import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../shared/accounts/email-address';
import { can, permissionsOf, tenantRoles } from '../../shared/accounts/roles';
import { keyAllows } from '../../shared/auth/scopes';
import { hashToken, looksLikeToken, randomToken } from '../../shared/auth/tokens';
import { decodeCursor, encodeCursor } from '../../shared/db/cursor';

describe('roles', () => {
  it('let owners do everything and viewers only read', () => {
    expect(permissionsOf('owner').length).toBe(15);
    expect(permissionsOf('viewer')).toEqual(['keys:read', 'batches:read', 'requests:read', 'team:read']);
    expect(can('developer', 'batches:manage')).toBe(true);
    expect(can('billing', 'batches:read')).toBe(false);
    expect(can('viewer', 'batches:manage')).toBe(false);
  });

  it('decide who manages keys, sees billing and changes limits', () => {
    const table = Object.fromEntries(
      tenantRoles.map((r) => [
        r,
        ['keys:manage', 'billing:read', 'billing:manage', 'limits:manage', 'spend_cap:manage'].filter((p) =>
          can(r, p as never),
        ),
      ]),
    );
    expect(table).toEqual({
      owner: ['keys:manage', 'billing:read', 'billing:manage', 'limits:manage', 'spend_cap:manage'],
      developer: ['keys:manage'],
      billing: ['billing:read', 'billing:manage', 'spend_cap:manage'],
      viewer: [],
    });
  });

  it('do not include operator', () => {
    expect(tenantRoles).not.toContain('operator');
  });
});

describe('cursors', () => {
  const key = { pk: 'TENANT#ten_1', sk: 'APIKEY#key_1' };

  it('round-trip the partition they were made for', () => {
    expect(decodeCursor(encodeCursor(key)!, { pk: 'TENANT#ten_1' })).toEqual(key);
    expect(encodeCursor(undefined)).toBeNull();
  });

  it("refuse another partition's cursor and garbage", () => {
    expect(decodeCursor(encodeCursor(key)!, { pk: 'TENANT#ten_2' })).toBeUndefined();
    for (const bad of [
      '',
      '!!',
      'bm90IGpzb24',
      Buffer.from('[1,2]').toString('base64url'),
      'a'.repeat(3000),
    ]) {
      expect(decodeCursor(bad, { pk: 'TENANT#ten_1' })).toBeUndefined();
    }
    const nested = Buffer.from(JSON.stringify({ pk: 'TENANT#ten_1', sk: { S: 'x' } })).toString('base64url');
    expect(decodeCursor(nested, { pk: 'TENANT#ten_1' })).toBeUndefined();
  });
});

describe('tokens and addresses', () => {
  it('make 256-bit prefixed tokens and store only a hash', () => {
    const t = randomToken('tgv_');
    expect(looksLikeToken(t, 'tgv_')).toBe(true);
    expect(looksLikeToken(t, 'tgp_')).toBe(false);
    expect(randomToken('tgv_')).not.toBe(t);
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(t)).not.toContain(t.slice(4, 20));
  });

  it('normalise email addresses to one form', () => {
    expect(normalizeEmail('  Ada@Example.COM ')).toBe('ada@example.com');
  });

  it('scope keys: none means all, otherwise only those listed', () => {
    expect(keyAllows([], 'usage:read')).toBe(true);
    expect(keyAllows(['models:invoke'], 'usage:read')).toBe(false);
    expect(keyAllows(['models:invoke', 'usage:read'], 'usage:read')).toBe(true);
  });
});
