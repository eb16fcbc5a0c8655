import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every relative link in README.md and docs/*.md points at a file that exists, and a link to a
 * heading (`page.md#anchor`, `#anchor`) at a heading that exists, so moving a page or renaming a
 * section cannot leave a dead link behind.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Lines outside fenced code blocks, with inline code spans blanked (their text is not markup). */
function prose(markdown: string): string[] {
  const lines: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) lines.push(line.replace(/`[^`]*`/g, 'code'));
  }
  return lines;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The links of a Markdown file that lead nowhere, as `target: why`. */
function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const line of prose(markdown)) {
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const path = pathPart === '' ? file : join(pathPart.startsWith('/') ? '' : dirname(file), pathPart);
      if (path === '..' || path.startsWith('../')) {
        broken.push(`${target}: outside the repository`);
        continue;
      }
      const text = read(path);
      if (text === undefined) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor && path.endsWith('.md') && !anchorsOf(text).has(decodeURIComponent(anchor))) {
        broken.push(`${target}: no such heading in ${path}`);
      }
    }
  }
  return broken;
}

/** Reads a repository file by its path from the root: its text, '' for a folder, undefined if absent. */
function readRepoFile(path: string): string | undefined {
  const full = join(root, path);
  if (!existsSync(full)) return undefined;
  return path.endsWith('.md') ? readFileSync(full, 'utf8') : '';
}

const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

describe('links in README.md and docs/', () => {
  it('finds the pages', () => {
    expect(pages).toContain('docs/configuration.md');
    expect(pages.length).toBeGreaterThan(10);
  });

  it.each(pages)('%s links only to files and headings that exist', (page) => {
    expect(brokenLinks(page, readFileSync(join(root, page), 'utf8'), readRepoFile)).toEqual([]);
  });

  it('reports a missing file, a missing heading and a link out of the repository', () => {
    const files: Record<string, string> = {
      'docs/a.md': '# A page\n\n## Billing (Stripe)\n',
      'test/api/x.test.ts': '',
    };
    const page = [
      '[ok](a.md#billing-stripe) [ok](../test/api/x.test.ts) [ok](#the-page) [ok](https://example.com)',
      '# The page',
      '[gone](gone.md) [gone](../test/api/y.test.ts) [gone](a.md#billing) [gone](#nowhere)',
      '[out](../../elsewhere.md) `[code](not-a-link.md)`',
      '```',
      '[fenced](not-a-link-either.md)',
      '```',
    ].join('\n');
    files['docs/page.md'] = page;
    expect(brokenLinks('docs/page.md', page, (path) => files[path])).toEqual([
      'gone.md: no such file',
      '../test/api/y.test.ts: no such file',
      'a.md#billing: no such heading in docs/a.md',
      '#nowhere: no such heading in docs/page.md',
      '../../elsewhere.md: outside the repository',
    ]);
  });
});
