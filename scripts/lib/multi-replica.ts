// The multi-replica proof (issue 13, item 5): G gateways and R replicas of every stage worker, the finalizer and the
// webhook dispatcher as separate processes; photos pushed alternately through the gateways with two webhooks; then
// every photo complete exactly once, one final event per photo, one delivery per event and webhook, empty queues.
// `pnpm cluster:check` prints it; test/cluster/multi-replica.test.ts asserts it with fewer photos.
import { type BackingEnv, createCluster } from './cluster.js';
import {
  finishedPerSecond,
  type HookSpec,
  pushPhotos,
  type RunReport,
  setupAccount,
  startWebhookReceiver,
  verifyRun,
  waitSettled,
} from './cluster-run.js';

export interface MultiReplicaOptions {
  photos: number;
  concurrency?: number;
  gateways?: number;
  replicas?: number;
  backing?: BackingEnv;
  /** How long the run may take to settle after the last upload. */
  settleMs?: number;
  log?: (line: string) => void;
}

export interface MultiReplicaResult {
  ok: boolean;
  problems: string[];
  report: RunReport;
  figures: {
    processes: number;
    uploadSeconds: number;
    photosPerSecond: number;
    acceptedPerGateway: Record<string, number>;
    /** Photos each finalizer moved out of `processing` (the sum must be the number of photos: exactly once). */
    finalizedPerFinalizer: Record<string, number>;
    /** Stage jobs each worker replica finished (all stages). */
    stageJobsPerWorker: Record<string, number>;
    /** Successful deliveries per dispatcher replica. */
    deliveredPerDispatcher: Record<string, number>;
    peakRssMb: Record<string, number>;
  };
}

/** Webhook A takes every live photo event (created and final), B only the final ones. */
export const RUN_HOOKS: HookSpec[] = [
  { path: '/all', events: ['livePhoto.*'] },
  { path: '/final', events: ['livePhoto.completed', 'livePhoto.failed'] },
];

export async function runMultiReplicaCheck(options: MultiReplicaOptions): Promise<MultiReplicaResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[cluster:check] ${line}\n`));
  const cluster = await createCluster({
    gateways: options.gateways ?? 2,
    replicas: options.replicas ?? 2,
    ...(options.backing ? { backing: options.backing } : {}),
    log,
  });
  const receiver = await startWebhookReceiver();
  try {
    await cluster.start();
    const account = await setupAccount(cluster, receiver, RUN_HOOKS);
    log(`pushing ${options.photos} photos through ${cluster.gatewayUrls.length} gateways`);
    const push = await pushPhotos(cluster, account.clientId, {
      count: options.photos,
      concurrency: options.concurrency ?? 4,
      onAccepted: (n) => {
        if (n % 50 === 0) log(`${n} accepted`);
      },
    });
    const problems: string[] = [];
    if (push.accepted.length !== options.photos) {
      problems.push(`${options.photos - push.accepted.length} uploads refused: ${JSON.stringify(push.refused)}`);
    }
    log(`uploaded in ${push.seconds.toFixed(1)} s; waiting for the pipeline to settle`);
    const settled = await waitSettled(cluster, account, receiver, options.settleMs ?? 600_000, log);
    if (!settled) problems.push('the run did not settle in time');
    const report = await verifyRun(cluster, account, receiver, push.accepted, true);
    problems.push(...report.problems);

    const finalizedPerFinalizer = await cluster.metricSum('finalizer', 'selfie_photos_finalized_total');
    const finalized = Object.values(finalizedPerFinalizer).reduce((a, b) => a + b, 0);
    if (finalized !== report.photos.records) {
      problems.push(`finalizers moved ${finalized} photos out of processing, for ${report.photos.records} photos`);
    }
    const stageJobsPerWorker = await cluster.metricSum('worker-', 'selfie_stage_outcomes_total');
    const deliveredPerDispatcher = await cluster.metricSum('webhook-dispatcher', 'selfie_webhook_deliveries_total', {
      result: 'delivered',
    });
    const figures: MultiReplicaResult['figures'] = {
      processes: cluster.processes.length,
      uploadSeconds: Math.round(push.seconds * 10) / 10,
      photosPerSecond: Math.round((await finishedPerSecond(cluster, push)) * 100) / 100,
      acceptedPerGateway: Object.fromEntries(
        cluster.processes.filter((p) => p.kind === 'gateway').map((p) => [p.name, push.perGateway[p.url] ?? 0]),
      ),
      finalizedPerFinalizer,
      stageJobsPerWorker,
      deliveredPerDispatcher,
      peakRssMb: cluster.peakRss(),
    };
    for (const p of cluster.processes) {
      if (p.unexpectedExits) problems.push(`${p.name} exited by itself ${p.unexpectedExits} times`);
    }
    return { ok: problems.length === 0, problems, report, figures };
  } finally {
    await cluster.stop();
    await receiver.close();
    await cluster.drop();
  }
}
