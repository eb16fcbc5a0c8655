import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TtlCache } from '../cache';
import { conditionHeld } from '../db/conditions';
import { entity, fieldsOf } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import type { TransactItem } from '../db/transact';
import type { Plan } from './plans';

/** A plan as stored: with the revision its writes are conditional on. */
export interface StoredPlan {
  plan: Plan;
  /** Bumped by every operator edit; 0 for a seeded plan never edited. */
  revision: number;
}

/** A plan, in gsi1 `PLANS` beside every other (all read in one Query). */
const planEntity = entity({
  type: 'plan',
  key: keys.plan,
  from: (item): StoredPlan => {
    const { revision, ...plan } = fieldsOf(item);
    return { plan: plan as unknown as Plan, revision: Number(revision ?? 0) };
  },
});

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
      const items = await queryAll(this.doc, {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.planIndex() },
      });
      const plans = new Map<string, Plan>();
      for (const { plan } of items.map(planEntity.from)) plans.set(plan.id, plan);
      return plans;
    });
  }

  async get(id: string): Promise<Plan | undefined> {
    return (await this.all()).get(id);
  }

  /** One plan read from the table itself (not the cache), with its revision: what edits start from. */
  async read(id: string): Promise<StoredPlan | undefined> {
    return planEntity.get(this.doc, this.table, planEntity.key(id), { consistent: true });
  }

  /** Creates or replaces a plan (`ifAbsent` for seeding, which never overwrites operators' edits). */
  async put(plan: Plan, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const written = await conditionHeld(
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: this.item(plan, 0),
          ...(opts.ifAbsent ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
        }),
      ),
    );
    if (written) this.forget();
    return written;
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
    return planEntity.item(planEntity.key(plan.id), {
      gsi1pk: keys.planIndex(),
      gsi1sk: plan.id,
      ...plan,
      revision,
    });
  }
}
