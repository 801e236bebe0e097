import { describe, expect, inject, it } from 'vitest';
import { runMultiReplicaCheck } from '../../scripts/lib/multi-replica.js';

// `pnpm cluster:check` with fewer photos: 2 gateways and 2 replicas of every stage worker, the finalizer and the
// webhook dispatcher, each its own process on the test run's backing services (own database, prefix and bucket).
describe('two replicas of every service', () => {
  it('completes every photo exactly once, with one event and one delivery per webhook, and empty queues', {
    timeout: 420_000,
  }, async () => {
    const backing = inject('backing');
    const result = await runMultiReplicaCheck({
      photos: 60,
      settleMs: 240_000,
      backing: {
        REDIS_URL: backing.redisUrl,
        MONGODB_URI: backing.mongoUri,
        S3_ENDPOINT: backing.s3Endpoint,
        S3_ACCESS_KEY: backing.s3AccessKey,
        S3_SECRET_KEY: backing.s3SecretKey,
      },
      log: () => {},
    });
    const { report, figures } = result;
    expect(result.problems).toEqual([]);
    expect(report.photos).toMatchObject({ accepted: 60, records: 60, complete: 60, processing: 0, unacknowledged: 0 });
    expect(report.events).toMatchObject({ completed: 60, failed: 0, created: 60, wrongFinalEvents: 0 });
    expect(report.deliveries.received).toEqual({ '/all': 120, '/final': 60 });
    expect(report.deliveries.duplicates).toEqual({ '/all': 0, '/final': 0 });
    expect(report.deliveries.duplicateRecords).toBe(0);
    expect(Object.values(report.queuesPending).every((n) => n === 0)).toBe(true);
    expect(report.s3.orphans).toEqual([]);
    // Both gateways took uploads, and the finalizers together closed each photo once.
    expect(Object.values(figures.acceptedPerGateway)).toEqual([30, 30]);
    expect(Object.values(figures.finalizedPerFinalizer).reduce((a, b) => a + b, 0)).toBe(60);
  });
});
