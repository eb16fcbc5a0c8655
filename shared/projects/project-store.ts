import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ifConditionFails } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import type { TransactItem } from '../db/transact';
import { DEFAULT_PROJECT_ID, type Project, type ProjectLimits, type ProjectRole } from './project';

/** The default project's name until a tenant renames it. */
export const DEFAULT_PROJECT_NAME = 'Default';

/** What the default project's `createdAt` is when the caller does not know the tenant's (see `get`). */
const EPOCH = new Date(0).toISOString();

/** A member's role in one project (next to their tenant-wide role). */
export interface ProjectMember {
  tenantId: string;
  projectId: string;
  userId: string;
  role: ProjectRole;
  /** The member's address when they were added, so the list names them without a read per member. */
  email: string;
  addedAt: string;
}

/** Why a change to a project was not made. */
export type ProjectChangeRefusal = 'not_found' | 'archived';

const projectEntity = entity({
  type: 'project',
  key: keys.project,
  from: (i): Project => ({
    id: i.id as string,
    tenantId: i.tenantId as string,
    name: i.name as string,
    createdAt: i.createdAt as string,
    limits: (i.limits as ProjectLimits | null | undefined) ?? null,
    ...(i.archivedAt ? { archivedAt: i.archivedAt as string } : {}),
  }),
});

const memberEntity = entity({
  type: 'project_member',
  key: keys.projectMember,
  from: (i): ProjectMember => ({
    tenantId: i.tenantId as string,
    projectId: i.projectId as string,
    userId: i.userId as string,
    role: i.role as ProjectRole,
    email: i.email as string,
    addedAt: i.addedAt as string,
  }),
});

/** The default project as it is before it has an item: named `Default`, no limits. */
export function defaultProject(tenantId: string, createdAt: string = EPOCH): Project {
  return { id: DEFAULT_PROJECT_ID, tenantId, name: DEFAULT_PROJECT_NAME, createdAt, limits: null };
}

/** Limits as stored: only the fields set (an empty object is no limits). */
function cleanLimits(limits: ProjectLimits | null): ProjectLimits | null {
  if (!limits) return null;
  const out: ProjectLimits = {};
  if (limits.requestsPerMinute !== undefined) out.requestsPerMinute = limits.requestsPerMinute;
  if (limits.tokensPerMinute !== undefined) out.tokensPerMinute = limits.tokensPerMinute;
  if (limits.budgetNanoUsd !== undefined) out.budgetNanoUsd = limits.budgetNanoUsd;
  if (limits.budgetMode !== undefined) out.budgetMode = limits.budgetMode;
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * A tenant's projects and their members, in the `main` table under the tenant. The default project
 * exists for every tenant without an item (nothing was migrated when projects came): `get` and
 * `list` synthesize it, and the first rename or limits change writes its item (an upsert), so a
 * tenant that never touches projects costs nothing more. Every change may carry further
 * transaction items (its audit entry), written atomically with it.
 */
export class ProjectStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Creates a project (not the default one); false when its id is taken. */
  async create(project: Project, extra: TransactItem[] = []): Promise<boolean> {
    if (project.id === DEFAULT_PROJECT_ID) throw new TypeError('the default project is never created');
    const put = {
      Put: {
        TableName: this.table,
        Item: projectEntity.item(projectEntity.key(project.tenantId, project.id), {
          ...project,
          limits: cleanLimits(project.limits),
          archivedAt: undefined,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    return this.write([put, ...extra]);
  }

  /**
   * A tenant's project; the default project whether or not it has an item (`defaultCreatedAt`:
   * the date it shows before it has one, the tenant's creation). Another tenant's id: undefined.
   * One GetItem: the hot path reads project limits through it.
   */
  async get(
    tenantId: string,
    projectId: string,
    opts: { consistent?: boolean; defaultCreatedAt?: string } = {},
  ): Promise<Project | undefined> {
    const stored = await projectEntity.get(this.doc, this.table, projectEntity.key(tenantId, projectId), {
      consistent: opts.consistent,
    });
    if (stored) return stored;
    return projectId === DEFAULT_PROJECT_ID ? defaultProject(tenantId, opts.defaultCreatedAt) : undefined;
  }

  /** Every project of a tenant, archived ones too: the default project first, then oldest first. */
  async list(tenantId: string, opts: { defaultCreatedAt?: string } = {}): Promise<Project[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
      ExpressionAttributeValues: { ':p': keys.tenant(tenantId).pk, ':s': keys.projectPrefix() },
      ConsistentRead: true,
    });
    const projects = items.map(projectEntity.from);
    const stored = projects.find((p) => p.id === DEFAULT_PROJECT_ID);
    const others = projects
      .filter((p) => p.id !== DEFAULT_PROJECT_ID)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    return [stored ?? defaultProject(tenantId, opts.defaultCreatedAt), ...others];
  }

  /** Renames a project (the default one too); archived ones are not changed. */
  async rename(
    tenantId: string,
    projectId: string,
    name: string,
    opts: { extra?: TransactItem[]; defaultCreatedAt?: string } = {},
  ): Promise<Project | ProjectChangeRefusal> {
    return this.change(tenantId, projectId, { '#name': ['name', name] }, opts);
  }

  /** Sets (null: removes) a project's limits; archived ones are not changed. */
  async setLimits(
    tenantId: string,
    projectId: string,
    limits: ProjectLimits | null,
    opts: { extra?: TransactItem[]; defaultCreatedAt?: string } = {},
  ): Promise<Project | ProjectChangeRefusal> {
    return this.change(tenantId, projectId, { '#limits': ['limits', cleanLimits(limits)] }, opts);
  }

  /**
   * Archives a project: it stays listed with its history, takes no change and no new key. The
   * default project is never archived (it holds every key made without a project): `not_found`
   * is not what it gets, the caller refuses it before.
   */
  async archive(
    tenantId: string,
    projectId: string,
    at: string,
    opts: { extra?: TransactItem[] } = {},
  ): Promise<Project | ProjectChangeRefusal> {
    if (projectId === DEFAULT_PROJECT_ID) throw new TypeError('the default project is never archived');
    return this.change(tenantId, projectId, { '#archivedAt': ['archivedAt', at] }, opts);
  }

  /**
   * One change of a project's fields, conditional on it being there and not archived; the
   * default project's item is made by its first change (with its name and creation date).
   */
  private async change(
    tenantId: string,
    projectId: string,
    fields: Record<string, [string, unknown]>,
    opts: { extra?: TransactItem[]; defaultCreatedAt?: string },
  ): Promise<Project | ProjectChangeRefusal> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    for (const [alias, [field, value]] of Object.entries(fields)) {
      names[alias] = field;
      values[`:${field}`] = value;
      sets.push(`${alias} = :${field}`);
    }
    const isDefault = projectId === DEFAULT_PROJECT_ID;
    if (isDefault) {
      const base = defaultProject(tenantId, opts.defaultCreatedAt);
      for (const [field, value] of [
        ['id', base.id],
        ['tenantId', tenantId],
        ['type', 'project'],
        ['name', base.name],
        ['createdAt', base.createdAt],
        ['limits', null],
      ] as const) {
        if (Object.values(fields).some(([f]) => f === field)) continue;
        names[`#${field}`] = field;
        values[`:${field}`] = value;
        sets.push(`#${field} = if_not_exists(#${field}, :${field})`);
      }
    }
    names['#archived'] = 'archivedAt';
    const update = {
      Update: {
        TableName: this.table,
        Key: projectEntity.key(tenantId, projectId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: isDefault
          ? 'attribute_not_exists(#archived)'
          : 'attribute_exists(pk) AND attribute_not_exists(#archived)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
    if (await this.write([update, ...(opts.extra ?? [])])) {
      const after = await this.get(tenantId, projectId, { consistent: true });
      if (after) return after;
    }
    const now = await this.get(tenantId, projectId, { consistent: true });
    return now?.archivedAt ? 'archived' : 'not_found';
  }

  // Members

  /** Gives a member a role in a project (adds them, or changes their role). */
  async setMember(member: ProjectMember, extra: TransactItem[] = []): Promise<void> {
    const put = {
      Put: {
        TableName: this.table,
        Item: memberEntity.item(memberEntity.key(member.tenantId, member.projectId, member.userId), member),
      },
    };
    if (extra.length === 0) {
      await this.doc.send(new PutCommand(put.Put));
      return;
    }
    await this.doc.send(new TransactWriteCommand({ TransactItems: [put, ...extra] }));
  }

  /** Removes a member's project role (they keep their tenant role); false when they had none. */
  async removeMember(
    tenantId: string,
    projectId: string,
    userId: string,
    extra: TransactItem[] = [],
  ): Promise<boolean> {
    const del = {
      Delete: {
        TableName: this.table,
        Key: memberEntity.key(tenantId, projectId, userId),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
    if (extra.length === 0) {
      return ifConditionFails(
        this.doc.send(new DeleteCommand(del.Delete)).then(() => true),
        () => false,
      );
    }
    return this.write([del, ...extra]);
  }

  /** A member's role in one project, if they have one there. */
  async member(tenantId: string, projectId: string, userId: string): Promise<ProjectMember | undefined> {
    return memberEntity.get(this.doc, this.table, memberEntity.key(tenantId, projectId, userId), {
      consistent: true,
    });
  }

  /** A project's members with a project role, in user id order. */
  async members(tenantId: string, projectId: string): Promise<ProjectMember[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
      ExpressionAttributeValues: {
        ':p': keys.tenant(tenantId).pk,
        ':s': keys.projectMemberPrefix(projectId),
      },
      ConsistentRead: true,
    });
    return items.map(memberEntity.from);
  }

  /** One user's roles across a tenant's projects (project id to role). */
  async rolesOf(tenantId: string, userId: string): Promise<Map<string, ProjectRole>> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
      FilterExpression: 'userId = :u',
      ExpressionAttributeValues: {
        ':p': keys.tenant(tenantId).pk,
        ':s': keys.projectMemberPrefix(),
        ':u': userId,
      },
      ConsistentRead: true,
    });
    return new Map(items.map(memberEntity.from).map((m) => [m.projectId, m.role]));
  }

  /** One write, or a transaction when there is more than one item; false when a condition failed. */
  private async write(items: TransactItem[]): Promise<boolean> {
    const [only] = items;
    const op =
      items.length === 1 && only?.Put
        ? this.doc.send(new PutCommand(only.Put))
        : items.length === 1 && only?.Update
          ? this.doc.send(new UpdateCommand(only.Update))
          : this.doc.send(new TransactWriteCommand({ TransactItems: items }));
    return ifConditionFails(
      op.then(() => true),
      () => false,
    );
  }
}
