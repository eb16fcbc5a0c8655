import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import type { Catalog, CatalogEntry, CatalogSource, ModelDefinition, ModelVersion } from './types';

export type CatalogWriteResult = 'written' | 'conflict';
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The model catalog in the `main` table; the whole catalog is one GSI partition, read in one Query. */
export class CatalogStore implements CatalogSource {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Writes a model only if it does not exist (seeding never overwrites operators' changes). */
  async putModelIfAbsent(model: ModelDefinition): Promise<boolean> {
    return this.putIfAbsent(modelItem({ ...model, revision: model.revision ?? 0 }));
  }

  async putVersionIfAbsent(version: ModelVersion): Promise<boolean> {
    return this.putIfAbsent(versionItem(version));
  }

  async load(): Promise<Catalog> {
    const catalog: Catalog = { models: new Map() };
    const versions: ModelVersion[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :c',
          ExpressionAttributeValues: { ':c': keys.catalogIndex() },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) {
        if (item.type === 'model') {
          const model = toModel(item);
          catalog.models.set(model.name, { model, versions: new Map() });
        } else if (item.type === 'model_version') versions.push(toVersion(item));
      }
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    for (const v of versions) catalog.models.get(v.model)?.versions.set(v.version, v);
    return catalog;
  }

  /** One model and all its versions, read consistently from its own partition (for operator changes). */
  async getEntry(name: string): Promise<CatalogEntry | undefined> {
    let entry: CatalogEntry | undefined;
    const versions: ModelVersion[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.model(name).pk },
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) {
        if (item.type === 'model') entry = { model: toModel(item), versions: new Map() };
        else if (item.type === 'model_version') versions.push(toVersion(item));
      }
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    for (const v of versions) entry?.versions.set(v.version, v);
    return entry;
  }

  /**
   * Writes a model and the versions an operator change touched, in one transaction that holds only
   * if the model is still at `expectedRevision` (or, with `null`, does not exist yet); the model's
   * revision is bumped. New versions must not exist yet; changed ones are replaced whole. `also`
   * joins the same transaction (the audit entry), so a change is never written without it.
   */
  async commit(change: {
    model: ModelDefinition;
    expectedRevision: number | null;
    newVersions?: ModelVersion[];
    changedVersions?: ModelVersion[];
    also?: TransactItem[];
  }): Promise<CatalogWriteResult> {
    const { model, expectedRevision } = change;
    const next = { ...model, revision: (expectedRevision ?? -1) + 1 };
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: modelItem(next),
                ...(expectedRevision === null
                  ? { ConditionExpression: 'attribute_not_exists(pk)' }
                  : {
                      // Items written before revisions existed count as revision 0.
                      ConditionExpression:
                        expectedRevision === 0 ? 'attribute_not_exists(#rev) OR #rev = :rev' : '#rev = :rev',
                      ExpressionAttributeNames: { '#rev': 'revision' },
                      ExpressionAttributeValues: { ':rev': expectedRevision },
                    }),
              },
            },
            ...(change.newVersions ?? []).map((v) => ({
              Put: {
                TableName: this.table,
                Item: versionItem(v),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
            ...(change.changedVersions ?? []).map((v) => ({
              Put: { TableName: this.table, Item: versionItem(v) },
            })),
            ...(change.also ?? []),
          ],
        }),
      );
      return 'written';
    } catch (err) {
      if ((err as Error).name === 'TransactionCanceledException') return 'conflict';
      throw err;
    }
  }

  private async putIfAbsent(item: Record<string, unknown>): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}

function modelItem(model: ModelDefinition): Record<string, unknown> {
  return {
    ...keys.model(model.name),
    gsi1pk: keys.catalogIndex(),
    gsi1sk: `MODEL#${model.name}`,
    type: 'model',
    ...model,
  };
}

function versionItem(version: ModelVersion): Record<string, unknown> {
  return {
    ...keys.modelVersion(version.model, version.version),
    gsi1pk: keys.catalogIndex(),
    gsi1sk: `MODEL#${version.model}#VERSION#${version.version}`,
    type: 'model_version',
    ...version,
  };
}

function toModel(item: Record<string, unknown>): ModelDefinition {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, type: _t, ...model } = item;
  return model as unknown as ModelDefinition;
}

function toVersion(item: Record<string, unknown>): ModelVersion {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, type: _t, ...version } = item;
  return version as unknown as ModelVersion;
}
