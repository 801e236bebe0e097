// `pnpm bench:overload [--seconds 180] [--factor 2] [--max-waiting 100] [--gateways 1] [--replicas 1]` — issue 14,
// item 5. Starts the services as separate processes on the native backing services (scripts/lib/cluster.ts), measures
// what the workers finish per second, then offers uploads at `factor` times that (open loop, round-robin over the
// gateways) for `seconds`, while GETs of accepted photos and every health endpoint are polled. Reports GET latency
// (target p99 <= 250 ms), health answers, uploads refused with 503 + Retry-After once the faces queue holds more than
// QUEUE_MAX_WAITING, uploads that timed out, queue depths and RSS over time, the peak RSS of every process, and
// whether every accepted photo completes once the load stops. Writes .bench/overload.json. Asserts nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Types } from '@selfie/db';
import { createCluster, root, rssMb, sleep, sumSamples } from './lib/cluster.js';
import {
  call,
  finishedPerSecond,
  fixturePhotos,
  pushPhotos,
  setupAccount,
  startWebhookReceiver,
} from './lib/cluster-run.js';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    factor: { type: 'string', default: '2' },
    'max-waiting': { type: 'string', default: '100' },
    gateways: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '1' },
    'measure-photos': { type: 'string', default: '60' },
    'get-rate': { type: 'string', default: '20' },
    'max-in-flight': { type: 'string', default: '256' },
    'drain-seconds': { type: 'string', default: '900' },
  },
});
const SECONDS = Number(opts.seconds);
const FACTOR = Number(opts.factor);
const MAX_WAITING = Number(opts['max-waiting']);
const log = (line: string) => process.stderr.write(`[overload] ${line}\n`);

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

const cluster = await createCluster({
  gateways: Number(opts.gateways),
  replicas: Number(opts.replicas),
  env: { QUEUE_MAX_WAITING: String(MAX_WAITING) },
  log,
});
let exitCode = 0;
const stopOnSignal = () => {
  log('interrupted: stopping the services and dropping the run');
  void cluster
    .stop()
    .then(() => cluster.drop())
    .finally(() => process.exit(130));
};
process.once('SIGINT', stopOnSignal);
process.once('SIGTERM', stopOnSignal);
const receiver = await startWebhookReceiver();
try {
  await cluster.start();
  const account = await setupAccount(cluster, receiver, []);
  const db = await cluster.db();
  const photosColl = db.collection('livephotos');
  const statusOf = async (ids: string[]) => {
    const rows = (await photosColl
      .find({ _id: { $in: ids.map((id) => new Types.ObjectId(id)) } }, { projection: { status: 1 } })
      .toArray()) as unknown as { status: string }[];
    const counts: Record<string, number> = {};
    for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
    return counts;
  };
  const waitFinal = async (ids: string[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const counts = await statusOf(ids);
      if (!counts.processing) return counts;
      await sleep(1000);
    }
    return statusOf(ids);
  };

  // 1. Warm-up (every model loaded), then the workers' own rate with a full queue.
  const warm = await pushPhotos(cluster, account.clientId, { count: 2 * cluster.gatewayUrls.length, concurrency: 2 });
  await waitFinal(warm.accepted, 120_000);
  const measure = await pushPhotos(cluster, account.clientId, {
    count: Number(opts['measure-photos']),
    concurrency: 8,
  });
  await waitFinal(measure.accepted, 600_000);
  const workerRate = await finishedPerSecond(cluster, measure);
  const offered = workerRate * FACTOR;
  log(`workers finish ${r1(workerRate)} photos/s; offering ${r1(offered)} uploads/s for ${SECONDS} s`);

  // 2. Overload: uploads (open loop), GETs (open loop) and health probes, all at once.
  const bodies = fixturePhotos().map((p) => JSON.stringify({ clientId: account.clientId, data: p.base64 }));
  const pool = [...measure.accepted];
  const uploads: { status: number; ms: number; retryAfter: string | null; error?: string }[] = [];
  const accepted: string[] = [];
  const gets: { status: number; ms: number }[] = [];
  const health: Record<string, { checks: number; failures: number; ms: number[] }> = {};
  const timeline: Record<string, unknown>[] = [];
  let running = true;
  const loadStarted = performance.now();
  const maxInFlight = Number(opts['max-in-flight']);
  let inFlight = 0;
  let notSent = 0;

  const uploader = (async () => {
    const sends: Promise<void>[] = [];
    const total = Math.round(offered * SECONDS);
    for (let i = 0; i < total; i++) {
      const wait = loadStarted + (i * 1000) / offered - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight >= maxInFlight) {
        notSent += 1;
        continue;
      }
      inFlight += 1;
      const url = cluster.gatewayUrls[i % cluster.gatewayUrls.length] as string;
      sends.push(
        call<{ id?: string }>(url, cluster.apiKey, 'POST', '/v1/livePhotos', bodies[i % bodies.length], 30_000).then(
          (res) => {
            inFlight -= 1;
            uploads.push({
              status: res.status,
              ms: res.ms,
              retryAfter: res.headers?.get('retry-after') ?? null,
              ...(res.error ? { error: res.error } : {}),
            });
            if (res.status === 200 && res.body.id) {
              accepted.push(res.body.id);
              pool.push(res.body.id);
            }
          },
        ),
      );
    }
    await Promise.all(sends);
  })();

  const getter = (async () => {
    const rate = Number(opts['get-rate']);
    const sends: Promise<void>[] = [];
    for (let i = 0; running; i++) {
      const wait = loadStarted + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      // Mostly recent photos (the ones clients are polling), some older ones.
      const recent = Math.random() < 0.8 ? Math.max(0, pool.length - 50) : 0;
      const id = pool[recent + Math.floor(Math.random() * (pool.length - recent))] as string;
      const url = cluster.gatewayUrls[i % cluster.gatewayUrls.length] as string;
      sends.push(
        call(url, cluster.apiKey, 'GET', `/v1/livePhotos/${id}`, undefined, 10_000).then((res) => {
          gets.push({ status: res.status, ms: res.ms });
        }),
      );
    }
    await Promise.all(sends);
  })();

  // Probes as Kubernetes would send them: a 1 s timeout, an answer other than 200 is a failure.
  const prober = (async () => {
    while (running) {
      const round = performance.now();
      await Promise.all(
        cluster.processes.flatMap((p) =>
          ['/healthz', '/readyz'].map(async (probe) => {
            const key = `${p.name} ${probe}`;
            const h = health[key] ?? { checks: 0, failures: 0, ms: [] };
            health[key] = h;
            const t = performance.now();
            const ok = await fetch(`${p.url}${probe}`, { signal: AbortSignal.timeout(1000) }).then(
              (res) => res.status === 200,
              () => false,
            );
            h.checks += 1;
            h.ms.push(performance.now() - t);
            if (!ok) h.failures += 1;
          }),
        ),
      );
      await sleep(Math.max(0, 1000 - (performance.now() - round)));
    }
  })();

  // Where GET time goes: each gateway's worst event-loop delay per 5 s window (prom-client resets it per scrape).
  const gatewayNames = cluster.processes.filter((p) => p.kind === 'gateway').map((p) => p.name);
  const lagMaxMs: number[] = [];
  const sampler = (async () => {
    while (running) {
      const counts = await cluster.queueCounts();
      const lag: Record<string, number> = {};
      for (const name of gatewayNames) {
        const text = await cluster.metrics(name).catch(() => '');
        lag[name] = Math.round(sumSamples(text, 'nodejs_eventloop_lag_max_seconds') * 1000);
        lagMaxMs.push(lag[name]);
      }
      timeline.push({
        gatewayEventLoopLagMaxMs: lag,
        t: Math.round((performance.now() - loadStarted) / 1000),
        waiting: Object.fromEntries(
          Object.entries(counts).map(([q, c]) => [q, (c.waiting ?? 0) + (c.prioritized ?? 0)]),
        ),
        accepted: accepted.length,
        refused503: uploads.filter((u) => u.status === 503).length,
        loadAverage1m: r1(os.loadavg()[0] ?? 0),
        rssMb: Object.fromEntries(cluster.processes.map((p) => [p.name, rssMb(p.child?.pid)])),
      });
      await sleep(5000);
    }
  })();

  await uploader;
  running = false;
  await Promise.all([getter, prober, sampler]);
  // Server-side time of the GETs (the gateway's own histogram): the share answered within 250 ms.
  let serverGets = 0;
  let serverGetsWithin250 = 0;
  for (const name of gatewayNames) {
    const text = await cluster.metrics(name).catch(() => '');
    const labels = { method: 'GET', route: '/v1/livePhotos/:id', status: '200' };
    serverGets += sumSamples(text, 'selfie_http_request_duration_seconds_count', labels);
    serverGetsWithin250 += sumSamples(text, 'selfie_http_request_duration_seconds_bucket', { ...labels, le: '0.25' });
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  log(`load stopped after ${r1(loadSeconds)} s: ${accepted.length} uploads accepted; waiting for them to finish`);

  // 3. Drain: every accepted photo must finish.
  const drainStarted = performance.now();
  const final = await waitFinal(accepted, Number(opts['drain-seconds']) * 1000);
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const peak = cluster.peakRss();
  // Nothing half-written by refused or timed-out uploads: every record was answered 200, every object has a record.
  const acceptedAll = new Set([...warm.accepted, ...measure.accepted, ...accepted]);
  const records = (await photosColl.find({}, { projection: { status: 1, objectKey: 1 } }).toArray()) as unknown as {
    _id: { toHexString(): string };
    status: string;
    objectKey: string;
  }[];
  const unacknowledged = records.filter((r) => !acceptedAll.has(r._id.toHexString()));
  const objects = new Set(await cluster.store.list());
  const recordKeys = new Set(records.map((r) => r.objectKey));
  const orphans = [...objects].filter((k) => !recordKeys.has(k));
  const withoutObject = records.filter((r) => !objects.has(r.objectKey));

  const byStatus: Record<string, number> = {};
  for (const u of uploads) byStatus[u.status] = (byStatus[u.status] ?? 0) + 1;
  const refused = uploads.filter((u) => u.status === 503);
  const withRetryAfter = refused.filter((u) => u.retryAfter !== null);
  const timedOut = uploads.filter((u) => u.status === 0);
  const okUploads = uploads.filter((u) => u.status === 200).map((u) => u.ms);
  const getMs = gets.filter((g) => g.status === 200).map((g) => g.ms);
  const healthFailures = Object.fromEntries(
    Object.entries(health)
      .filter(([, h]) => h.failures > 0)
      .map(([k, h]) => [k, h.failures]),
  );
  const probeMs = Object.values(health).flatMap((h) => h.ms);
  const maxWaiting = Math.max(0, ...timeline.map((t) => (t.waiting as Record<string, number>)['stage-faces'] ?? 0));
  const result = {
    config: { seconds: SECONDS, factor: FACTOR, queueMaxWaiting: MAX_WAITING, processes: cluster.processes.length },
    workerPhotosPerSecond: r2(workerRate),
    offeredPerSecond: r2(offered),
    uploads: {
      sent: uploads.length,
      notSentInFlightCap: notSent,
      byStatus,
      acceptedPerSecond: r2(accepted.length / loadSeconds),
      refused503: refused.length,
      refused503WithRetryAfter: withRetryAfter.length,
      retryAfterValues: [...new Set(withRetryAfter.map((u) => u.retryAfter))],
      timedOutOrNoAnswer: timedOut.length,
      acceptedP50: r1(quantile(okUploads, 0.5)),
      acceptedP99: r1(quantile(okUploads, 0.99)),
      refusedP50: r1(
        quantile(
          refused.map((u) => u.ms),
          0.5,
        ),
      ),
      refusedP99: r1(
        quantile(
          refused.map((u) => u.ms),
          0.99,
        ),
      ),
    },
    gets: {
      count: gets.length,
      errors: gets.filter((g) => g.status !== 200).length,
      p50: r1(quantile(getMs, 0.5)),
      p95: r1(quantile(getMs, 0.95)),
      p99: r1(quantile(getMs, 0.99)),
      max: r1(Math.max(...getMs)),
      withinTargetClientSide: r2(getMs.filter((ms) => ms <= 250).length / Math.max(1, getMs.length)),
      withinTargetServerSide: r2(serverGetsWithin250 / Math.max(1, serverGets)),
      gatewayEventLoopLagMaxMs: Math.max(0, ...lagMaxMs),
      gatewayEventLoopLagP90Ms: quantile(lagMaxMs, 0.9),
    },
    health: {
      checks: Object.values(health).reduce((s, h) => s + h.checks, 0),
      failures: healthFailures,
      p99: r1(quantile(probeMs, 0.99)),
    },
    facesWaitingMax: maxWaiting,
    drain: { seconds: r1(drainSeconds), accepted: accepted.length, final },
    leftovers: {
      unacknowledgedRecords: unacknowledged.map((r) => `${r._id.toHexString()} ${r.status}`),
      orphanObjects: orphans,
      recordsWithoutObject: withoutObject.map((r) => r._id.toHexString()),
    },
    peakRssMb: peak,
    timeline,
  };
  const outDir = path.join(root, '.bench');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'overload.json'), `${JSON.stringify(result, null, 2)}\n`);

  const complete = final.complete ?? 0;
  const rows: [string, string, string][] = [
    ['workers finish (measured, full queue)', `${result.workerPhotosPerSecond} photos/s`, ''],
    ['uploads offered', `${result.offeredPerSecond}/s for ${SECONDS} s`, `${FACTOR} x what the workers finish`],
    ['uploads sent / answered by status', `${uploads.length}`, JSON.stringify(byStatus)],
    [
      'uploads accepted',
      `${accepted.length} (${result.uploads.acceptedPerSecond}/s)`,
      `p50 ${result.uploads.acceptedP50} ms, p99 ${result.uploads.acceptedP99} ms`,
    ],
    [
      `503 over QUEUE_MAX_WAITING=${MAX_WAITING}`,
      `${refused.length}, ${withRetryAfter.length} with Retry-After ${result.uploads.retryAfterValues.join(',')}`,
      `p50 ${result.uploads.refusedP50} ms, p99 ${result.uploads.refusedP99} ms (target: every 503 has Retry-After)`,
    ],
    ['uploads timed out / unanswered', String(timedOut.length), 'target 0'],
    ['faces queue waiting, max sampled', String(maxWaiting), `bounded near ${MAX_WAITING}`],
    [
      'GET /v1/livePhotos/:id p50/p95/p99',
      `${result.gets.p50} / ${result.gets.p95} / ${result.gets.p99} ms`,
      `${gets.length} GETs, ${result.gets.errors} non-200; target p99 <= 250 ms`,
    ],
    [
      'GETs within 250 ms: client side / gateway side',
      `${result.gets.withinTargetClientSide} / ${result.gets.withinTargetServerSide}`,
      `gateway event-loop delay, worst per 5 s: p90 ${result.gets.gatewayEventLoopLagP90Ms} ms, max ${result.gets.gatewayEventLoopLagMaxMs} ms`,
    ],
    [
      'health probes (1 s timeout)',
      `${result.health.checks} checks, ${Object.values(healthFailures).reduce((a, b) => a + b, 0)} failed`,
      `p99 ${result.health.p99} ms${Object.keys(healthFailures).length ? ` ${JSON.stringify(healthFailures)}` : ''}`,
    ],
    [
      'accepted photos complete after the load',
      `${complete} of ${accepted.length}`,
      `drained in ${result.drain.seconds} s ${JSON.stringify(final)}`,
    ],
  ];
  rows.push([
    'records never answered 200 / orphan objects / records without object',
    `${unacknowledged.length} / ${orphans.length} / ${withoutObject.length}`,
    'target 0 / 0 / 0',
  ]);
  for (const [name, mb] of Object.entries(peak)) rows.push([`peak RSS ${name}`, `${mb} MB`, '']);
  const width = Math.max(...rows.map((r) => r[0].length));
  const loads = timeline.map((t) => t.loadAverage1m as number);
  process.stdout.write(
    `\nselfie-inspect overload bench — ${cluster.processes.length} processes, ${os.availableParallelism()} cores, ` +
      `load average during the load ${Math.min(...loads)}–${Math.max(...loads)} (other processes included)\n`,
  );
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(width)}  ${b.padEnd(34)}  ${c}\n`);
  process.stdout.write('\nwritten: .bench/overload.json\n');
  if (complete !== accepted.length) exitCode = 1;
} catch (err) {
  log(`failed: ${(err as Error).stack ?? err}`);
  exitCode = 1;
} finally {
  await cluster.stop();
  await receiver.close();
  await cluster.drop();
}
process.exit(exitCode);
