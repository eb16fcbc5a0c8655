import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every secret starts with this, so leaked keys are recognisable (and scannable) at a glance. */
export const API_KEY_PREFIX = 'tg_live_';
const SECRET_BYTES = 32;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_RE = /^tg_live_[0-9A-Za-z]{43}$/;
/** How much of the secret the console may show: the prefix and the first 6 characters. */
const VISIBLE_CHARS = API_KEY_PREFIX.length + 6;

/** A freshly made key: the secret is returned once and never stored. */
export interface NewApiKey {
  secret: string;
  hash: string;
  visiblePrefix: string;
}

function base62(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  // 256 bits fit in 43 base62 characters; pad so every key has the same length.
  return out.padStart(43, '0');
}

/** Makes a key with 256 bits of entropy. */
export function generateApiKey(): NewApiKey {
  const secret = API_KEY_PREFIX + base62(randomBytes(SECRET_BYTES));
  return { secret, hash: hashApiKey(secret), visiblePrefix: secret.slice(0, VISIBLE_CHARS) };
}

/**
 * SHA-256 of the whole secret, hex. A fast hash is right here (unlike passwords): the secret has
 * 256 bits of entropy, so there is nothing to brute-force, and the hot path hashes on every call.
 */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Cheap shape check before any store access: malformed keys never reach DynamoDB. */
export function looksLikeApiKey(value: string): boolean {
  return KEY_RE.test(value);
}

/** Constant-time comparison of two hex hashes of equal length. */
export function hashesEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ab.length === bb.length && ab.length > 0 && timingSafeEqual(ab, bb);
}
