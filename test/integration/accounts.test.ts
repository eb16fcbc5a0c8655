import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, localStateFile, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(REPO, 'node_modules', '.bin', 'tsx');
const PASSWORD = 'a long enough password';
const OPERATOR = { email: 'ops@tollgate.example', password: 'operator password 1' };

function logSink() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, log: createLogger('info', sink) };
}

/** The fields these tests read from answers. */
interface Body {
  [field: string]: unknown;
  data: { id: string; to: string; kind: string; text: string; label: string; action: string }[];
  error: { code: string };
  subject: { kind: string };
  access_token: string;
  secret: string;
  id: string;
  tenant_id: string;
}

/** A curl-like client for one stack. */
function client(base: string) {
  return async (
    path: string,
    opts: { method?: string; token?: string; json?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method: opts.method ?? (opts.json !== undefined ? 'POST' : 'GET'),
      headers,
      body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : {}) as Body,
      headers: res.headers,
    };
  };
}

async function admin(args: string[], env: Record<string, string>) {
  return run(TSX, ['local/admin.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
}

describe('a new developer, end to end over HTTP on the local stack', () => {
  let stack: LocalStack;
  let call: ReturnType<typeof client>;
  const printed: string[] = [];
  const { lines: logLines, log } = logSink();

  beforeAll(async () => {
    const config = loadConfig({
      PORT: '0',
      TOLLGATE_IN_MEMORY: 'true',
      OPERATOR_EMAIL: OPERATOR.email,
      OPERATOR_PASSWORD: OPERATOR.password,
    });
    stack = await startLocalStack(config, log, { print: (t) => printed.push(t) });
    call = client(stack.url);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const email = 'new.dev@example.com';
  let tenantId: string;
  let token: string;
  let keyId: string;
  let secret: string;

  it('signs up, reads the token from the outbox, verifies and logs in', async () => {
    const signup = await call('/auth/signup', {
      json: { email, password: PASSWORD, company: 'New Dev Ltd' },
    });
    expect(signup.status).toBe(202);
    const outbox = await call(`/_local/outbox?to=${encodeURIComponent(email)}`);
    expect(outbox.status).toBe(200);
    const message = outbox.body.data[0]!;
    expect(message).toMatchObject({ to: email, kind: 'verify_email' });
    const verifyToken = /token=([\w-]+)/.exec(message.text)![1]!;
    // PUBLIC_URL is not set: the link follows the port the server got, not a fixed default.
    expect(message.text).toContain(`http://localhost:${stack.port}/verify-email?token=${verifyToken}`);
    // The server printed the email for whoever runs it.
    expect(printed.join('')).toContain(verifyToken);

    const verified = await call('/auth/verify', { json: { token: verifyToken } });
    expect(verified.status).toBe(200);
    tenantId = verified.body.tenant_id;

    const login = await call('/auth/login', { json: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    token = login.body.access_token;
    // Over http on a loopback host: HttpOnly and SameSite, but not Secure.
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('tg_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect((await call('/account', { token })).body).toMatchObject({
      tenant: { id: tenantId, status: 'active' },
    });
  });

  it('creates a key, calls the model with it, revokes it and is refused', async () => {
    const created = await call('/account/keys', { token, json: { name: 'laptop' } });
    expect(created.status).toBe(201);
    keyId = created.body.id;
    secret = created.body.secret;
    const ask = () =>
      call('/v1/text/sentiment', { token: secret, json: { model: 'sentiment', input: 'I love it' } });
    const ok = await ask();
    expect(ok.status).toBe(200);
    expect(ok.body.data[0]?.label).toBe('positive');

    expect((await call(`/account/keys/${keyId}/revoke`, { method: 'POST', token })).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('invalid_api_key');
  });

  it('a browser session (cookies) may write from its own origin only', async () => {
    const login = await fetch(`${stack.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const same = await call('/account/keys', {
      json: { name: 'from the console' },
      headers: { cookie, origin: stack.url },
    });
    expect(same.status).toBe(201);
    const cross = await call('/account/keys', {
      json: { name: 'csrf' },
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(cross.status).toBe(403);
  });

  it('the operator from config suspends the tenant (its keys answer 403 at once) and reactivates it', async () => {
    expect(stack.operator).toEqual({ email: OPERATOR.email, created: true });
    const key = await call('/account/keys', { token, json: { name: 'still valid' } });
    const ask = () =>
      call('/v1/text/sentiment', { token: key.body.secret, json: { model: 'sentiment', input: 'ok' } });
    expect((await ask()).status).toBe(200);

    const op = await call('/auth/login', { json: OPERATOR });
    expect(op.status).toBe(200);
    expect(op.body.subject.kind).toBe('operator');
    const opToken = op.body.access_token;
    const found = await call(`/admin/tenants?q=${encodeURIComponent(email)}`, { token: opToken });
    expect(found.body.data.map((t) => t.id)).toEqual([tenantId]);

    expect(
      (await call(`/admin/tenants/${tenantId}/suspend`, { method: 'POST', token: opToken })).status,
    ).toBe(200);
    const suspended = await ask();
    expect(suspended.status).toBe(403);
    expect(suspended.body.error.code).toBe('tenant_inactive');

    expect(
      (await call(`/admin/tenants/${tenantId}/reactivate`, { method: 'POST', token: opToken })).status,
    ).toBe(200);
    expect((await ask()).status).toBe(200);

    const audit = await call('/admin/audit', { token: opToken });
    expect(audit.body.data.slice(0, 2).map((e) => e.action)).toEqual(['tenant.reactivate', 'tenant.suspend']);
    // A tenant user cannot reach any of it.
    expect((await call('/admin/tenants', { token })).status).toBe(403);
  });

  it('the admin CLI creates operators and keys against the running stack', async () => {
    const env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, STAGE: stack.config.STAGE };
    const made = await admin(
      ['create-operator', '--email', 'second-op@tollgate.example', '--password', 'another operator pw'],
      env,
    );
    expect(JSON.parse(made.stdout)).toMatchObject({
      object: 'operator',
      email: 'second-op@tollgate.example',
    });
    expect(
      (
        await call('/auth/login', {
          json: { email: 'second-op@tollgate.example', password: 'another operator pw' },
        })
      ).status,
    ).toBe(200);

    const key = JSON.parse(
      (await admin(['create-key', '--tenant', tenantId, '--name', 'from cli'], env)).stdout,
    );
    expect(key.secret).toMatch(/^tg_live_/);
    expect(
      (await call('/v1/text/sentiment', { token: key.secret, json: { model: 'sentiment', input: 'yes' } }))
        .status,
    ).toBe(200);

    await expect(
      admin(['create-operator', '--email', email, '--password', 'whatever password'], env),
    ).rejects.toMatchObject({
      code: 1,
    });
  });

  it('never wrote a password, token or secret to the logs', () => {
    const all = logLines.join('');
    expect(logLines.length).toBeGreaterThan(10);
    for (const s of [PASSWORD, OPERATOR.password, token, secret]) expect(all).not.toContain(s);
    expect(all).not.toMatch(/tg[vr]_[\w-]{20}/);
  });
});

describe('on disk: sessions survive a restart, and the CLI finds the stack by itself', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-accounts-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps the signing key and the data under DATA_DIR', async () => {
    const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    let stack = await startLocalStack(config, createLogger('silent'), { print: () => {} });
    let token: string;
    try {
      expect(stack.operator).toBeNull();
      expect(existsSync(localStateFile(dataDir))).toBe(true);
      // No DYNAMODB_ENDPOINT: the CLI reads DATA_DIR/local.json.
      const { DYNAMODB_ENDPOINT: _omit, ...env } = process.env;
      const made = await run(
        TSX,
        [
          'local/admin.ts',
          'create-operator',
          '--email',
          'disk-op@tollgate.example',
          '--password',
          'disk operator pw',
        ],
        {
          cwd: REPO,
          env: { ...env, DATA_DIR: dataDir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        },
      );
      expect(JSON.parse(made.stdout).email).toBe('disk-op@tollgate.example');
      const login = await client(stack.url)('/auth/login', {
        json: { email: 'disk-op@tollgate.example', password: 'disk operator pw' },
      });
      token = login.body.access_token;
      expect(existsSync(join(dataDir, 'session-keys.json'))).toBe(true);
    } finally {
      await stack.stop();
    }
    expect(existsSync(localStateFile(dataDir))).toBe(false);

    stack = await startLocalStack(config, createLogger('silent'), { print: () => {} });
    try {
      // No OPERATOR_EMAIL: the operator the CLI made is the one the start-up banner names.
      expect(stack.operator).toEqual({ email: 'disk-op@tollgate.example', created: false });
      const res = await client(stack.url)('/admin/tenants', { token: token! });
      expect(res.status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});
