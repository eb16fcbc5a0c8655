import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AccountDeps } from '#shared/accounts/account-deps';
import {
  type AuditEntry,
  type AuditFilter,
  type AuditPage,
  actorKinds,
  auditTargetTypes,
} from '#shared/accounts/audit-log';
import { ApiError } from '#shared/errors';
import { csvText, toCsv } from './usage-report';

/** Entries a JSON page holds at most, and a CSV file. */
export const MAX_JSON_ENTRIES = 200;
export const MAX_CSV_ENTRIES = 5000;

const Time = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 time with a zone, e.g. 2026-12-01T00:00:00Z' })
  .openapi({ example: '2026-12-01T00:00:00Z' });

/** The filters and paging both audit routes take (the operators' adds `tenant_id`). */
export const AuditQuery = z.object({
  limit: z.coerce
    .number()
    .int('must be a whole number')
    .min(1)
    .max(MAX_CSV_ENTRIES)
    .optional()
    .openapi({
      description: `Entries per page: JSON at most ${MAX_JSON_ENTRIES} (default 50); CSV at most ${MAX_CSV_ENTRIES} (the default).`,
    }),
  cursor: z.string().max(2048).optional().openapi({ description: 'From the previous page’s `next_cursor`.' }),
  action: z
    .string()
    .trim()
    .max(64)
    .regex(/^[a-z_]+(\.[a-z_]+|\.\*)?$/, 'must be an action such as `api_key.revoke`, or `api_key.*`')
    .optional()
    .openapi({
      description: 'One action (`api_key.revoke`), or every action on a kind of target (`api_key.*`).',
    }),
  actor: z.string().trim().min(1, 'must not be empty').max(254).optional().openapi({
    description:
      'Who: a member’s (or operator’s) id or email address, or every actor of a kind: `user`, `operator`, `system`.',
  }),
  target_type: z
    .enum(auditTargetTypes, { message: `must be one of ${auditTargetTypes.join(', ')}` })
    .optional()
    .openapi({ description: 'Only entries about this kind of target.' }),
  from: Time.optional().openapi({ description: 'From this time, inclusive.' }),
  to: Time.optional().openapi({ description: 'Up to this time, exclusive.' }),
  format: z
    .enum(['json', 'csv'])
    .optional()
    .openapi({ description: '`csv` for a CSV file (as does `Accept: text/csv`). Default JSON.' }),
});

export type AuditQueryInput = z.infer<typeof AuditQuery>;

/** The filter and paging a query asks for, checked: a bad one is a 400 naming its parameter. */
export function auditRequest(
  c: Context,
  q: AuditQueryInput,
): { filter: AuditFilter; limit: number; cursor?: string; csv: boolean } {
  const csv = wantsCsv(c, q.format);
  if (!csv && q.limit !== undefined && q.limit > MAX_JSON_ENTRIES) {
    throw new ApiError('invalid_request', `'limit' must be at most ${MAX_JSON_ENTRIES} (or ask for CSV).`, {
      param: 'limit',
    });
  }
  const from = q.from ? new Date(q.from).toISOString() : undefined;
  const to = q.to ? new Date(q.to).toISOString() : undefined;
  if (from && to && from >= to) {
    throw new ApiError('invalid_request', "'from' must be before 'to'.", { param: 'from' });
  }
  return {
    filter: {
      ...(q.action ? { action: q.action } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.target_type ? { targetType: q.target_type } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
    },
    limit: q.limit ?? (csv ? MAX_CSV_ENTRIES : 50),
    ...(q.cursor ? { cursor: q.cursor } : {}),
    csv,
  };
}

function wantsCsv(c: Context, format: 'json' | 'csv' | undefined): boolean {
  if (format) return format === 'csv';
  const accept = c.req.header('accept') ?? '';
  return accept.includes('text/csv') && !accept.includes('application/json');
}

export function badCursor(): ApiError {
  return new ApiError('invalid_request', "'cursor' is not a cursor this list gave out.", { param: 'cursor' });
}

const Change = z.record(z.string(), z.unknown()).nullable();

const Target = z.object({
  type: z.enum(auditTargetTypes),
  id: z.string(),
  tenant_id: z.string().optional(),
  name: z.string().nullable().openapi({
    description:
      'What the target was called when the entry was written (a key’s name, a member’s email, a project’s name); for older entries, its name now when it still exists; else null.',
  }),
});

/** An entry as operators read it: everything, the tenant named. */
export const AuditEntrySchema = z
  .object({
    id: z.string(),
    object: z.literal('audit_entry'),
    at: z.string(),
    actor: z.object({ kind: z.enum(actorKinds), id: z.string(), email: z.string().optional() }),
    action: z.string().openapi({ example: 'tenant.suspend' }),
    target: Target.extend({
      tenant_name: z.string().nullable().optional().openapi({ description: 'The tenant’s name now.' }),
    }),
    before: Change,
    after: Change,
    request_id: z.string().nullable(),
  })
  .openapi('AuditEntry');

/** An entry as a tenant's owner reads it: an operator is not named, and their notes are left out. */
export const AccountAuditEntrySchema = z
  .object({
    id: z.string(),
    object: z.literal('audit_entry'),
    at: z.string(),
    actor: z.object({
      kind: z.enum(actorKinds),
      id: z
        .string()
        .optional()
        .openapi({ description: 'A member’s user id; absent for Tollgate’s operators.' }),
      email: z.string().optional(),
    }),
    action: z.string().openapi({ example: 'api_key.revoke' }),
    target: Target,
    before: Change,
    after: Change,
    request_id: z.string().nullable(),
  })
  .openapi('AccountAuditEntry');

export const auditListSchema = <T extends z.ZodTypeAny>(entry: T, name: string) =>
  z
    .object({ object: z.literal('list'), data: z.array(entry), next_cursor: z.string().nullable() })
    .openapi(name);

export const nextCursorHeader = {
  'x-next-cursor': {
    description: 'CSV only: where the next file starts, when the range holds more than this one.',
    schema: { type: 'string' as const },
  },
};

/** Names a page's targets whose entries predate names (or left them out): a read per distinct target, at most 100. */
async function resolveNames(
  accounts: AccountDeps,
  entries: AuditEntry[],
  opts: { tenants: boolean },
): Promise<{ target: Map<string, string>; tenant: Map<string, string> }> {
  const lookups = new Map<string, () => Promise<string | undefined>>();
  const tenantIds = new Set<string>();
  for (const e of entries) {
    const t = e.target;
    if (opts.tenants && t.tenantId) tenantIds.add(t.tenantId);
    if (t.name) continue;
    const ref = `${t.type}:${t.tenantId ?? ''}:${t.id}`;
    if (lookups.has(ref)) continue;
    if (t.type === 'tenant' && opts.tenants) tenantIds.add(t.id);
    else if (t.type === 'api_key' && t.tenantId) {
      const tenantId = t.tenantId;
      lookups.set(ref, async () => (await accounts.apiKeys.get(tenantId, t.id))?.name);
    } else if (t.type === 'member' && t.tenantId && t.id.startsWith('usr_')) {
      const tenantId = t.tenantId;
      lookups.set(ref, async () => (await accounts.users.getMember(tenantId, t.id))?.email);
    } else if (t.type === 'operator' && opts.tenants) {
      lookups.set(ref, async () => (await accounts.operators.get(t.id))?.email);
    } else if (t.type === 'model') {
      lookups.set(ref, async () => t.id);
    }
  }
  const all = [
    ...[...lookups].map(([ref, load]) => [ref, load] as const),
    ...[...tenantIds].map(
      (id) => [`tenant::${id}`, async () => (await accounts.tenants.get(id))?.name] as const,
    ),
  ].slice(0, 100);
  const found = await Promise.all(all.map(async ([ref, load]) => [ref, await load()] as const));
  const target = new Map<string, string>();
  const tenant = new Map<string, string>();
  for (const [ref, name] of found) {
    if (name === undefined) continue;
    if (ref.startsWith('tenant::')) tenant.set(ref.slice('tenant::'.length), name);
    else target.set(ref, name);
  }
  return { target, tenant };
}

function targetName(e: AuditEntry, names: Map<string, string>, tenants: Map<string, string>): string | null {
  const t = e.target;
  if (t.name) return t.name;
  if (t.type === 'tenant') return tenants.get(t.id) ?? null;
  return names.get(`${t.type}:${t.tenantId ?? ''}:${t.id}`) ?? null;
}

/** Entries for operators: as written, targets named. */
export async function operatorEntries(accounts: AccountDeps, entries: AuditEntry[]) {
  const names = await resolveNames(accounts, entries, { tenants: true });
  return entries.map((e) => ({
    id: e.id,
    object: 'audit_entry' as const,
    at: e.at,
    actor: e.actor,
    action: e.action,
    target: {
      type: e.target.type,
      id: e.target.id,
      ...(e.target.tenantId
        ? { tenant_id: e.target.tenantId, tenant_name: names.tenant.get(e.target.tenantId) ?? null }
        : {}),
      name: targetName(e, names.target, names.tenant),
    },
    before: e.before,
    after: e.after,
    request_id: e.requestId,
  }));
}

/**
 * Fields of an operator's (or the platform's) change a tenant does not see: operators' free-text
 * notes and reasons (written for other operators, and they may name internal findings).
 */
const INTERNAL_FIELDS = new Set(['reason', 'note']);

function withoutInternal(change: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!change) return change;
  return Object.fromEntries(Object.entries(change).filter(([k]) => !INTERNAL_FIELDS.has(k)));
}

/**
 * Entries for a tenant's owner: their members' changes as written; Tollgate's (operators, the
 * platform) without who did it (no operator id or email), their notes or their request ids.
 */
export async function tenantEntries(accounts: AccountDeps, tenantId: string, entries: AuditEntry[]) {
  const names = await resolveNames(accounts, entries, { tenants: false });
  return entries.map((e) => {
    const own = e.actor.kind === 'user';
    return {
      id: e.id,
      object: 'audit_entry' as const,
      at: e.at,
      actor:
        e.actor.kind === 'user'
          ? { kind: 'user' as const, id: e.actor.id, email: e.actor.email }
          : e.actor.kind === 'system'
            ? { kind: 'system' as const, id: e.actor.id }
            : { kind: 'operator' as const },
      action: e.action,
      target: {
        type: e.target.type,
        id: e.target.id,
        tenant_id: tenantId,
        name: targetName(e, names.target, names.tenant),
      },
      before: own ? e.before : withoutInternal(e.before),
      after: own ? e.after : withoutInternal(e.after),
      request_id: own ? e.requestId : null,
    };
  });
}

/** An entry as either route shows it, for the CSV. */
interface ViewEntry {
  id: string;
  at: string;
  action: string;
  actor: { kind: string; id?: string; email?: string };
  target: { type: string; id: string; name: string | null; tenant_id?: string; tenant_name?: string | null };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
}

const CSV_COLUMNS = [
  'at',
  'action',
  'actor_kind',
  'actor_id',
  'actor_email',
  'target_type',
  'target_id',
  'target_name',
  'tenant_id',
  'tenant_name',
  'before',
  'after',
  'request_id',
  'id',
] as const;

/** Entries as a CSV file (RFC 4180, a header row); before and after as JSON; names safe for spreadsheets. */
export function auditCsv(
  c: Context,
  entries: ViewEntry[],
  page: Pick<AuditPage, 'cursor'>,
  opts: { tenantColumns: boolean; filename: string },
): Response {
  const columns = CSV_COLUMNS.filter(
    (col) => opts.tenantColumns || (col !== 'tenant_id' && col !== 'tenant_name'),
  );
  const rows = entries.map((e) => {
    const cell: Record<(typeof CSV_COLUMNS)[number], string | null> = {
      at: e.at,
      action: e.action,
      actor_kind: e.actor.kind,
      actor_id: e.actor.id ?? null,
      actor_email: csvText(e.actor.email ?? null),
      target_type: e.target.type,
      target_id: e.target.id,
      target_name: csvText(e.target.name),
      tenant_id: e.target.tenant_id ?? null,
      tenant_name: csvText(e.target.tenant_name ?? null),
      before: e.before ? csvText(JSON.stringify(e.before)) : null,
      after: e.after ? csvText(JSON.stringify(e.after)) : null,
      request_id: e.request_id,
      id: e.id,
    };
    return columns.map((col) => cell[col]);
  });
  return c.body(toCsv(columns, rows), 200, {
    'content-type': 'text/csv; charset=utf-8; header=present',
    'content-disposition': `attachment; filename="${opts.filename}"`,
    ...(page.cursor ? { 'x-next-cursor': page.cursor } : {}),
  });
}

/** The 200 of an audit route: a page as JSON, or as CSV. */
export function auditOk(list: z.ZodTypeAny, description: string) {
  return {
    description,
    headers: nextCursorHeader,
    content: {
      'application/json': { schema: list },
      'text/csv': {
        schema: z.string().openapi({
          example:
            'at,action,actor_kind,actor_id,actor_email,target_type,target_id,target_name,before,after,request_id,id\r\n2026-12-01T09:14:05.120Z,api_key.revoke,user,usr_01J...,owner@example.com,api_key,key_01J...,production,"{""status"":""active""}","{""status"":""revoked""}",req_01J...,aud_01J...\r\n',
        }),
      },
    },
  };
}
