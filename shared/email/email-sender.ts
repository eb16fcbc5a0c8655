/** What kind of account email a message is; the outbox and tests find messages by it. */
export type EmailKind =
  | 'verify_email'
  | 'already_registered'
  | 'reset_password'
  | 'invitation'
  | 'usage_alert'
  | 'key_budget_alert'
  | 'project_budget_alert'
  | 'payment_past_due'
  | 'billing_suspended'
  | 'billing_restored'
  | 'trial_exhausted'
  | 'low_balance'
  | 'auto_recharge_failed';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  kind: EmailKind;
}

/**
 * The email port. The cloud wires SES; the local runner and tests wire an outbox that keeps the
 * messages in memory (and prints them), so no mail leaves the machine.
 */
export interface EmailSender {
  send(message: EmailMessage): Promise<void>;
}

export class EmailDeliveryError extends Error {
  override name = 'EmailDeliveryError';
}
