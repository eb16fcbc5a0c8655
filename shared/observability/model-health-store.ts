import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import { percentile } from './latency-histogram';
import {
  emptyCounts,
  type HealthCounts,
  type HealthDelta,
  type HealthSink,
  mergeCounts,
} from './model-health';

/** Attribute prefixes of a health item: refusals and failures by code, latency bucket counts. */
const REFUSED = 'r_';
const FAILED = 'f_';
const BUCKET = 'l_';

const COUNTERS = ['requests', 'succeeded', 'refused', 'failed', 'clientErrors'] as const;

/** One model version's health over a range of days. */
export interface ModelVersionHealth extends HealthCounts {
  modelVersion: string;
  /** Nearest-rank percentiles of succeeded requests' latency, from the merged histogram. */
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
}

/** One model version's health on one UTC day: counters only, added to (never put whole). */
const healthEntity = entity({
  type: 'model_health_daily',
  key: keys.modelHealthDaily,
  from: (item) => ({ modelVersion: String(item.modelVersion), counts: countsOf(item) }),
});

/**
 * Model-version health items in the usage table, beside the platform's usage aggregates: one item
 * per UTC day x model version, in one partition. Writes are `ADD`s only (no read, no condition),
 * so instances never conflict; reads Query a day range and sum.
 */
export class ModelHealthStore implements HealthSink {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(deltas: HealthDelta[]): Promise<{ unwritten: HealthDelta[]; error?: unknown }> {
    const results = await Promise.allSettled(deltas.map((d) => this.addOne(d)));
    const unwritten = deltas.filter((_, i) => results[i]!.status === 'rejected');
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    return failure ? { unwritten, error: failure.reason } : { unwritten };
  }

  private async addOne(d: HealthDelta): Promise<void> {
    const names: Record<string, string> = { '#type': 'type', '#day': 'day', '#mv': 'modelVersion' };
    const values: Record<string, unknown> = {
      ':type': healthEntity.type,
      ':day': d.day,
      ':mv': d.modelVersion,
    };
    const adds: string[] = [];
    const add = (attribute: string, n: number) => {
      if (n === 0) return;
      const i = adds.length;
      names[`#a${i}`] = attribute;
      values[`:a${i}`] = n;
      adds.push(`#a${i} :a${i}`);
    };
    for (const c of COUNTERS) add(c, d[c]);
    for (const [code, n] of d.refusedByCode) add(`${REFUSED}${code}`, n);
    for (const [code, n] of d.failedByCode) add(`${FAILED}${code}`, n);
    for (const [bucket, n] of d.latency) add(`${BUCKET}${bucket}`, n);
    if (adds.length === 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: healthEntity.key(d.day, d.modelVersion),
        UpdateExpression: `SET #type = :type, #day = :day, #mv = :mv ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Every model version with health recorded in days [from, to] (YYYY-MM-DD), summed, busiest first. */
  async range(from: string, to: string): Promise<ModelVersionHealth[]> {
    const merged = new Map<string, HealthCounts>();
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': keys.modelHealthPartition(),
        ':from': `DAY#${from}`,
        ':to': `DAY#${to}~`,
      },
    });
    for (const { modelVersion, counts } of items.map(healthEntity.from)) {
      const into = merged.get(modelVersion) ?? emptyCounts();
      mergeCounts(into, counts);
      merged.set(modelVersion, into);
    }
    return [...merged.entries()]
      .map(([modelVersion, c]) => ({
        modelVersion,
        ...c,
        latencyMs: {
          p50: percentile(c.latency, 0.5),
          p90: percentile(c.latency, 0.9),
          p99: percentile(c.latency, 0.99),
        },
      }))
      .sort((a, b) => b.requests - a.requests || a.modelVersion.localeCompare(b.modelVersion));
  }
}

function countsOf(item: Record<string, unknown>): HealthCounts {
  const c = emptyCounts();
  for (const k of COUNTERS) c[k] = Number(item[k] ?? 0);
  for (const [name, value] of Object.entries(item)) {
    const n = Number(value);
    if (name.startsWith(REFUSED)) c.refusedByCode.set(name.slice(REFUSED.length), n);
    else if (name.startsWith(FAILED)) c.failedByCode.set(name.slice(FAILED.length), n);
    else if (name.startsWith(BUCKET)) c.latency.set(Number(name.slice(BUCKET.length)), n);
  }
  return c;
}
