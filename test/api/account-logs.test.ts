import { describe, expect, it } from 'vitest';
import type { EmailSender } from '../../shared/email/email-sender';
import { EmailDeliveryError } from '../../shared/email/email-sender';
import {
  expectError,
  json,
  login,
  newEmail,
  newOperator,
  newOwner,
  PASSWORD,
  tokenFrom,
} from '../support/accounts';
import { createHarness } from '../support/harness';

describe('no secret reaches the logs', () => {
  it('passwords, session tokens, refresh tokens, email tokens and key secrets never appear, whatever the outcome', async () => {
    const h = await createHarness();
    const secrets: string[] = [];
    const keep = (...values: (string | undefined)[]) => {
      for (const v of values) if (v) secrets.push(v);
    };

    // Signup, verify, login (and a failed login with a near-miss password).
    const owner = await newOwner(h);
    keep(owner.password, owner.token, owner.refreshToken);
    keep(...h.outbox.list(owner.email).map((m) => /token=([\w-]+)/.exec(m.text)?.[1]));
    const nearMiss = `${owner.password}!`;
    keep(nearMiss);
    await h.call('/auth/login', { json: { email: owner.email, password: nearMiss } });

    // Refresh (and reuse), keys created, rotated, used, revoked.
    const refreshed = await json<{ access_token: string; refresh_token: string }>(
      await h.call('/auth/refresh', { json: { refresh_token: owner.refreshToken } }),
    );
    keep(refreshed.access_token, refreshed.refresh_token);
    const fresh = await login(h, owner.email, owner.password);
    keep(fresh.body.access_token, fresh.body.refresh_token);
    const created = await json<{ id: string; secret: string }>(
      await h.call('/account/keys', { key: fresh.body.access_token, json: { name: 'log test' } }),
    );
    keep(created.secret);
    const rotated = await json<{ key: { secret: string } }>(
      await h.call(`/account/keys/${created.id}/rotate`, { key: fresh.body.access_token, json: {} }),
    );
    keep(rotated.key.secret);
    await h.call('/v1/text/sentiment', {
      key: rotated.key.secret,
      json: { model: 'sentiment', input: 'fine' },
    });
    await h.call('/account', { headers: { cookie: fresh.cookie } });

    // Password reset and an invitation.
    await h.call('/auth/password-reset', { json: { email: owner.email } });
    const resetToken = tokenFrom(h, owner.email, 'reset_password');
    const newPassword = 'the new secret password';
    keep(resetToken, newPassword);
    await h.call('/auth/password-reset/confirm', { json: { token: resetToken, password: newPassword } });
    const after = await login(h, owner.email, newPassword);
    keep(after.body.access_token, after.body.refresh_token);
    const invitee = newEmail('invitee');
    await h.call('/account/team/invitations', {
      key: after.body.access_token,
      json: { email: invitee, role: 'viewer' },
    });
    const inviteToken = tokenFrom(h, invitee, 'invitation');
    const inviteePassword = 'invitee chose this one';
    keep(inviteToken, inviteePassword);
    await h.call('/auth/invitations/accept', { json: { token: inviteToken, password: inviteePassword } });

    // Operators and refused credentials.
    const op = await newOperator(h);
    keep(op.token);
    await h.call(`/admin/tenants/${owner.tenantId}/suspend`, { method: 'POST', key: op.token });
    await h.call('/account', { key: `${owner.token}x` });
    await h.call('/account', { key: created.secret });

    const all = h.logs.join('');
    expect(h.logs.length).toBeGreaterThan(15);
    expect(all).toContain(owner.userId);
    expect(all).toContain(op.operatorId);
    for (const secret of new Set(secrets)) {
      expect(secret.length).toBeGreaterThanOrEqual(10);
      expect(all, 'a secret was logged').not.toContain(secret);
      // Not even its distinctive middle.
      expect(all).not.toContain(secret.slice(8, 28));
    }
    expect(all).not.toContain(PASSWORD);
  });

  it('an email that cannot be sent is a 503 logged without the token it carried', async () => {
    const h = await createHarness();
    const failing: EmailSender = {
      send: async (m) => {
        throw new EmailDeliveryError(`refused ${m.kind}`, { cause: new Error('throttled') });
      },
    };
    h.deps.accounts.email = failing;
    const email = newEmail('unlucky');
    const res = await h.call('/auth/signup', { json: { email, password: PASSWORD } });
    await expectError(res, 503, 'email_unavailable');
    const all = h.logs.join('');
    expect(all).toContain('email_unavailable');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toMatch(/tgv_[\w-]{20}/);
  });
});
