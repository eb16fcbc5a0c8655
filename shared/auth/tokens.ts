import { createHash, randomBytes } from 'node:crypto';

/**
 * An opaque bearer secret with 256 bits of entropy (43 base64url characters after the prefix).
 * Used for refresh tokens and one-time email tokens; only its SHA-256 is ever stored.
 */
export function randomToken(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** SHA-256, hex. Fast is right for high-entropy tokens: there is nothing to brute-force. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Cheap shape check before any store access. */
export function looksLikeToken(value: string, prefix = ''): boolean {
  return (
    value.length === prefix.length + 43 &&
    value.startsWith(prefix) &&
    /^[A-Za-z0-9_-]+$/.test(value.slice(prefix.length))
  );
}
