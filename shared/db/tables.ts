/**
 * The tables and indexes, declared once. The CDK data stack and the local runner both build their
 * tables from these definitions, so the keys the code queries are the keys that exist.
 * Pure data: no AWS SDK import, so `infra/` may read it.
 */
export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
}

export interface TableDefinition {
  /** Short id; the physical name is `tollgate-<stage>-<id>`. */
  id: string;
  partitionKey: string;
  sortKey: string;
  indexes: IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, purged by DynamoDB's TTL. */
  ttlAttribute: string;
  /** Whether the table publishes new images to a stream (for consumers off the hot path). */
  stream: boolean;
}

/**
 * `main`: tenants, users, API keys (and their hash lookups), the model catalog, billing state.
 * `usage`: usage events (one per request id) and daily aggregates, all under the tenant partition.
 */
export const tableDefinitions = {
  main: {
    id: 'main',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [{ name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
    ttlAttribute: 'ttl',
    stream: false,
  },
  usage: {
    id: 'usage',
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: [{ name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
    ttlAttribute: 'ttl',
    stream: true,
  },
} as const satisfies Record<string, TableDefinition>;

export type TableId = keyof typeof tableDefinitions;

/** Physical table name for a stage: `tollgate-dev-main`. */
export function tableName(stage: string, id: TableId): string {
  return `tollgate-${stage}-${id}`;
}

export type TableNames = Record<TableId, string>;

export function tableNames(stage: string): TableNames {
  return { main: tableName(stage, 'main'), usage: tableName(stage, 'usage') };
}
