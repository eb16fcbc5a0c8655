import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { EmailDeliveryError, type EmailMessage, type EmailSender } from './email-sender';

/** Sends through Amazon SES v2 from a verified sender address. */
export class SesEmailSender implements EmailSender {
  private readonly client: SESv2Client;

  constructor(opts: { region: string; from: string; client?: SESv2Client }) {
    this.client = opts.client ?? new SESv2Client({ region: opts.region, maxAttempts: 2 });
    this.from = opts.from;
  }

  private readonly from: string;

  async send(message: EmailMessage): Promise<void> {
    try {
      await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: [message.to] },
          Content: {
            Simple: {
              Subject: { Data: message.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: message.text, Charset: 'UTF-8' } },
            },
          },
          EmailTags: [{ Name: 'kind', Value: message.kind }],
        }),
      );
    } catch (err) {
      throw new EmailDeliveryError(`SES refused the ${message.kind} email`, { cause: err });
    }
  }
}
