import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
 * `npm start` and the browser tests always serve the console of the checked-out code. The build
 * runs in a child process: vite and its bundler loaded into the API process would stay resident
 * for its lifetime (about 250 MB of RSS measured), for a build done once.
 */
export async function buildConsole(opts: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!opts.force && !consoleIsStale()) return false;
  const pkg = dirname(createRequire(import.meta.url).resolve('vite/package.json'));
  const args = [join(pkg, 'bin', 'vite.js'), 'build', '--config', join(WEB, 'vite.config.ts')];
  args.push('--logLevel', opts.quiet ? 'error' : 'warn');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: join(WEB, '..'),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${signal ?? `exit ${code}`})`)),
    );
  });
  return true;
}
