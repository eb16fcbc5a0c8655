import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '#api/http/env';
import { lambdaRuntime } from '../../functions/api/lambda/runtime';
import { loadConfig } from '../../shared/config';
import {
  clientAddress,
  EDGE_SECRET_HEADER,
  secretMatches,
  VIEWER_IP_HEADER,
} from '../../shared/http/client-ip';
import { createLogger } from '../../shared/logger';

const SECRET = 'e'.repeat(24) + 'dge-secret-of-the-stage-0123456789';
const headersOf = (h: Record<string, string>) => (name: string) => h[name];

describe('the client address for per-IP limits', () => {
  it('is the connection source unless the edge secret vouches for the viewer header', () => {
    const viewer = { [VIEWER_IP_HEADER]: '203.0.113.7' };
    // Forged by a caller that reaches the API directly: not believed.
    expect(clientAddress('198.51.100.1', headersOf(viewer), SECRET)).toBe('198.51.100.1');
    expect(
      clientAddress('198.51.100.1', headersOf({ ...viewer, [EDGE_SECRET_HEADER]: 'guess' }), SECRET),
    ).toBe('198.51.100.1');
    expect(
      clientAddress('198.51.100.1', headersOf({ ...viewer, [EDGE_SECRET_HEADER]: `${SECRET}x` }), SECRET),
    ).toBe('198.51.100.1');
    // Through the distribution: the viewer's address, IPv4 or IPv6.
    expect(
      clientAddress('198.51.100.1', headersOf({ ...viewer, [EDGE_SECRET_HEADER]: SECRET }), SECRET),
    ).toBe('203.0.113.7');
    expect(
      clientAddress(
        '198.51.100.1',
        headersOf({ [VIEWER_IP_HEADER]: '2001:db8::1', [EDGE_SECRET_HEADER]: SECRET }),
        SECRET,
      ),
    ).toBe('2001:db8::1');
  });

  it('ignores the headers when no edge secret is configured, and a viewer header that is not an address', () => {
    const both = { [VIEWER_IP_HEADER]: '203.0.113.7', [EDGE_SECRET_HEADER]: SECRET };
    expect(clientAddress('198.51.100.1', headersOf(both), undefined)).toBe('198.51.100.1');
    for (const bad of ['', 'not-an-ip', '203.0.113.7, 10.0.0.1', '999.1.1.1']) {
      expect(
        clientAddress(
          '198.51.100.1',
          headersOf({ [VIEWER_IP_HEADER]: bad, [EDGE_SECRET_HEADER]: SECRET }),
          SECRET,
        ),
      ).toBe('198.51.100.1');
    }
    expect(clientAddress(undefined, headersOf({}), SECRET)).toBeNull();
  });

  it('compares the secret whatever the lengths', () => {
    expect(secretMatches(SECRET, SECRET)).toBe(true);
    expect(secretMatches(undefined, SECRET)).toBe(false);
    expect(secretMatches('', SECRET)).toBe(false);
    expect(secretMatches(SECRET.slice(0, -1), SECRET)).toBe(false);
  });

  it('is what a Lambda function behind the HTTP API reads from its event', async () => {
    const config = loadConfig({ EDGE_SECRET: SECRET });
    const runtime = lambdaRuntime(config, createLogger('silent'));
    const app = new Hono<AppEnv>().get('/ip', (c) => c.text(runtime.clientIp(c) ?? 'none'));
    const handler = handle(app);
    const event = (headers: Record<string, string>) =>
      ({
        version: '2.0',
        routeKey: '$default',
        rawPath: '/ip',
        rawQueryString: '',
        headers: { host: 'api.example.com', ...headers },
        isBase64Encoded: false,
        requestContext: {
          accountId: '123456789012',
          apiId: 'api',
          domainName: 'api.example.com',
          domainPrefix: 'api',
          requestId: 'r1',
          routeKey: '$default',
          stage: '$default',
          time: '25/Nov/2026:09:00:00 +0000',
          timeEpoch: 0,
          http: {
            method: 'GET',
            path: '/ip',
            protocol: 'HTTP/1.1',
            sourceIp: '198.51.100.1',
            userAgent: 't',
          },
        },
      }) as unknown as Parameters<typeof handler>[0];
    const body = async (headers: Record<string, string>) =>
      ((await handler(event(headers), {} as Parameters<typeof handler>[1])) as { body: string }).body;
    expect(await body({})).toBe('198.51.100.1');
    expect(await body({ [VIEWER_IP_HEADER]: '203.0.113.7' })).toBe('198.51.100.1');
    expect(await body({ [VIEWER_IP_HEADER]: '203.0.113.7', [EDGE_SECRET_HEADER]: SECRET })).toBe(
      '203.0.113.7',
    );
  });
});
