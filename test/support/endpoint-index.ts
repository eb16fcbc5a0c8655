import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The endpoint index of docs/architecture.md, derived from the source so that it cannot drift
 * (test/unit/endpoint-index.test.ts holds the page to it): each endpoint (its `createRoute` method
 * and path, or a plain `app.get`), the route file that serves it, the api test files that call its
 * path, and the `keys.*` builders of shared/db/keys.ts it may reach. Those come from a static walk
 * from the route file and the middleware its folders' `index.ts` mount: value imports; the type
 * of a store a file is given; and each dependency read from a bag (`deps.usage`, `accounts.users`,
 * `d.store`: a member of an interface named `...Deps`), to the file of that member's type. Stores
 * are reached whole: a builder of a store the endpoint uses may be listed although it never calls it.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const cache = new Map<string, string>();
function read(file: string): string {
  let s = cache.get(file);
  if (s === undefined) {
    s = readFileSync(join(ROOT, file), 'utf8');
    cache.set(file, s);
  }
  return s;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  let base: string;
  if (spec.startsWith('#shared/')) base = `shared/${spec.slice(8)}`;
  else if (spec.startsWith('#api/')) base = `functions/api/${spec.slice(5)}`;
  else if (spec.startsWith('.')) base = relative(ROOT, resolve(ROOT, dirname(from), spec));
  else return undefined;
  return [`${base}.ts`, `${base}/index.ts`].find((f) => existsSync(join(ROOT, f)));
}

interface Import {
  file: string;
  names: { name: string; typeOnly: boolean }[];
}

function imports(file: string): Import[] {
  const out: Import[] = [];
  for (const m of read(file).matchAll(
    /^(?:import|export)\s+(type\s+)?(?:\{([^}]*)\}|[^'";]*?)\s*from\s+'([^']+)'/gm,
  )) {
    const target = resolveImport(file, m[3]!);
    if (!target) continue;
    const names = (m[2] ?? '*')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean)
      .map((n) => ({
        name: n.replace(/^type\s+/, '').split(/\s+as\s+/)[0]!,
        typeOnly: Boolean(m[1]) || n.startsWith('type '),
      }));
    out.push({ file: target, names });
  }
  return out;
}

function bagMembers(file: string): Map<string, string> {
  const typeFile = new Map<string, string>();
  for (const i of imports(file)) for (const n of i.names) typeFile.set(n.name, i.file);
  const out = new Map<string, string>();
  for (const body of read(file).matchAll(/export interface \w+Deps\b[^{]*\{([\s\S]*?)\n\}/g)) {
    for (const m of body[1]!.matchAll(/^\s+(\w+)\??: ([A-Z]\w+)/gm)) {
      const target = typeFile.get(m[2]!);
      if (target) out.set(m[1]!, target);
    }
  }
  return out;
}

function usesKeys(file: string): boolean {
  return /import \{[^}]*\bkeys\b[^}]*\} from '[^']*db\/keys'/.test(read(file));
}

function reached(file: string): string[] {
  const src = read(file);
  const out: string[] = [];
  const bags: Map<string, string>[] = [];
  // The types of a bag this file declares are what its users read, not what it uses.
  const declared = new Set(
    [...src.matchAll(/export interface \w+Deps\b[^{]*\{([\s\S]*?)\n\}/g)].flatMap((m) =>
      [...m[1]!.matchAll(/^\s+\w+\??: ([A-Z]\w+)/gm)].map((t) => t[1]!),
    ),
  );
  for (const i of imports(file)) {
    const store = i.names.some(
      (n) =>
        n.typeOnly &&
        !declared.has(n.name) &&
        usesKeys(i.file) &&
        new RegExp(`export class ${n.name}\\b`).test(read(i.file)),
    );
    if (i.names.some((n) => !n.typeOnly) || store) out.push(i.file);
    if (i.names.some((n) => n.typeOnly && /Deps$/.test(n.name))) bags.push(bagMembers(i.file));
  }
  if (file.startsWith('functions/api/') && /get\('deps'\)/.test(src))
    bags.push(bagMembers('functions/api/http/env.ts'));
  const used = new Set<string>();
  for (const m of src.matchAll(/\.(\w+)\b/g)) used.add(m[1]!);
  for (const m of src.matchAll(/\{([^}]+)\}\s*=\s*(?:c\.get\('deps'\)|\w+)/g))
    for (const n of m[1]!.split(',')) used.add(n.split(':')[0]!.trim());
  // A bag in a bag (`deps.accounts.users`): its members are read in this file too.
  const nested = new Set<string>();
  for (let k = 0; k < bags.length; k++)
    for (const [member, target] of bags[k]!) {
      if (!used.has(member)) continue;
      out.push(target);
      if (!nested.has(target) && /export interface \w+Deps\b/.test(read(target))) {
        nested.add(target);
        bags.push(bagMembers(target));
      }
    }
  return out;
}

/**
 * The middleware and guards the route's folders mount around it (`routes/v1/index.ts` mounts API
 * key auth and idempotency for every /v1 route): what each `index.ts` above it imports, but routes.
 */
function mountedAround(routeFile: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(routeFile); dir.startsWith('functions/api/routes'); dir = dirname(dir)) {
    const index = `${dir}/index.ts`;
    if (index === routeFile || !existsSync(join(ROOT, index))) continue;
    for (const i of imports(index)) {
      const routes =
        i.file.startsWith('functions/api/routes/') &&
        (i.file.endsWith('/index.ts') || /createRoute\(/.test(read(i.file)));
      if (!routes && i.names.some((n) => !n.typeOnly)) out.push(i.file);
    }
  }
  return out;
}

const builders = new Set([...read('shared/db/keys.ts').matchAll(/^ {2}(\w+): \(/gm)].map((m) => m[1]!));

/** The `keys.*` builders reachable from a route file and the middleware mounted around it. */
export function keysReachedFrom(routeFile: string): string[] {
  const seen = new Set<string>();
  const stack = [routeFile, ...mountedAround(routeFile)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...reached(file));
  }
  const found = new Set<string>();
  for (const file of seen) {
    if (!usesKeys(file)) continue;
    for (const m of read(file).matchAll(/\bkeys\.(\w+)\b/g)) if (builders.has(m[1]!)) found.add(m[1]!);
  }
  return [...found].sort();
}

export interface Endpoint {
  method: string;
  path: string;
  route: string;
  tests: string[];
  keys: string[];
}

/** Every endpoint the routes declare, sorted by path and method. */
export function endpointIndex(): Endpoint[] {
  const testFiles = walk('test/api').filter((f) => f.endsWith('.test.ts'));
  const out: Endpoint[] = [];
  for (const route of walk('functions/api/routes')) {
    const src = read(route);
    const found = [
      ...[...src.matchAll(/createRoute\(\{\s*method: '(\w+)',\s*path: '([^']+)'/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
      ...[...src.matchAll(/\bapp\.(get|post)\('([^']+)'/g)].map((m) => [m[1]!, m[2]!]),
    ];
    if (found.length === 0) continue;
    const keys = keysReachedFrom(route);
    for (const [method, path] of found) {
      // The path as tests write it: a literal or template, `{param}` filled in, then a quote or `?`.
      const literal = path!.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/\'"`\\s]+');
      const pattern = new RegExp(`['"\`]${literal}(?=['"\`?])`);
      const tests = testFiles.filter((f) => pattern.test(read(f)));
      out.push({ method: method!.toUpperCase(), path: path!, route, tests, keys });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/** The index as the markdown table docs/architecture.md holds between its markers. */
export function endpointTable(endpoints = endpointIndex()): string {
  const code = (s: string) => `\`${s}\``;
  const rows = endpoints.map((e) =>
    [
      code(`${e.method} ${e.path}`),
      code(e.route.replace('functions/api/routes/', '')),
      e.tests.map((t) => code(t.replace('test/api/', ''))).join(', ') || '(none)',
      e.keys.join(', ') || '(none)',
    ].join(' | '),
  );
  return [
    '| endpoint | route (`functions/api/routes/`) | tests that call it (`test/api/`) | `keys.*` it may reach |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}
