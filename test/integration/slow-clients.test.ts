import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, serverTimeouts } from '../../local/http-server';
import { loadConfig } from '../../shared/config';

/**
 * Slow-loris clients against the local server's real socket: headers or a body sent a byte at
 * a time are cut off with 408 long before the client would finish; idle keep-alive sockets are
 * closed; a normal client is unaffected. The limits here are the config's, made small.
 */
describe('slow and idle clients on the local server', () => {
  let stop: () => Promise<void>;
  let port: number;
  beforeAll(async () => {
    const config = loadConfig({
      SERVER_HEADERS_TIMEOUT_MS: '500',
      SERVER_REQUEST_TIMEOUT_MS: '1000',
      SERVER_KEEP_ALIVE_TIMEOUT_MS: '300',
    });
    const started = await listen(() => new Response('ok'), {
      port: 0,
      hostname: '127.0.0.1',
      timeouts: serverTimeouts(config),
    });
    port = started.port;
    stop = () =>
      new Promise((res) => {
        started.server.close(() => res());
        (started.server as unknown as { closeAllConnections(): void }).closeAllConnections();
      });
  });
  afterAll(() => stop());

  /** Sends `text` one byte every `everyMs`; resolves with what came back and whether it was all sent. */
  function dribble(text: string, everyMs: number): Promise<{ answer: string; sentAll: boolean }> {
    return new Promise((res) => {
      const socket: Socket = connect(port, '127.0.0.1');
      let answer = '';
      let at = 0;
      const timer = setInterval(() => {
        if (at >= text.length || socket.destroyed) return;
        socket.write(text[at++]!);
      }, everyMs);
      socket.on('data', (d) => {
        answer += d.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        res({ answer, sentAll: at >= text.length });
      });
    });
  }

  it('headers sent byte by byte: 408 and the socket closed before they are done', async () => {
    // 40 header lines at 20 ms a byte would take over 15 s; the headers limit is 0.5 s.
    const headers = `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: y\r\n`).join('')}\r\n`;
    const { answer, sentAll } = await dribble(headers, 20);
    expect(sentAll).toBe(false);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a body sent byte by byte: 408 and the socket closed before it is done', async () => {
    const body = 'x'.repeat(500);
    const req = `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const { answer, sentAll } = await dribble(req, 20);
    expect(sentAll).toBe(false);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an idle keep-alive connection is closed by the server; a normal request is answered', async () => {
    const result = await new Promise<string>((res) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      });
      let answer = '';
      socket.on('data', (d) => {
        answer += d.toString();
      });
      socket.on('close', () => res(answer));
    });
    expect(result).toMatch(/^HTTP\/1\.1 200/);
    expect(result).toMatch(/Keep-Alive: timeout=0?\.?\d*/i);
    expect(result).toContain('ok');
  });
});
