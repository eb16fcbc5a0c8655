import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ifConditionFails } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryFilteredPage, queryItems } from '../db/query';
import { newId } from '../ids';
import { normalizeEmail } from './email-address';

/** Who did it: an operator through the admin API, or the platform itself (CLI, first-start config). */
export type AuditActor =
  | { kind: 'operator'; id: string; email: string }
  | { kind: 'system'; id: string }
  /** A tenant's own member (an owner's change to their account's money settings). */
  | { kind: 'user'; id: string; email: string };

export const auditTargetTypes = [
  'tenant',
  'operator',
  'api_key',
  'model',
  'plan',
  'project',
  'member',
] as const;
export type AuditTargetType = (typeof auditTargetTypes)[number];

export interface AuditEntry {
  id: string;
  at: string;
  actor: AuditActor;
  /**
   * `<target>.<verb>`: `tenant.suspend`, `tenant.plan`, `tenant.limits`, `tenant.spend_cap`,
   * `plan.update`, `operator.create`, `api_key.create`, `api_key.revoke`, `api_key.rotate`,
   * `api_key.limits`, `member.invite`, `member.role`, `member.remove`, `member.join`,
   * `auth.login_lockout` (by the system)… docs/audit.md lists them.
   */
  action: string;
  /**
   * A model target's id is `name` or `name@version`; a plan's is its id; a member's is their user
   * id. `name` is what people call the target when the entry was written (a key's name, a
   * project's name, a member's email), so a log read later names it, not only its id.
   */
  target: {
    type: AuditTargetType;
    id: string;
    tenantId?: string;
    name?: string;
  };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
}

/** What a reader narrows the log to; every part optional. */
export interface AuditFilter {
  /** One action (`api_key.revoke`), or every action on a kind of target (`api_key.*`). */
  action?: string;
  /** Who: a user's or operator's id or email address, or every actor of a kind (`user`, `operator`, `system`). */
  actor?: string;
  targetType?: AuditTargetType;
  /** From this time (ISO 8601, as `toISOString` writes it), inclusive. */
  from?: string;
  /** Up to this time, exclusive. */
  to?: string;
}

export const actorKinds = ['user', 'operator', 'system'] as const;

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
 * The audit log: append-only entries, each written in the same transaction as the change it
 * describes, so there is never a change without its entry. An entry about a tenant (with
 * `target.tenantId`) lives in that tenant's partition (`AUDIT#<at>#<id>`): the tenant's own trail
 * is one Query there. Every other entry lives in its month's partition (`AUDIT#2026-05`). Every
 * entry, wherever it lives, is in gsi1 `AUDIT`, newest first: the operators' log.
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
    const tenantId = entry.target.tenantId;
    const key = tenantId
      ? keys.tenantAuditEntry(tenantId, entry.at, entry.id)
      : auditEntity.key(entry.at.slice(0, 7), entry.at, entry.id);
    return {
      Put: {
        TableName: this.table,
        Item: auditEntity.item(key, {
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

  /**
   * Moves entries about a tenant written before tenants had trails (in a month's partition) into
   * their tenant's partition, each in one transaction (the copy put, the original deleted), so an
   * entry is never in the log twice or not at all; run again, it moves what is left. A one-off
   * migration (`npm run admin -- audit move-tenant-entries`): it reads the whole log.
   */
  async moveTenantEntries(): Promise<{ moved: number }> {
    let moved = 0;
    const old = queryItems(this.doc, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      FilterExpression: 'begins_with(pk, :month) AND attribute_exists(target.tenantId)',
      ExpressionAttributeValues: { ':p': keys.auditIndex(), ':month': 'AUDIT#' },
    });
    for await (const item of old) {
      const entry = auditEntity.from(item);
      await ifConditionFails(
        this.doc
          .send(
            new TransactWriteCommand({
              TransactItems: [
                this.putItem(entry),
                {
                  Delete: {
                    TableName: this.table,
                    Key: { pk: item.pk as string, sk: item.sk as string },
                    ConditionExpression: 'attribute_exists(pk)',
                  },
                },
              ],
            }),
          )
          .then(() => moved++),
        // Moved meanwhile by another run: nothing to do.
        () => undefined,
      );
    }
    return { moved };
  }

  /**
   * A page of entries, newest first, filtered. With `tenantId`, only that tenant's (one Query of
   * its partition); else everyone's (gsi1 `AUDIT`). The time range narrows the Query's key; the
   * other filters are applied to what it reads, so a page may be short while its cursor is not null.
   */
  async list(opts: {
    limit: number;
    cursor?: string;
    filter?: AuditFilter;
    tenantId?: string;
    /** For a tenant's reader: an actor searched by id or email is never one of the operators. */
    anonymousOperators?: boolean;
  }): Promise<AuditPage | 'bad_cursor'> {
    const filter = opts.filter ?? {};
    const { expression, names, values } = filterExpression(filter, opts.anonymousOperators === true);
    const tenant = opts.tenantId;
    const prefix = tenant ? keys.tenantAuditPrefix() : '';
    // Sort keys are `[AUDIT#]<at>#<id>`: `<at>#…` >= `from` exactly when at >= from, < `to` when at < to.
    const { condition, range } = timeRange(tenant ? 'sk' : 'gsi1sk', prefix, filter);
    const page = await queryFilteredPage(
      this.doc,
      {
        TableName: this.table,
        ...(tenant
          ? {
              KeyConditionExpression: `pk = :p AND ${condition}`,
              ExpressionAttributeValues: { ':p': keys.tenant(tenant).pk, ...range, ...values },
            }
          : {
              IndexName: 'gsi1',
              KeyConditionExpression: `gsi1pk = :p${condition ? ` AND ${condition}` : ''}`,
              ExpressionAttributeValues: { ':p': keys.auditIndex(), ...range, ...values },
            }),
        ...(expression ? { FilterExpression: expression, ExpressionAttributeNames: names } : {}),
        ScanIndexForward: false,
      },
      tenant
        ? {
            limit: opts.limit,
            cursor: opts.cursor,
            partition: { pk: keys.tenant(tenant).pk },
            // The tenant's partition holds more than its trail: a cursor must point into the trail.
            accept: (start) => !!start.sk?.startsWith(keys.tenantAuditPrefix()),
            keyAttributes: ['pk', 'sk'],
          }
        : {
            limit: opts.limit,
            cursor: opts.cursor,
            partition: { gsi1pk: keys.auditIndex() },
            keyAttributes: ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
          },
    );
    if (page === 'bad_cursor') return page;
    return { entries: page.items.map(auditEntity.from), cursor: page.cursor };
  }
}

/** The sort-key condition of a time range (the tenant's partition: always within its trail). */
function timeRange(
  sortKey: string,
  prefix: string,
  f: AuditFilter,
): { condition: string; range: Record<string, string> } {
  if (f.from && f.to) {
    return {
      condition: `${sortKey} BETWEEN :lo AND :hi`,
      range: { ':lo': `${prefix}${f.from}`, ':hi': `${prefix}${f.to}` },
    };
  }
  if (f.from) {
    // In the tenant's partition, the trail ends before the next kind of item: `~` sorts after any time.
    return prefix
      ? {
          condition: `${sortKey} BETWEEN :lo AND :hi`,
          range: { ':lo': `${prefix}${f.from}`, ':hi': `${prefix}~` },
        }
      : { condition: `${sortKey} >= :lo`, range: { ':lo': f.from } };
  }
  if (f.to) {
    return prefix
      ? { condition: `${sortKey} BETWEEN :lo AND :hi`, range: { ':lo': prefix, ':hi': `${prefix}${f.to}` } }
      : { condition: `${sortKey} < :hi`, range: { ':hi': f.to } };
  }
  return prefix
    ? { condition: `begins_with(${sortKey}, :lo)`, range: { ':lo': prefix } }
    : { condition: '', range: {} };
}

/** The FilterExpression of a filter's parts other than time (those narrow the key). */
function filterExpression(
  f: AuditFilter,
  anonymousOperators: boolean,
): {
  expression: string | undefined;
  names: Record<string, string>;
  values: Record<string, string>;
} {
  const parts: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, string> = {};
  if (f.action) {
    names['#action'] = 'action';
    if (f.action.endsWith('.*')) {
      parts.push('begins_with(#action, :action)');
      values[':action'] = f.action.slice(0, -1);
    } else {
      parts.push('#action = :action');
      values[':action'] = f.action;
    }
  }
  if (f.actor) {
    names['#actor'] = 'actor';
    if ((actorKinds as readonly string[]).includes(f.actor)) {
      names['#kind'] = 'kind';
      parts.push('#actor.#kind = :actor');
      values[':actor'] = f.actor;
    } else {
      names['#id'] = 'id';
      names['#email'] = 'email';
      values[':actor'] = f.actor.includes('@') ? normalizeEmail(f.actor) : f.actor;
      if (anonymousOperators) {
        // A tenant never learns who an operator is, not even by searching for them.
        names['#kind'] = 'kind';
        values[':operator'] = 'operator';
        parts.push('(#actor.#id = :actor OR #actor.#email = :actor) AND #actor.#kind <> :operator');
      } else parts.push('(#actor.#id = :actor OR #actor.#email = :actor)');
    }
  }
  if (f.targetType) {
    names['#target'] = 'target';
    names['#type'] = 'type';
    parts.push('#target.#type = :targetType');
    values[':targetType'] = f.targetType;
  }
  return { expression: parts.length ? parts.join(' AND ') : undefined, names, values };
}
