import type { Config } from '#shared/config';
import type { EmailSender } from '#shared/email/email-sender';
import { SesEmailSender } from '#shared/email/ses-sender';

/** Amazon SES from EMAIL_FROM. Brings the SES v2 SDK. */
export function sesEmail(config: Config): EmailSender {
  return new SesEmailSender({ region: config.AWS_REGION, from: config.EMAIL_FROM });
}
