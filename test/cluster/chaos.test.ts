import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/lib/chaos.js';

// `pnpm chaos`, shortened: 40 photos through 2 gateways and one replica of every other service, each its own process
// on PRIVATE Redis, MongoDB stand-in and versitygw (free ports, throwaway data), while a random service process is
// SIGKILLed every 3-5 s and restarted, and Redis, the store and S3 are each killed for 3 s once.
describe('chaos: killed processes and backing services', () => {
  it('ends every accepted photo once, delivers every event with a stable id, leaves no work or object behind', {
    timeout: 300_000,
  }, async () => {
    const result = await runChaos({
      photos: 40,
      gateways: 2,
      replicas: 1,
      killEveryMs: [3000, 5000],
      outageMs: 3000,
      killTailMs: 5000,
      settleMs: 150_000,
      env: { SWEEPER_STALE_AFTER_MS: '20000' },
      log: () => {},
    });
    const { report, counts } = result;
    const context = JSON.stringify(
      {
        problems: result.problems,
        counts,
        photos: report.photos,
        s3: report.s3,
        orphans: result.orphanCauses,
        unacknowledged: result.unacknowledgedCauses,
        createdMissing: result.createdMissingCauses,
        timeline: result.timeline,
      },
      null,
      1,
    );
    expect(counts.kills, context).toBeGreaterThanOrEqual(3);
    expect(counts.backingOutages, context).toBe(3);
    // Every accepted photo ended, complete or failed with a reason; nothing left processing.
    expect(report.photos.accepted, context).toBe(40);
    expect(report.photos.missing, context).toBe(0);
    expect(report.photos.processing, context).toBe(0);
    expect(report.photos.failedWithoutReason, context).toBe(0);
    expect(report.photos.complete + report.photos.failed, context).toBe(report.photos.records);
    // Exactly one final event per photo; every event delivered at least once, with its stored id, signed.
    expect(report.events.wrongFinalEvents, context).toBe(0);
    expect(report.deliveries.undelivered, context).toEqual({ '/all': 0, '/final': 0 });
    expect(report.deliveries.idMismatches, context).toBe(0);
    expect(report.deliveries.badSignatures, context).toBe(0);
    // No pending job in any queue, no record without its object, no process that crashed by itself.
    expect(
      Object.values(report.queuesPending).every((n) => n === 0),
      context,
    ).toBe(true);
    expect(report.s3.lostObjects, context).toEqual([]);
    expect(counts.crashes, context).toBe(0);
    // Known gaps, allowed only with their cause: an orphan object comes from a gateway killed between its S3 write
    // and its record insert (issue 14, item 2: no orphan sweeper yet); a missing livePhoto.created event from the
    // gateway's background publish failing after the 200 (store down, or the gateway killed). Anything else is a bug.
    for (const cause of Object.values(result.orphanCauses)) expect(cause, context).toMatch(/gateway#\d SIGKILLed/);
    for (const cause of Object.values(result.createdMissingCauses)) {
      expect(cause, context).toMatch(/gateway#\d SIGKILLed|mongo-store outage/);
    }
    // A record nobody was answered 200 for: the gateway killed, or its undo of a failed insert meeting a store that
    // had committed the insert before dying (the record stays, its bytes are removed: it ends failed).
    for (const cause of Object.values(result.unacknowledgedCauses)) {
      expect(cause, context).toMatch(/^(complete|failed); .*(gateway#\d SIGKILLed|outage)/);
    }
  });
});
