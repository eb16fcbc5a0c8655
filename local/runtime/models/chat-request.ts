import { z } from 'zod';
import { ModelInputError } from '../model-handler';
import type { ChatRequest } from './chat-protocol';

/** Bounds of the model's own contract; the gateway applies each version's tighter limits first. */
export const MAX_MESSAGES = 256;
export const MAX_NEW_TOKENS = 8_192;

const Request = z
  .object({
    messages: z
      .array(
        z
          .object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().max(1_000_000) })
          .strict(),
      )
      .min(1)
      .max(MAX_MESSAGES),
    max_tokens: z.number().int().min(1).max(MAX_NEW_TOKENS),
    temperature: z.number().min(0).max(2).default(1),
    top_p: z.number().gt(0).max(1).default(1),
    stop: z.array(z.string().min(1).max(256)).max(4).default([]),
    max_input_tokens: z.number().int().min(1).optional(),
  })
  .strict();

/** Validates a chat request body; every rejection names the field. */
export function parseChatRequest(body: Buffer, contentType: string | undefined): ChatRequest {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType && mediaType !== 'application/json' && mediaType !== 'application/octet-stream') {
    throw new ModelInputError(`Unsupported content type ${mediaType}: send application/json.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ModelInputError('Body is not valid JSON.');
  }
  const parsed = Request.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') || 'body';
    throw new ModelInputError(`${path}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
