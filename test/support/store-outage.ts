import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * How the store fails, as a client on the network sees it:
 * - `up`: every connection reaches DynamoDB Local;
 * - `refused`: nothing listens (the store's process is gone): connect fails with ECONNREFUSED;
 * - `reset`: connections are accepted and reset at once (a process dying under its sockets);
 * - `silent`: accepted and never answered (a store that hangs): the client's request timeout decides;
 * - `internal_error`: an HTTP 500 `InternalServerError` in DynamoDB's own format (a failing store).
 */
export type OutageMode = 'up' | 'refused' | 'reset' | 'silent' | 'internal_error';

const INTERNAL_ERROR_BODY = JSON.stringify({
  __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
  message: 'Injected by the test: internal server error',
});
const INTERNAL_ERROR_RESPONSE = [
  'HTTP/1.1 500 Internal Server Error',
  'content-type: application/x-amz-json-1.0',
  'x-amzn-requestid: store-outage',
  `content-length: ${Buffer.byteLength(INTERNAL_ERROR_BODY)}`,
  'connection: close',
  '',
  INTERNAL_ERROR_BODY,
].join('\r\n');

/**
 * A TCP proxy in front of DynamoDB Local whose failure mode a test switches at will: a real
 * client pointed at `endpoint` meets real sockets that refuse, reset, hang or answer 500, so the
 * SDK raises exactly what it would against a store in trouble. Switching modes cuts every open
 * connection, pooled keep-alive ones included: no call slips through to the store on an old one.
 */
export class StoreOutage {
  private mode: OutageMode = 'up';
  private readonly sockets = new Set<Socket>();
  private server: Server;

  private constructor(
    private readonly target: URL,
    readonly port: number,
    server: Server,
  ) {
    this.server = server;
  }

  /** A proxy on a free loopback port to `targetEndpoint` (DynamoDB Local), in mode `up`. */
  static async start(targetEndpoint: string): Promise<StoreOutage> {
    let outage: StoreOutage | undefined;
    const server = createServer((s) => outage!.accept(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    outage = new StoreOutage(new URL(targetEndpoint), (server.address() as { port: number }).port, server);
    return outage;
  }

  /** The endpoint a DynamoDB client is given. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async set(mode: OutageMode): Promise<void> {
    if (mode === this.mode) return;
    const wasRefusing = this.mode === 'refused';
    this.mode = mode;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (mode === 'refused') await new Promise<void>((r) => this.server.close(() => r()));
    else if (wasRefusing) await this.listen();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async listen(): Promise<void> {
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.port, '127.0.0.1', () => res());
    });
    this.server = server;
  }

  private accept(client: Socket): void {
    this.track(client);
    client.on('error', () => {});
    switch (this.mode) {
      case 'reset':
        client.resetAndDestroy();
        return;
      case 'silent':
        client.resume();
        return;
      case 'internal_error':
        // Answer once the request has arrived, as a server would.
        client.once('data', () => client.end(INTERNAL_ERROR_RESPONSE));
        return;
      default: {
        const upstream = createConnection({ host: this.target.hostname, port: Number(this.target.port) });
        this.track(upstream);
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream).pipe(client);
      }
    }
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }
}
