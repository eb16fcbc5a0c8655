import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CALLERS = 4;

/** The sockets listening on `port` in /proc/net/tcp{,6}: their local address, as the kernel shows it. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // 0A: LISTEN.
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) found.push(local);
    }
  }
  return found;
}

/** How a TCP connect to `host:port` ends: `connected`, or the error code. */
function dial(host: string, port: number): Promise<string> {
  return new Promise((res) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      res('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      res('timeout');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => res(err.code ?? 'error'));
  });
}

describe('DynamoDB Local as `npm start` runs it: loopback only, and restarted when it dies', () => {
  let stack: LocalStack;
  let dir: string;
  const logs: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-dbkill-'));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    // On disk, as `npm start` runs by default: the data survives the kill.
    stack = await startLocalStack(
      loadConfig({ PORT: '0', DATA_DIR: dir, STAGE: 'idbkill', LOG_LEVEL: 'warn' }),
      createLogger('warn', sink),
      { print: () => {} },
    );
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function healthyWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const res = await fetch(`${stack.url}/health`).catch(() => undefined);
      if (res?.status === 200) return true;
      await sleep(100);
    }
    return false;
  }

  it('listens on 127.0.0.1 only: not reachable on any other address of the machine', async () => {
    const port = Number(new URL(stack.dynamoEndpoint).port);
    expect(new URL(stack.dynamoEndpoint).hostname).toBe('127.0.0.1');
    // The kernel's view: one listening socket on the port, bound to 127.0.0.1 (0100007F), none on a wildcard.
    expect(listeners(port)).toEqual([`0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`]);
    expect(await dial('127.0.0.1', port)).toBe('connected');
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && !a.address.startsWith('fe80:'))
      .map((a) => a!.address);
    for (const address of others)
      expect(`${address}: ${await dial(address, port)}`).toBe(`${address}: ECONNREFUSED`);
  });

  it('SIGKILLed mid-load: every answer is 200, 429 or a retryable 503, it comes back by itself, and requests succeed again', async () => {
    expect(await healthyWithin(30_000)).toBe(true);
    const key = stack.demo.secret!;
    const answers = new Map<string, number>();
    const wrong: string[] = [];
    let served = 0;
    let stop = false;
    const caller = async (i: number) => {
      for (let n = 0; !stop; n++) {
        const res = await fetch(`${stack.url}/v1/text/sentiment`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'sentiment', input: `caller ${i}, request ${n}: a fine day` }),
        }).catch((err: Error) => err);
        if (res instanceof Error) {
          wrong.push(`no answer: ${res.message}`);
          continue;
        }
        const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
        const label = `${res.status}${body.error ? ` ${body.error.code}` : ''}`;
        answers.set(label, (answers.get(label) ?? 0) + 1);
        if (res.status === 200) served++;
        else if (res.status === 503 && res.headers.get('x-should-retry') !== 'true')
          wrong.push(`${label} not retryable`);
        else if (res.status !== 429 && res.status !== 503) wrong.push(label);
        // Back off as a client would on a refusal, rather than spin against a store that is restarting.
        if (res.status !== 200) await sleep(50);
      }
    };
    const callers = Array.from({ length: CALLERS }, (_, i) => caller(i));
    try {
      const warm = Date.now() + 20_000;
      while (served < 20 && Date.now() < warm) await sleep(20);
      expect(served).toBeGreaterThanOrEqual(20);

      const pid = stack.dynamo!.pid();
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      const servedAtKill = served;

      // The stack notices, starts a new DynamoDB Local on the same port and folder, and /health is
      // green again (in about 5 s on a quiet 2-core machine; the bound allows for a busy one).
      expect(await healthyWithin(45_000)).toBe(true);
      const recoveredMs = Date.now() - killedAt;
      expect(stack.dynamo!.restarts()).toBe(1);
      expect(stack.dynamo!.pid()).not.toBe(pid);
      expect(stack.dynamo!.state()).toBe('up');

      // Requests succeed again.
      const deadline = Date.now() + 15_000;
      const servedAtRecovery = served;
      while (served < servedAtRecovery + 20 && Date.now() < deadline) await sleep(20);
      expect(served, JSON.stringify(Object.fromEntries(answers))).toBeGreaterThanOrEqual(
        servedAtRecovery + 20,
      );
      expect(served).toBeGreaterThan(servedAtKill);
      console.info(
        `DynamoDB Local back in ${recoveredMs} ms; answers: ${JSON.stringify(Object.fromEntries(answers))}`,
      );
    } finally {
      stop = true;
      await Promise.all(callers);
    }
    expect(wrong).toEqual([]);
    expect(answers.get('500 internal_error')).toBeUndefined();
    // The outage was seen, as the retryable 503 (requests in flight at the kill included).
    expect(answers.get('503 store_unavailable') ?? 0).toBeGreaterThan(0);
    const text = logs.join('');
    expect(text).toContain('DynamoDB Local exited; restarting it');
    expect(text).toContain('DynamoDB Local restarted');
    // Still loopback only after the restart.
    const port = Number(new URL(stack.dynamoEndpoint).port);
    expect(listeners(port)).toEqual([`0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`]);
  });
});

describe('DynamoDB Local in memory (`npm run dev`), SIGKILLed: tables and seed are made again', () => {
  let stack: LocalStack;
  const logs: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    stack = await startLocalStack(
      loadConfig({ PORT: '0', TOLLGATE_IN_MEMORY: 'true', STAGE: 'imemkill', LOG_LEVEL: 'warn' }),
      createLogger('warn', sink),
      { print: () => {} },
    );
  });
  afterAll(() => stack?.stop());

  it('comes back empty, is set up again by itself, and the demo key printed at start works again', async () => {
    const key = stack.demo.secret!;
    const sentiment = async () => {
      const res = await fetch(`${stack.url}/v1/text/sentiment`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sentiment', input: 'a fine day' }),
      });
      return { status: res.status, retry: res.headers.get('x-should-retry'), body: await res.text() };
    };
    expect((await sentiment()).status).toBe(200);
    process.kill(stack.dynamo!.pid(), 'SIGKILL');

    // Until it is whole again, the answer is a retryable 503, never a 401 for a key that an empty store does not know.
    const seen = new Set<string>();
    const deadline = Date.now() + 45_000;
    let back = false;
    while (!back && Date.now() < deadline) {
      const a = await sentiment();
      if (a.status === 200 && stack.dynamo!.restarts() === 1) back = true;
      else {
        seen.add(`${a.status} ${a.retry}`);
        expect([503, 200], a.body).toContain(a.status);
        if (a.status === 503) expect(a.retry).toBe('true');
        await sleep(50);
      }
    }
    expect(back).toBe(true);
    expect(seen.has('503 true')).toBe(true);
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ components: { dynamodb: 'ok' } });
    const usage = await fetch(`${stack.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
    expect(usage.status).toBe(200);
    expect(logs.join('')).toContain('DynamoDB Local restarted');
  });
});
