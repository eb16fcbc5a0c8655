import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerModelClient } from '../../shared/models/sagemaker-client';

/**
 * The SageMaker client's unary path runs on cached middleware chains, one client per timeout
 * value: each call must still keep its own timeout, tell a timeout from a reset connection, and
 * share one keep-alive socket pool whatever its timeout.
 */
describe('SageMakerModelClient: InvokeEndpoint timeouts and sockets', () => {
  let server: Server;
  let client: SageMakerModelClient;
  const connections: unknown[] = [];

  beforeAll(async () => {
    // `/endpoints/delay-<ms>/invocations` answers after <ms>; `reset` drops the connection.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const name = /\/endpoints\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? '';
        if (name === 'reset') return req.socket.destroy();
        const validation = (message: string) => {
          res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationError' });
          res.end(JSON.stringify({ message }));
        };
        // SageMaker's own answers for an endpoint or a variant that is not deployed, and another ValidationError.
        if (name === 'missing') return validation(`Endpoint missing of account 123456789012 not found.`);
        if (name === 'no-variant')
          return validation('Target variant v1 not found for endpoint no-variant of account 123456789012.');
        if (name === 'bad-body') return validation('Request body is larger than 100 bytes.');
        const delay = Number(/^delay-(\d+)$/.exec(name)?.[1] ?? 0);
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ echo: name }));
        }, delay);
      });
    });
    server.on('connection', (socket) => connections.push(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new SageMakerModelClient({ region: 'us-east-1', endpoint: url });
  });
  afterAll(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const call = (endpointName: string, timeoutMs: number) =>
    client.invoke({ endpointName, variant: 'v1', body: { inputs: ['x'] }, timeoutMs, requestId: 'req_t' });

  it('gives up at each call its own timeout, and answers calls within theirs', async () => {
    const late = await call('delay-400', 100);
    expect(late).toMatchObject({ ok: false, reason: 'timeout' });
    expect(late.latencyMs).toBeGreaterThanOrEqual(100);
    // Same answer time, a longer timeout: served.
    expect(await call('delay-400', 3_000)).toMatchObject({ ok: true, body: { echo: 'delay-400' } });
    // The short-timeout client again, in time.
    expect(await call('delay-0', 100)).toMatchObject({ ok: true, body: { echo: 'delay-0' } });
  });

  it('a reset connection is unavailable, not a timeout', async () => {
    expect(await call('reset', 5_000)).toMatchObject({ ok: false, reason: 'unavailable' });
  });

  it('an endpoint or variant that is not deployed is `not_installed` (no retry helps); another ValidationError is not', async () => {
    expect(await call('missing', 2_000)).toMatchObject({ ok: false, reason: 'not_installed' });
    expect(await call('no-variant', 2_000)).toMatchObject({ ok: false, reason: 'not_installed' });
    expect(await call('bad-body', 2_000)).toMatchObject({ ok: false, reason: 'model_error' });
  });

  it('calls with different timeouts share one keep-alive connection', async () => {
    // Settle any socket the earlier tests left half-closed.
    await call('delay-0', 2_000);
    const before = connections.length;
    for (let i = 0; i < 10; i++) {
      expect(await call('delay-0', i % 2 ? 2_000 : 4_000)).toMatchObject({ ok: true });
    }
    expect(connections.length - before).toBe(0);
  });
});
