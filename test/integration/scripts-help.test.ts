import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const { scripts } = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as {
  scripts: Record<string, string>;
};
/** The npm scripts that run one of this project's programs (`tsx <file>`): each takes `--help`. */
const ours = Object.entries(scripts)
  .filter(([, command]) => /(^|&& )tsx (watch )?\S+\.ts\b/.test(command))
  .map(([name]) => name);
/** Programs with options run directly rather than through npm. */
const direct = ['bench/chat.ts', 'bench/models.ts'];

/** The first line of a usage text names how the program is run. */
const invocation = (name: string) => (name === 'start' ? 'npm start' : `npm run ${name}`);

describe('--help prints the usage and exits 0, without starting anything', () => {
  it('finds the scripts to ask', () => {
    expect(ours).toEqual(
      expect.arrayContaining([
        'start',
        'dev',
        'bench',
        'admin',
        'billing:setup',
        'models:pull',
        'screenshots',
      ]),
    );
  });

  it.each(ours)('npm run %s -- --help', async (name) => {
    const { stdout } = await run('npm', ['run', '--silent', name, '--', '--help'], {
      cwd: REPO,
      timeout: 60_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(stdout.split('\n')[0]).toMatch(
      new RegExp(`^usage: (STRIPE_SECRET_KEY=\\S+ )?${invocation(name)}\\b`),
    );
  });

  it.each(direct)('tsx %s --help', async (file) => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file, '--help'], {
      cwd: REPO,
      timeout: 60_000,
    });
    expect(stdout.split('\n')[0]).toMatch(new RegExp(`^usage: npx tsx ${file} \\[`));
  });
});
