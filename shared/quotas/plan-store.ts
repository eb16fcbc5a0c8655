import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TtlCache } from '../cache';
import { keys } from '../db/keys';
import type { Plan } from './plans';

/**
 * Plans as data in the `main` table (one GSI partition, read in one Query and cached). Operators
 * edit them; a change reaches the hot path within the cache's TTL.
 */
export class PlanStore {
  private readonly cache: TtlCache<Map<string, Plan>>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
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
          const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, type: _t, ...plan } = item;
          plans.set(plan.id as string, plan as Plan);
        }
        cursor = out.LastEvaluatedKey;
      } while (cursor);
      return plans;
    });
  }

  async get(id: string): Promise<Plan | undefined> {
    return (await this.all()).get(id);
  }

  /** Creates or replaces a plan (`ifAbsent` for seeding, which never overwrites operators' edits). */
  async put(plan: Plan, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.plan(plan.id), gsi1pk: keys.planIndex(), gsi1sk: plan.id, type: 'plan', ...plan },
          ...(opts.ifAbsent ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
        }),
      );
      this.cache.delete('plans');
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}
