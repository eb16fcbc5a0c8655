import type { EmailMessage } from './email-sender';

/**
 * The account emails. Each carries a link for the console and the bare token for scripts
 * (`POST /auth/verify {"token": ...}`); tokens appear here and nowhere else (never in logs).
 */
function link(publicUrl: string, page: string, token: string): string {
  return `${new URL(page, publicUrl).toString()}?token=${encodeURIComponent(token)}`;
}

export function verifyEmailMessage(
  to: string,
  publicUrl: string,
  token: string,
  hours: number,
): EmailMessage {
  return {
    to,
    kind: 'verify_email',
    subject: 'Verify your email for Tollgate',
    text: [
      'Welcome to Tollgate.',
      '',
      'Confirm this address to activate your account:',
      link(publicUrl, '/verify-email', token),
      '',
      `Or send the token yourself: POST /auth/verify {"token":"${token}"}`,
      '',
      `The token works once and expires in ${hours} hours. If you did not sign up, ignore this email.`,
    ].join('\n'),
  };
}

export function alreadyRegisteredMessage(to: string, publicUrl: string): EmailMessage {
  return {
    to,
    kind: 'already_registered',
    subject: 'You already have a Tollgate account',
    text: [
      'Someone, probably you, tried to sign up for Tollgate with this address, which already has an account.',
      '',
      `Log in instead, or reset your password: ${new URL('/reset-password', publicUrl).toString()}`,
      '(POST /auth/password-reset {"email": ...} sends a reset token.)',
      '',
      'If it was not you, nothing has changed and you can ignore this email.',
    ].join('\n'),
  };
}

export function resetPasswordMessage(
  to: string,
  publicUrl: string,
  token: string,
  minutes: number,
): EmailMessage {
  return {
    to,
    kind: 'reset_password',
    subject: 'Reset your Tollgate password',
    text: [
      'Choose a new password here:',
      link(publicUrl, '/reset-password', token),
      '',
      `Or: POST /auth/password-reset/confirm {"token":"${token}","password":"..."}`,
      '',
      `The token works once and expires in ${minutes} minutes. Resetting ends every session of this account.`,
      'If you did not ask for this, ignore this email: your password stays as it is.',
    ].join('\n'),
  };
}

export function invitationMessage(
  to: string,
  publicUrl: string,
  token: string,
  invite: { tenantName: string; inviterEmail: string; role: string; days: number },
): EmailMessage {
  return {
    to,
    kind: 'invitation',
    subject: `${invite.inviterEmail} invited you to ${invite.tenantName} on Tollgate`,
    text: [
      `${invite.inviterEmail} invited you to join ${invite.tenantName} on Tollgate as ${invite.role}.`,
      '',
      'Accept and choose a password:',
      link(publicUrl, '/accept-invitation', token),
      '',
      `Or: POST /auth/invitations/accept {"token":"${token}","password":"..."}`,
      '',
      `The invitation expires in ${invite.days} days.`,
    ].join('\n'),
  };
}

export function keyBudgetAlertMessage(
  to: string,
  publicUrl: string,
  alert: {
    tenantName: string;
    keyName: string;
    keyPrefix: string;
    month: string;
    threshold: number;
    used: string;
    budget: string;
    mode: 'hard_stop' | 'alert_only';
  },
): EmailMessage {
  const reached = alert.threshold >= 100 ? 'has reached' : `is at ${alert.threshold}% of`;
  const next =
    alert.mode === 'hard_stop'
      ? alert.threshold >= 100
        ? 'Requests with this key that would go past its budget are refused (429 spend_cap_reached) until the month ends or an owner raises the budget.'
        : 'At its budget, requests with this key are refused (429 spend_cap_reached) until the month ends or an owner raises the budget.'
      : 'This budget only alerts: requests with this key keep being served past it, within the account’s own limits.';
  return {
    to,
    kind: 'key_budget_alert',
    subject: `Tollgate: API key “${alert.keyName}” ${reached} its monthly budget for ${alert.month}`,
    text: [
      `The API key “${alert.keyName}” (${alert.keyPrefix}…) of ${alert.tenantName} ${reached} its monthly budget for ${alert.month}: ${alert.used} of ${alert.budget}.`,
      '',
      next,
      '',
      `Keys and their budgets: ${new URL('/keys', publicUrl).toString()}`,
      '',
      'You get this email once per key and threshold each month, because an owner named you for it.',
    ].join('\n'),
  };
}

export function usageAlertMessage(
  to: string,
  publicUrl: string,
  alert: {
    tenantName: string;
    month: string;
    what: string;
    threshold: number;
    used: string;
    limit: string;
    next: string;
  },
): EmailMessage {
  const reached = alert.threshold >= 100 ? 'has reached' : `is at ${alert.threshold}% of`;
  return {
    to,
    kind: 'usage_alert',
    subject: `Tollgate: ${alert.tenantName} ${reached} its ${alert.what} for ${alert.month}`,
    text: [
      `${alert.tenantName} ${reached} its ${alert.what} for ${alert.month}: ${alert.used} of ${alert.limit}.`,
      '',
      alert.next,
      '',
      `Usage and limits: ${new URL('/account/limits', publicUrl).toString()}`,
      '(GET /account/limits and GET /account/usage with a session; GET /v1/usage with an API key.)',
      '',
      'You get this email once per limit and threshold (50%, 80%, 100%) each month.',
    ].join('\n'),
  };
}
