import { describe, expect, it } from 'vitest';
import {
  API_KEY_PREFIX,
  generateApiKey,
  hashApiKey,
  hashesEqual,
  looksLikeApiKey,
} from '../../shared/auth/api-keys';

describe('API keys', () => {
  it('have a recognisable prefix, a fixed length and a visible prefix that is a prefix of the secret', () => {
    const k = generateApiKey();
    expect(k.secret.startsWith(API_KEY_PREFIX)).toBe(true);
    expect(k.secret).toHaveLength(API_KEY_PREFIX.length + 43);
    expect(k.secret.startsWith(k.visiblePrefix)).toBe(true);
    expect(k.visiblePrefix.length).toBeLessThan(k.secret.length / 2);
    expect(looksLikeApiKey(k.secret)).toBe(true);
  });

  it('are unique: 2,000 keys, 2,000 secrets and hashes', () => {
    const keys = Array.from({ length: 2000 }, generateApiKey);
    expect(new Set(keys.map((k) => k.secret)).size).toBe(2000);
    expect(new Set(keys.map((k) => k.hash)).size).toBe(2000);
  });

  it('store only a SHA-256 hash, which never contains the secret', () => {
    const k = generateApiKey();
    expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(k.hash).toBe(hashApiKey(k.secret));
    expect(k.hash).not.toContain(k.secret.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 8));
    // Known vector: the hash is plain SHA-256 of the UTF-8 secret.
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('reject malformed keys before any lookup', () => {
    const k = generateApiKey().secret;
    for (const bad of [
      '',
      'tg_live_',
      `${k}x`,
      k.slice(0, -1),
      k.replace('tg_live_', 'sk_live_'),
      `${k.slice(0, -1)}!`,
    ]) {
      expect(looksLikeApiKey(bad)).toBe(false);
    }
  });

  it('compare hashes in constant time and only when equal', () => {
    const a = hashApiKey('a');
    expect(hashesEqual(a, hashApiKey('a'))).toBe(true);
    expect(hashesEqual(a, hashApiKey('b'))).toBe(false);
    expect(hashesEqual(a, a.slice(0, 10))).toBe(false);
    expect(hashesEqual('', '')).toBe(false);
  });
});
