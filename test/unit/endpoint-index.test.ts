import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { endpointIndex, endpointTable } from '../support/endpoint-index';

const PAGE = resolve(import.meta.dirname, '../../docs/architecture.md');
const START = '<!-- endpoint-index:start -->';
const END = '<!-- endpoint-index:end -->';

describe('the endpoint index in docs/architecture.md', () => {
  const endpoints = endpointIndex();

  it('is the one the source derives (route files, api tests, keys.* builders)', () => {
    const page = readFileSync(PAGE, 'utf8');
    const at = page.indexOf(START);
    const end = page.indexOf(END);
    expect(at, `docs/architecture.md has no ${START}`).toBeGreaterThan(-1);
    // On a difference, paste the expected table between the markers.
    expect(page.slice(at + START.length, end).trim()).toBe(endpointTable(endpoints));
  });

  it("finds what the walk must find: /v1's reservation and usage record, the console's session", () => {
    const find = (op: string) => endpoints.find((e) => `${e.method} ${e.path}` === op);
    expect(endpoints.length).toBeGreaterThan(60);
    expect(find('POST /v1/chat/completions')?.keys).toEqual(
      expect.arrayContaining(['apiKeyHash', 'reservation', 'usageEvent', 'idempotency', 'modelPin']),
    );
    expect(find('GET /account/keys')?.keys).toEqual(expect.arrayContaining(['session', 'member', 'apiKey']));
    expect(find('POST /webhooks/stripe')?.keys).toEqual(expect.arrayContaining(['stripeEvent']));
    expect(find('GET /openapi.json')?.keys).toEqual([]);
    expect(find('POST /v1/chat/completions')?.tests).toContain('test/api/v1/chat-completions.test.ts');
  });
});
