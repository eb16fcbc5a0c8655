import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import type { Catalog, ModelDefinition, ModelVersion } from './types';

/** The model catalog in the `main` table; the whole catalog is one GSI partition, read in one Query. */
export class CatalogStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Writes a model only if it does not exist (seeding never overwrites operators' changes). */
  async putModelIfAbsent(model: ModelDefinition): Promise<boolean> {
    return this.putIfAbsent({
      ...keys.model(model.name),
      gsi1pk: keys.catalogIndex(),
      gsi1sk: `MODEL#${model.name}`,
      type: 'model',
      ...model,
    });
  }

  async putVersionIfAbsent(version: ModelVersion): Promise<boolean> {
    return this.putIfAbsent({
      ...keys.modelVersion(version.model, version.version),
      gsi1pk: keys.catalogIndex(),
      gsi1sk: `MODEL#${version.model}#VERSION#${version.version}`,
      type: 'model_version',
      ...version,
    });
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
          const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, type: _t, ...model } = item;
          catalog.models.set(item.name as string, { model: model as ModelDefinition, versions: new Map() });
        } else if (item.type === 'model_version') {
          const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, type: _t, ...version } = item;
          versions.push(version as ModelVersion);
        }
      }
      cursor = out.LastEvaluatedKey;
    } while (cursor);
    for (const v of versions) catalog.models.get(v.model)?.versions.set(v.version, v);
    return catalog;
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
