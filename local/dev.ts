import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * `npm run dev`: the local stack in memory (`npm start -- --in-memory`), started again whenever a
 * source file changes (tsx watch). A process of its own so that `--help` answers and exits: the
 * watcher would keep running after the program it watches printed its usage.
 */
const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log(
    'usage: npm run dev\n' +
      '  npm start -- --in-memory, started again whenever a source file changes. Its environment is\n' +
      "  npm start's (npm start -- --help).",
  );
  process.exit(0);
}
const tsx = createRequire(import.meta.url).resolve('tsx/cli');
const start = fileURLToPath(new URL('./start.ts', import.meta.url));
const child = spawn(process.execPath, [tsx, 'watch', start, '--in-memory', ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
