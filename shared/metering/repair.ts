import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import { shardOf } from '../db/shard';
import { PLATFORM_SHARDS } from './platform-usage';
import type { AggregateDifference, Reconciliation } from './reconcile';

type Field = AggregateDifference['field'];

/** The counters still hold what the reconciliation read (a counter the item lacks reads as 0). */
function unchangedSince(diffs: AggregateDifference[]): string {
  return diffs
    .map((d) =>
      d.stored === 0
        ? `(attribute_not_exists(#${d.field}) OR #${d.field} = :was_${d.field})`
        : `#${d.field} = :was_${d.field}`,
    )
    .join(' AND ');
}

export interface RepairReport {
  /** Daily aggregates set to what the usage records say (with the platform totals moved by as much). */
  repaired: number;
  /** Daily aggregates that changed between the reconciliation and the repair: left alone, run again. */
  changedMeanwhile: number;
  /** Whether the tenant's month total was corrected on its own (its dailies agreed, it did not). */
  monthTotalRepaired: boolean;
}

/**
 * Sets a tenant's aggregates for a month to what its usage records (the ledger) say, from a
 * reconciliation (`reconcileMonth`): the repair for changes the stream consumer never applied,
 * such as a batch its event source mapping discarded after its retries (the shard's checkpoint
 * moved past it, so replaying the batch applies nothing).
 *
 * One transaction per daily aggregate that differs: the daily item is set to the records' counts
 * on the condition that it still holds the counts the reconciliation read (so a concurrent change
 * by the consumer, or a second repair, cannot be overwritten or applied twice), and the same
 * difference is added to the platform's day x version total and to the tenant's month total, so
 * the operators' figures move with it. A month total that differs while every daily agrees is set
 * on its own, on the same condition. A daily that changed meanwhile is reported, not retried:
 * reconcile and repair again.
 */
export async function repairMonth(
  doc: DynamoDBDocumentClient,
  tables: { usage: string },
  reconciliation: Reconciliation,
): Promise<RepairReport> {
  const report: RepairReport = { repaired: 0, changedMeanwhile: 0, monthTotalRepaired: false };
  const { tenantId, month } = reconciliation;
  const daily = new Map<string, AggregateDifference[]>();
  for (const d of reconciliation.differences) {
    if (d.scope !== 'daily') continue;
    const id = `${d.day}#${d.model}#${d.version}#${d.keyId}#${d.channel ?? 'online'}`;
    daily.set(id, [...(daily.get(id) ?? []), d]);
  }
  const tenantMonth = keys.platformTenantMonth(month, shardOf(tenantId, PLATFORM_SHARDS), tenantId);
  for (const diffs of daily.values()) {
    const { day, model, version, keyId } = diffs[0]!;
    const channel = diffs[0]!.channel ?? 'online';
    // A batch aggregate says so on its items; an online one is shaped as before batches existed.
    const batchSet = channel === 'batch' ? ', #channel = :channel' : '';
    const batchNames: Record<string, string> = channel === 'batch' ? { '#channel': 'channel' } : {};
    const batchValues: Record<string, string> = channel === 'batch' ? { ':channel': channel } : {};
    const delta = Object.fromEntries(diffs.map((d) => [d.field, d.fromEvents - d.stored])) as Partial<
      Record<Field, number>
    >;
    // Any platform shard holds part of the day's total; the tenant's own shard is as good as any.
    const platform = keys.platformDaily(shardOf(tenantId, PLATFORM_SHARDS), day, model, version, channel);
    const names = Object.fromEntries(diffs.map((d) => [`#${d.field}`, d.field]));
    const wasValues = Object.fromEntries(diffs.map((d) => [`:was_${d.field}`, d.stored]));
    const setValues = Object.fromEntries(diffs.map((d) => [`:set_${d.field}`, d.fromEvents]));
    const addValues = Object.fromEntries(diffs.map((d) => [`:add_${d.field}`, delta[d.field]]));
    const add = `ADD ${diffs.map((d) => `#${d.field} :add_${d.field}`).join(', ')}`;
    try {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: tables.usage,
                Key: keys.usageDaily(tenantId, day, model, version, keyId, channel),
                UpdateExpression: `SET #type = :daily, #day = :day, #model = :model, #version = :version, #keyId = :keyId${batchSet}, ${diffs
                  .map((d) => `#${d.field} = :set_${d.field}`)
                  .join(', ')}`,
                ConditionExpression: unchangedSince(diffs),
                ExpressionAttributeNames: {
                  ...names,
                  '#type': 'type',
                  '#day': 'day',
                  '#model': 'model',
                  '#version': 'version',
                  '#keyId': 'keyId',
                  ...batchNames,
                },
                ExpressionAttributeValues: {
                  ...wasValues,
                  ...setValues,
                  ...batchValues,
                  ':daily': 'usage_daily',
                  ':day': day,
                  ':model': model,
                  ':version': version,
                  ':keyId': keyId,
                },
              },
            },
            {
              Update: {
                TableName: tables.usage,
                Key: platform,
                UpdateExpression: `SET #type = :type, #day = :day, #model = :model, #version = :version${batchSet} ${add}`,
                ExpressionAttributeNames: {
                  ...names,
                  '#type': 'type',
                  '#day': 'day',
                  '#model': 'model',
                  '#version': 'version',
                  ...batchNames,
                },
                ExpressionAttributeValues: {
                  ...addValues,
                  ...batchValues,
                  ':type': 'platform_daily',
                  ':day': day,
                  ':model': model,
                  ':version': version,
                },
              },
            },
            {
              Update: {
                TableName: tables.usage,
                Key: tenantMonth,
                UpdateExpression: `SET #type = :type, #tenantId = :tenant, #month = :month ${add}`,
                ExpressionAttributeNames: {
                  ...names,
                  '#type': 'type',
                  '#tenantId': 'tenantId',
                  '#month': 'month',
                },
                ExpressionAttributeValues: {
                  ...addValues,
                  ':type': 'platform_tenant_month',
                  ':tenant': tenantId,
                  ':month': month,
                },
              },
            },
          ],
        }),
      );
      report.repaired++;
    } catch (err) {
      if ((err as Error).name !== 'TransactionCanceledException') throw err;
      report.changedMeanwhile++;
    }
  }
  // The month total on its own: only when every daily agreed (otherwise the dailies' repairs
  // above moved it, and its recorded difference is stale).
  const total = reconciliation.differences.filter((d) => d.scope === 'month_total');
  if (daily.size === 0 && total.length > 0) {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.usage,
          Key: tenantMonth,
          UpdateExpression: `SET #type = :type, #tenantId = :tenant, #month = :month, ${total
            .map((d) => `#${d.field} = :set_${d.field}`)
            .join(', ')}`,
          ConditionExpression: unchangedSince(total),
          ExpressionAttributeNames: {
            ...Object.fromEntries(total.map((d) => [`#${d.field}`, d.field])),
            '#type': 'type',
            '#tenantId': 'tenantId',
            '#month': 'month',
          },
          ExpressionAttributeValues: {
            ...Object.fromEntries(total.map((d) => [`:was_${d.field}`, d.stored])),
            ...Object.fromEntries(total.map((d) => [`:set_${d.field}`, d.fromEvents])),
            ':type': 'platform_tenant_month',
            ':tenant': tenantId,
            ':month': month,
          },
        }),
      );
      report.monthTotalRepaired = true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      report.changedMeanwhile++;
    }
  }
  return report;
}
