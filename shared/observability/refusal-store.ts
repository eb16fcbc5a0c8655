import { type DynamoDBDocumentClient, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../db/cursor';
import { keys } from '../db/keys';
import type { RefusalDelta, RefusalSink } from './refusal-counts';

/** How long a refusal count is kept: the request log's 30 days, then DynamoDB's TTL removes it. */
export const REFUSAL_RETENTION_DAYS = 30;

/** One stored bucket: a key's refusals (or failures) of one reason in one UTC minute. */
export type RefusalCount = Omit<RefusalDelta, 'tenantId'>;

export interface RefusalFilter {
  /** UTC minutes `YYYY-MM-DDTHH:MM`, both included. */
  fromMinute: string;
  toMinute: string;
  keyId?: string;
  projectId?: string;
  reason?: string;
}

/** The TTL (epoch seconds) of a minute's item: the minute's end plus the retention. */
export function refusalTtl(minute: string): number {
  return Math.ceil(Date.parse(`${minute}:00Z`) / 1000) + 60 + REFUSAL_RETENTION_DAYS * 86_400;
}

/**
 * Refusal counts in the usage table, one item per tenant x UTC minute x key x reason, in a
 * partition per tenant. Writes are `ADD`s (no read, no condition), so instances never conflict;
 * each item carries a `ttl` 30 days after its minute.
 */
export class RefusalStore implements RefusalSink {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(deltas: RefusalDelta[]): Promise<{ unwritten: RefusalDelta[]; error?: unknown }> {
    const results = await Promise.allSettled(deltas.map((d) => this.addOne(d)));
    const unwritten = deltas.filter((_, i) => results[i]!.status === 'rejected');
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    return failure ? { unwritten, error: failure.reason } : { unwritten };
  }

  private async addOne(d: RefusalDelta): Promise<void> {
    if (d.count <= 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.refusalMinute(d.tenantId, d.minute, d.keyId, d.reason),
        UpdateExpression:
          'SET #type = :type, #minute = :minute, #key = :key, #project = :project, #reason = :reason, ' +
          '#status = :status, #ttl = :ttl ADD #count :n',
        // Every name through a placeholder: MINUTE, STATUS, TTL and COUNT are reserved words.
        ExpressionAttributeNames: {
          '#type': 'type',
          '#minute': 'minute',
          '#key': 'keyId',
          '#project': 'projectId',
          '#reason': 'reason',
          '#status': 'status',
          '#ttl': 'ttl',
          '#count': 'count',
        },
        ExpressionAttributeValues: {
          ':type': 'refusal_minute',
          ':minute': d.minute,
          ':key': d.keyId,
          ':project': d.projectId,
          ':reason': d.reason,
          ':status': d.status,
          ':ttl': refusalTtl(d.minute),
          ':n': d.count,
        },
      }),
    );
  }

  /**
   * One page of a tenant's counts in a minute range, newest minute first, filtered by key, project
   * and reason. `bad_cursor` for a cursor that is not one of this tenant's pages.
   */
  async list(
    tenantId: string,
    filter: RefusalFilter,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: RefusalCount[]; cursor: string | null } | 'bad_cursor'> {
    const pk = keys.refusalPartition(tenantId);
    let start: Record<string, string> | undefined;
    if (page.cursor) {
      start = decodeCursor(page.cursor, { pk });
      if (!start || typeof start.sk !== 'string' || !start.sk.startsWith('MIN#')) return 'bad_cursor';
    }
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':pk': pk,
      ':from': `MIN#${filter.fromMinute}`,
      ':to': `MIN#${filter.toMinute}~`,
    };
    for (const [field, value] of [
      ['keyId', filter.keyId],
      ['projectId', filter.projectId],
      ['reason', filter.reason],
    ] as const) {
      if (value === undefined) continue;
      filters.push(`#${field} = :${field}`);
      names[`#${field}`] = field;
      values[`:${field}`] = value;
    }
    const items: RefusalCount[] = [];
    let last: Record<string, unknown> | undefined;
    const pages = paginateQuery(
      { client: this.doc, pageSize: page.limit, ...(start ? { startingToken: start } : {}) },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ...(filters.length
          ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names }
          : {}),
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
      },
    );
    let more = false;
    for await (const p of pages) {
      for (const item of p.Items ?? []) {
        if (items.length === page.limit) {
          more = true;
          break;
        }
        items.push(countOf(item));
        last = { pk: item.pk, sk: item.sk };
      }
      if (more) break;
      if (items.length === page.limit && p.LastEvaluatedKey) {
        // A full page: there may be more (an empty next page costs one read, not a wrong answer).
        more = true;
        break;
      }
    }
    return { items, cursor: more ? encodeCursor(last) : null };
  }
}

function countOf(item: Record<string, unknown>): RefusalCount {
  return {
    minute: String(item.minute),
    keyId: String(item.keyId),
    projectId: String(item.projectId),
    reason: String(item.reason),
    status: Number(item.status),
    count: Number(item.count ?? 0),
  };
}
