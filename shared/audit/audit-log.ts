import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import { newId } from '../ids';

/** One operator change: who did what to which thing, and the state before and after. */
export interface AuditEntry {
  /** The operator (user id, or `system`). */
  actor: string;
  /** `model.create`, `model.traffic.set`, `model.version.retire`, ... */
  action: string;
  /** What it is about: `model:ocr`, `model:ocr@tesseract-5`. */
  target: string;
  before: unknown;
  after: unknown;
}

export interface StoredAuditEntry extends AuditEntry {
  id: string;
  at: string;
}

/** The port every audited change goes through. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<StoredAuditEntry>;
}

/**
 * Audit entries in the `main` table, one partition per target in time order, so "what happened to
 * this model" is one Query. Entries are never updated or deleted.
 */
export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(entry: AuditEntry): Promise<StoredAuditEntry> {
    const at = this.now().toISOString();
    const id = newId('aud');
    const stored: StoredAuditEntry = { id, at, ...entry };
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.auditEntry(entry.target, at, id), type: 'audit_entry', ...stored },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return stored;
  }

  /** Every entry about `target`, oldest first. */
  async list(target: string): Promise<StoredAuditEntry[]> {
    const out: StoredAuditEntry[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: {
            ':pk': keys.auditEntry(target, '', '').pk,
            ':p': keys.auditEntryPrefix(),
          },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) {
        const { pk: _pk, sk: _sk, type: _t, ...entry } = item;
        out.push(entry as StoredAuditEntry);
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return out;
  }
}
