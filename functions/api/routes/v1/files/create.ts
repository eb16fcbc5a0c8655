import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { presentFile, uploadFile } from '#api/batches/service';
import type { BatchEnv } from '#api/http/env';
import { errorResponses, errorsOf, idempotencyKeyParameter, v1Ok } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { FileObject, fileExample } from './schemas';

const Upload = z
  .object({
    purpose: z.string().openapi({ example: 'batch', description: "Only 'batch'." }),
    file: z
      .custom<File>((v) => v instanceof File, { message: 'must be a file' })
      .openapi({ type: 'string', format: 'binary', description: 'JSONL: one request per line.' }),
  })
  .openapi('FileUpload');

const route = createRoute({
  method: 'post',
  path: '/v1/files',
  tags: ['Batch'],
  summary: 'Upload a batch input file',
  description:
    'JSONL, one request per line: `{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body": {...}}`. Every line is checked here (JSON, a unique `custom_id` of 1 to 64 letters, digits and `_-.:`, a batchable `url`, an object `body`); a bad file is refused naming its first bad line, and nothing is kept. Up to `BATCH_FILE_MAX_BYTES` (4 MiB by default) and `BATCH_MAX_LINES` lines.',
  security: [{ apiKey: ['models:invoke'] }],
  parameters: [idempotencyKeyParameter],
  request: { body: { required: true, content: { 'multipart/form-data': { schema: Upload } } } },
  responses: {
    200: v1Ok(
      {
        description: 'The stored file',
        content: { 'application/json': { schema: FileObject, example: fileExample } },
      },
      { replayable: true },
    ),
    ...errorResponses('v1', [...errorsOf.apiKey, ...errorsOf.endpointWrite, ...errorsOf.v1Body]),
  },
});

export function registerFileCreate(app: OpenAPIHono<BatchEnv>): void {
  app.openapi(route, async (c) => {
    const { purpose, file } = c.req.valid('form');
    if (!(file instanceof File))
      throw new ApiError('invalid_request', 'file must be a file.', { param: 'file' });
    const stored = await uploadFile(c.get('deps'), c.get('principal').tenantId, {
      filename: file.name,
      bytes: new Uint8Array(await file.arrayBuffer()),
      purpose,
    });
    return c.json(presentFile(stored), 200);
  });
}
