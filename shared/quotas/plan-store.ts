import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TtlCache } from '../cache';
import { keys } from '../db/keys';
import type { TransactItem } from '../db/transact';
import type { Plan } from './plans';

/** A plan as stored: with the revision its writes are conditional on. */
export interface StoredPlan {
  plan: Plan;
  /** Bumped by every operator edit; 0 for a seeded plan never edited. */
  revision: number;
}

function toPlan(item: Record<string, unknown>): StoredPlan {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, type: _t, revision, ...plan } = item;
  return { plan: plan as unknown as Plan, revision: Number(revision ?? 0) };
}

/**
 * Plans as data in the `main` table (one GSI partition, read in one Query and cached). Operators
 * edit them; a change reaches the hot path within the cache's TTL (at once on the instance that
 * made it).
 */
export class PlanStore {
  private readonly cache: TtlCache<Map<string, Plan>>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
    ttlMs: number,
  ) {
    this.cache = new TtlCache(Math.max(ttlMs, 1), 1);
  }

  async all(): Promise<Map<string, Plan>> {
    return this.cache.getOrLoad('plans', async () => {
      const plans = new Map<string, Plan>();
      let cursor: Record<string, unknown> | undefined;
      do {
        const out = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :p',
            ExpressionAttributeValues: { ':p': keys.planIndex() },
            ExclusiveStartKey: cursor,
          }),
        );
        for (const item of out.Items ?? []) {
          const { plan } = toPlan(item);
          plans.set(plan.id, plan);
        }
        cursor = out.LastEvaluatedKey;
      } while (cursor);
      return plans;
    });
  }

  async get(id: string): Promise<Plan | undefined> {
    return (await this.all()).get(id);
  }

  /** One plan read from the table itself (not the cache), with its revision: what edits start from. */
  async read(id: string): Promise<StoredPlan | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.plan(id), ConsistentRead: true }),
    );
    return out.Item ? toPlan(out.Item) : undefined;
  }

  /** Creates or replaces a plan (`ifAbsent` for seeding, which never overwrites operators' edits). */
  async put(plan: Plan, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: this.item(plan, 0),
          ...(opts.ifAbsent ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
        }),
      );
      this.forget();
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /**
   * The Put of a plan for a transaction: a new one (`expected` undefined, the id must be free) or
   * the next revision of one read at revision `expected` (it must not have changed since).
   */
  putItem(plan: Plan, expected?: number): TransactItem {
    const Item = this.item(plan, expected === undefined ? 0 : expected + 1);
    if (expected === undefined) {
      return { Put: { TableName: this.table, Item, ConditionExpression: 'attribute_not_exists(pk)' } };
    }
    return {
      Put: {
        TableName: this.table,
        Item,
        ConditionExpression:
          expected === 0
            ? 'attribute_exists(pk) AND (attribute_not_exists(revision) OR revision = :r)'
            : 'revision = :r',
        ExpressionAttributeValues: { ':r': expected },
      },
    };
  }

  /** Drops this instance's cached plans (after a write here). */
  forget(): void {
    this.cache.delete('plans');
  }

  private item(plan: Plan, revision: number) {
    return {
      ...keys.plan(plan.id),
      gsi1pk: keys.planIndex(),
      gsi1sk: plan.id,
      type: 'plan',
      ...plan,
      revision,
    };
  }
}
