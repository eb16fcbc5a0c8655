import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/** Where batch files' bytes live: S3 in AWS, the local S3-compatible server in `npm start`. */
export interface ObjectStorage {
  put(key: string, body: Uint8Array | string, contentType: string): Promise<void>;
  /** The object's bytes; undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Bytes [start, end) of the object; undefined when there is none. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined>;
  delete(key: string): Promise<void>;
}

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (path-style addressing); unset in AWS. */
  endpoint?: string;
}

/** The real AWS SDK S3 client, pointed at AWS or (with `endpoint`) at the local server. */
export class S3ObjectStorage implements ObjectStorage {
  private readonly s3: S3Client;

  constructor(private readonly opts: S3StorageOptions) {
    this.s3 = new S3Client({
      region: opts.region,
      ...(opts.endpoint
        ? {
            endpoint: opts.endpoint,
            forcePathStyle: true,
            // The local server has no account: any key signs.
            credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
          }
        : {}),
      // Checksums only where S3 requires them: the local server does not take the trailing kind.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.read(key);
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined> {
    if (end <= start) return new Uint8Array();
    return this.read(key, `bytes=${start}-${end - 1}`);
  }

  private async read(key: string, range?: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.opts.bucket, Key: key, ...(range ? { Range: range } : {}) }),
      );
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key }));
  }
}
