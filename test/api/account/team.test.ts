import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  expectError,
  json,
  login,
  newEmail,
  newOwner,
  PASSWORD,
  type TestUser,
  tokenFrom,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type Team = {
  members: { user_id: string; email: string; role: string; name: string | null }[];
  invitations: { id: string; email: string; role: string; status: string }[];
};

async function team(h: Harness, user: TestUser): Promise<Team> {
  const res = await h.call('/account/team', { key: user.token });
  expect(res.status).toBe(200);
  return json(res);
}

describe('team', () => {
  let offsetMs = 0;
  let h: Harness;
  let owner: TestUser;
  beforeAll(async () => {
    h = await createHarness({ now: () => new Date(Date.now() + offsetMs) });
    owner = await newOwner(h);
  });

  it('invite, accept, list: the new member logs in with the invited role', async () => {
    const email = newEmail('dev');
    const res = await h.call('/account/team/invitations', {
      key: owner.token,
      json: { email, role: 'developer' },
    });
    expect(res.status).toBe(201);
    const invitation = await json<{ id: string; status: string; expires_at: string }>(res);
    expect(invitation).toMatchObject({ status: 'pending', role: 'developer', email });
    expect((await team(h, owner)).invitations.map((i) => i.id)).toContain(invitation.id);
    const mail = h.outbox.latest(email, 'invitation')!;
    expect(mail.subject).toContain(owner.email);
    expect(mail.subject).toContain('Test Co');

    const accepted = await h.call('/auth/invitations/accept', {
      json: { token: tokenFrom(h, email, 'invitation'), password: PASSWORD, name: 'Dev' },
    });
    expect(accepted.status).toBe(201);
    expect(await json(accepted)).toMatchObject({
      tenant_id: owner.tenantId,
      member: { email, role: 'developer' },
    });
    const t = await team(h, owner);
    expect(t.members.find((m) => m.email === email)).toMatchObject({ role: 'developer', name: 'Dev' });
    expect(t.invitations.map((i) => i.id)).not.toContain(invitation.id);

    const { body } = await login(h, email, PASSWORD);
    const account = await json<{ tenant: { id: string }; user: { role: string }; permissions: string[] }>(
      await h.call('/account', { key: body.access_token }),
    );
    expect(account.tenant.id).toBe(owner.tenantId);
    expect(account.user.role).toBe('developer');
    expect(account.permissions).toContain('keys:manage');
    expect(account.permissions).not.toContain('team:manage');
  });

  it('an address that already has an account cannot be invited (409 naming email)', async () => {
    const someone = await newOwner(h);
    await expectError(
      await h.call('/account/team/invitations', {
        key: owner.token,
        json: { email: someone.email, role: 'viewer' },
      }),
      409,
      'conflict',
      'email',
    );
  });

  it('inviting again replaces the earlier invitation; a withdrawn one stops working', async () => {
    const email = newEmail('twice');
    await h.call('/account/team/invitations', { key: owner.token, json: { email, role: 'viewer' } });
    const first = tokenFrom(h, email, 'invitation');
    await h.call('/account/team/invitations', { key: owner.token, json: { email, role: 'billing' } });
    const second = tokenFrom(h, email, 'invitation');
    const pending = (await team(h, owner)).invitations.filter((i) => i.email === email);
    expect(pending).toHaveLength(1);
    expect(pending[0]!.role).toBe('billing');
    await expectError(
      await h.call('/auth/invitations/accept', { json: { token: first, password: PASSWORD } }),
      400,
      'invalid_request',
      'token',
    );
    const withdrawn = await h.call(`/account/team/invitations/${pending[0]!.id}`, {
      method: 'DELETE',
      key: owner.token,
    });
    expect(withdrawn.status).toBe(200);
    await expectError(
      await h.call('/auth/invitations/accept', { json: { token: second, password: PASSWORD } }),
      400,
      'invalid_request',
      'token',
    );
  });

  it('an invitation expires after 7 days (410)', async () => {
    const email = newEmail('late');
    await h.call('/account/team/invitations', { key: owner.token, json: { email, role: 'viewer' } });
    const token = tokenFrom(h, email, 'invitation');
    offsetMs = 8 * 86_400_000;
    try {
      await expectError(
        await h.call('/auth/invitations/accept', { json: { token, password: PASSWORD } }),
        410,
        'email_token_expired',
        'token',
      );
    } finally {
      offsetMs = 0;
    }
  });

  it('a bad password on accept is 400 and leaves the invitation usable', async () => {
    const email = newEmail('retry');
    await h.call('/account/team/invitations', { key: owner.token, json: { email, role: 'viewer' } });
    const token = tokenFrom(h, email, 'invitation');
    await expectError(
      await h.call('/auth/invitations/accept', { json: { token, password: 'short' } }),
      400,
      'invalid_request',
      'password',
    );
    expect((await h.call('/auth/invitations/accept', { json: { token, password: PASSWORD } })).status).toBe(
      201,
    );
  });

  it.each([
    [{ email: newEmail(), role: 'operator' }, 'role'],
    [{ email: newEmail(), role: 'admin' }, 'role'],
    [{ email: newEmail() }, 'role'],
    [{ email: 'nope', role: 'viewer' }, 'email'],
  ])('bad invitation %j is 400 naming the field, and sends nothing', async (body, param) => {
    const sent = h.outbox.list().length;
    await expectError(
      await h.call('/account/team/invitations', { key: owner.token, json: body }),
      400,
      'invalid_request',
      param,
    );
    expect(h.outbox.list().length).toBe(sent);
  });

  it('only owners manage the team', async () => {
    const dev = await addMember(h, owner, 'developer');
    await expectError(
      await h.call('/account/team/invitations', {
        key: dev.token,
        json: { email: newEmail(), role: 'viewer' },
      }),
      403,
      'forbidden',
    );
    await expectError(
      await h.call(`/account/team/members/${dev.userId}`, {
        method: 'PATCH',
        key: dev.token,
        json: { role: 'owner' },
      }),
      403,
      'forbidden',
    );
    expect((await team(h, dev)).members.length).toBeGreaterThan(1);
  });
});

describe('roles and removal', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });

  it('the last owner can be neither demoted nor removed; with a second owner, both work', async () => {
    const owner = await newOwner(h);
    const patch = (who: string, role: string) =>
      h.call(`/account/team/members/${who}`, { method: 'PATCH', key: owner.token, json: { role } });
    await expectError(await patch(owner.userId, 'developer'), 409, 'conflict', 'user_id');
    await expectError(
      await h.call(`/account/team/members/${owner.userId}`, { method: 'DELETE', key: owner.token }),
      409,
      'conflict',
    );
    const second = await addMember(h, owner, 'owner');
    const demoted = await patch(owner.userId, 'developer');
    expect(demoted.status).toBe(200);
    expect(await json(demoted)).toMatchObject({ role: 'developer' });
    // Now `second` is the last owner.
    await expectError(
      await h.call(`/account/team/members/${second.userId}`, {
        method: 'PATCH',
        key: second.token,
        json: { role: 'viewer' },
      }),
      409,
      'conflict',
    );
  });

  it('changing a role takes effect on the next request', async () => {
    const owner = await newOwner(h);
    const dev = await addMember(h, owner, 'developer');
    expect((await h.call('/account/keys', { key: dev.token, json: { name: 'ok' } })).status).toBe(201);
    await h.call(`/account/team/members/${dev.userId}`, {
      method: 'PATCH',
      key: owner.token,
      json: { role: 'viewer' },
    });
    await expectError(
      await h.call('/account/keys', { key: dev.token, json: { name: 'no' } }),
      403,
      'forbidden',
    );
  });

  it('a removed member is out at once, and their address is free again', async () => {
    const owner = await newOwner(h);
    const viewer = await addMember(h, owner, 'viewer');
    const res = await h.call(`/account/team/members/${viewer.userId}`, {
      method: 'DELETE',
      key: owner.token,
    });
    expect(res.status).toBe(200);
    await expectError(await h.call('/account', { key: viewer.token }), 401, 'invalid_token');
    await expectError(
      await h.call('/auth/refresh', { json: { refresh_token: viewer.refreshToken } }),
      401,
      'invalid_token',
    );
    await expectError(
      await h.call('/auth/login', { json: { email: viewer.email, password: viewer.password } }),
      401,
      'invalid_credentials',
    );
    expect((await team(h, owner)).members.map((m) => m.user_id)).not.toContain(viewer.userId);
    expect((await h.call('/auth/signup', { json: { email: viewer.email, password: PASSWORD } })).status).toBe(
      202,
    );
    expect(h.outbox.latest(viewer.email)?.kind).toBe('verify_email');
  });

  it('an unknown member id is 404', async () => {
    const owner = await newOwner(h);
    for (const id of ['usr_01JZZZZZZZZZZZZZZZZZZZZZZZ', 'bogus']) {
      await expectError(
        await h.call(`/account/team/members/${id}`, {
          method: 'PATCH',
          key: owner.token,
          json: { role: 'viewer' },
        }),
        404,
        'not_found',
        'user_id',
      );
    }
  });
});

describe('profile', () => {
  let h: Harness;
  let owner: TestUser;
  beforeAll(async () => {
    h = await createHarness();
    owner = await newOwner(h, { company: 'Profile Co' });
  });

  it('GET /account shows the tenant, plan, status and your role', async () => {
    const body = await json(await h.call('/account', { key: owner.token }));
    expect(body).toMatchObject({
      object: 'account',
      tenant: {
        id: owner.tenantId,
        name: 'Profile Co',
        plan: 'free',
        status: 'active',
        contact_email: owner.email,
      },
      user: { id: owner.userId, email: owner.email, role: 'owner' },
    });
  });

  it('PATCH changes your name, and (for owners and billing) the tenant name and contact', async () => {
    const res = await h.call('/account', {
      method: 'PATCH',
      key: owner.token,
      json: { name: 'New Name', company: 'Renamed Co', contact_email: 'Billing@Example.com' },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      tenant: { name: 'Renamed Co', contact_email: 'billing@example.com' },
      user: { name: 'New Name' },
    });
    const found = await h.stores.tenants.searchByName('renamed', { limit: 10 });
    expect(found !== 'bad_cursor' && found.tenants.map((t) => t.id)).toContain(owner.tenantId);
  });

  it('a developer may change their own name but not the tenant; a refused request changes nothing', async () => {
    const dev = await addMember(h, owner, 'developer');
    expect(
      (await h.call('/account', { method: 'PATCH', key: dev.token, json: { name: 'Devi' } })).status,
    ).toBe(200);
    const before = await h.stores.tenants.get(owner.tenantId);
    await expectError(
      await h.call('/account', {
        method: 'PATCH',
        key: dev.token,
        json: { name: 'Other', company: 'Mine Now' },
      }),
      403,
      'forbidden',
      'company',
    );
    expect(await h.stores.tenants.get(owner.tenantId)).toEqual(before);
    expect((await h.stores.users.getMember(owner.tenantId, dev.userId))?.name).toBe('Devi');
  });

  it.each([
    [{ contact_email: 'nope' }, 'contact_email'],
    [{ name: '' }, 'name'],
    [{ plan: 'enterprise' }, null],
    [{ company: 42 }, 'company'],
  ])('bad input %j is 400 and changes nothing', async (body, param) => {
    const before = await h.stores.tenants.get(owner.tenantId);
    await expectError(
      await h.call('/account', { method: 'PATCH', key: owner.token, json: body }),
      400,
      'invalid_request',
      param,
    );
    expect(await h.stores.tenants.get(owner.tenantId)).toEqual(before);
  });
});
