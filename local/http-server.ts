import type { AddressInfo } from 'node:net';
import { type Http2Bindings, type HttpBindings, type ServerType, serve } from '@hono/node-server';
import type { Config } from '../shared/config';

/** How long the local server waits for slow or idle clients. */
export interface ServerTimeouts {
  /** All request headers must arrive within this (slow-loris: headers sent byte by byte). */
  headersMs: number;
  /** The whole request, body included, must arrive within this. Answers (streams) are not bounded by it. */
  requestMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: number;
  /** A socket with no traffic either way is closed after this (a stalled stream's reader). */
  idleMs: number;
}

export function serverTimeouts(config: Config): ServerTimeouts {
  return {
    headersMs: config.SERVER_HEADERS_TIMEOUT_MS,
    // Node requires the headers' limit to be within the request's.
    requestMs: Math.max(config.SERVER_REQUEST_TIMEOUT_MS, config.SERVER_HEADERS_TIMEOUT_MS),
    keepAliveMs: config.SERVER_KEEP_ALIVE_TIMEOUT_MS,
    idleMs: 120_000,
  };
}

/**
 * Starts the Node server with its timeouts set on purpose rather than left at Node's defaults
 * (which allow a minute for headers and check only every 30 s): a client that dribbles its
 * headers or body is answered 408 and dropped, so a few sockets cannot hold the server.
 */
export function listen(
  fetch: (req: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>,
  opts: { port: number; hostname: string; timeouts: ServerTimeouts },
): Promise<{ server: ServerType; port: number }> {
  const t = opts.timeouts;
  return new Promise((res, rej) => {
    const server = serve(
      {
        fetch,
        port: opts.port,
        hostname: opts.hostname,
        serverOptions: {
          headersTimeout: t.headersMs,
          requestTimeout: t.requestMs,
          keepAliveTimeout: t.keepAliveMs,
          // How often Node checks the two limits above; its 30 s default would stretch them.
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(t.headersMs / 4))),
        },
      },
      () => res({ server, port: (server.address() as AddressInfo).port }),
    );
    server.once('error', rej);
    server.setTimeout?.(t.idleMs);
  });
}
