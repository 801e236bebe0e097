import { randomBytes } from 'node:crypto';
import { loadConfig, type TConfig } from '@selfie/config';
import { inject } from 'vitest';

/**
 * Config for one test file: the shared backing services, but its own database, Redis key prefix and bucket,
 * so every file sees fresh services.
 */
export function testConfig(overrides: Partial<TConfig> = {}): TConfig {
  const backing = inject('backing');
  const id = randomBytes(4).toString('hex');
  const mongo = new URL(backing.mongoUri);
  mongo.pathname = `/t_${id}`;
  return loadConfig(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      MONGODB_URI: mongo.toString(),
      REDIS_URL: backing.redisUrl,
      REDIS_PREFIX: `t_${id}`,
      S3_ENDPOINT: backing.s3Endpoint,
      S3_ACCESS_KEY: backing.s3AccessKey,
      S3_SECRET_KEY: backing.s3SecretKey,
      S3_BUCKET: `t-${id}`,
      PORT: '0',
    },
    overrides,
  );
}
