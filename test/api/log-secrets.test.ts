import { describe, expect, it } from 'vitest';
import { login, newOwner } from '../support/accounts';
import { billingHarness } from '../support/billing';
import { createHarness } from '../support/harness';
import { b64, solidImage } from '../support/images';

const PROMPT = 'PROMPT-CANARY the launch codes are 0000';
const LONG = `${'HEAD-CANARY '.repeat(10)}${'TAIL-CANARY '.repeat(40)}`;

async function callEverything(h: Awaited<ReturnType<typeof createHarness>>, key: string) {
  const chat = { model: 'chat', messages: [{ role: 'user', content: PROMPT }], max_tokens: 3 };
  expect((await h.call('/v1/chat/completions', { key, json: chat })).status).toBe(200);
  const stream = await h.call('/v1/chat/completions', { key, json: { ...chat, stream: true } });
  expect(stream.status).toBe(200);
  await stream.text();
  expect(
    (await h.call('/v1/text/sentiment', { key, json: { model: 'sentiment', input: LONG } })).status,
  ).toBe(200);
  // A refused request logs no more than a served one.
  await h.call('/v1/chat/completions', { key, json: { ...chat, temperature: 9 } });
}

/** What must never reach a log line, whatever happens; and prompt logging, off unless asked. */
describe('logs carry no prompts, image bytes, passwords, tokens or keys', () => {
  it('by default: no prompt, no image bytes, no password, no session or refresh token, no API key', async () => {
    const h = await createHarness();
    const t = await h.newTenant();
    await callEverything(h, t.key);
    const image = b64(await solidImage('png', 64, 48));
    const moderated = await h.call('/v1/images/moderations', {
      key: t.key,
      json: { model: 'image-moderation@mobilenet-v2', image },
    });
    expect(moderated.status).toBe(200);
    const owner = await newOwner(h);
    await h.call('/auth/login', { json: { email: owner.email, password: 'WRONG-PASSWORD-CANARY' } });
    const { body } = await login(h, owner.email, owner.password);
    await h.call('/auth/refresh', { json: { refresh_token: body.refresh_token } });

    const all = h.logs.join('');
    expect(h.logs.length).toBeGreaterThan(8);
    for (const secret of [
      'PROMPT-CANARY',
      'launch codes',
      'HEAD-CANARY',
      'TAIL-CANARY',
      image.slice(100, 160),
      'WRONG-PASSWORD-CANARY',
      owner.password,
      body.access_token,
      body.refresh_token,
      t.key,
      t.key.slice(8, 30),
    ]) {
      expect(all, secret.slice(0, 20)).not.toContain(secret);
    }
    expect(all).not.toMatch(/"msg":"prompt"/);
  });

  it('LOG_PROMPTS=true logs the first 200 characters of each prompt at debug, never the rest', async () => {
    const h = await createHarness({ env: { LOG_PROMPTS: 'true', LOG_LEVEL: 'debug' } });
    const t = await h.newTenant();
    await callEverything(h, t.key);
    const lines = h.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'prompt');
    // chat, chat streamed, sentiment; the refused chat failed validation before any prompt was read.
    expect(lines.length).toBe(3);
    expect(lines.every((l) => l.level === 'debug')).toBe(true);
    expect(lines[0]).toMatchObject({ prompt: PROMPT, truncated: false });
    const long = lines.find((l) => String(l.prompt).startsWith('HEAD-CANARY'))!;
    expect(long).toMatchObject({ truncated: true, promptChars: LONG.length });
    expect(String(long.prompt)).toHaveLength(200);
    expect(h.logs.join('')).not.toContain(LONG.slice(200));
    // No key in a prompt line either.
    expect(h.logs.join('')).not.toContain(t.key);
  });

  it('LOG_PROMPTS=true at LOG_LEVEL=info logs no prompt (debug only)', async () => {
    const h = await createHarness({ env: { LOG_PROMPTS: 'true', LOG_LEVEL: 'info' } });
    const t = await h.newTenant();
    await callEverything(h, t.key);
    expect(h.logs.join('')).not.toContain('PROMPT-CANARY');
  });

  it('the Stripe secret and webhook keys never reach the logs, even when Stripe calls fail', async () => {
    const { h, fake } = await billingHarness();
    const owner = await newOwner(h);
    expect((await h.call('/account/billing/checkout', { key: owner.token, method: 'POST' })).status).toBe(
      201,
    );
    await fake.stop();
    // Stripe unreachable: a 5xx that logs its cause, which must not carry the key.
    const failed = await h.call('/account/billing/checkout', {
      key: (await newOwner(h)).token,
      method: 'POST',
    });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const all = h.logs.join('');
    const env = fake.env();
    expect(all).not.toContain(env.STRIPE_SECRET_KEY!);
    expect(all).not.toContain(env.STRIPE_SECRET_KEY!.slice(8));
    expect(all).not.toContain(env.STRIPE_WEBHOOK_SECRET!);
  });
});
