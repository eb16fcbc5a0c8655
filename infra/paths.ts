import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute paths derived from this file's location, not from process.cwd(): the CLI runs the app
 * from the repo root, but tests, editors and `cdk --app` from elsewhere may not.
 */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function fromRoot(...segments: string[]): string {
  return path.join(repoRoot, ...segments);
}

/** NodejsFunction's deps lock file; its directory is also the bundling project root. */
export const lockFile = fromRoot('package-lock.json');
