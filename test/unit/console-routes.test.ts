import { OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '#api/http/env';
import { describeApi } from '../../functions/api/planes/docs';
import {
  apiPathPatterns,
  consolePages,
  isConsolePage,
  matchesPathPattern,
  streamingPathPatterns,
} from '../../shared/console-routes';

/** Every documented operation's path, with `{param}` filled in as a client would. */
function apiPaths(): string[] {
  const app = new OpenAPIHono<AppEnv>();
  describeApi(app);
  const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
  return Object.keys(doc.paths ?? {}).map((p) => p.replace(/\{[^}]+\}/g, 'x_1'));
}

describe('console and API paths on one origin', () => {
  const paths = [...apiPaths(), '/openapi.json', '/docs'];

  it('routes every documented API path to the API (CloudFront behaviours)', () => {
    expect(paths.length).toBeGreaterThan(40);
    for (const path of paths) {
      expect(
        apiPathPatterns.some((pattern) => matchesPathPattern(pattern, path)),
        `${path} has no API path pattern: CloudFront would send it to the console bucket`,
      ).toBe(true);
    }
  });

  it('never serves the console for an API path, nor an API path for a console page', () => {
    for (const path of paths) expect(isConsolePage(path), path).toBe(false);
    for (const page of consolePages) {
      for (const pattern of [...apiPathPatterns, ...streamingPathPatterns]) {
        expect(matchesPathPattern(pattern, page), `${pattern} ${page}`).toBe(false);
      }
    }
  });

  it('streams only documented API paths', () => {
    for (const pattern of streamingPathPatterns) {
      expect(
        paths.some((path) => matchesPathPattern(pattern, path)),
        pattern,
      ).toBe(true);
    }
  });

  it('matches CloudFront path patterns literally but for * and ?', () => {
    expect(matchesPathPattern('/v1/*', '/v1/chat/completions')).toBe(true);
    expect(matchesPathPattern('/account', '/accounts')).toBe(false);
    expect(matchesPathPattern('/openapi.json', '/openapiXjson')).toBe(false);
    expect(matchesPathPattern('/a?c', '/abc')).toBe(true);
  });
});
