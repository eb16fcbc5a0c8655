import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { checkImage, checkImageUrl, type ImageFieldValue, imageSource } from '#api/gateway/image-input';
import { invokeModel, modelAnswerInvalid, resolveTarget, type Target } from '#api/gateway/inference';
import { recordAhead, withReservation } from '#api/gateway/limits';
import type { DataEnv } from '#api/http/env';
import type { ModelTask } from '#shared/catalog/types';

/**
 * The flow every image route shares: resolve the version, check the image (fetched first when it
 * is a URL; refused before any decode cost, unbilled), reserve exactly one image (the worst case is the actual use), call the
 * model while its usage record (one image) is written, read its answer against `answer`, and let
 * the route shape its own response. A model failure voids the record; a record that cannot be
 * written withholds the answer (see `recordAhead`).
 */
export async function serveImage<A, R>(
  c: Context<DataEnv>,
  request: { model: string; image: ImageFieldValue },
  task: ModelTask,
  answer: z.ZodType<A>,
  respond: (result: A, target: Target, costNanoUsd: number) => R,
): Promise<R> {
  const target = await resolveTarget(c, request.model, task);
  const source = imageSource(request.image);
  const { config } = c.get('deps');
  const image = source.isUrl
    ? await checkImageUrl(source.text, target, source.param, {
        allowLoopbackHttp: config.IMAGE_URL_ALLOW_LOOPBACK_HTTP,
        timeoutMs: config.IMAGE_URL_TIMEOUT_MS,
      })
    : checkImage(source.text, target, source.param);
  return withReservation(c, target, { tokens: 0, units: { images: 1 } }, async (admission) => {
    const served = await recordAhead(c, target, admission, { images: 1 }, async () => {
      const raw = await invokeModel(
        c,
        target,
        { image: image.base64 },
        // A client that goes away cancels the model's work (the local server sees it; Lambda does not).
        { rejectedParam: 'image', rejectedCode: 'invalid_image', signal: c.req.raw.signal },
      );
      const parsed = answer.safeParse(raw);
      if (!parsed.success) throw modelAnswerInvalid(target, 'unexpected shape');
      return parsed.data;
    });
    return respond(served.value, target, served.costNanoUsd);
  });
}
