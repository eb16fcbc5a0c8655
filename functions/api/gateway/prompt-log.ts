import type { Context } from 'hono';
import type { DataEnv } from '../http/env';

/** The most of a prompt a debug line may carry. */
export const PROMPT_LOG_CHARS = 200;

/**
 * Logs the start of a prompt at debug, and only when LOG_PROMPTS is on (it is off by default:
 * prompts are the tenant's data). Truncated, so a log line never carries a whole document.
 */
export function logPrompt(c: Context<DataEnv>, texts: string[]): void {
  if (!c.get('deps').config.LOG_PROMPTS) return;
  const joined = texts.join('\n');
  c.get('log').debug(
    {
      prompt: joined.slice(0, PROMPT_LOG_CHARS),
      promptChars: joined.length,
      truncated: joined.length > PROMPT_LOG_CHARS,
    },
    'prompt',
  );
}
