import { type DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ifConditionFails } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
import type { TransactItem } from '../db/transact';
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

const userEntity = entity({
  type: 'user',
  key: keys.user,
  from: (i): User => ({
    id: i.id as string,
    tenantId: i.tenantId as string,
    email: i.email as string,
    passwordHash: i.passwordHash as string,
    emailVerifiedAt: (i.emailVerifiedAt as string | null | undefined) ?? null,
    createdAt: i.createdAt as string,
  }),
});

const memberEntity = entity({
  type: 'member',
  key: keys.member,
  from: (i): Member => ({
    userId: i.userId as string,
    tenantId: i.tenantId as string,
    email: i.email as string,
    name: (i.name as string | null | undefined) ?? null,
    role: i.role as TenantRole,
    joinedAt: i.joinedAt as string,
  }),
});

/** Who owns an address: what keeps addresses unique across users and operators. */
export const emailOwnerEntity = entity({
  type: 'email_owner',
  key: keys.emailOwner,
  from: (i): EmailOwner =>
    i.kind === 'operator'
      ? { kind: 'operator', operatorId: i.operatorId as string }
      : { kind: 'user', tenantId: i.tenantId as string, userId: i.userId as string },
});

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
          Item: userEntity.item(userEntity.key(user.tenantId, user.id), {
            ...user,
            emailVerifiedAt: user.emailVerifiedAt ?? undefined,
          }),
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: memberEntity.item(memberEntity.key(member.tenantId, member.userId), member),
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: emailOwnerEntity.item(emailOwnerEntity.key(user.email), {
            email: user.email,
            kind: 'user',
            tenantId: user.tenantId,
            userId: user.id,
          }),
          // What makes addresses unique: the whole transaction fails if the address is taken.
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
  }

  async findEmailOwner(email: string): Promise<EmailOwner | undefined> {
    return emailOwnerEntity.get(this.doc, this.table, emailOwnerEntity.key(email), { consistent: true });
  }

  async getUser(tenantId: string, userId: string): Promise<User | undefined> {
    return userEntity.get(this.doc, this.table, userEntity.key(tenantId, userId), { consistent: true });
  }

  async getMember(tenantId: string, userId: string): Promise<Member | undefined> {
    return memberEntity.get(this.doc, this.table, memberEntity.key(tenantId, userId));
  }

  /** Every member of a tenant (teams are small: one Query, paged through). */
  async listMembers(tenantId: string): Promise<Member[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
      ExpressionAttributeValues: { ':p': keys.tenant(tenantId).pk, ':s': keys.memberPrefix() },
    });
    return items.map(memberEntity.from).sort((a, b) => a.joinedAt.localeCompare(b.joinedAt));
  }

  async setPasswordHash(tenantId: string, userId: string, passwordHash: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: userEntity.key(tenantId, userId),
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
        Key: memberEntity.key(tenantId, userId),
        UpdateExpression: 'SET #n = :n',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':n': name },
      }),
    );
  }

  /**
   * Changes a role if the member still has `from`; demoting an owner needs another owner. `also`
   * (the change's audit entry) goes in the same transaction; an unchanged role writes nothing.
   */
  async changeRole(
    tenantId: string,
    userId: string,
    from: TenantRole,
    to: TenantRole,
    also: TransactItem[] = [],
  ): Promise<RoleChange> {
    if (from === to) return 'changed';
    return this.changeMember(tenantId, userId, from, [
      {
        Update: {
          TableName: this.table,
          Key: memberEntity.key(tenantId, userId),
          UpdateExpression: 'SET #r = :to',
          ConditionExpression: '#r = :from',
          ExpressionAttributeNames: { '#r': 'role' },
          ExpressionAttributeValues: { ':to': to, ':from': from },
        },
      },
      ...this.ownerCountChange(tenantId, from === 'owner' ? -1 : to === 'owner' ? 1 : 0),
      ...also,
    ]);
  }

  /**
   * Removes a member and their user and frees their address; the last owner cannot be removed.
   * `also` (the change's audit entry) goes in the same transaction.
   */
  async remove(member: Member, also: TransactItem[] = []): Promise<RoleChange> {
    return this.changeMember(member.tenantId, member.userId, member.role, [
      {
        Delete: {
          TableName: this.table,
          Key: memberEntity.key(member.tenantId, member.userId),
          ConditionExpression: '#r = :role',
          ExpressionAttributeNames: { '#r': 'role' },
          ExpressionAttributeValues: { ':role': member.role },
        },
      },
      { Delete: { TableName: this.table, Key: userEntity.key(member.tenantId, member.userId) } },
      { Delete: { TableName: this.table, Key: emailOwnerEntity.key(member.email) } },
      ...this.ownerCountChange(member.tenantId, member.role === 'owner' ? -1 : 0),
      ...also,
    ]);
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

  /** Writes a change of a member that had role `from`; a refused one is explained from a fresh read. */
  private changeMember(
    tenantId: string,
    userId: string,
    from: TenantRole,
    items: TransactItem[],
  ): Promise<RoleChange> {
    return ifConditionFails(
      this.doc.send(new TransactWriteCommand({ TransactItems: items })).then(() => 'changed' as const),
      async () => {
        const now = await this.getMember(tenantId, userId);
        if (!now) return 'not_found';
        return now.role === from && from === 'owner' ? 'last_owner' : 'conflict';
      },
    );
  }
}
