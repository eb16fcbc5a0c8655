import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../db/cursor';
import { keys } from '../db/keys';
import { newId } from '../ids';

/** Who did it: an operator through the admin API, or the platform itself (CLI, first-start config). */
export type AuditActor = { kind: 'operator'; id: string; email: string } | { kind: 'system'; id: string };

export interface AuditEntry {
  id: string;
  at: string;
  actor: AuditActor;
  /** `tenant.suspend`, `tenant.reactivate`, `tenant.plan`, `tenant.limits`, `plan.create`, `plan.update`, `operator.create`, `api_key.create`, `auth.login_lockout` (by the system). */
  action: string;
  /** A model target's id is `name` or `name@version`; a plan's is its id. */
  target: { type: 'tenant' | 'operator' | 'api_key' | 'model' | 'plan'; id: string; tenantId?: string };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  cursor: string | null;
}

/**
 * The operator audit log: append-only items partitioned by month (`AUDIT#2026-05`), read newest
 * first through gsi1 `AUDIT`. Entries are written in the same transaction as the change they
 * describe, so there is never a change without its entry.
 */
export class AuditLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  entry(input: Omit<AuditEntry, 'id' | 'at'>, now: Date): AuditEntry {
    return { id: newId('aud', now.getTime()), at: now.toISOString(), ...input };
  }

  /** The Put for an entry, for the transaction that makes the change. */
  putItem(entry: AuditEntry) {
    return {
      Put: {
        TableName: this.table,
        Item: {
          ...keys.auditEntry(entry.at.slice(0, 7), entry.at, entry.id),
          type: 'audit_entry',
          ...entry,
          gsi1pk: keys.auditIndex(),
          gsi1sk: `${entry.at}#${entry.id}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  async append(entry: AuditEntry): Promise<void> {
    await this.doc.send(new PutCommand(this.putItem(entry).Put));
  }

  async list(opts: { limit: number; cursor?: string }): Promise<AuditPage | 'bad_cursor'> {
    const start = opts.cursor ? decodeCursor(opts.cursor, { gsi1pk: keys.auditIndex() }) : undefined;
    if (opts.cursor && !start) return 'bad_cursor';
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.auditIndex() },
        ScanIndexForward: false,
        Limit: opts.limit,
        ExclusiveStartKey: start,
      }),
    );
    const entries = (out.Items ?? []).map((i) => ({
      id: i.id as string,
      at: i.at as string,
      actor: i.actor as AuditActor,
      action: i.action as string,
      target: i.target as AuditEntry['target'],
      before: (i.before as Record<string, unknown> | null | undefined) ?? null,
      after: (i.after as Record<string, unknown> | null | undefined) ?? null,
      requestId: (i.requestId as string | null | undefined) ?? null,
    }));
    return { entries, cursor: encodeCursor(out.LastEvaluatedKey) };
  }
}
