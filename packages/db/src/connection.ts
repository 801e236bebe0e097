import mongoose, { type Connection } from 'mongoose';

/**
 * One connection per service (not mongoose's global), so tests and the all-in-one process can hold several.
 * Commands fail after `timeoutMs` instead of buffering forever while the server is down.
 */
export async function connectMongo(uri: string, options: { timeoutMs?: number } = {}): Promise<Connection> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const connection = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: 30_000,
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
