import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../db/keys';
import type { TenantRole } from './roles';

export interface Invitation {
  id: string;
  tenantId: string;
  email: string;
  role: TenantRole;
  /** The inviting user's id. */
  invitedBy: string;
  createdAt: string;
  expiresAt: string;
}

/** Pending invitations, under their tenant. Accepting or revoking one deletes it. */
export class InvitationStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The Put for a new invitation (stored with its token's hash, to spend it on revoke). */
  putItem(invitation: Invitation, tokenHash: string) {
    return {
      Put: {
        TableName: this.table,
        Item: {
          ...keys.invitation(invitation.tenantId, invitation.id),
          type: 'invitation',
          ...invitation,
          tokenHash,
          // Kept a month past expiry so the team page can say "expired" before it disappears.
          ttl: Math.ceil(Date.parse(invitation.expiresAt) / 1000) + 30 * 86_400,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** The Delete that ends an invitation, conditional on it still being there. */
  deleteItem(tenantId: string, invitationId: string) {
    return {
      Delete: {
        TableName: this.table,
        Key: keys.invitation(tenantId, invitationId),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
  }

  async get(
    tenantId: string,
    invitationId: string,
  ): Promise<(Invitation & { tokenHash: string }) | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.invitation(tenantId, invitationId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? { ...toInvitation(out.Item), tokenHash: out.Item.tokenHash as string } : undefined;
  }

  async list(tenantId: string): Promise<Invitation[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
          ExpressionAttributeValues: { ':p': keys.tenant(tenantId).pk, ':s': keys.invitationPrefix() },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items.map(toInvitation);
  }
}

function toInvitation(i: Record<string, unknown>): Invitation {
  return {
    id: i.id as string,
    tenantId: i.tenantId as string,
    email: i.email as string,
    role: i.role as TenantRole,
    invitedBy: i.invitedBy as string,
    createdAt: i.createdAt as string,
    expiresAt: i.expiresAt as string,
  };
}
