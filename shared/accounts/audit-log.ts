import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryPage } from '../db/query';
import { newId } from '../ids';

/** Who did it: an operator through the admin API, or the platform itself (CLI, first-start config). */
export type AuditActor =
  | { kind: 'operator'; id: string; email: string }
  | { kind: 'system'; id: string }
  /** A tenant's own member (an owner's change to their account's money settings). */
  | { kind: 'user'; id: string; email: string };

export interface AuditEntry {
  id: string;
  at: string;
  actor: AuditActor;
  /** `tenant.suspend`, `tenant.reactivate`, `tenant.plan`, `tenant.limits`, `plan.create`, `plan.update`, `operator.create`, `api_key.create`, `auth.login_lockout` (by the system). */
  action: string;
  /**
   * A model target's id is `name` or `name@version`; a plan's is its id; a member's is their user
   * id. `name` is what people call the target when the entry was written (a key's name, a
   * project's name, a member's email), so a log read later names it, not only its id.
   */
  target: {
    type: 'tenant' | 'operator' | 'api_key' | 'model' | 'plan' | 'project' | 'member';
    id: string;
    tenantId?: string;
    name?: string;
  };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  cursor: string | null;
}

/** An entry, under its month's partition and in gsi1 `AUDIT`, newest first. */
const auditEntity = entity({
  type: 'audit_entry',
  key: keys.auditEntry,
  from: (i): AuditEntry => ({
    id: i.id as string,
    at: i.at as string,
    actor: i.actor as AuditActor,
    action: i.action as string,
    target: i.target as AuditEntry['target'],
    before: (i.before as Record<string, unknown> | null | undefined) ?? null,
    after: (i.after as Record<string, unknown> | null | undefined) ?? null,
    requestId: (i.requestId as string | null | undefined) ?? null,
  }),
});

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
        Item: auditEntity.item(auditEntity.key(entry.at.slice(0, 7), entry.at, entry.id), {
          ...entry,
          gsi1pk: keys.auditIndex(),
          gsi1sk: `${entry.at}#${entry.id}`,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  async append(entry: AuditEntry): Promise<void> {
    await this.doc.send(new PutCommand(this.putItem(entry).Put));
  }

  async list(opts: { limit: number; cursor?: string }): Promise<AuditPage | 'bad_cursor'> {
    const page = await queryPage(
      this.doc,
      {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.auditIndex() },
        ScanIndexForward: false,
      },
      { ...opts, partition: { gsi1pk: keys.auditIndex() } },
    );
    if (page === 'bad_cursor') return page;
    return { entries: page.items.map(auditEntity.from), cursor: page.cursor };
  }
}
