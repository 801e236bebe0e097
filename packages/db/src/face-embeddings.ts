import { type Connection, Schema, type Types } from 'mongoose';
import { modelOn, toObjectId } from './models.js';

/**
 * Dot product of `q` with the row of `rows` starting at `offset` (the cosine, both being L2-normalised). Four
 * accumulators: independent additions run in parallel, about twice as fast as one running sum. `q.length` is a
 * multiple of 4 (the embedding has 128 dimensions).
 */
function dotAt(rows: Float32Array, offset: number, q: ArrayLike<number>): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let j = 0; j < q.length; j += 4) {
    a += (rows[offset + j] as number) * (q[j] as number);
    b += (rows[offset + j + 1] as number) * (q[j + 1] as number);
    c += (rows[offset + j + 2] as number) * (q[j + 2] as number);
    d += (rows[offset + j + 3] as number) * (q[j + 3] as number);
  }
  return a + b + c + d;
}

/**
 * Face embeddings for the repeatFace stage: biometric templates (GDPR art. 9). One per live photo whose account
 * enabled repeat-face search; removed with the photo (API delete, client delete, retention) and on redaction. They
 * are read only by the search below and never leave the store (no API response or event carries them).
 */
export interface FaceEmbeddingDoc {
  _id: Types.ObjectId;
  accountId: Types.ObjectId;
  clientId: Types.ObjectId;
  photoId: Types.ObjectId;
  /** Float32 values, little-endian, as BSON binary (4 bytes per value). */
  embedding: Buffer;
  /** The embedding space (model, alignment, normalisation): only embeddings of the same version are compared. */
  version: string;
  createdAt: Date;
}

const faceEmbeddingSchema = new Schema<FaceEmbeddingDoc>(
  {
    accountId: { type: Schema.Types.ObjectId, required: true },
    clientId: { type: Schema.Types.ObjectId, required: true },
    photoId: { type: Schema.Types.ObjectId, required: true },
    embedding: { type: Buffer, required: true },
    version: { type: String, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'faceembeddings' },
);
// Search: every embedding of one account and version, walked in `_id` order.
faceEmbeddingSchema.index({ accountId: 1, version: 1, _id: 1 });
// The in-process index's catch-up: an account's embeddings stored since its last read.
faceEmbeddingSchema.index({ accountId: 1, version: 1, createdAt: 1 });
// Erasure: a photo's embedding (one per photo: the stage upserts it, so a retry never duplicates).
faceEmbeddingSchema.index({ photoId: 1 }, { unique: true });
// Erasure: a client's embeddings.
faceEmbeddingSchema.index({ accountId: 1, clientId: 1 });

export interface NewFaceEmbedding {
  accountId: string;
  clientId: string;
  photoId: string;
  embedding: Float32Array;
  version: string;
}

export interface EmbeddingMatch {
  clientId: string;
  photoId: string;
  similarity: number;
}

export interface EmbeddingSearch {
  accountId: string;
  /** The uploading client: its photos are counted in `sameClientMatches`, not returned as matches. */
  clientId: string;
  /** The photo being inspected (left out, so a retried stage does not find itself). */
  photoId: string;
  embedding: Float32Array;
  version: string;
  threshold: number;
  /** Most matches returned (best first). */
  limit: number;
  /** Embeddings read per round trip. */
  batchSize?: number;
}

export interface EmbeddingSearchResult {
  /** Other clients' photos at or above the threshold, best first, at most `limit`. */
  matches: EmbeddingMatch[];
  /** Photos of the same client at or above the threshold. */
  sameClientMatches: number;
  /** Embeddings compared. */
  scanned: number;
}

/** The stored bytes of an embedding (copied: a Float32Array view may share a larger buffer). */
export function embeddingToBuffer(embedding: Float32Array): Buffer {
  return Buffer.from(embedding.buffer.slice(embedding.byteOffset, embedding.byteOffset + embedding.byteLength));
}

/** Bytes of a stored BSON binary (the driver returns a `Binary`, mongoose documents a Buffer). */
function bytesOf(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  const inner = (value as { buffer?: unknown } | undefined)?.buffer;
  return inner instanceof Uint8Array ? inner : undefined;
}

interface RawEmbedding {
  _id: Types.ObjectId;
  clientId: Types.ObjectId;
  photoId: Types.ObjectId;
  embedding: unknown;
}

/**
 * Stored face embeddings and an exact search over them. The search is a brute-force pass over one account's
 * embeddings (streamed in batches, so memory stays bounded), which is exact and needs no index beyond the account's;
 * past one machine the same interface can be served by MongoDB Atlas Vector Search or a dedicated vector index
 * (README "Repeat faces").
 */
export class FaceEmbeddingRepository {
  readonly model;

  constructor(connection: Connection) {
    this.model = modelOn(connection, 'FaceEmbedding', faceEmbeddingSchema);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  /** Stores (or replaces) the embedding of a photo. */
  async upsert(input: NewFaceEmbedding): Promise<void> {
    const photoId = toObjectId(input.photoId);
    await this.model.collection.updateOne(
      { photoId },
      {
        $set: {
          accountId: toObjectId(input.accountId),
          clientId: toObjectId(input.clientId),
          photoId,
          embedding: embeddingToBuffer(input.embedding),
          version: input.version,
        },
        $setOnInsert: { createdAt: new Date() },
      },
      { upsert: true },
    );
  }

  /** Bulk insert (benchmarks and tests); `createdAt` defaults to now. */
  async insertMany(inputs: readonly NewFaceEmbedding[], createdAt?: Date): Promise<void> {
    if (inputs.length === 0) return;
    const now = createdAt ?? new Date();
    await this.model.collection.insertMany(
      inputs.map((e) => ({
        accountId: toObjectId(e.accountId),
        clientId: toObjectId(e.clientId),
        photoId: toObjectId(e.photoId),
        embedding: embeddingToBuffer(e.embedding),
        version: e.version,
        createdAt: now,
      })),
      { ordered: false },
    );
  }

  /**
   * Exact cosine search (the stored embeddings and the query are L2-normalised, so cosine is the dot product) over
   * the account's embeddings of the same version, in batches of `batchSize`.
   */
  async search(query: EmbeddingSearch): Promise<EmbeddingSearchResult> {
    const dims = query.embedding.length;
    const batchSize = query.batchSize ?? 2000;
    const ownClient = toObjectId(query.clientId);
    const ownPhoto = toObjectId(query.photoId);
    const cursor = this.model.collection
      .find(
        { accountId: toObjectId(query.accountId), version: query.version },
        { projection: { clientId: 1, photoId: 1, embedding: 1 }, sort: { _id: 1 }, batchSize },
      )
      .map((d) => d as unknown as RawEmbedding);
    const rows = new Float32Array(batchSize * dims);
    const rowBytes = new Uint8Array(rows.buffer);
    const meta: RawEmbedding[] = [];
    const matches: EmbeddingMatch[] = [];
    let sameClientMatches = 0;
    let scanned = 0;
    const q = query.embedding;

    const flush = () => {
      for (let i = 0, o = 0; i < meta.length; i++, o += dims) {
        const s = dotAt(rows, o, q);
        if (s < query.threshold) continue;
        const row = meta[i] as RawEmbedding;
        if (row.clientId.equals(ownClient)) {
          sameClientMatches += 1;
          continue;
        }
        matches.push({ clientId: row.clientId.toHexString(), photoId: row.photoId.toHexString(), similarity: s });
      }
      scanned += meta.length;
      meta.length = 0;
      // Keep only the best `limit` between batches: memory stays bounded whatever the number of matches.
      if (matches.length > query.limit * 4) {
        matches.sort((x, y) => y.similarity - x.similarity);
        matches.length = query.limit;
      }
    };

    for await (const doc of cursor) {
      if (doc.photoId.equals(ownPhoto)) continue;
      const bytes = bytesOf(doc.embedding);
      if (!bytes || bytes.byteLength !== dims * 4) continue;
      rowBytes.set(bytes, meta.length * dims * 4);
      meta.push(doc);
      if (meta.length === batchSize) flush();
    }
    flush();
    matches.sort((x, y) => y.similarity - x.similarity || x.photoId.localeCompare(y.photoId));
    if (matches.length > query.limit) matches.length = query.limit;
    return { matches, sameClientMatches, scanned };
  }

  async countForAccount(accountId: string): Promise<number> {
    return this.model.countDocuments({ accountId: toObjectId(accountId) });
  }

  async countForClient(accountId: string, clientId: string): Promise<number> {
    return this.model.countDocuments({ accountId: toObjectId(accountId), clientId: toObjectId(clientId) });
  }

  async deleteForPhotos(photoIds: readonly (string | Types.ObjectId)[]): Promise<number> {
    if (photoIds.length === 0) return 0;
    const result = await this.model.deleteMany({ photoId: { $in: photoIds.map((id) => toObjectId(id)) } });
    return result.deletedCount;
  }

  async deleteForClient(accountId: string, clientId: string): Promise<number> {
    const result = await this.model.deleteMany({ accountId: toObjectId(accountId), clientId: toObjectId(clientId) });
    return result.deletedCount;
  }

  async deleteForAccount(accountId: string): Promise<number> {
    const result = await this.model.deleteMany({ accountId: toObjectId(accountId) });
    return result.deletedCount;
  }
}

/** One account's embeddings held in memory by FaceEmbeddingIndex. */
interface AccountEmbeddings {
  dims: number;
  rows: Float32Array;
  clientIds: Types.ObjectId[];
  photoIds: string[];
  /** photoId → row; a removed row keeps its slot, zeroed, until the next full load. */
  rowOf: Map<string, number>;
  count: number;
  /** Stored-since bound of the next catch-up read. */
  syncFrom: Date;
  loadedAt: number;
}

export interface FaceEmbeddingIndexOptions {
  /** A full reload (which drops embeddings erased meanwhile) after this long. */
  reloadMs?: number;
  /** Catch-up reads overlap the previous one by this much, against clock skew between writers. */
  overlapMs?: number;
  /** Accounts kept in memory (least recently searched dropped first). */
  maxAccounts?: number;
}

/**
 * The exact search of FaceEmbeddingRepository with the account's embeddings kept in this process's memory: the
 * first search of an account loads them from the store (MongoDB stays the source of truth), later ones read only
 * what was stored since (by `createdAt`, with an overlap) and run the dot products over one Float32Array. Erased
 * embeddings can linger in memory until the next full reload, so every hit is checked against the store before it
 * is reported (and dropped from memory when gone). Same interface as the repository's `search`.
 */
export class FaceEmbeddingIndex {
  private readonly accounts = new Map<string, AccountEmbeddings>();
  private readonly reloadMs: number;
  private readonly overlapMs: number;
  private readonly maxAccounts: number;

  constructor(
    readonly repo: FaceEmbeddingRepository,
    options: FaceEmbeddingIndexOptions = {},
  ) {
    this.reloadMs = options.reloadMs ?? 10 * 60_000;
    this.overlapMs = options.overlapMs ?? 60_000;
    this.maxAccounts = options.maxAccounts ?? 50;
  }

  /** Faces held in memory (all accounts). */
  get size(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.count;
    return n;
  }

  private async sync(accountId: string, version: string, dims: number): Promise<AccountEmbeddings> {
    const key = `${accountId}/${version}`;
    let cached = this.accounts.get(key);
    if (cached && (Date.now() - cached.loadedAt > this.reloadMs || cached.dims !== dims)) cached = undefined;
    const started = Date.now();
    const filter: Record<string, unknown> = { accountId: toObjectId(accountId), version };
    if (cached) filter.createdAt = { $gte: cached.syncFrom };
    const entry: AccountEmbeddings = cached ?? {
      dims,
      rows: new Float32Array(1024 * dims),
      clientIds: [],
      photoIds: [],
      rowOf: new Map(),
      count: 0,
      syncFrom: new Date(0),
      loadedAt: started,
    };
    const cursor = this.repo.model.collection.find(filter, {
      projection: { clientId: 1, photoId: 1, embedding: 1 },
      batchSize: 5000,
    });
    for await (const doc of cursor) {
      const raw = doc as unknown as RawEmbedding;
      const bytes = bytesOf(raw.embedding);
      if (!bytes || bytes.byteLength !== dims * 4) continue;
      const photoId = raw.photoId.toHexString();
      let row = entry.rowOf.get(photoId);
      if (row === undefined) {
        row = entry.count++;
        if (entry.count * dims > entry.rows.length) {
          const grown = new Float32Array(entry.rows.length * 2);
          grown.set(entry.rows);
          entry.rows = grown;
        }
        entry.rowOf.set(photoId, row);
        entry.photoIds[row] = photoId;
      }
      entry.clientIds[row] = raw.clientId;
      new Uint8Array(entry.rows.buffer, row * dims * 4, dims * 4).set(bytes);
    }
    entry.syncFrom = new Date(started - this.overlapMs);
    this.accounts.delete(key);
    this.accounts.set(key, entry);
    while (this.accounts.size > this.maxAccounts) {
      const oldest = this.accounts.keys().next().value as string;
      this.accounts.delete(oldest);
    }
    return entry;
  }

  private forget(entry: AccountEmbeddings, photoId: string): void {
    const row = entry.rowOf.get(photoId);
    if (row === undefined) return;
    entry.rows.fill(0, row * entry.dims, (row + 1) * entry.dims);
    entry.rowOf.delete(photoId);
  }

  async search(query: EmbeddingSearch): Promise<EmbeddingSearchResult> {
    const dims = query.embedding.length;
    const entry = await this.sync(query.accountId, query.version, dims);
    const q = query.embedding;
    const rows = entry.rows;
    const hits: { row: number; similarity: number }[] = [];
    for (let i = 0, o = 0; i < entry.count; i++, o += dims) {
      const s = dotAt(rows, o, q);
      if (s >= query.threshold) hits.push({ row: i, similarity: s });
    }
    hits.sort((x, y) => y.similarity - x.similarity);
    // Only hits still stored count (an erasure since the last full load leaves its row here until then).
    const candidates = hits
      .filter((h) => entry.photoIds[h.row] !== query.photoId)
      .slice(0, Math.max(100, query.limit * 4));
    const ids = candidates.map((h) => toObjectId(entry.photoIds[h.row] as string));
    const stored = new Set<string>();
    if (ids.length > 0) {
      const found = await this.repo.model.collection.find({ photoId: { $in: ids } }, { projection: { photoId: 1 } });
      for await (const doc of found) stored.add((doc.photoId as Types.ObjectId).toHexString());
    }
    const ownClient = toObjectId(query.clientId);
    const matches: EmbeddingMatch[] = [];
    let sameClientMatches = 0;
    for (const h of candidates) {
      const photoId = entry.photoIds[h.row] as string;
      if (!stored.has(photoId)) {
        this.forget(entry, photoId);
        continue;
      }
      const clientId = entry.clientIds[h.row] as Types.ObjectId;
      if (clientId.equals(ownClient)) sameClientMatches += 1;
      else if (matches.length < query.limit) {
        matches.push({ clientId: clientId.toHexString(), photoId, similarity: h.similarity });
      }
    }
    return { matches, sameClientMatches, scanned: entry.rowOf.size };
  }
}
