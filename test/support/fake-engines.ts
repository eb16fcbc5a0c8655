import { ModelInputError } from '../../local/runtime/model-handler';
import type { Engine } from '../../local/runtime/worker-entry';

/**
 * Engines for worker-thread tests: echo answers with what it got, refuses `{"bad":true}` as input,
 * never answers `{"hang":true}` (a stuck model), works in `{"stages":n}` stages of 50 ms checking
 * for cancellation between them (a model that stops when told), and blocks its thread for
 * `{"blockMs":n}` (a model inside one long native call, that cannot check).
 */
export async function createEchoEngine(options: { loadMs?: number }): Promise<Engine> {
  if (options.loadMs) await new Promise((r) => setTimeout(r, options.loadMs));
  return {
    async run(body, _contentType, signal) {
      const parsed = JSON.parse(body.toString('utf8')) as {
        bad?: boolean;
        hang?: boolean;
        stages?: number;
        blockMs?: number;
      };
      if (parsed.bad) throw new ModelInputError('bad input');
      if (parsed.hang) await new Promise(() => {});
      for (let i = 0; i < (parsed.stages ?? 0); i++) {
        await new Promise((r) => setTimeout(r, 50));
        signal.throwIfAborted();
      }
      if (parsed.blockMs) {
        const until = Date.now() + parsed.blockMs;
        while (Date.now() < until) {}
      }
      return { echoed: parsed, thread: 'worker' };
    },
  };
}

/** An engine whose weights are missing: every start fails. */
export async function createBrokenEngine(): Promise<Engine> {
  throw new Error('weights file not found');
}
