import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildConsole } from '../local/web-build';
import { CONSOLE_DIST } from '../local/web-console';

/**
 * What a browser downloads to show the console's first page (index.html and the scripts, styles
 * and preloads it names), gzipped as a CDN would send it, beside the largest lazily loaded chunk.
 */
export async function benchWeb(): Promise<string> {
  await buildConsole({ quiet: true });
  const html = readFileSync(join(CONSOLE_DIST, 'index.html'), 'utf8');
  const named = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  const gz = (rel: string) => gzipSync(readFileSync(join(CONSOLE_DIST, rel))).length;
  const first = gzipSync(html).length + named.reduce((sum, rel) => sum + gz(rel), 0);
  const lazy = readdirSync(join(CONSOLE_DIST, 'assets'))
    .map((f) => `/assets/${f}`)
    .filter((rel) => !named.includes(rel))
    .map((rel) => ({ rel, size: gz(rel) }))
    .sort((a, b) => b.size - a.size);
  const all = lazy.reduce((s, l) => s + l.size, first);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  return [
    '### Console (web/dist)',
    '',
    '| what | gzipped |',
    '|---|---:|',
    `| first load: index.html + ${named.length} files it names | ${kb(first)} |`,
    `| largest chunk loaded on demand (${lazy[0]?.rel.replace(/-[\w]+\.js$/, '') ?? '-'}) | ${kb(lazy[0]?.size ?? 0)} |`,
    `| every page and chart, all files | ${kb(all)} |`,
    '',
  ].join('\n');
}
