import type { Readable } from 'node:stream';
import { Client } from 'minio';

export interface ObjectStoreConfig {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object '${key}' not found`);
    this.name = 'ObjectNotFoundError';
  }
}

export interface ObjectStore {
  readonly bucket: string;
  /** Creates the bucket when missing. */
  ensureBucket(): Promise<void>;
  put(key: string, bytes: Buffer, contentType: string, metadata?: Record<string, string>): Promise<void>;
  get(key: string): Promise<Buffer>;
  getStream(key: string): Promise<Readable>;
  /** Removing a missing object is not an error: deletes are retried and must be idempotent. */
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  list(prefix?: string): Promise<string[]>;
  ping(): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
}

/** S3 adapter over the `minio` client; works against versitygw, MinIO, AWS S3 and other S3 servers. */
export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  const url = new URL(config.endpoint);
  const useSSL = url.protocol === 'https:';
  const client = new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
  });
  const { bucket } = config;

  return {
    bucket,
    async ensureBucket() {
      if (!(await client.bucketExists(bucket))) {
        try {
          await client.makeBucket(bucket, config.region);
        } catch (err) {
          // Another process may have created it between the check and the call.
          const code = (err as { code?: string }).code;
          if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
        }
      }
    },
    async put(key, bytes, contentType, metadata = {}) {
      await client.putObject(bucket, key, bytes, bytes.length, { 'Content-Type': contentType, ...metadata });
    },
    async get(key) {
      const stream = await this.getStream(key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async getStream(key) {
      try {
        return await client.getObject(bucket, key);
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(key);
        throw err;
      }
    },
    async remove(key) {
      try {
        await client.removeObject(bucket, key);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async exists(key) {
      try {
        await client.statObject(bucket, key);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    async list(prefix = '') {
      const keys: string[] = [];
      for await (const item of client.listObjectsV2(bucket, prefix, true)) {
        if ((item as { name?: string }).name) keys.push((item as { name: string }).name);
      }
      return keys;
    },
    async ping() {
      await client.bucketExists(bucket);
    },
  };
}
