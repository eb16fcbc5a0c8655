import { OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { ConsoleEnv } from '#api/http/env';
import { registerPins } from '#api/routes/account/pins/index';
import { registerAdminModels } from '#api/routes/admin/models/index';
import { createHarness } from '../../support/harness';

describe('the OpenAPI document', () => {
  it('lists the model and image routes', async () => {
    const h = await createHarness();
    const res = await h.call('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(doc.paths['/v1/models']?.get).toBeDefined();
    expect(doc.paths['/v1/models/{id}']?.get).toBeDefined();
    expect(doc.paths['/v1/images/moderations']?.post).toBeDefined();
    expect(doc.paths['/v1/images/ocr']?.post).toBeDefined();
  });

  it("names this deployment's PUBLIC_URL as its server, and /docs renders it for people", async () => {
    const h = await createHarness({ env: { PUBLIC_URL: 'https://api.example.com' } });
    const doc = (await (await h.call('/openapi.json')).json()) as { servers?: { url: string }[] };
    expect(doc.servers?.map((s) => s.url)).toEqual(['https://api.example.com']);
    const page = await (await h.call('/docs')).text();
    // The page reads the credentials and the examples from the document (securitySchemes, examples).
    expect(page).toContain('securitySchemes');
    expect(page).toContain('media.examples');
  });

  it('documents the operator and pin routes once they are mounted', () => {
    const app = new OpenAPIHono<ConsoleEnv>();
    registerAdminModels(app);
    registerPins(app);
    const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths ?? {}).sort()).toEqual([
      '/account/models/pins',
      '/account/models/pins/{model}',
      '/admin/models',
      '/admin/models/health',
      '/admin/models/{model}/traffic',
      '/admin/models/{model}/versions',
      '/admin/models/{model}/versions/{version}/deprecate',
      '/admin/models/{model}/versions/{version}/prices',
      '/admin/models/{model}/versions/{version}/promote',
      '/admin/models/{model}/versions/{version}/retire',
    ]);
  });
});
