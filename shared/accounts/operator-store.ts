import {
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ifConditionFails } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import type { TransactItem } from '../db/transact';
import { emailOwnerEntity } from './user-store';

/** A platform operator: outside every tenant, reached only through its own key space. */
export interface Operator {
  id: string;
  email: string;
  passwordHash: string;
  createdAt: string;
}

/** An operator, in gsi1 `OPERATORS` by creation. */
const operatorEntity = entity({
  type: 'operator',
  key: keys.operator,
  from: (i): Operator => ({
    id: i.id as string,
    email: i.email as string,
    passwordHash: i.passwordHash as string,
    createdAt: i.createdAt as string,
  }),
});

export class OperatorStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Creates an operator and claims its address in one transaction (with the audit entry when
   * given). `email_taken` when any user or operator has the address.
   */
  async create(op: Operator, extra: TransactItem[] = []): Promise<'created' | 'email_taken'> {
    const write = this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: operatorEntity.item(operatorEntity.key(op.id), {
                ...op,
                gsi1pk: keys.operatorsIndex(),
                gsi1sk: `${op.createdAt}#${op.id}`,
              }),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: emailOwnerEntity.item(emailOwnerEntity.key(op.email), {
                email: op.email,
                kind: 'operator',
                operatorId: op.id,
              }),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...extra,
        ],
      }),
    );
    return ifConditionFails(
      write.then(() => 'created' as const),
      () => 'email_taken' as const,
    );
  }

  async get(operatorId: string): Promise<Operator | undefined> {
    return operatorEntity.get(this.doc, this.table, operatorEntity.key(operatorId), { consistent: true });
  }

  /** The oldest operators' addresses, at most `limit` (one Query on gsi1). */
  async emails(limit: number): Promise<string[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.operatorsIndex() },
        ProjectionExpression: 'email',
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => i.email as string);
  }

  async setPasswordHash(operatorId: string, passwordHash: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: operatorEntity.key(operatorId),
        UpdateExpression: 'SET passwordHash = :h',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':h': passwordHash },
      }),
    );
  }
}
