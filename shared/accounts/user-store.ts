import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import type { TenantRole } from './roles';

/** A tenant user's credentials. Never leaves the store layer with its hash except to be checked. */
export interface User {
  id: string;
  tenantId: string;
  email: string;
  passwordHash: string;
  emailVerifiedAt: string | null;
  createdAt: string;
}

/** A user's place in their tenant: what team lists and role checks read. */
export interface Member {
  userId: string;
  tenantId: string;
  email: string;
  name: string | null;
  role: TenantRole;
  joinedAt: string;
}

/** Who owns an email address. Addresses are unique across users and operators. */
export type EmailOwner =
  | { kind: 'user'; tenantId: string; userId: string }
  | { kind: 'operator'; operatorId: string };

/** `conflict`: the member changed between the read and the write (another request won). */
export type RoleChange = 'changed' | 'not_found' | 'last_owner' | 'conflict';

/**
 * Users, memberships and email ownership in the `main` table. A tenant item carries `ownerCount`,
 * kept in the same transactions as role changes, so the last owner can never be demoted or removed,
 * however requests interleave.
 */
export class UserStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  /** The Puts that create a user with their membership and address, for a larger transaction. */
  newUserItems(user: User, member: Member) {
    return [
      {
        Put: {
          TableName: this.table,
          // No attribute at all until verified (not NULL): verification sets it with if_not_exists.
          Item: {
            ...keys.user(user.tenantId, user.id),
            type: 'user',
            ...user,
            emailVerifiedAt: user.emailVerifiedAt ?? undefined,
          },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: { ...keys.member(member.tenantId, member.userId), type: 'member', ...member },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: {
            ...keys.emailOwner(user.email),
            type: 'email_owner',
            email: user.email,
            kind: 'user',
            tenantId: user.tenantId,
            userId: user.id,
          },
          // What makes addresses unique: the whole transaction fails if the address is taken.
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  async findEmailOwner(email: string): Promise<EmailOwner | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.emailOwner(email), ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return undefined;
    return item.kind === 'operator'
      ? { kind: 'operator', operatorId: item.operatorId as string }
      : { kind: 'user', tenantId: item.tenantId as string, userId: item.userId as string };
  }

  async getUser(tenantId: string, userId: string): Promise<User | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.user(tenantId, userId), ConsistentRead: true }),
    );
    const i = out.Item;
    if (!i) return undefined;
    return {
      id: i.id as string,
      tenantId: i.tenantId as string,
      email: i.email as string,
      passwordHash: i.passwordHash as string,
      emailVerifiedAt: (i.emailVerifiedAt as string | null | undefined) ?? null,
      createdAt: i.createdAt as string,
    };
  }

  async getMember(tenantId: string, userId: string): Promise<Member | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keys.member(tenantId, userId) }),
    );
    return out.Item ? toMember(out.Item) : undefined;
  }

  /** Every member of a tenant (teams are small: one Query, paged through). */
  async listMembers(tenantId: string): Promise<Member[]> {
    const members: Member[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
          ExpressionAttributeValues: { ':p': keys.tenant(tenantId).pk, ':s': keys.memberPrefix() },
          ExclusiveStartKey: start,
        }),
      );
      members.push(...(out.Items ?? []).map(toMember));
      start = out.LastEvaluatedKey;
    } while (start);
    return members.sort((a, b) => a.joinedAt.localeCompare(b.joinedAt));
  }

  async setPasswordHash(tenantId: string, userId: string, passwordHash: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.user(tenantId, userId),
        UpdateExpression: 'SET passwordHash = :h',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':h': passwordHash },
      }),
    );
  }

  async setMemberName(tenantId: string, userId: string, name: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.member(tenantId, userId),
        UpdateExpression: 'SET #n = :n',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':n': name },
      }),
    );
  }

  /** Changes a role if the member still has `from`; demoting an owner needs another owner. */
  async changeRole(tenantId: string, userId: string, from: TenantRole, to: TenantRole): Promise<RoleChange> {
    if (from === to) return 'changed';
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: keys.member(tenantId, userId),
                UpdateExpression: 'SET #r = :to',
                ConditionExpression: '#r = :from',
                ExpressionAttributeNames: { '#r': 'role' },
                ExpressionAttributeValues: { ':to': to, ':from': from },
              },
            },
            ...this.ownerCountChange(tenantId, from === 'owner' ? -1 : to === 'owner' ? 1 : 0),
          ],
        }),
      );
      return 'changed';
    } catch (err) {
      return this.explain(err, tenantId, userId, from);
    }
  }

  /** Removes a member and their user and frees their address; the last owner cannot be removed. */
  async remove(member: Member): Promise<RoleChange> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.table,
                Key: keys.member(member.tenantId, member.userId),
                ConditionExpression: '#r = :role',
                ExpressionAttributeNames: { '#r': 'role' },
                ExpressionAttributeValues: { ':role': member.role },
              },
            },
            { Delete: { TableName: this.table, Key: keys.user(member.tenantId, member.userId) } },
            { Delete: { TableName: this.table, Key: keys.emailOwner(member.email) } },
            ...this.ownerCountChange(member.tenantId, member.role === 'owner' ? -1 : 0),
          ],
        }),
      );
      return 'changed';
    } catch (err) {
      return this.explain(err, member.tenantId, member.userId, member.role);
    }
  }

  /** The tenant-item update that keeps `ownerCount` right; a decrement must leave an owner. */
  ownerCountChange(tenantId: string, delta: number) {
    if (delta === 0) return [];
    return [
      {
        Update: {
          TableName: this.table,
          Key: keys.tenant(tenantId),
          UpdateExpression: 'ADD ownerCount :d',
          ConditionExpression: delta < 0 ? 'ownerCount > :one' : 'attribute_exists(pk)',
          ExpressionAttributeValues: delta < 0 ? { ':d': delta, ':one': 1 } : { ':d': delta },
        },
      },
    ];
  }

  private async explain(
    err: unknown,
    tenantId: string,
    userId: string,
    from: TenantRole,
  ): Promise<RoleChange> {
    if ((err as Error).name !== 'TransactionCanceledException') throw err;
    const now = await this.getMember(tenantId, userId);
    if (!now) return 'not_found';
    return now.role === from && from === 'owner' ? 'last_owner' : 'conflict';
  }
}

function toMember(item: Record<string, unknown>): Member {
  return {
    userId: item.userId as string,
    tenantId: item.tenantId as string,
    email: item.email as string,
    name: (item.name as string | null | undefined) ?? null,
    role: item.role as TenantRole,
    joinedAt: item.joinedAt as string,
  };
}
