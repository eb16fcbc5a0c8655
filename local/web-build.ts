import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../web/', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when web/dist is missing or older than a file of the console's sources. */
export function consoleIsStale(): boolean {
  const index = join(WEB, 'dist', 'index.html');
  return !existsSync(index) || statSync(index).mtimeMs < newestSource(WEB);
}

/**
 * Builds the console (vite, a dev dependency) when it is missing or older than its sources, so
 * `npm start` and the browser tests always serve the console of the checked-out code.
 */
export async function buildConsole(opts: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!opts.force && !consoleIsStale()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: opts.quiet ? 'error' : 'warn' });
  return true;
}
