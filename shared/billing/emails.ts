import type { EmailMessage } from '../email/email-sender';

/** Billing notices to a tenant's contact address. They carry no secrets, only where to go. */

export function pastDueMessage(
  to: string,
  input: { tenantName: string; graceEnds: Date; billingUrl: string },
) {
  const day = input.graceEnds.toISOString().slice(0, 10);
  return {
    to,
    kind: 'payment_past_due',
    subject: 'Your Tollgate payment failed',
    text: [
      `A payment for ${input.tenantName} on Tollgate failed.`,
      '',
      `Your API keys keep working until ${day}. After that, API calls are refused until the invoice is paid.`,
      `Update your card or pay the invoice here: ${input.billingUrl}`,
      '',
      'If you have already paid, you can ignore this email.',
    ].join('\n'),
  } satisfies EmailMessage;
}

export function suspendedMessage(to: string, input: { tenantName: string; billingUrl: string }) {
  return {
    to,
    kind: 'billing_suspended',
    subject: 'Your Tollgate account is suspended for non-payment',
    text: [
      `The grace period for the unpaid invoice of ${input.tenantName} has ended, so its API keys are refused.`,
      '',
      `Pay the invoice here and they work again within seconds: ${input.billingUrl}`,
      'Your data and keys are kept.',
    ].join('\n'),
  } satisfies EmailMessage;
}

export function restoredMessage(to: string, input: { tenantName: string }) {
  return {
    to,
    kind: 'billing_restored',
    subject: 'Thank you: your Tollgate payment went through',
    text: [`The payment for ${input.tenantName} went through; the account is in good standing again.`].join(
      '\n',
    ),
  } satisfies EmailMessage;
}
