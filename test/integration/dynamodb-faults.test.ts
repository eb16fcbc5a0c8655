import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

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

describe('DynamoDB Local as `npm start` runs it', () => {
  let stack: LocalStack;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-dbkill-'));
    // On disk, as `npm start` runs by default.
    stack = await startLocalStack(
      loadConfig({ PORT: '0', DATA_DIR: dir, STAGE: 'idbkill', LOG_LEVEL: 'warn' }),
      createLogger('silent'),
      { print: () => {} },
    );
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

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
});
