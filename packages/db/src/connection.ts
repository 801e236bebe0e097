import mongoose, { type Connection } from 'mongoose';

/**
 * One connection per service (not mongoose's global), so tests and the all-in-one process can hold several.
 * Commands fail after `timeoutMs` instead of buffering forever while the server is down. With `operationTimeoutMs`
 * (the gateway's request budget) every operation carries it as `maxTimeMS`, so a query the caller gave up on stops
 * in the store too instead of running on.
 */
export async function connectMongo(
  uri: string,
  options: { timeoutMs?: number; operationTimeoutMs?: number } = {},
): Promise<Connection> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const connection = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    ...(options.operationTimeoutMs ? { timeoutMS: options.operationTimeoutMs } : { socketTimeoutMS: 30_000 }),
    bufferCommands: false,
    autoIndex: true,
    maxPoolSize: 20,
  });
  connection.on('error', () => {});
  await connection.asPromise();
  return connection;
}

export async function pingMongo(connection: Connection): Promise<void> {
  const db = connection.db;
  if (!db) throw new Error('mongo connection is not open');
  await db.command({ ping: 1 });
}
