import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../shared/auth/passwords';

describe('password hashing (scrypt)', () => {
  it('stores its parameters and a per-user salt with the hash, never the password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(a).not.toContain('horse');
  });

  it('accepts the password and refuses any other', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(await verifyPassword('correct horse battery', stored)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('correct horse batterY', stored)).toEqual({ ok: false });
    expect(await verifyPassword('', stored)).toEqual({ ok: false });
  });

  it('treats Unicode-equivalent spellings as the same password', async () => {
    const stored = await hashPassword('caf\u00e9 au lait please');
    expect((await verifyPassword('cafe\u0301 au lait please', stored)).ok).toBe(true);
  });

  it('verifies hashes made with older, cheaper parameters and asks for a rehash', async () => {
    const old = await hashPassword('an older password', { logN: 12, r: 8, p: 1 });
    expect(old.startsWith('scrypt$12$8$1$')).toBe(true);
    expect(await verifyPassword('an older password', old)).toEqual({ ok: true, needsRehash: true });
  });

  it.each([
    ['empty', ''],
    ['another scheme', '$2b$10$abcdefghijklmnopqrstuv'],
    ['absurd cost', `scrypt$31$8$1$${'A'.repeat(22)}$${'A'.repeat(43)}`],
    ['truncated', 'scrypt$15$8$1$abc'],
  ])('refuses a malformed stored hash (%s) without throwing', async (_name, stored) => {
    expect(await verifyPassword('whatever password', stored)).toEqual({ ok: false });
  });
});
