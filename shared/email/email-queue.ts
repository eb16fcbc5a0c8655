import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ifConditionFails } from '../db/conditions';
import { entity } from '../db/entity';
import { keys } from '../db/keys';
import { newId } from '../ids';
import type { Logger } from '../logger';
import type { EmailMessage, EmailSender } from './email-sender';

/** Tries per message before it is dropped (with an error log line); a queued message also expires after a week. */
export const MAX_EMAIL_ATTEMPTS = 5;
const KEEP_SECONDS = 7 * 24 * 3600;

/** A message waiting to be sent, oldest first in the queue's one partition. */
const queuedEmailEntity = entity({
  type: 'queued_email',
  key: keys.queuedEmail,
  from: (item) => ({
    key: { pk: item.pk as string, sk: item.sk as string },
    message: item.message as EmailMessage,
    attempts: Number(item.attempts ?? 0),
  }),
});

/** Orders this process's messages queued in the same millisecond (the id alone is random there). */
let sequence = 0;

/**
 * An email port that queues instead of sending: each message becomes an item in the main table,
 * which a job sends through the real sender (`sendQueuedEmails`). The billing plane's function uses
 * it for its payment notices, so it carries no SES client (62 KB of its bundle) and a notice whose
 * send fails is tried again on the next run instead of lost. The billing sync job, which runs every
 * few minutes (`billing.syncEveryMinutes`), sends them.
 */
export class QueuedEmailSender implements EmailSender {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async send(message: EmailMessage): Promise<void> {
    const at = this.now();
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: queuedEmailEntity.item(
          queuedEmailEntity.key(
            at.toISOString(),
            `${String(sequence++ % 1e6).padStart(6, '0')}#${newId('eml', at.getTime())}`,
          ),
          {
            message: { to: message.to, subject: message.subject, text: message.text, kind: message.kind },
            attempts: 0,
            ttl: Math.floor(at.getTime() / 1000) + KEEP_SECONDS,
          },
        ),
      }),
    );
  }
}

/**
 * Sends what is queued, oldest first, at most `limit` per run: each message is deleted once sent
 * (a run that dies between the two sends it again on the next: at least once, never lost). A send
 * that fails is counted and kept for the next run, up to `MAX_EMAIL_ATTEMPTS`.
 */
export async function sendQueuedEmails(
  doc: DynamoDBDocumentClient,
  table: string,
  sender: EmailSender,
  log: Logger,
  limit = 100,
): Promise<{ sent: number; failed: number; dropped: number }> {
  const out = await doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.queuedEmailPartition() },
      Limit: limit,
    }),
  );
  const result = { sent: 0, failed: 0, dropped: 0 };
  for (const queued of (out.Items ?? []).map(queuedEmailEntity.from)) {
    const { key, message } = queued;
    try {
      await sender.send(message);
    } catch (err) {
      const attempts = queued.attempts + 1;
      if (attempts >= MAX_EMAIL_ATTEMPTS) {
        await doc.send(new DeleteCommand({ TableName: table, Key: key }));
        result.dropped++;
        log.error({ err, kind: message.kind, attempts }, 'queued email dropped after its last attempt');
      } else {
        // Conditional: an overlapping run that sent it meanwhile has deleted it.
        await ifConditionFails(
          doc.send(
            new UpdateCommand({
              TableName: table,
              Key: key,
              UpdateExpression: 'SET attempts = :n',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':n': attempts },
            }),
          ),
          () => undefined,
        );
        result.failed++;
        log.warn({ err, kind: message.kind, attempts }, 'queued email not sent; kept for the next run');
      }
      continue;
    }
    await doc.send(new DeleteCommand({ TableName: table, Key: key }));
    result.sent++;
  }
  return result;
}
