import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { fileOf, presentFile } from '#api/batches/service';
import type { BatchEnv } from '#api/http/env';
import { CursorPage, cursorPage } from '#api/http/schemas';
import { errorResponses, errorsOf, v1Ok } from '#api/spec/answers';
import { ApiError } from '#shared/errors';
import { FileIdParams, FileObject, fileExample } from './schemas';

const ListQuery = z.object({
  purpose: z.enum(['batch', 'batch_output']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  after: z.string().max(64).optional().openapi({ description: 'A file id: the page after it.' }),
});

const FileList = CursorPage(FileObject, 'FileList');

const list = createRoute({
  method: 'get',
  path: '/v1/files',
  tags: ['Batch'],
  summary: 'List files',
  description: 'Newest first; `after` (a file id) and `limit` page through them.',
  security: [{ apiKey: ['models:invoke'] }],
  request: { query: ListQuery },
  responses: {
    200: v1Ok({
      description: 'A page of files',
      content: { 'application/json': { schema: FileList } },
    }),
    ...errorResponses('v1', [...errorsOf.apiKey, ...errorsOf.endpointRead, 'invalid_request']),
  },
});

const get = createRoute({
  method: 'get',
  path: '/v1/files/{file_id}',
  tags: ['Batch'],
  summary: 'One file',
  security: [{ apiKey: ['models:invoke'] }],
  request: { params: FileIdParams },
  responses: {
    200: v1Ok({
      description: 'The file',
      content: { 'application/json': { schema: FileObject, example: fileExample } },
    }),
    ...errorResponses('v1', [...errorsOf.apiKey, ...errorsOf.endpointRead, 'invalid_request', 'not_found']),
  },
});

const content = createRoute({
  method: 'get',
  path: '/v1/files/{file_id}/content',
  tags: ['Batch'],
  summary: "A file's content",
  description: 'The JSONL as uploaded, or a batch output or error file.',
  security: [{ apiKey: ['models:invoke'] }],
  request: { params: FileIdParams },
  responses: {
    200: v1Ok({
      description: 'The bytes',
      content: { 'application/jsonl': { schema: z.string().openapi({ format: 'binary' }) } },
    }),
    ...errorResponses('v1', [...errorsOf.apiKey, ...errorsOf.endpointRead, 'invalid_request', 'not_found']),
  },
});

export function registerFileReads(app: OpenAPIHono<BatchEnv>): void {
  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const { files, hasMore } = await c.get('deps').batch.store.listFiles(c.get('principal').tenantId, q);
    const data = files.map(presentFile);
    return c.json(cursorPage(data, hasMore), 200);
  });
  app.openapi(get, async (c) => {
    const file = await fileOf(c.get('deps'), c.get('principal').tenantId, c.req.valid('param').file_id);
    return c.json(presentFile(file), 200);
  });
  app.openapi(content, async (c) => {
    const deps = c.get('deps');
    const file = await fileOf(deps, c.get('principal').tenantId, c.req.valid('param').file_id);
    const bytes = await deps.batch.storage.get(file.storageKey);
    if (!bytes) throw new ApiError('not_found', `No such file: '${file.id}'.`, { param: 'file_id' });
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': 'application/jsonl',
      'content-disposition': `attachment; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`,
    });
  });
}
