import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Stores } from '../functions/api/wiring/deps';
import { hashApiKey } from '../shared/auth/api-keys';
import { issueApiKey, prepareApiKey } from '../shared/auth/issue-api-key';
import { seedCatalog } from '../shared/catalog/seed';
import { conditionHeld } from '../shared/db/conditions';
import { keys } from '../shared/db/keys';
import { newId } from '../shared/ids';
import { defaultPlans } from '../shared/quotas/plans';

/** Writes the seed catalog and plans; never overwrites what operators changed since. */
export async function seedCatalogIfAbsent(stores: Stores, stage: string): Promise<void> {
  const seed = seedCatalog(stage);
  for (const m of seed.models) await stores.catalog.putModelIfAbsent(m);
  for (const v of seed.versions) await stores.catalog.putVersionIfAbsent(v);
  for (const p of defaultPlans) await stores.plans.put(p, { ifAbsent: true });
}

export interface DemoSeed {
  tenantId: string;
  keyId: string;
  /** Present only on the run that created it: the secret is shown once and never stored. */
  secret: string | null;
}

/**
 * At first start, a demo tenant with one API key, so the platform can be called at once.
 * A marker item makes later starts skip it (and they cannot print the secret again).
 * `restore`: the demo this process made before an in-memory store was restarted empty: made again
 * with the same ids and secret, so the key printed at start keeps working.
 */
export async function seedDemoTenant(stores: Stores, table: string, restore?: DemoSeed): Promise<DemoSeed> {
  const marker = keys.seedMarker('demo');
  const tenantId = restore?.secret ? restore.tenantId : newId('ten');
  const claimed = await conditionHeld(
    stores.dynamo.doc.send(
      new PutCommand({
        TableName: table,
        Item: { ...marker, type: 'seed', tenantId, createdAt: new Date().toISOString() },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
  if (!claimed) {
    const out = await stores.dynamo.doc.send(new GetCommand({ TableName: table, Key: marker }));
    return { tenantId: out.Item?.tenantId as string, keyId: out.Item?.keyId as string, secret: null };
  }
  await stores.tenants.create({
    id: tenantId,
    name: 'Demo',
    status: 'active',
    // Generous limits, so a first try is not throttled; billing stays in the ledger locally.
    plan: 'enterprise',
    createdAt: new Date().toISOString(),
  });
  const { key, secret } = restore?.secret
    ? await restoreKey(stores, tenantId, restore.keyId, restore.secret)
    : await issueApiKey(stores.apiKeys, { tenantId, name: 'demo key' });
  await stores.dynamo.doc.send(
    new PutCommand({
      TableName: table,
      Item: { ...marker, type: 'seed', tenantId, keyId: key.id, createdAt: new Date().toISOString() },
    }),
  );
  return { tenantId, keyId: key.id, secret };
}

/** The demo key stored again under its id, from the secret this process still holds. */
async function restoreKey(stores: Stores, tenantId: string, keyId: string, secret: string) {
  const fresh = prepareApiKey({ tenantId, name: 'demo key' }).key;
  const key = { ...fresh, id: keyId, visiblePrefix: secret.slice(0, fresh.visiblePrefix.length) };
  await stores.apiKeys.create(key, hashApiKey(secret));
  return { key, secret };
}
