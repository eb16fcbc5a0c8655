import { z } from '@hono/zod-openapi';
import { countsOf, presentBatch } from '#api/batches/service';
import type { BatchPlaneDeps } from '#api/http/env';
import type { Batch } from '#shared/batch/types';
import { BatchObject } from '../../v1/batches/schemas';

/** OpenAI's batch object, with what the console shows beside it: the key it is billed to and its models. */
export const AccountBatch = BatchObject.extend({
  key_id: z.string().openapi({ description: 'The API key its lines are billed to.' }),
  models: z.array(z.string()).openapi({ description: 'The models its lines name, as written in them.' }),
}).openapi('AccountBatch');

export async function presentAccountBatch(deps: Pick<BatchPlaneDeps, 'batch'>, b: Batch) {
  return { ...presentBatch(b, await countsOf(deps, b)), key_id: b.keyId, models: b.models };
}
