// The chaos run (issue 14, item 6): photos with webhooks through a cluster of separate processes on PRIVATE backing
// services (own Redis, MongoDB stand-in and versitygw on free ports, never the shared ones), while a random service
// process is SIGKILLed every few seconds and restarted, and Redis, the store and S3 are each killed and restarted once.
// Then: every accepted photo complete or failed with a reason, no duplicates, exactly one final event per photo,
// every webhook event delivered at least once with a stable id, no pending job, no orphan in S3.
// `pnpm chaos` prints it; test/cluster/chaos.test.ts asserts a shortened run.
import {
  type ClusterProcess,
  createCluster,
  type PrivateBackingServer,
  sleep,
  startPrivateBacking,
} from './cluster.js';
import {
  pushPhotos,
  type RunReport,
  setupAccount,
  startWebhookReceiver,
  verifyRun,
  waitSettled,
} from './cluster-run.js';
import { RUN_HOOKS } from './multi-replica.js';

export interface ChaosOptions {
  photos: number;
  concurrency?: number;
  gateways?: number;
  replicas?: number;
  /** A kill every min..max ms, at random. */
  killEveryMs?: [number, number];
  /** How long a killed process stays down. */
  restartAfterMs?: number;
  /** How long each backing service stays down. */
  outageMs?: number;
  /** Kills go on while photos are processing, then this long more (at most maxChaosMs in all). */
  killTailMs?: number;
  /** Upper bound of the chaos phase (uploads and kills). */
  maxChaosMs?: number;
  settleMs?: number;
  /** Configuration for every service (overrides the chaos defaults). */
  env?: Record<string, string>;
  /** Keep every process's log (in the OS temp folder) after the run. */
  keepLogs?: boolean;
  log?: (line: string) => void;
}

export interface ChaosEvent {
  /** ms since the start of the chaos phase. */
  at: number;
  what: string;
}

export interface ChaosResult {
  ok: boolean;
  problems: string[];
  report: RunReport;
  counts: {
    kills: number;
    /** Restarts after our kills. */
    restarts: number;
    /** Processes that exited by themselves and were restarted by the supervisor. */
    crashes: number;
    /** Starts that failed (a backing service was down while the process started). */
    startFailures: number;
    backingOutages: number;
    uploadAttempts: number;
    photosAccepted: number;
    photosComplete: number;
    photosFailed: number;
    events: number;
    deliveries: number;
    duplicatesSeenByReceiver: number;
    orphans: number;
  };
  /** Per orphan object: the nearest gateway kill before it was written (ms), if any within 10 s. */
  orphanCauses: Record<string, string>;
  /** Per record nobody was answered 200 for: the nearest gateway kill or outage. */
  unacknowledgedCauses: Record<string, string>;
  /** Per accepted photo without a `livePhoto.created` event: the nearest gateway kill or outage. */
  createdMissingCauses: Record<string, string>;
  timeline: ChaosEvent[];
  seconds: number;
}

/** Defaults that let a run recover in seconds rather than minutes (locks, back-offs, the sweeper). */
export const CHAOS_ENV: Record<string, string> = {
  STAGE_LOCK_DURATION_MS: '8000',
  STAGE_STALLED_INTERVAL_MS: '2000',
  STAGE_BACKOFF_MS: '1000',
  WEBHOOK_BACKOFF_MS: '2000',
  WEBHOOK_TIMEOUT_MS: '5000',
  SWEEPER_INTERVAL_MS: '5000',
  SWEEPER_STALE_AFTER_MS: '30000',
};

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[chaos] ${line}\n`));
  const [killMin, killMax] = options.killEveryMs ?? [3000, 7000];
  const restartAfterMs = options.restartAfterMs ?? 1000;
  const outageMs = options.outageMs ?? 5000;
  const started = performance.now();
  const backing = await startPrivateBacking();
  log(`private backing: redis ${backing.redis.port}, store ${backing.store.port}, s3 ${backing.s3.port}`);
  const cluster = await createCluster({
    gateways: options.gateways ?? 2,
    replicas: options.replicas ?? 2,
    backing: backing.env,
    env: { ...CHAOS_ENV, ...options.env },
    autoRestartMs: 2000,
    keepLogs: options.keepLogs ?? false,
    log,
  });
  const receiver = await startWebhookReceiver();
  const timeline: ChaosEvent[] = [];
  let chaosStarted = 0;
  const note = (what: string) => {
    const at = Math.round(performance.now() - chaosStarted);
    timeline.push({ at, what });
    log(`${(at / 1000).toFixed(1)} s: ${what}`);
  };
  /** Wall-clock times of gateway kills and backing outages, to explain orphans and unacknowledged records. */
  const gatewayKills: { name: string; at: number }[] = [];
  const outageWindows: { name: string; from: number; to: number }[] = [];
  let kills = 0;
  let restarts = 0;
  let backingOutages = 0;
  try {
    await cluster.start();
    const account = await setupAccount(cluster, receiver, RUN_HOOKS);
    chaosStarted = performance.now();

    // Killer: a random running service process every few seconds, started again after restartAfterMs.
    let killing = true;
    const restarting = new Set<Promise<void>>();
    const killer = (async () => {
      while (killing) {
        await sleep(killMin + Math.random() * (killMax - killMin));
        if (!killing) break;
        const candidates = cluster.processes.filter((p) => cluster.isRunning(p.name));
        const victim = candidates[Math.floor(Math.random() * candidates.length)] as ClusterProcess | undefined;
        if (!victim) continue;
        await cluster.kill(victim.name);
        kills += 1;
        if (victim.kind === 'gateway') gatewayKills.push({ name: victim.name, at: Date.now() });
        note(`SIGKILL ${victim.name}`);
        const back = (async () => {
          await sleep(restartAfterMs);
          await cluster.restart(victim.name);
          restarts += 1;
          note(`${victim.name} ready again`);
        })().catch((err: Error) => note(`restart of ${victim.name} failed: ${err.message}`));
        restarting.add(back);
        void back.finally(() => restarting.delete(back));
      }
    })();

    // Backing outages, one after the other, when a quarter, half and three quarters of the photos are accepted.
    const servers: [number, PrivateBackingServer][] = [
      [0.25, backing.redis],
      [0.5, backing.store],
      [0.75, backing.s3],
    ];
    let outageChain = Promise.resolve();
    const due = new Set(servers.map(([at]) => at));
    const outage = (server: PrivateBackingServer) => async () => {
      const from = Date.now();
      await server.kill();
      backingOutages += 1;
      note(`SIGKILL ${server.name} (down for ${outageMs} ms)`);
      await sleep(outageMs);
      await server.start();
      outageWindows.push({ name: server.name, from, to: Date.now() });
      note(`${server.name} back`);
    };
    const onAccepted = (n: number) => {
      for (const [at, server] of servers) {
        if (due.has(at) && n >= Math.ceil(at * options.photos)) {
          due.delete(at);
          outageChain = outageChain.then(outage(server)).catch((err: Error) => note(`outage failed: ${err.message}`));
        }
      }
    };

    log(`pushing ${options.photos} photos while killing`);
    const push = await pushPhotos(cluster, account.clientId, {
      count: options.photos,
      concurrency: options.concurrency ?? 4,
      retry: true,
      onAccepted,
    });
    note(`all ${push.accepted.length} photos accepted after ${push.attempts} attempts ${JSON.stringify(push.refused)}`);
    await outageChain;
    // Kills go on while the backlog is processed, not only while uploads come in.
    const chaosDeadline = chaosStarted + (options.maxChaosMs ?? 900_000);
    const db = await cluster.db();
    while (performance.now() < chaosDeadline) {
      const processing = await db
        .collection('livephotos')
        .countDocuments({ status: 'processing' })
        .catch(() => 1);
      if (processing === 0) break;
      await sleep(2000);
    }
    await sleep(Math.max(0, Math.min(options.killTailMs ?? 20_000, chaosDeadline - performance.now())));
    killing = false;
    await killer;
    await Promise.all([...restarting]);
    const revived = await cluster.restartDead();
    if (revived.length) note(`restarted ${revived.join(', ')} at the end`);
    note('chaos over; waiting for the run to settle');

    const settled = await waitSettled(cluster, account, receiver, options.settleMs ?? 600_000, log);
    const report = await verifyRun(cluster, account, receiver, push.accepted, false);
    const problems = [...report.problems];
    if (!settled) problems.unshift('the run did not settle in time');

    const orphanCauses: Record<string, string> = {};
    for (const key of report.s3.orphans) {
      const id = key.split('/')[1] ?? '';
      orphanCauses[key] = explain(id, gatewayKills, outageWindows);
    }
    const createdMissingCauses: Record<string, string> = {};
    for (const id of report.events.createdMissing) createdMissingCauses[id] = explain(id, gatewayKills, outageWindows);
    const unacknowledgedCauses: Record<string, string> = {};
    const acceptedSet = new Set(push.accepted);
    const records = await db
      .collection('livephotos')
      .find({}, { projection: { _id: 1, status: 1 } })
      .toArray();
    for (const r of records) {
      const id = String(r._id);
      if (!acceptedSet.has(id)) unacknowledgedCauses[id] = `${r.status}; ${explain(id, gatewayKills, outageWindows)}`;
    }
    const duplicates = Object.values(report.deliveries.duplicates).reduce((a, b) => a + b, 0);
    const counts: ChaosResult['counts'] = {
      kills,
      restarts,
      crashes: cluster.processes.reduce((s, p) => s + p.crashes, 0),
      startFailures: cluster.processes.reduce((s, p) => s + p.startFailures, 0),
      backingOutages,
      uploadAttempts: push.attempts,
      photosAccepted: push.accepted.length,
      photosComplete: report.photos.complete,
      photosFailed: report.photos.failed,
      events: report.events.completed + report.events.failed + report.events.created,
      deliveries: receiver.receipts.length,
      duplicatesSeenByReceiver: duplicates,
      orphans: report.s3.orphans.length,
    };
    if (counts.crashes) {
      const who = cluster.processes.filter((p) => p.crashes).map((p) => `${p.name} x${p.crashes}`);
      problems.push(`processes crashed by themselves: ${who.join(', ')} (logs: ${cluster.logDir})`);
    }
    return {
      ok: problems.length === 0,
      problems,
      report,
      counts,
      orphanCauses,
      unacknowledgedCauses,
      createdMissingCauses,
      timeline,
      seconds: Math.round((performance.now() - started) / 1000),
    };
  } finally {
    await cluster.stop();
    await receiver.close();
    await cluster.drop().catch((err: Error) => log(`drop failed: ${err.message}`));
    await backing.cleanup();
  }
}

/** The gateway kill or backing outage nearest before a photo id's creation time (ObjectIds carry their second). */
function explain(
  photoId: string,
  gatewayKills: { name: string; at: number }[],
  outages: { name: string; from: number; to: number }[],
): string {
  const created = /^[0-9a-f]{24}$/.test(photoId) ? Number.parseInt(photoId.slice(0, 8), 16) * 1000 : Number.NaN;
  if (!Number.isFinite(created)) return 'unknown id';
  const kill = gatewayKills.filter((k) => k.at >= created && k.at <= created + 10_000).sort((a, b) => a.at - b.at)[0];
  // Ids carry whole seconds, and a photo's id is taken before its S3 write, insert and background publish.
  const during = outages.find((o) => created >= o.from - 3000 && created <= o.to + 1000);
  const parts: string[] = [];
  if (kill)
    parts.push(`${kill.name} SIGKILLed ${Math.round((kill.at - created) / 100) / 10} s after the photo's id second`);
  if (during) parts.push(`created around the ${during.name} outage`);
  return parts.join('; ') || 'no gateway kill or outage nearby';
}
