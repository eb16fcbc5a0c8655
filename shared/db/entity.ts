import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { EntityType } from './keys';
import type { Item } from './query';

/** A table's primary key. */
export interface ItemKey {
  pk: string;
  sk: string;
}

/** What an entity is declared with: its `type`, how its key is made (from keys.ts), how its items read. */
export interface EntityDefinition<T, A extends unknown[]> {
  /** Stored on every item as `type`. */
  type: EntityType;
  /** The item's primary key: a builder from keys.ts, where every key format is kept. */
  key: (...args: A) => ItemKey;
  /** The record an item holds, as the store's callers see it. */
  from: (item: Item) => T;
}

/** One kind of item: its key, its type and its mapper together, and the reads and writes they make. */
export interface Entity<T, A extends unknown[]> extends EntityDefinition<T, A> {
  /** An item as written: its key, its `type`, then its fields (index keys among them, if any). */
  item(key: ItemKey, fields: object): Item;
  /** One item by key (a GetItem), as a record; undefined when there is none. */
  get(
    doc: DynamoDBDocumentClient,
    table: string,
    key: ItemKey,
    opts?: { consistent?: boolean },
  ): Promise<T | undefined>;
}

/** Declares an entity (see `Entity`). */
export function entity<T, A extends unknown[]>(def: EntityDefinition<T, A>): Entity<T, A> {
  return {
    ...def,
    item: (key, fields) => ({ ...key, type: def.type, ...fields }),
    async get(doc, table, key, opts = {}) {
      const out = await doc.send(
        new GetCommand({ TableName: table, Key: key, ...(opts.consistent ? { ConsistentRead: true } : {}) }),
      );
      return out.Item ? def.from(out.Item) : undefined;
    },
  };
}

/** An item's own fields: the item less its keys (the table's and gsi1's) and its `type`. */
export function fieldsOf(item: Item): Item {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, type: _t, ...fields } = item;
  return fields;
}
