import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HttpResponse } from '@smithy/core/protocols';

/** One DynamoDB call as it leaves the client: its operation and its JSON body, as sent. */
export interface StoreCall {
  /** `TransactWriteItems`, `GetItem`, `Query`, ... */
  operation: string;
  body: string;
}

export type StoreFault =
  /** The error DynamoDB answers when a table or index is over its throughput. */
  | 'ProvisionedThroughputExceededException'
  /** The error DynamoDB answers when the account's control or data plane is throttled. */
  | 'ThrottlingException'
  /** A transaction cancelled because one of its items was throttled (the SDK does not retry this one). */
  | 'TransactionItemThrottled'
  /** No answer for `ms` (through a proxy that holds the request); the client's request timeout decides. */
  | { slowMs: number };

interface Rule {
  match: (call: StoreCall) => boolean;
  fault: StoreFault;
  /** How many more calls this rule may fail; Infinity until cleared. */
  remaining: number;
}

/**
 * What the settle writes and nothing else does: the once-only usage record (`EVENT#<request id>`),
 * a PutItem of its own (or, for a single reservation near a limit, inside its transaction).
 */
export const writesUsageEvent = (call: StoreCall): boolean =>
  (call.operation === 'PutItem' || call.operation === 'TransactWriteItems') && call.body.includes('"EVENT#');

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return '';
}

/** DynamoDB's own error body for `fault`, as the SDK parses it into a typed exception. */
function errorBody(fault: Exclude<StoreFault, { slowMs: number }>, call: StoreCall): Record<string, unknown> {
  const message = 'Injected by the test: the store is throttling.';
  if (fault === 'ThrottlingException')
    return { __type: 'com.amazon.coral.availability#ThrottlingException', message };
  if (fault === 'ProvisionedThroughputExceededException')
    return { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message };
  // One reason per item, aligned with the items sent: the first throttled, the rest not evaluated.
  const items = (JSON.parse(call.body) as { TransactItems?: unknown[] }).TransactItems ?? [];
  return {
    __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    Message:
      'Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]',
    CancellationReasons: items.map((_, i) =>
      i === 0
        ? { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity.' }
        : { Code: 'None' },
    ),
  };
}

const JSON_TYPE = 'application/x-amz-json-1.0';
const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

/**
 * Store faults at the machine's edge, injected into a real DynamoDB client's middleware stack
 * (between the retry and the deserializer, so the SDK's retries and error parsing see them as
 * they would see DynamoDB's). Throttling answers are DynamoDB's own wire format, so the SDK
 * raises its real typed exceptions; slowness is a real socket that does not answer (a proxy in
 * front of DynamoDB Local), so the client's real request timeout applies. Every call that
 * reached the store (or a fault) is counted in `calls`.
 */
export class StoreFaults {
  private rules: Rule[] = [];
  private proxy: Server | undefined;
  private proxyPort = 0;
  /** Every call made through the client, in order, and whether a fault answered it. */
  readonly calls: (StoreCall & { fault?: StoreFault })[] = [];

  /** Makes the next `times` calls matching `match` fail with `fault` (all of them by default). */
  fail(match: (call: StoreCall) => boolean, fault: StoreFault, times = Number.POSITIVE_INFINITY): this {
    this.rules.push({ match, fault, remaining: times });
    return this;
  }

  clear(): void {
    this.rules = [];
    this.calls.length = 0;
  }

  /** How many calls a fault answered. */
  injected(match: (call: StoreCall) => boolean = () => true): number {
    return this.calls.filter((c) => c.fault !== undefined && match(c)).length;
  }

  /** Adds the injector to `client` (and its document client, which shares the stack). */
  async install(client: DynamoDBClient, endpoint: string): Promise<void> {
    this.proxyPort = await this.startProxy(endpoint);
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as {
          headers: Record<string, string>;
          body?: unknown;
          hostname: string;
          port?: number;
        };
        const target = request.headers['x-amz-target'] ?? '';
        const call: StoreCall = {
          operation: target.split('.').pop() ?? '',
          body: bodyText(request.body),
        };
        const rule = this.rules.find((r) => r.remaining > 0 && r.match(call));
        this.calls.push({ ...call, ...(rule ? { fault: rule.fault } : {}) });
        if (!rule) return next(args);
        rule.remaining--;
        if (typeof rule.fault === 'object') {
          // The same request, to a socket that holds it: the real handler's timeout applies.
          return next({
            ...args,
            request: Object.assign(request, { port: this.proxyPort, hostname: '127.0.0.1' }),
          });
        }
        const response = new HttpResponse({
          statusCode: 400,
          headers: { 'content-type': JSON_TYPE, 'x-amzn-requestid': 'injected-fault' },
          body: new TextEncoder().encode(JSON.stringify(errorBody(rule.fault, call))),
        });
        return { response, output: undefined as never };
      },
      { step: 'deserialize', priority: 'low', name: 'storeFaultInjector' },
    );
  }

  /** Holds each request `slowMs` (the fault of the rule that sent it there), then forwards it if its client still waits. */
  private async startProxy(endpoint: string): Promise<number> {
    const slowMs = () => {
      const slow = this.rules.find((r) => typeof r.fault === 'object')?.fault;
      return typeof slow === 'object' ? slow.slowMs : 0;
    };
    this.proxy = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        setTimeout(async () => {
          // A client that gave up has gone: the store never saw its write (a lost request, not a late one).
          if (res.destroyed || req.socket.destroyed) return;
          const upstream = await fetch(new URL(req.url ?? '/', endpoint), {
            method: req.method,
            headers: Object.fromEntries(
              Object.entries(req.headers).filter(
                (e): e is [string, string] => typeof e[1] === 'string' && !HOP_HEADERS.has(e[0]),
              ),
            ),
            body: Buffer.concat(chunks),
          });
          res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
          res.end(Buffer.from(await upstream.arrayBuffer()));
        }, slowMs());
      });
    });
    await new Promise<void>((r) => this.proxy!.listen(0, '127.0.0.1', r));
    return (this.proxy.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.proxy?.closeAllConnections();
    await new Promise<void>((r) => (this.proxy ? this.proxy.close(() => r()) : r()));
  }
}
