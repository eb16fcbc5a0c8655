import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { batchScopeRefusal, checkInputFile, createBatch, uploadFile } from '#api/batches/service';
import { sessionSecurity } from '#api/console/account-schemas';
import type { BatchEnv } from '#api/http/env';
import { requirePermission, userSession } from '#api/middleware/require-role';
import { errorResponses, errorsOf } from '#api/spec/answers';
import { keyAllows } from '#shared/auth/scopes';
import { batchEndpoints } from '#shared/batch/types';
import { ApiError } from '#shared/errors';
import { tenantMayCall } from '#shared/tenants/tenant-store';
import { Metadata } from '../../v1/batches/create';
import { AccountBatch, presentAccountBatch } from './schemas';

const CreateForm = z
  .object({
    file: z
      .custom<File>((v) => v instanceof File, { message: 'must be a file' })
      .openapi({ type: 'string', format: 'binary', description: 'JSONL: one request per line.' }),
    endpoint: z.enum(batchEndpoints, { error: `must be one of ${batchEndpoints.join(', ')}` }),
    key_id: z
      .string()
      .min(1, 'must name one of your API keys')
      .max(64)
      .openapi({ description: "One of the tenant's active API keys: the lines are billed to it." }),
    metadata: z
      .string()
      .max(16_384)
      .optional()
      .openapi({ description: 'A JSON object of up to 16 string pairs, as OpenAI’s `metadata`.' }),
  })
  .openapi('AccountBatchUpload');

const route = createRoute({
  method: 'post',
  path: '/account/batches',
  tags: ['Batch'],
  summary: 'Upload a batch input file and create its batch, in one call',
  description:
    "Owners and developers (who may make keys and call models) may create batches; viewers and billing may not. The file is checked as `POST /v1/files` and `POST /v1/batches` check it (JSONL, unique `custom_id`s, each line's `url` and body for `endpoint`, its model), before anything is kept: a bad line is a 400 naming it. `key_id` must be an active key of the tenant allowed to call models (a scoped key: not read-only, with the batch endpoints and this one, and every line's model in its scope): the lines run and are billed as that key's, at the batch price, against the batch lines a day (`BATCH_LINES_PER_DAY`).",
  security: sessionSecurity,
  middleware: [requirePermission('batches:manage')] as const,
  request: { body: { required: true, content: { 'multipart/form-data': { schema: CreateForm } } } },
  responses: {
    201: {
      description: 'The batch, in progress',
      content: { 'application/json': { schema: AccountBatch } },
    },
    ...errorResponses('console', [
      ...errorsOf.session,
      ...errorsOf.jsonBody,
      'tenant_inactive',
      'not_found',
      'batch_limit_reached',
    ]),
  },
});

export function registerAccountBatchCreate(app: OpenAPIHono<BatchEnv>): void {
  app.openapi(route, async (c) => {
    const form = c.req.valid('form');
    const session = userSession(c);
    const deps = c.get('deps');
    const tenantId = session.tenantId;
    if (!tenantMayCall(session.tenant.status)) {
      throw new ApiError(
        'tenant_inactive',
        `This account is ${session.tenant.status.replace('_', ' ')}; batches cannot be created.`,
      );
    }
    if (!(form.file instanceof File))
      throw new ApiError('invalid_request', 'file must be a file.', { param: 'file' });
    let metadata: Record<string, string> | null = null;
    if (form.metadata !== undefined && form.metadata.trim() !== '') {
      let raw: unknown;
      try {
        raw = JSON.parse(form.metadata);
      } catch {
        throw new ApiError('invalid_request', 'metadata must be a JSON object of strings.', {
          param: 'metadata',
        });
      }
      const parsed = Metadata.safeParse(raw);
      if (!parsed.success || raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw new ApiError(
          'invalid_request',
          `metadata: ${parsed.success ? 'must be a JSON object of strings' : parsed.error.issues[0]!.message}.`,
          { param: 'metadata' },
        );
      metadata = parsed.data ?? null;
    }
    const key = await deps.apiKeys.get(tenantId, form.key_id);
    const now = deps.now();
    if (key?.status !== 'active')
      throw new ApiError('invalid_request', `key_id: '${form.key_id}' is not an active API key of yours.`, {
        param: 'key_id',
      });
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now.getTime())
      throw new ApiError('invalid_request', `key_id: the key '${key.name}' has expired.`, {
        param: 'key_id',
      });
    if (!keyAllows(key.scopes, 'models:invoke'))
      throw new ApiError('invalid_request', `key_id: the key '${key.name}' may not call models.`, {
        param: 'key_id',
      });
    // The lines run as the key: its scope must cover them (a refusal here names the key, not a scope code).
    const outOfScope = (refusal: ApiError) =>
      new ApiError(
        'invalid_request',
        `key_id: the key '${key.name}' cannot run this batch. ${refusal.message}`,
        {
          param: 'key_id',
        },
      );
    const scope = key.scope ?? undefined;
    const refusal = scope?.readOnly
      ? new ApiError('key_read_only', 'It is read-only.')
      : batchScopeRefusal(scope, form.endpoint);
    if (refusal) throw outOfScope(refusal);
    const bytes = new Uint8Array(await form.file.arrayBuffer());
    // Every line checked before anything is kept, so a bad file changes nothing.
    // (An empty or oversize file is refused by uploadFile, naming its size.)
    if (bytes.byteLength > 0 && bytes.byteLength <= deps.config.BATCH_FILE_MAX_BYTES)
      await checkInputFile(deps, tenantId, form.endpoint, bytes, 'file', scope).catch((err: unknown) => {
        throw err instanceof ApiError && err.code === 'model_not_in_key_scope' ? outOfScope(err) : err;
      });
    const file = await uploadFile(deps, tenantId, { filename: form.file.name, bytes, purpose: 'batch' });
    let batch: Awaited<ReturnType<typeof createBatch>>;
    try {
      batch = await createBatch(
        deps,
        { tenantId, keyId: key.id, ...(scope ? { scope } : {}) },
        { inputFileId: file.id, endpoint: form.endpoint, metadata },
      );
    } catch (err) {
      // Refused (the day's batch lines): the file uploaded for it goes too.
      await deps.batch.store
        .deleteFile(tenantId, file.id)
        .then((r) => (r === 'deleted' ? deps.batch.storage.delete(file.storageKey) : undefined))
        .catch(() => undefined);
      throw err;
    }
    return c.json(await presentAccountBatch(deps, batch), 201);
  });
}
