import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { conditionHeld, ifConditionFails } from '../db/conditions';
import { entity, fieldsOf } from '../db/entity';
import { keys } from '../db/keys';
import { type Item, queryAll } from '../db/query';
import type {
  Catalog,
  CatalogEntry,
  CatalogSource,
  ModelDefinition,
  ModelVersion,
  VersionAvailability,
} from './types';

export type CatalogWriteResult = 'written' | 'conflict';
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A model, in gsi1 `CATALOG` beside every other model and version. */
const modelEntity = entity({
  type: 'model',
  key: keys.model,
  from: (item) => fieldsOf(item) as unknown as ModelDefinition,
});

/** A version of a model, under the model's partition and in gsi1 `CATALOG`. */
const versionEntity = entity({
  type: 'model_version',
  key: keys.modelVersion,
  from: (item) => fieldsOf(item) as unknown as ModelVersion,
});

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

  /**
   * Records whether what runs a version is installed (`null`: it is). Not an operator's change (no
   * revision, no audit): the installer reports a fact about the deployment. Answers false when the
   * version does not exist.
   */
  async setAvailability(model: string, version: string, availability: VersionAvailability | null) {
    return conditionHeld(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: versionEntity.key(model, version),
          ConditionExpression: 'attribute_exists(pk)',
          ...(availability
            ? {
                UpdateExpression: 'SET #a = :a',
                ExpressionAttributeNames: { '#a': 'availability' },
                ExpressionAttributeValues: { ':a': availability },
              }
            : { UpdateExpression: 'REMOVE #a', ExpressionAttributeNames: { '#a': 'availability' } }),
        }),
      ),
    );
  }

  async load(): Promise<Catalog> {
    const { models, versions } = splitCatalog(
      await queryAll(this.doc, {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :c',
        ExpressionAttributeValues: { ':c': keys.catalogIndex() },
      }),
    );
    const catalog: Catalog = { models: new Map() };
    for (const model of models) catalog.models.set(model.name, { model, versions: new Map() });
    for (const v of versions) catalog.models.get(v.model)?.versions.set(v.version, v);
    return catalog;
  }

  /** One model and all its versions, read consistently from its own partition (for operator changes). */
  async getEntry(name: string): Promise<CatalogEntry | undefined> {
    const { models, versions } = splitCatalog(
      await queryAll(this.doc, {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': modelEntity.key(name).pk },
        ConsistentRead: true,
      }),
    );
    const model = models.at(-1);
    if (!model) return undefined;
    const entry: CatalogEntry = { model, versions: new Map() };
    for (const v of versions) entry.versions.set(v.version, v);
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
    const write = this.doc.send(
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
    return ifConditionFails(
      write.then(() => 'written' as const),
      () => 'conflict' as const,
    );
  }

  private async putIfAbsent(item: Item): Promise<boolean> {
    return conditionHeld(
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }
}

/** Models and versions apart, from the items of a catalog read. */
function splitCatalog(items: Item[]): { models: ModelDefinition[]; versions: ModelVersion[] } {
  return {
    models: items.filter((i) => i.type === modelEntity.type).map(modelEntity.from),
    versions: items.filter((i) => i.type === versionEntity.type).map(versionEntity.from),
  };
}

function modelItem(model: ModelDefinition): Item {
  return modelEntity.item(modelEntity.key(model.name), {
    gsi1pk: keys.catalogIndex(),
    gsi1sk: `MODEL#${model.name}`,
    ...model,
  });
}

function versionItem(version: ModelVersion): Item {
  return versionEntity.item(versionEntity.key(version.model, version.version), {
    gsi1pk: keys.catalogIndex(),
    gsi1sk: `MODEL#${version.model}#VERSION#${version.version}`,
    ...version,
  });
}
