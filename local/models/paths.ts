import { fileURLToPath } from 'node:url';

/**
 * Where local model folders live (transformers.js `localModelPath`): `<repo>/.data/models` unless
 * `TOLLGATE_MODELS_DIR` says otherwise. Generated and downloaded weights never go into git.
 */
export function modelsDir(env: Record<string, string | undefined> = process.env): string {
  return env.TOLLGATE_MODELS_DIR || fileURLToPath(new URL('../../.data/models', import.meta.url));
}
