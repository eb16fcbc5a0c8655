import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium, never a downloaded browser (`.ci/run` installs it with apt). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const SCREENSHOTS = join(process.cwd(), 'test-results', 'screenshots');

export interface Browser {
  /** A new browser with its own fresh profile (user data dir): its own cookies and storage. */
  open(opts?: {
    width?: number;
    height?: number;
  }): Promise<{ context: BrowserContext; page: Page; problems: string[] }>;
  close(): Promise<void>;
}

/**
 * Launches Chromium through playwright-core. Each `open()` is a persistent context on a new,
 * empty --user-data-dir, removed at close. `problems` collects what a person would not see but
 * should never happen: page errors, CSP violations, console errors other than the API's
 * expected refusals.
 */
export function browser(): Browser {
  const contexts: { context: BrowserContext; dir: string }[] = [];
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    async open(opts = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-profile-'));
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
        acceptDownloads: true,
      });
      contexts.push({ context, dir });
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        const text = msg.text();
        // The browser logs every non-2xx fetch; the console shows those answers itself.
        if (
          msg.type() === 'error' &&
          !/Failed to load resource: the server responded with a status of/.test(text)
        ) {
          problems.push(`console: ${text}`);
        }
      });
      return { context, page, problems };
    },
    async close() {
      for (const { context, dir } of contexts) {
        await context.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A full-page screenshot, once the notices of the last action have gone (they would cover the page). */
export async function shot(page: Page, name: string): Promise<void> {
  await page
    .locator('.toast')
    .first()
    .waitFor({ state: 'detached', timeout: 6_000 })
    .catch(() => {});
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A real PNG (RGB, a soft gradient) made without image libraries, for the upload step. */
export function testPng(width = 96, height = 96): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const o = y * (width * 3 + 1) + 1 + x * 3;
      raw[o] = 90 + Math.round((x / width) * 120);
      raw[o + 1] = 140 + Math.round((y / height) * 80);
      raw[o + 2] = 200;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
