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

export function autoRechargeFailedMessage(
  to: string,
  input: { tenantName: string; amountUsd: string; reason: string; balanceUsd: string; creditsUrl: string },
) {
  return {
    to,
    kind: 'auto_recharge_failed',
    subject: 'Your Tollgate auto-recharge failed',
    text: [
      `An automatic top-up of $${input.amountUsd} for ${input.tenantName} on Tollgate was declined: ${input.reason}`,
      '',
      `Nothing was charged. Your balance is $${input.balanceUsd}; when it cannot pay for a request, API calls are refused (429 insufficient_balance).`,
      'Auto-recharge is now off, so the card is not tried again.',
      `Top up with another card and turn auto-recharge back on here: ${input.creditsUrl}`,
    ].join('\n'),
  } satisfies EmailMessage;
}
