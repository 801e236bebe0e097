// `pnpm cluster:check [--photos 500] [--gateways 2] [--replicas 2] [--concurrency 4]` — the multi-replica proof
// (issue 13, item 5) on the native backing services: 2 gateways and 2 replicas of every stage worker, the finalizer
// and the webhook dispatcher, each its own process; photos pushed alternately through both gateways. Checks every
// photo complete exactly once, one livePhoto.completed event per photo, one delivery per event and webhook, and
// nothing left in any queue. Prints the counts, writes .bench/cluster-check.json, exits 1 on any problem.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { root } from './lib/cluster.js';
import { runMultiReplicaCheck } from './lib/multi-replica.js';

const { values: opts } = parseArgs({
  options: {
    photos: { type: 'string', default: '500' },
    gateways: { type: 'string', default: '2' },
    replicas: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4' },
    'settle-seconds': { type: 'string', default: '900' },
  },
});

const started = performance.now();
const result = await runMultiReplicaCheck({
  photos: Number(opts.photos),
  gateways: Number(opts.gateways),
  replicas: Number(opts.replicas),
  concurrency: Number(opts.concurrency),
  settleMs: Number(opts['settle-seconds']) * 1000,
});
const { report, figures } = result;
const seconds = Math.round((performance.now() - started) / 1000);

const rows: [string, string][] = [
  ['processes', String(figures.processes)],
  ['photos accepted / records', `${report.photos.accepted} / ${report.photos.records}`],
  ['accepted per gateway', JSON.stringify(figures.acceptedPerGateway)],
  [
    'complete / failed / processing',
    `${report.photos.complete} / ${report.photos.failed} / ${report.photos.processing}`,
  ],
  ['finalized per finalizer (sum = photos)', JSON.stringify(figures.finalizedPerFinalizer)],
  ['stage results recorded per worker', JSON.stringify(figures.stageJobsPerWorker)],
  [
    'events completed / failed / created',
    `${report.events.completed} / ${report.events.failed} / ${report.events.created}`,
  ],
  ['photos without exactly one final event', String(report.events.wrongFinalEvents)],
  ['deliveries received per webhook', JSON.stringify(report.deliveries.received)],
  ['events expected per webhook', JSON.stringify(report.deliveries.expected)],
  ['duplicate deliveries seen by the receiver', JSON.stringify(report.deliveries.duplicates)],
  ['duplicate successful delivery records', String(report.deliveries.duplicateRecords)],
  ['deliveries per dispatcher', JSON.stringify(figures.deliveredPerDispatcher)],
  ['bad signatures / unknown event ids', `${report.deliveries.badSignatures} / ${report.deliveries.idMismatches}`],
  ['jobs pending per queue', JSON.stringify(report.queuesPending)],
  ['jobs failed per queue', JSON.stringify(report.queuesFailed)],
  [
    'S3 objects / orphans / records without object',
    `${report.s3.objects} / ${report.s3.orphans.length} / ${report.s3.recordsWithoutObject.length}`,
  ],
  ['upload time', `${figures.uploadSeconds} s`],
  ['throughput (first upload → last final status)', `${figures.photosPerSecond} photos/s`],
  ['peak RSS (MB)', JSON.stringify(figures.peakRssMb)],
  ['run time', `${seconds} s`],
];
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`\nselfie-inspect cluster check — ${opts.gateways} gateways, ${opts.replicas} replicas each\n`);
for (const [a, b] of rows) process.stdout.write(`${a.padEnd(width)}  ${b}\n`);
const outDir = path.join(root, '.bench');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'cluster-check.json'), `${JSON.stringify({ ...result, seconds }, null, 2)}\n`);
if (result.ok) process.stdout.write('\nOK: every check passed (written: .bench/cluster-check.json)\n');
else process.stdout.write(`\nFAILED:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
process.exit(result.ok ? 0 : 1);
