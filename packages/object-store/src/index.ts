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

/** One listed object: its key and when it was last written. */
export interface ListedObject {
  key: string;
  lastModified: Date;
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
  /**
   * At most `limit` objects in key order after `startAfter` (from the first when omitted); `done` when the listing
   * reached the end of the bucket. The next page starts after the last key returned.
   */
  listPage(options: { startAfter?: string; limit: number; prefix?: string }): Promise<{
    items: ListedObject[];
    done: boolean;
  }>;
  ping(): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
}

function minioClient(config: Omit<ObjectStoreConfig, 'bucket'>): Client {
  const url = new URL(config.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
  });
}

/** S3 adapter over the `minio` client; works against versitygw, MinIO, AWS S3 and other S3 servers. */
export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  const client = minioClient(config);
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
    async listPage({ startAfter, limit, prefix = '' }) {
      const items: ListedObject[] = [];
      // One more than asked: whether it exists says if the listing is done. Leaving the loop early destroys the
      // stream, so the client stops requesting further pages.
      for await (const item of client.listObjectsV2(bucket, prefix, true, startAfter ?? '')) {
        const { name, lastModified } = item as { name?: string; lastModified?: Date };
        if (!name) continue;
        if (items.length === limit) return { items, done: false };
        items.push({ key: name, lastModified: lastModified ?? new Date(0) });
      }
      return { items, done: true };
    },
    async ping() {
      await client.bucketExists(bucket);
    },
  };
}

/**
 * Empties and removes every bucket whose name `matches` (test clean-up: each test file has its own bucket). Returns
 * the names removed.
 */
export async function dropBuckets(
  config: Omit<ObjectStoreConfig, 'bucket'>,
  matches: (name: string) => boolean,
): Promise<string[]> {
  const client = minioClient(config);
  const removed: string[] = [];
  for (const { name } of await client.listBuckets()) {
    if (!matches(name)) continue;
    const keys: string[] = [];
    for await (const item of client.listObjectsV2(name, '', true)) {
      const key = (item as { name?: string }).name;
      if (key) keys.push(key);
    }
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(keys.slice(i, i + 16).map((key) => client.removeObject(name, key)));
    }
    await client.removeBucket(name);
    removed.push(name);
  }
  return removed;
}
