import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { generateSigningJwk, JwksSigningKeys } from '../shared/auth/sessions/signing-keys';

/**
 * Session signing keys for the local runner: generated at first start and kept (owner-only file)
 * under DATA_DIR, so sessions survive a restart; in memory for a throwaway stack.
 */
export async function localSigningKeys(
  dataDir: string | null,
): Promise<{ keys: JwksSigningKeys; path: string | null }> {
  if (!dataDir) return { keys: new JwksSigningKeys([await generateSigningJwk()]), path: null };
  const path = resolve(dataDir, 'session-keys.json');
  try {
    return { keys: JwksSigningKeys.fromJson(readFileSync(path, 'utf8')), path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const jwk = await generateSigningJwk();
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { keys: JwksSigningKeys.fromJson(readFileSync(path, 'utf8')), path };
  }
  return { keys: new JwksSigningKeys([jwk]), path };
}
