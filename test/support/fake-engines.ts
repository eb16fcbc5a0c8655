import { ModelInputError } from '../../local/runtime/model-handler';
import type { Engine } from '../../local/runtime/worker-entry';

/**
 * Engines for worker-thread tests: echo answers with what it got, refuses `{"bad":true}` as input,
 * and never answers `{"hang":true}` (a stuck model).
 */
export async function createEchoEngine(options: { loadMs?: number }): Promise<Engine> {
  if (options.loadMs) await new Promise((r) => setTimeout(r, options.loadMs));
  return {
    async run(body) {
      const parsed = JSON.parse(body.toString('utf8')) as { bad?: boolean; hang?: boolean };
      if (parsed.bad) throw new ModelInputError('bad input');
      if (parsed.hang) await new Promise(() => {});
      return { echoed: parsed, thread: 'worker' };
    },
  };
}

/** An engine whose weights are missing: every start fails. */
export async function createBrokenEngine(): Promise<Engine> {
  throw new Error('weights file not found');
}
