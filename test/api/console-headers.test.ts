import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { serveConsole } from '../../local/web-console';

function consoleApp(hsts: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'tg-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  const app = new Hono();
  app.use('*', serveConsole(dir, { hsts }));
  app.notFound((c) => c.json({ error: { code: 'not_found' } }, 404));
  return app;
}

/** The console's pages and assets carry the browser-facing security headers. */
describe('console security headers', () => {
  it.each(['/', '/keys', '/assets/app.js'])(
    '%s: CSP with frame-ancestors, nosniff, Referrer-Policy, HSTS off localhost',
    async (path) => {
      const res = await consoleApp(true).request(path);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    },
  );

  it('no HSTS when served on localhost', async () => {
    expect((await consoleApp(false).request('/')).headers.get('strict-transport-security')).toBeNull();
  });

  it.each([
    '/assets/%E0%A4%A',
    '/assets/%',
    '/assets/..%2F..%2Fetc%2Fpasswd',
    '/assets/%2e%2e/%2e%2e/package.json',
  ])('a hostile asset path (%s) is a 404, never a 500 or a file outside the folder', async (path) => {
    const res = await consoleApp(false).request(path);
    expect(res.status).toBe(404);
  });
});
