import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiDocument } from '../../functions/api/planes/docs';
import { API_TYPES_FILE, generateApiTypes } from '../../local/api-types';

describe("the console's API types (web/src/lib/api-types.ts)", () => {
  it('are what the routes generate now: after changing a schema, run npm run api-types', async () => {
    const generated = await generateApiTypes();
    // One comparison, not a diff of 9000 lines: the message says what to run.
    expect(readFileSync(API_TYPES_FILE, 'utf8') === generated, 'web/src/lib/api-types.ts is stale').toBe(
      true,
    );
  }, 60_000);

  it('follow the schemas: a field added to a route schema makes the file stale', async () => {
    const doc = apiDocument() as { components: { schemas: Record<string, { properties: object }> } };
    const apiKey = doc.components.schemas.ApiKey;
    if (!apiKey) throw new Error('no ApiKey schema');
    apiKey.properties = { ...apiKey.properties, nickname: { type: 'string' } };
    const generated = await generateApiTypes(doc);
    expect(generated).toContain('nickname?: string;');
    expect(readFileSync(API_TYPES_FILE, 'utf8') === generated).toBe(false);
  }, 60_000);
});
