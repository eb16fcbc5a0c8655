import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiDocument } from '../../functions/api/planes/docs';
import { type ObservedStatus, readObservedStatuses } from '../support/observed-statuses';

/**
 * The spec against the tests: every status a route answered while the api project ran must be
 * one that its operation in /openapi.json lists. The api tests record what they see
 * (test/support/observed-statuses.ts); this project runs after theirs (vitest.config.ts), and
 * `npm run test:api` runs both. When it fails, either the route's `errorResponses(...)` lacks a
 * code it really answers (add it), or the route answers something it should not (fix the route).
 */

interface Operation {
  method: string;
  template: string;
  statuses: Set<string>;
  pattern: RegExp;
  /** Literal segments: `/admin/models/health` beats `/admin/models/{model}`. */
  literals: number;
}

function operations(): Operation[] {
  const doc = apiDocument();
  return Object.entries(doc.paths ?? {}).flatMap(([template, item]) =>
    Object.entries(item as Record<string, { responses?: Record<string, unknown> }>).map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      statuses: new Set(Object.keys(op.responses ?? {})),
      pattern: new RegExp(
        `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`,
      ),
      literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
    })),
  );
}

/** The operation that answers `method path`, if the spec has one. */
function operationOf(ops: Operation[], o: ObservedStatus): Operation | undefined {
  return ops
    .filter((op) => op.method === o.method && op.pattern.test(o.path))
    .sort((a, b) => b.literals - a.literals)[0];
}

describe('the statuses /openapi.json documents, against the ones the api tests saw', () => {
  const { folder, observed } = readObservedStatuses();
  const ops = operations();

  it('has the api tests’ answers to check (run the api project first: npm run test:api)', () => {
    expect(observed.length).toBeGreaterThan(0);
  });

  it('finds every operation by its path (the matcher is not vacuous)', () => {
    const op = (method: string, path: string) =>
      operationOf(ops, { method, path, status: 200, test: '' })?.template;
    expect(op('POST', '/account/keys/key_01ABC/revoke')).toBe('/account/keys/{key_id}/revoke');
    expect(op('GET', '/admin/models/health')).toBe('/admin/models/health');
    expect(op('GET', '/.well-known/jwks.json')).toBe('/.well-known/jwks.json');
    expect(op('GET', '/v1/models/chat@tiny-1')).toBe('/v1/models/{id}');
    expect(op('DELETE', '/v1/models')).toBeUndefined();
  });

  it('lists every status each route answered', () => {
    const undocumented = new Map<string, string>();
    const seen = new Map<Operation, Set<string>>();
    for (const o of observed) {
      const op = operationOf(ops, o);
      if (!op) continue; // not a documented operation: a 404 for an unknown path, a preflight
      const status = String(o.status);
      seen.set(op, (seen.get(op) ?? new Set()).add(status));
      const key = `${op.method} ${op.template} answered ${status}`;
      if (!op.statuses.has(status) && !undocumented.has(key)) {
        undocumented.set(
          key,
          `${key}, which its spec does not list (${[...op.statuses].join(', ')}); first seen at ${o.path} in ${o.test}`,
        );
      }
    }
    // For people: what the spec lists that no test made a route answer (not a failure).
    const unexercised = ops.flatMap((op) => {
      const missing = [...op.statuses].filter((s) => !seen.get(op)?.has(s));
      return missing.length ? [`${op.method} ${op.template}: ${missing.join(', ')}`] : [];
    });
    if (!folder) throw new Error('no api run recorded');
    writeFileSync(
      join(folder, 'documented-not-seen.txt'),
      `Statuses /openapi.json lists that no api test saw a route answer (this run):\n${unexercised.join('\n')}\n`,
    );
    expect([...undocumented.values()]).toEqual([]);
  });
});
