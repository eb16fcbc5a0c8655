import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8, p = 1 is 32 MiB and about 100 ms per hash on the project's machines. */
export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { logN: 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const FORMAT_RE = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{40,})$/;

/** Passwords longer than this are refused before hashing: scrypt's cost must not be the caller's to pick. */
export const MAX_PASSWORD_LENGTH = 256;
export const MIN_PASSWORD_LENGTH = 10;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/**
 * Hashes a password with scrypt and a fresh 16-byte salt. The result carries its parameters
 * (`scrypt$logN$r$p$salt$hash`), so the cost can be raised later without breaking old hashes.
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return `scrypt$${params.logN}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export type PasswordCheck = { ok: true; needsRehash: boolean } | { ok: false };

/** Checks a password against a stored hash in constant time; `needsRehash` when the cost has since been raised. */
export async function verifyPassword(
  password: string,
  stored: string,
  current: ScryptParams = DEFAULT_SCRYPT,
): Promise<PasswordCheck> {
  const m = FORMAT_RE.exec(stored);
  if (!m) return { ok: false };
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.logN < 10 || params.logN > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16)
    return { ok: false };
  const expected = Buffer.from(m[5]!, 'base64url');
  const key = await derive(password, Buffer.from(m[4]!, 'base64url'), params);
  if (key.length !== expected.length || !timingSafeEqual(key, expected)) return { ok: false };
  const needsRehash =
    params.logN < current.logN || params.r < current.r || params.p < current.p || expected.length < KEY_BYTES;
  return { ok: true, needsRehash };
}

let dummy: Promise<string> | undefined;

/**
 * Spends the same time as a real check when there is no user to check against, so the answer's
 * timing does not tell which email addresses have accounts.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('not a real password, only a timing decoy');
  await verifyPassword(password, await dummy);
}
