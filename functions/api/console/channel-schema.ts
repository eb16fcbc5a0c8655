import { z } from '@hono/zod-openapi';
import { CHANNELS } from '#shared/metering/usage-store';

/** How usage came in: `online` (a synchronous call) or `batch` (a line of a batch job, at the batch price). */
export const ChannelSchema = z.enum(CHANNELS).openapi({
  description:
    'How the usage came in: `online` (a synchronous API call) or `batch` (a line of a batch job, billed at the batch price).',
});

/** The `channel` filter of a usage query. */
export const ChannelParam = z
  .enum(CHANNELS)
  .optional()
  .openapi({ description: 'Only `online` calls or only `batch` lines. Default: both, as separate rows.' });
