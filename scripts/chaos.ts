// `pnpm chaos [--photos 300] [--gateways 2] [--replicas 2] [--kill-min 3] [--kill-max 7] [--outage 5]` — issue 14,
// item 6 (minutes; not part of the test command). Private Redis, MongoDB stand-in and versitygw on free ports; the
// services as separate processes; photos with two webhooks while a random service process is SIGKILLed every few
// seconds and restarted (from the first upload until every photo has ended, plus --kill-tail seconds), and Redis, the
// store and S3 are each killed and restarted once. Prints the counts and the
// problems found, writes .bench/chaos.json, exits 1 when a check failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos } from './lib/chaos.js';
import { root } from './lib/cluster.js';

const { values: opts } = parseArgs({
  options: {
    photos: { type: 'string', default: '300' },
    gateways: { type: 'string', default: '2' },
    replicas: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4' },
    'kill-min': { type: 'string', default: '3' },
    'kill-max': { type: 'string', default: '7' },
    'restart-after': { type: 'string', default: '1' },
    outage: { type: 'string', default: '5' },
    'kill-tail': { type: 'string', default: '20' },
    'max-chaos-seconds': { type: 'string', default: '900' },
    'settle-seconds': { type: 'string', default: '600' },
  },
});

const result = await runChaos({
  photos: Number(opts.photos),
  gateways: Number(opts.gateways),
  replicas: Number(opts.replicas),
  concurrency: Number(opts.concurrency),
  killEveryMs: [Number(opts['kill-min']) * 1000, Number(opts['kill-max']) * 1000],
  restartAfterMs: Number(opts['restart-after']) * 1000,
  outageMs: Number(opts.outage) * 1000,
  killTailMs: Number(opts['kill-tail']) * 1000,
  maxChaosMs: Number(opts['max-chaos-seconds']) * 1000,
  keepLogs: true,
  settleMs: Number(opts['settle-seconds']) * 1000,
});
const { counts, report } = result;
const rows: [string, string][] = [
  ['service processes SIGKILLed / restarted', `${counts.kills} / ${counts.restarts}`],
  ['backing services killed and restarted', `${counts.backingOutages} (Redis, MongoDB store, S3)`],
  ['crashes on their own / failed starts', `${counts.crashes} / ${counts.startFailures}`],
  ['uploads sent / photos accepted', `${counts.uploadAttempts} / ${counts.photosAccepted}`],
  ['records (accepted + unacknowledged)', `${report.photos.records} (${report.photos.unacknowledged} unacknowledged)`],
  ['complete / failed / processing', `${counts.photosComplete} / ${counts.photosFailed} / ${report.photos.processing}`],
  ['failure reasons', JSON.stringify(report.photos.failedReasons)],
  [
    'events completed / failed / created',
    `${report.events.completed} / ${report.events.failed} / ${report.events.created}`,
  ],
  ['photos without exactly one final event', String(report.events.wrongFinalEvents)],
  ['deliveries received (all webhooks)', String(counts.deliveries)],
  [
    'deliveries per webhook / events expected',
    `${JSON.stringify(report.deliveries.received)} / ${JSON.stringify(report.deliveries.expected)}`,
  ],
  ['events never delivered', JSON.stringify(report.deliveries.undelivered)],
  [
    'duplicates seen by the receiver (same event id)',
    `${counts.duplicatesSeenByReceiver} ${JSON.stringify(report.deliveries.duplicates)}`,
  ],
  [
    'event id carried in',
    `body "id"${report.deliveries.idHeaders.length ? ` and headers ${report.deliveries.idHeaders.join(', ')}` : ' only (no header)'}`,
  ],
  ['bad signatures / unknown event ids', `${report.deliveries.badSignatures} / ${report.deliveries.idMismatches}`],
  ['jobs pending per queue', JSON.stringify(report.queuesPending)],
  ['jobs failed per queue (final; a failed sweep runs again)', JSON.stringify(report.queuesFailed)],
  [
    'S3 objects / orphans / records without object (of them lost)',
    `${report.s3.objects} / ${counts.orphans} / ${report.s3.recordsWithoutObject.length} (${report.s3.lostObjects.length})`,
  ],
  ['run time', `${result.seconds} s`],
];
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`\nselfie-inspect chaos run — ${opts.gateways} gateways, ${opts.replicas} replicas each\n`);
for (const [a, b] of rows) process.stdout.write(`${a.padEnd(width)}  ${b}\n`);
for (const [key, cause] of Object.entries(result.orphanCauses)) process.stdout.write(`orphan ${key}: ${cause}\n`);
for (const [id, cause] of Object.entries(result.createdMissingCauses)) {
  process.stdout.write(`livePhoto.created never stored for accepted photo ${id}: ${cause}\n`);
}
for (const [id, cause] of Object.entries(result.unacknowledgedCauses)) {
  process.stdout.write(`unacknowledged record ${id}: ${cause}\n`);
}
const outDir = path.join(root, '.bench');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'chaos.json'), `${JSON.stringify(result, null, 2)}\n`);
if (result.ok) process.stdout.write('\nOK: every check passed (written: .bench/chaos.json)\n');
else process.stdout.write(`\nFAILED:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
process.exit(result.ok ? 0 : 1);
