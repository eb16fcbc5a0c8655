import { connect, createServer, type Server } from 'node:net';

/**
 * A TCP pass-through that counts the requests crossing it by a pattern in what the client sends
 * (`x-amz-target: DynamoDB_20120810.<Operation>`, or a path). Bytes are forwarded untouched; only
 * the counting reads them. Used in a run of its own: the extra hop would skew latency figures.
 */
export interface WireCounter {
  url: string;
  /** Requests seen per name (the pattern's first group). */
  counts(): Record<string, number>;
  reset(): void;
  stop(): Promise<void>;
}

export async function startWireCounter(target: string, pattern: RegExp): Promise<WireCounter> {
  const { hostname, port } = new URL(target);
  let counts: Record<string, number> = {};
  const re = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
  const open = new Set<{ destroy(): void }>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // A header split across two chunks is still counted once: matches are searched in the tail
    // of the previous chunk plus this one, and only those ending in this chunk count.
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      for (const m of text.matchAll(re)) {
        if (m.index + m[0].length > tail.length) counts[m[1] ?? m[0]] = (counts[m[1] ?? m[0]] ?? 0) + 1;
      }
      tail = text.slice(-128);
    });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const address = server.address();
  const listenPort = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${listenPort}`,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = {};
    },
    stop: () =>
      new Promise((res) => {
        server.close(() => res());
        for (const s of open) s.destroy();
      }),
  };
}
