import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console: a static app built to web/dist, served at `/` by the local server and by CloudFront
 * in the cloud. It talks to the API only over HTTP, on the same origin (cookies, CSRF check).
 * `npm run dev:web` proxies the API to a running `npm start`.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be an inline script, which the console's CSP forbids; every browser it
    // supports has modulepreload.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    chunkSizeWarningLimit: 200,
  },
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/auth', '/account', '/admin', '/openapi.json', '/docs', '/health', '/_local'].map((p) => [
        p,
        process.env.TOLLGATE_API ?? 'http://127.0.0.1:8787',
      ]),
    ),
  },
});
