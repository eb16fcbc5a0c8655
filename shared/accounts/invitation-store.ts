import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { queryAll } from '../db/query';
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

/** An invitation as stored: with its token's hash, to spend it on revoke. */
const invitationEntity = entity({
  type: 'invitation',
  key: keys.invitation,
  from: (i): Invitation & { tokenHash: string } => ({
    id: i.id as string,
    tenantId: i.tenantId as string,
    email: i.email as string,
    role: i.role as TenantRole,
    invitedBy: i.invitedBy as string,
    createdAt: i.createdAt as string,
    expiresAt: i.expiresAt as string,
    tokenHash: i.tokenHash as string,
  }),
});

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
        Item: invitationEntity.item(invitationEntity.key(invitation.tenantId, invitation.id), {
          ...invitation,
          tokenHash,
          // Kept a month past expiry so the team page can say "expired" before it disappears.
          ttl: Math.ceil(Date.parse(invitation.expiresAt) / 1000) + 30 * 86_400,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** The Delete that ends an invitation, conditional on it still being there. */
  deleteItem(tenantId: string, invitationId: string) {
    return {
      Delete: {
        TableName: this.table,
        Key: invitationEntity.key(tenantId, invitationId),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
  }

  async get(
    tenantId: string,
    invitationId: string,
  ): Promise<(Invitation & { tokenHash: string }) | undefined> {
    return invitationEntity.get(this.doc, this.table, invitationEntity.key(tenantId, invitationId), {
      consistent: true,
    });
  }

  async list(tenantId: string): Promise<Invitation[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
      ExpressionAttributeValues: { ':p': keys.tenant(tenantId).pk, ':s': keys.invitationPrefix() },
    });
    return items.map((item) => {
      const { tokenHash: _hash, ...invitation } = invitationEntity.from(item);
      return invitation;
    });
  }
}
