import { type Connection, type Model, type Schema, Types } from 'mongoose';

/** Models are registered per connection (services hold their own connections, never mongoose's global one). */
export function modelOn<T>(connection: Connection, name: string, schema: Schema<T>): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
}

export function toObjectId(id: string | Types.ObjectId): Types.ObjectId {
  return typeof id === 'string' ? new Types.ObjectId(id) : id;
}

/** One account's document by id, or null (another account's id reads as missing). */
export async function findOwned<T extends { accountId: Types.ObjectId }>(
  model: Model<any>,
  accountId: string,
  id: string,
  projection?: Record<string, 0>,
): Promise<T | null> {
  return model.findOne({ _id: toObjectId(id), accountId: toObjectId(accountId) }, projection).lean<T>();
}

/** `createdAt`/`updatedAt` range filters shared by every list endpoint. */
export interface DateRange {
  createdAfter?: Date;
  createdBefore?: Date;
  updatedAfter?: Date;
  updatedBefore?: Date;
}

export function dateRangeFilter(range: DateRange): Record<string, unknown> {
  const filter: Record<string, Record<string, Date>> = {};
  if (range.createdAfter) filter.createdAt = { ...filter.createdAt, $gt: range.createdAfter };
  if (range.createdBefore) filter.createdAt = { ...filter.createdAt, $lt: range.createdBefore };
  if (range.updatedAfter) filter.updatedAt = { ...filter.updatedAt, $gt: range.updatedAfter };
  if (range.updatedBefore) filter.updatedAt = { ...filter.updatedAt, $lt: range.updatedBefore };
  return filter;
}

export interface PageRequest extends DateRange {
  page: number;
  pageSize: number;
}

export interface Page<T> {
  items: T[];
  totalItems: number;
}

/**
 * Newest first; `_id` breaks ties between documents created in the same millisecond. Every list has an index
 * `{<filter keys>, createdAt: -1, _id: -1}`, so the page is read in index order and the count from the index.
 */
export async function findPage<T>(
  model: Model<T>,
  filter: Record<string, unknown>,
  page: PageRequest,
  projection?: Record<string, 0>,
): Promise<Page<T>> {
  const full = { ...filter, ...dateRangeFilter(page) };
  const [items, totalItems] = await Promise.all([
    model
      .find(full, projection)
      .sort({ createdAt: -1, _id: -1 })
      .skip((page.page - 1) * page.pageSize)
      .limit(page.pageSize)
      .lean<T[]>(),
    model.countDocuments(full),
  ]);
  return { items, totalItems };
}
