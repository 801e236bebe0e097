import { createHash, randomInt } from 'node:crypto';
import { type Connection, Schema, type Types } from 'mongoose';
import { modelOn, toObjectId } from './models.js';

export interface AccountDoc {
  _id: Types.ObjectId;
  name: string;
  enabled: boolean;
  /**
   * Retention override in days (fractions allowed): photos and events of this account are erased this long after
   * their creation instead of after RETENTION_DAYS; 0 keeps them until deleted. Unset: RETENTION_DAYS applies.
   */
  retentionDays?: number;
  /**
   * Repeat-face search (face embeddings stored and compared across the account's clients) for this account; it
   * runs only when REPEAT_FACE_ENABLED is also true. Unset: off.
   */
  repeatFace?: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** API keys are stored only as sha256 hashes; the plain key is shown once, at creation. */
export interface ApiKeyDoc {
  _id: Types.ObjectId;
  keyHash: string;
  accountId: Types.ObjectId;
  mode: 'test' | 'live';
  createdAt: Date;
}

const accountSchema = new Schema<AccountDoc>(
  {
    name: { type: String, required: true },
    enabled: { type: Boolean, default: true },
    retentionDays: { type: Number, min: 0 },
    repeatFace: { type: Boolean },
  },
  { timestamps: true },
);

const apiKeySchema = new Schema<ApiKeyDoc>(
  {
    keyHash: { type: String, required: true, unique: true },
    accountId: { type: Schema.Types.ObjectId, required: true, index: true },
    mode: { type: String, enum: ['test', 'live'], required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false } },
);

export const API_KEY_PATTERN = /^(test|live)_[A-Za-z0-9]{16,}$/;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` alphanumerics from the CSPRNG (randomInt has no modulo bias). */
export function randomAlphanumeric(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

export function generateApiKey(mode: 'test' | 'live' = 'test'): string {
  return `${mode}_${randomAlphanumeric(32)}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface AuthenticatedKey {
  account: AccountDoc;
  key: ApiKeyDoc;
}

export class AccountRepository {
  readonly accounts;
  readonly keys;

  constructor(connection: Connection) {
    this.accounts = modelOn(connection, 'Account', accountSchema);
    this.keys = modelOn(connection, 'ApiKey', apiKeySchema);
  }

  async init(): Promise<void> {
    await Promise.all([this.accounts.init(), this.keys.init()]);
  }

  async create(name: string): Promise<AccountDoc> {
    const doc = await this.accounts.create({ name });
    return doc.toObject();
  }

  /** Attaches `key` (plain) to the account; throws on a malformed key or one already in use (E11000). */
  async addKey(accountId: string | Types.ObjectId, key: string): Promise<ApiKeyDoc> {
    if (!API_KEY_PATTERN.test(key)) throw new Error('API keys look like test_<alphanumerics> or live_<alphanumerics>');
    const mode = key.startsWith('live_') ? 'live' : 'test';
    const doc = await this.keys.create({ keyHash: hashApiKey(key), accountId: toObjectId(accountId), mode });
    return doc.toObject();
  }

  /** Creates an account with a fresh (or the given) key; returns the plain key, which is not stored. */
  async createWithKey(options: { name: string; key?: string }): Promise<{ account: AccountDoc; key: string }> {
    const key = options.key ?? generateApiKey('test');
    if (!API_KEY_PATTERN.test(key)) throw new Error('API keys look like test_<alphanumerics> or live_<alphanumerics>');
    if (await this.keys.exists({ keyHash: hashApiKey(key) })) throw new Error('this API key is already in use');
    const account = await this.create(options.name);
    try {
      await this.addKey(account._id, key);
    } catch (err) {
      await this.accounts.deleteOne({ _id: account._id });
      throw err;
    }
    return { account, key };
  }

  /** Idempotent: the account owning `key`, created (named `name`) when the key is unknown. */
  async ensureWithKey(key: string, name = 'local'): Promise<AccountDoc> {
    const found = await this.authenticate(key);
    if (found) return found.account;
    try {
      return (await this.createWithKey({ name, key })).account;
    } catch (err) {
      // Two replicas starting at once: the other one won the race.
      const again = await this.authenticate(key);
      if (again) return again.account;
      throw err;
    }
  }

  async authenticate(key: string): Promise<AuthenticatedKey | null> {
    const apiKey = await this.keys.findOne({ keyHash: hashApiKey(key) }).lean<ApiKeyDoc>();
    if (!apiKey) return null;
    const account = await this.accounts.findById(apiKey.accountId).lean<AccountDoc>();
    if (!account) return null;
    return { account, key: apiKey };
  }

  async findById(accountId: string | Types.ObjectId): Promise<AccountDoc | null> {
    return this.accounts.findById(toObjectId(accountId)).lean<AccountDoc>();
  }

  /** `null` removes the override (RETENTION_DAYS applies again); 0 keeps the account's data until deleted. */
  async setRetentionDays(accountId: string | Types.ObjectId, days: number | null): Promise<void> {
    if (days !== null && !(Number.isFinite(days) && days >= 0)) throw new Error('retention days must be a number >= 0');
    const update = days === null ? { $unset: { retentionDays: 1 } } : { $set: { retentionDays: days } };
    await this.accounts.updateOne({ _id: toObjectId(accountId) }, update);
  }

  /** Every account's id and retention override (accounts are few: one per integrator). */
  async retentionPolicies(): Promise<Pick<AccountDoc, '_id' | 'retentionDays'>[]> {
    return this.accounts.find({}, { _id: 1, retentionDays: 1 }).lean<Pick<AccountDoc, '_id' | 'retentionDays'>[]>();
  }

  /** Turns repeat-face search on or off for the account's new uploads (photos already uploaded keep their choice). */
  async setRepeatFace(accountId: string | Types.ObjectId, enabled: boolean): Promise<void> {
    await this.accounts.updateOne({ _id: toObjectId(accountId) }, { $set: { repeatFace: enabled } });
  }

  async setEnabled(accountId: string | Types.ObjectId, enabled: boolean): Promise<void> {
    await this.accounts.updateOne({ _id: toObjectId(accountId) }, { $set: { enabled } });
  }
}
