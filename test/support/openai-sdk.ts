import OpenAI from 'openai';
import type { Harness } from './harness';

/**
 * The official OpenAI SDK, as a developer would use it, against a harness's app in process: no
 * retries, so every answer is the API's own.
 */
export function sdk(h: Pick<Harness, 'app'>, apiKey: string): OpenAI {
  return new OpenAI({
    baseURL: 'http://tollgate.test/v1',
    apiKey,
    maxRetries: 0,
    fetch: async (url: string | URL | Request, init?: RequestInit) => h.app.request(String(url), init),
  });
}
