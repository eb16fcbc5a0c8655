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

export function projectBudgetAlertMessage(
  to: string,
  publicUrl: string,
  alert: {
    tenantName: string;
    projectName: string;
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
        ? 'Requests with the project’s keys that would go past its budget are refused (429 spend_cap_reached) until the month ends or an owner raises the budget.'
        : 'At its budget, requests with the project’s keys are refused (429 spend_cap_reached) until the month ends or an owner raises the budget.'
      : 'This budget only alerts: requests with the project’s keys keep being served past it, within the account’s own limits.';
  return {
    to,
    kind: 'project_budget_alert',
    subject: `Tollgate: project “${alert.projectName}” ${reached} its monthly budget for ${alert.month}`,
    text: [
      `The project “${alert.projectName}” of ${alert.tenantName} ${reached} its monthly budget for ${alert.month}: ${alert.used} of ${alert.budget}.`,
      '',
      next,
      '',
      `Projects and their budgets: ${new URL('/projects', publicUrl).toString()}`,
      '',
      'You get this email once per project and threshold each month, as an owner of the project or of the account.',
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

/** A free-only tenant's credit is used up: its calls are refused, and how to continue. Once per exhaustion. */
export function trialExhaustedMessage(
  to: string,
  publicUrl: string,
  info: { tenantName: string; balance: string },
): EmailMessage {
  const billing = new URL('/billing', publicUrl).toString();
  return {
    to,
    kind: 'trial_exhausted',
    subject: `Tollgate: ${info.tenantName}'s free credit is used up; API calls are paused`,
    text: [
      `${info.tenantName}'s free credit has run out (used up or expired; $${info.balance} left).`,
      'Free-only is on, so API calls that it cannot pay for are refused (429 insufficient_balance) and',
      'nothing was charged.',
      '',
      'To continue, on the billing page:',
      `  ${billing}`,
      '- top up credit: it is spent at once (free-only can stay on);',
      '- or turn free-only off (PATCH /account/credits/settings {"free_only": false}), then add a card',
      '  or upgrade: use is then billed as your plan says (credit you bought is spent first).',
      '',
      'You get this email once each time the credit runs out; new credit (a top-up or a grant) ends it.',
    ].join('\n'),
  };
}

/** The balance fell below one of the owner's low-balance thresholds. Once per crossing. */
export function lowBalanceMessage(
  to: string,
  publicUrl: string,
  info: { tenantName: string; threshold: string; balance: string },
): EmailMessage {
  return {
    to,
    kind: 'low_balance',
    subject: `Tollgate: ${info.tenantName}'s credit balance is below $${info.threshold}`,
    text: [
      `${info.tenantName}'s credit balance is $${info.balance}, below your alert at $${info.threshold}.`,
      'At zero, API calls are refused (429 insufficient_balance) until credit is added.',
      '',
      `Balance and alerts: ${new URL('/alerts', publicUrl).toString()}`,
      '(GET /account/credits and GET /account/credits/settings with a session.)',
      '',
      'You get this email once each time the balance crosses below this amount; it is sent again only',
      'after the balance has risen back above it.',
    ].join('\n'),
  };
}
