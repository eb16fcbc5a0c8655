import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type TransactItem, transact } from './transact';

/** DynamoDB's limit on the items of one TransactWriteItems. */
const MAX_ITEMS = 100;

interface Member {
  items: TransactItem[];
  done: (outcome: 'committed' | 'failed') => void;
  fail: (err: unknown) => void;
}

/**
 * Group commit of independent transactions: while one batch is being written, the transactions
 * submitted meanwhile wait and are then written together as ONE TransactWrite (up to 100 items),
 * with updates of the same item merged (their ADD amounts summed), since an item may appear in a
 * transaction only once. Alone (no batch in flight) a transaction is written at once, so this adds
 * no latency at low load and multiplies throughput under it. A batch is all or nothing: if any
 * member's condition fails, every member is told `failed` and writes itself alone (where its own
 * condition decides, e.g. a duplicate request id). If the store itself fails (throttled past the
 * retries, timed out), every member gets that error: retrying each alone would only multiply the
 * attempts against a store that is already refusing, and each caller answers 503 as it would alone.
 */
export class GroupCommit {
  private queue: Member[] = [];
  private writing = false;

  constructor(private readonly doc: DynamoDBDocumentClient) {}

  submit(items: TransactItem[]): Promise<'committed' | 'failed'> {
    return new Promise((done, fail) => {
      this.queue.push({ items, done, fail });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch: Member[] = [];
        let merged: TransactItem[] = [];
        while (this.queue.length > 0) {
          const next = mergeItems([...merged, ...this.queue[0]!.items]);
          if (!next || (next.length > MAX_ITEMS && batch.length > 0)) break;
          merged = next;
          batch.push(this.queue.shift()!);
        }
        if (batch.length === 0) {
          // Cannot merge with anything (or too big): written alone by its owner.
          this.queue.shift()!.done('failed');
          continue;
        }
        try {
          const outcome = (await transact(this.doc, merged)).ok ? 'committed' : 'failed';
          for (const m of batch) m.done(outcome);
        } catch (err) {
          for (const m of batch) m.fail(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}

const keyOf = (i: TransactItem): string | undefined => {
  const op = i.Update ?? i.Put ?? i.Delete ?? i.ConditionCheck;
  if (!op) return undefined;
  const key = i.Put ? { pk: i.Put.Item?.pk, sk: i.Put.Item?.sk } : (op as { Key?: unknown }).Key;
  return `${op.TableName}|${JSON.stringify(key)}`;
};

/** Placeholders of the ADD clause of an update expression (`ADD a :x, b :y` -> [':x', ':y']). */
function addPlaceholders(expr: string): string[] | undefined {
  const m = /\bADD\s+(.+)$/.exec(expr);
  if (!m || /\b(SET|REMOVE|DELETE)\b/.test(m[1]!)) return undefined;
  return m[1]!.split(',').map((p) => p.trim().split(/\s+/)[1] ?? '');
}

/**
 * Merges items on the same key: updates with the same expression and condition become one with
 * their ADD amounts summed (other values must agree). Undefined if two items on one key cannot be
 * merged (two puts of one item, or updates that differ).
 */
export function mergeItems(items: TransactItem[]): TransactItem[] | undefined {
  const out: TransactItem[] = [];
  const byKey = new Map<string, number>();
  for (const item of items) {
    const k = keyOf(item);
    const at = k === undefined ? undefined : byKey.get(k);
    if (at === undefined) {
      if (k !== undefined) byKey.set(k, out.length);
      out.push(item);
      continue;
    }
    const a = out[at]!.Update;
    const b = item.Update;
    if (
      !a ||
      !b ||
      a.UpdateExpression !== b.UpdateExpression ||
      a.ConditionExpression !== b.ConditionExpression
    )
      return undefined;
    const adds = addPlaceholders(a.UpdateExpression ?? '');
    if (!adds) return undefined;
    const values: Record<string, unknown> = { ...a.ExpressionAttributeValues };
    for (const [ph, v] of Object.entries(b.ExpressionAttributeValues ?? {})) {
      if (adds.includes(ph)) values[ph] = Number(values[ph] ?? 0) + Number(v);
      else if (JSON.stringify(values[ph]) !== JSON.stringify(v)) return undefined;
    }
    out[at] = { Update: { ...a, ExpressionAttributeValues: values } };
  }
  return out;
}
