import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chatModelFiles } from '../../local/models/chat-models';
import { downloadHubModel, HubDownloadError, HubUnreachableError } from '../../local/models/hub-download';
import { type FakeHub, HUB_COMMIT, startFakeHub, tinyModelRepo } from '../support/fake-hub';

const ID = 'HuggingFaceTB/SmolLM2-360M-Instruct';
const WEIGHTS = 'onnx/model_quantized.onnx';

/** Downloads from a hub on this machine that serves the self-built test model in the hub's layout. */
describe('downloading a model from the hub: resumable, sizes and checksums verified', () => {
  let hub: FakeHub;
  let root: string;
  const repo = tinyModelRepo();
  const weights = repo.get(WEIGHTS)!;
  const download = (onProgress?: (p: { received: number; total: number }) => void) =>
    downloadHubModel({ id: ID, ...chatModelFiles('q8'), root, endpoint: hub.url, onProgress });

  beforeAll(async () => {
    hub = await startFakeHub({ [ID]: repo });
  });
  afterAll(async () => {
    await hub?.close();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tollgate-models-'));
    hub.ranges.length = 0;
    hub.corrupt.clear();
  });

  it('fetches every file of one commit into place, byte for byte, with its provenance', async () => {
    const seen: number[] = [];
    const result = await download(({ received, total }) => {
      seen.push(received);
      expect(total).toBe(result0Total());
    });
    expect(result.revision).toBe(HUB_COMMIT);
    expect(result.resumedBytes).toBe(0);
    for (const [file, bytes] of repo) {
      expect((await readFile(join(root, ID, file))).equals(bytes)).toBe(true);
    }
    expect(seen.at(-1)).toBe(result.bytes);
    const source = JSON.parse(await readFile(join(root, ID, 'tollgate-source.json'), 'utf8'));
    expect(source).toMatchObject({ id: ID, revision: HUB_COMMIT });
    expect(existsSync(`${join(root, ID)}.partial`)).toBe(false);
    await rm(root, { recursive: true, force: true });
  });
  const result0Total = () => [...repo.values()].reduce((n, b) => n + b.length, 0);

  it('an interrupted download leaves what arrived, and the next one resumes it with a Range', async () => {
    const half = weights.length >> 1;
    hub.cutNextAfter(half);
    await expect(download()).rejects.toBeInstanceOf(HubUnreachableError);
    expect(existsSync(join(root, ID))).toBe(false);
    const kept = (await stat(join(`${join(root, ID)}.partial`, WEIGHTS))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(weights.length);

    const result = await download();
    expect(hub.ranges.at(-1)).toBe(`bytes=${kept}-`);
    expect(result.resumedBytes).toBeGreaterThanOrEqual(kept);
    const got = await readFile(join(root, ID, WEIGHTS));
    expect(createHash('sha256').update(got).digest('hex')).toBe(
      createHash('sha256').update(weights).digest('hex'),
    );
    await rm(root, { recursive: true, force: true });
  });

  it('a corrupted file is refused by its checksum and deleted; nothing is put in place', async () => {
    hub.corrupt.add(WEIGHTS);
    const error = await download().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubDownloadError);
    expect((error as Error).message).toMatch(
      /sha256 [0-9a-f]{64} is not the hub's [0-9a-f]{64}; the file was deleted/,
    );
    expect(existsSync(join(`${join(root, ID)}.partial`, WEIGHTS))).toBe(false);
    expect(existsSync(join(root, ID))).toBe(false);
    // Served right again: the files already verified are kept, the rest fetched, all in place.
    hub.corrupt.clear();
    const result = await download();
    expect(result.resumedBytes).toBeGreaterThan(0);
    expect((await readFile(join(root, ID, WEIGHTS))).equals(weights)).toBe(true);
    await rm(root, { recursive: true, force: true });

    // A small file too, by its git blob SHA-1.
    root = await mkdtemp(join(tmpdir(), 'tollgate-models-'));
    hub.corrupt.add('tokenizer.json');
    await expect(download()).rejects.toThrow(/tokenizer.json: git-sha1 [0-9a-f]{40} is not the hub's/);
    expect(existsSync(join(`${join(root, ID)}.partial`, 'tokenizer.json'))).toBe(false);
    expect(existsSync(join(root, ID))).toBe(false);
    await rm(root, { recursive: true, force: true });
  });

  it('a hub that cannot be reached changes nothing; a model the hub does not have is a clear error', async () => {
    await expect(
      downloadHubModel({ id: ID, ...chatModelFiles('q8'), root, endpoint: 'http://127.0.0.1:9' }),
    ).rejects.toThrow(/could not reach 127.0.0.1:9/);
    expect(existsSync(`${join(root, ID)}.partial`)).toBe(false);
    await expect(
      downloadHubModel({ id: 'someone/else', ...chatModelFiles('q8'), root, endpoint: hub.url }),
    ).rejects.toThrow(/config.json: not found in someone\/else/);
    await rm(root, { recursive: true, force: true });
  });
});
