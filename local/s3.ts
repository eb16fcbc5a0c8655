import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface LocalS3 {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * An S3-compatible server on 127.0.0.1 (@20minutes/s3rver), for batch files: the real AWS SDK S3
 * client talks to it as to S3. Files are kept under `dir` (a temporary folder, removed on stop,
 * when there is none). It checks no signatures: it serves this machine only.
 */
export async function startLocalS3(opts: { dir: string | null; port?: number }): Promise<LocalS3> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tollgate-s3-'));
  mkdirSync(dir, { recursive: true });
  const server = new S3rver({
    port: opts.port ?? 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    // The SDK's SigV4 canonical request and this server's differ on some headers; it listens on
    // the loopback interface only, so there is nothing to authenticate.
    allowMismatchedSignatures: true,
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      await server.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates the bucket unless it exists (what the Data stack does in AWS). */
export async function ensureBucket(endpoint: string, bucket: string, region = 'us-east-1'): Promise<void> {
  const s3 = new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  } finally {
    s3.destroy();
  }
}
